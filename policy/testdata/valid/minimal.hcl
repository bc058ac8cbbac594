trunk "only" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
}

route "all" {
  trunks = ["only"]
}
