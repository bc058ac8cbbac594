# Calls from carrier A go to carrier B and back, both numbering in E.164.

defaults {
  limits {
    calls = 2000
  }
}

trunk "carrier_a" {
  interface = "inside"
  match {
    sources = ["10.0.10.0/28"]
  }
  destination {
    host = "10.0.10.2"
  }
  destination {
    host = "10.0.10.3"
  }
  limits {
    cps_in = 50
  }
  codecs = ["PCMA", "PCMU", "G722", "telephone-event"]
  identity {
    trusted = true
  }
  headers {
    pass = ["P-Charging-Vector"]
  }
  keepalive {
    interval = "30s"
  }
}

trunk "carrier_b" {
  interface = "outside"
  match {
    sources = ["203.0.113.0/26"]
  }
  destination {
    host      = "sbc.carrier-b.example"
    transport = "udp"
  }
  credentials {
    username = "peer-4711"
    password = "change-me"
  }
  limits {
    cps_in  = 30
    cps_out = 30
  }
  codecs = ["PCMA", "telephone-event"]
  media {
    latching = "strict"
  }
  identity {
    trusted = false
    privacy = "honor"
  }
  keepalive {
    interval = "60s"
  }
}

route "a_to_b" {
  match {
    from_trunk = ["carrier_a"]
    ruri_user {
      regex = "^\\+[1-9][0-9]{6,14}$"
    }
  }
  trunks = ["carrier_b"]
  failover {
    on      = [408, 503]
    timeout = "10s"
  }
}

route "b_to_a" {
  match {
    from_trunk = ["carrier_b"]
  }
  rewrite "ruri_user" {
    regex   = "^00([1-9][0-9]+)$"
    replace = "+$1"
  }
  trunks = ["carrier_a"]
}

route "a_bad_number" {
  match {
    from_trunk = ["carrier_a"]
  }
  reject {
    code = 484
  }
}

acl "outside" {
  allow = ["203.0.113.0/26"]
}
