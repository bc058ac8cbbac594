# A PBX behind NAT registers through the SBC (its bindings are cached and
# kept open with short re-registrations and keepalives) and calls out to the
# carrier; calls from the carrier reach the PBX through the cache.

trunk "pbx" {
  kind      = "access"
  interface = "access"
  match {
    sources = ["0.0.0.0/0"]
  }
  registrar {
    host              = "10.0.2.20"
    port              = 5060
    ua_expires        = 60
    registrar_expires = 3600
  }
  keepalive {
    method   = "options"
    interval = "25s"
  }
  limits {
    calls  = 30
    cps_in = 5
  }
  media {
    latching = "learn"
  }
  identity {
    trusted = false
  }
}

trunk "carrier" {
  interface = "core"
  match {
    sources = ["10.0.2.20", "10.0.2.21"]
  }
  destination {
    host = "10.0.2.20"
  }
  destination {
    host = "10.0.2.21"
  }
  identity {
    trusted = true
    assert  = "sip:+4930555000@sbc.example"
  }
}

route "outbound" {
  match {
    from_trunk = ["pbx"]
  }
  rewrite "ruri_user" {
    regex   = "^0([1-9][0-9]+)$"
    replace = "+49$1"
  }
  trunks = ["carrier"]
  failover {
    on = [408, 503]
  }
}

acl "access" {
  deny    = ["10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"]
  default = "allow"
}
