trunk "t" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
}

route "r" {
  header "X-A" {
    set = req.ruri_usr
  }
  header "Via" {
    set = "x"
  }
  header "X-B" {
    add = readfile("/etc/passwd")
  }
  trunks = ["t"]
}
