variables {
  national = "+49"
  pbx_did  = "+4930555000"
}

trunk "pbx" {
  kind      = "access"
  interface = "inside"
  match {
    sources = ["0.0.0.0/0"]
  }
  registrar {
    host              = "192.0.2.50"
    ua_expires        = 60
    registrar_expires = 3600
  }
  keepalive {
    method   = "crlf"
    interval = "25s"
  }
  media {
    latching = "learn"
  }
}

trunk "carrier" {
  interface = "carrier"
  match {
    sources   = ["192.0.2.50"]
    transport = "udp"
  }
  destination {
    host = "192.0.2.50"
  }
  credentials {
    username = "4930555000"
    password = "change-me"
    realm    = "carrier.example"
  }
  limits {
    calls = 30
  }
  identity {
    assert = "sip:${var.pbx_did}@carrier.example"
  }
}

route "pbx_out" {
  match {
    from_trunk = ["pbx"]
    ruri_user {
      regex = "^0[1-9][0-9]+$"
    }
  }
  rewrite "ruri_user" {
    regex   = "^0([1-9][0-9]+)$"
    replace = "${var.national}$1"
  }
  header "X-PBX-Caller" {
    set = req.from_user
  }
  trunks = ["carrier"]
}

route "pbx_out_e164" {
  match {
    from_trunk = ["pbx"]
    ruri_user {
      prefix = "+"
    }
  }
  trunks = ["carrier"]
}

route "pbx_in" {
  match {
    from_trunk = ["carrier"]
    ruri_user {
      prefix = var.pbx_did
    }
  }
  trunks = ["pbx"]
}

acl "carrier" {
  allow = ["192.0.2.50"]
}
