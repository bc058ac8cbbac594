trunk "carrier_a" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
}

route "r1" {
  trunks = ["carrier_a", "carier_b"]
}
