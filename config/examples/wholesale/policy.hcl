# Least-cost routing by longest E.164 prefix, with failover between carriers.

defaults {
  route_selection = "longest_prefix"
  no_route_code   = 404
  limits {
    cps_in = 100
  }
}

trunk "customer_1" {
  interface = "customers"
  match {
    sources = ["192.0.2.128/27"]
  }
  limits {
    calls = 300
  }
}

trunk "customer_2" {
  interface = "customers"
  match {
    sources = ["192.0.2.160/27"]
  }
  limits {
    calls = 100
  }
}

trunk "tier1" {
  interface = "carriers"
  destination {
    host = "198.51.100.100"
  }
}

trunk "tier2" {
  interface = "carriers"
  destination {
    host = "198.51.100.120"
  }
}

trunk "mobile_de" {
  interface = "carriers"
  destination {
    host = "198.51.100.140"
  }
}

route "world" {
  match {
    ruri_user {
      prefix = "+"
    }
  }
  trunks = ["tier2", "tier1"]
}

route "germany" {
  match {
    ruri_user {
      prefix = "+49"
    }
  }
  trunks = ["tier1", "tier2"]
  failover {
    on      = [408, 500, 502, 503, 504]
    timeout = "6s"
  }
}

route "germany_mobile" {
  match {
    ruri_user {
      prefix = ["+49151", "+49152", "+49157", "+49159", "+49160", "+49162", "+49163", "+49170", "+49171", "+49172", "+49173", "+49174", "+49175", "+49176", "+49177", "+49178", "+49179"]
    }
  }
  trunks = ["mobile_de", "tier1"]
}

route "germany_premium" {
  match {
    ruri_user {
      prefix = ["+49900", "+49137"]
    }
  }
  reject {
    code   = 403
    reason = "Premium Rate Barred"
  }
}

route "customer_2_national_only" {
  match {
    from_trunk = ["customer_2"]
    ruri_user {
      prefix = ["+1", "+2", "+3", "+5", "+6", "+7", "+8", "+9", "+40", "+41", "+42", "+43", "+44", "+45", "+46", "+47", "+48"]
    }
  }
  reject {
    code = 403
  }
}

route "national_dialling" {
  match {
    ruri_user {
      regex = "^0[1-9]"
    }
  }
  rewrite "ruri_user" {
    strip  = 1
    prefix = "+49"
  }
  trunks = ["tier1", "tier2"]
}
