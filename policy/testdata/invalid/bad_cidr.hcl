trunk "t" {
  interface = "outside"
  match {
    sources = ["192.0.2.0/33", "10.1.2.3/8", "not-an-ip"]
  }
}
