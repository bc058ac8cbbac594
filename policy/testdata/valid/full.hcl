# Every feature once: two carriers, a PBX access trunk, routes of each kind.
variables {
  country   = "49"
  intl      = "+${var.country}"
  carrier_a = ["203.0.113.0/24"]
}

defaults {
  route_selection = "longest_prefix"
  no_route_code   = 480
  limits {
    calls  = 500
    cps_in = 20
  }
}

trunk "carrier_a" {
  interface = "outside"
  match {
    sources   = concat(var.carrier_a, ["198.51.100.7"])
    transport = "udp"
  }
  destination {
    host = "203.0.113.10"
  }
  destination {
    host      = "203.0.113.11"
    port      = 5061
    transport = "tls"
  }
  credentials {
    username = "sbc1"
    password = "s3cret"
    realm    = "carrier-a.example"
  }
  limits {
    calls_out = 100
    cps_out   = 10
  }
  codecs = ["PCMA", "PCMU", "telephone-event"]
  media {
    latching = "strict"
  }
  identity {
    trusted = true
    assert  = "forward"
    privacy = "ignore"
  }
  headers {
    pass = ["X-Account-Id", "P-Charging-Vector"]
  }
  keepalive {
    method   = "options"
    interval = "20s"
  }
}

trunk "carrier_b" {
  interface = "outside"
  match {
    sources = ["2001:db8:b::/48"]
    port    = 5060
  }
  destination {
    host = "sip.carrier-b.example"
  }
  identity {
    assert  = "sip:+4930123456@sbc.example"
    privacy = "force"
  }
}

trunk "pbx" {
  kind      = "access"
  interface = "inside"
  match {
    sources = ["10.20.0.0/16"]
  }
  registrar {
    host              = "registrar.example"
    ua_expires        = 60
    registrar_expires = 1800
  }
  keepalive {
    method   = "crlf"
    interval = "25s"
  }
}

route "emergency" {
  match {
    ruri_user {
      exact = ["112", "110"]
    }
  }
  trunks = ["carrier_a"]
}

route "national" {
  match {
    from_trunk = ["pbx"]
    ruri_user {
      regex = "^0[1-9][0-9]+$"
    }
  }
  rewrite "ruri_user" {
    regex   = "^0([1-9][0-9]+)$"
    replace = "${var.intl}$1"
  }
  rewrite "from_user" {
    strip  = 1
    prefix = var.intl
  }
  header "X-Original-Called" {
    set = req.ruri_user
  }
  header "X-Route" {
    add = "national/${out.ruri_user}"
  }
  header "User-Agent" {
    remove = true
  }
  trunks = ["carrier_a", "carrier_b"]
  failover {
    on      = [408, 503]
    timeout = "5s"
  }
}

route "germany" {
  match {
    ruri_user {
      prefix = ["+49"]
    }
    header "X-Test" {
      present = false
    }
  }
  header "X-Static" {
    set = upper("abc")
  }
  trunks = ["carrier_b", "carrier_a"]
}

route "berlin" {
  match {
    ruri_user {
      prefix = "+4930"
    }
  }
  trunks = ["carrier_a"]
}

route "premium" {
  match {
    ruri_user {
      prefix = ["+49900", "0900"]
    }
  }
  reject {
    code = 403
  }
}

acl "outside" {
  allow   = ["203.0.113.0/24", "198.51.100.0/24", "2001:db8:b::/48"]
  deny    = ["203.0.113.128/25"]
  default = "deny"
}

acl "inside" {
  deny    = ["10.20.99.0/24"]
  default = "allow"
}
