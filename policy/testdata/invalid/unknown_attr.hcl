trunk "t" {
  interface = "outside"
  destinaton {
    host = "192.0.2.1"
  }
}
