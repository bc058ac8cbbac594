trunk "t" {
  interface = "outside"
  destination {
    host = "192.0.2.1
  }
}
