# Carrier A and carrier B exchange calls in both directions. Both are in our
# trust domain for P-Asserted-Identity; B wants calls from A in E.164.

trunk "carrier_a" {
  interface = "a_side"
  match {
    sources = ["192.0.2.64/27"]
  }
  destination {
    host = "192.0.2.70"
    port = 5060
  }
  destination {
    host = "192.0.2.71"
    port = 5060
  }
  limits {
    calls  = 2000
    cps_in = 50
  }
  codecs = ["PCMA", "PCMU", "G722", "telephone-event"]
  media {
    latching = "strict"
  }
  identity {
    trusted = true
  }
  headers {
    pass = ["X-Carrier-Ref"]
  }
  keepalive {
    method   = "options"
    interval = "30s"
  }
}

trunk "carrier_b" {
  interface = "b_side"
  match {
    sources = ["198.51.100.128/25"]
  }
  destination {
    host      = "198.51.100.130"
    port      = 5061
    transport = "tls"
  }
  limits {
    calls   = 2000
    cps_out = 50
  }
  codecs = ["PCMA", "PCMU", "telephone-event"]
  media {
    latching = "strict"
  }
  identity {
    trusted = true
    privacy = "honor"
  }
}

route "a_to_b" {
  match {
    from_trunk = ["carrier_a"]
    ruri_user {
      regex = "^(\\+|00)?[1-9][0-9]{6,14}$"
    }
  }
  rewrite "ruri_user" {
    regex   = "^(?:\\+|00)?([1-9][0-9]+)$"
    replace = "+$1"
  }
  trunks = ["carrier_b"]
}

route "b_to_a" {
  match {
    from_trunk = ["carrier_b"]
  }
  trunks = ["carrier_a"]
  failover {
    on      = [408, 500, 503]
    timeout = "6s"
  }
}

route "unknown" {
  reject {
    code   = 404
    reason = "No Route"
  }
}

acl "a_side" {
  allow   = ["192.0.2.64/27"]
  default = "deny"
}

acl "b_side" {
  allow   = ["198.51.100.128/25"]
  default = "deny"
}
