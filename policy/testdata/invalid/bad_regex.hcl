trunk "t" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
}

route "r" {
  match {
    ruri_user {
      regex = "^(\\+49"
    }
  }
  trunks = ["t"]
}
