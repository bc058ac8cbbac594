# Longest-prefix routing over the supplier table, least cost first, with
# failover to the next supplier; premium and unallocated ranges blocked.

defaults {
  route_selection = "longest_prefix"
  no_route_code   = 404
  no_route_reason = "No Route To Destination"
}

trunk "customer_x" {
  interface = "customers"
  match {
    sources = ["192.0.2.128/26"]
  }
  limits {
    calls  = 500
    cps_in = 30
  }
}

trunk "lcr_1" {
  interface = "suppliers"
  match {
    sources = ["198.51.100.40"]
  }
  destination {
    host = "198.51.100.40"
  }
}

trunk "lcr_2" {
  interface = "suppliers"
  match {
    sources = ["198.51.100.41"]
  }
  destination {
    host = "198.51.100.41"
  }
}

trunk "premium_carrier" {
  interface = "suppliers"
  match {
    sources = ["198.51.100.42"]
  }
  destination {
    host = "198.51.100.42"
  }
}

route "germany" {
  match {
    ruri_user {
      prefix = ["+49"]
    }
  }
  trunks = ["lcr_1", "lcr_2"]
  failover {
    on      = [408, 480, 500, 503]
    timeout = "4s"
  }
}

route "germany_mobile" {
  match {
    ruri_user {
      prefix = ["+4915", "+4916", "+4917"]
    }
  }
  trunks = ["lcr_2", "lcr_1"]
}

route "uk" {
  match {
    ruri_user {
      prefix = ["+44"]
    }
  }
  trunks = ["lcr_1"]
}

route "premium_block" {
  match {
    ruri_user {
      prefix = ["+49900", "+449"]
    }
  }
  reject {
    code   = 403
    reason = "Premium Destinations Blocked"
  }
}

route "national_format" {
  match {
    ruri_user {
      regex = "^00[1-9]"
    }
  }
  rewrite "ruri_user" {
    regex   = "^00(.*)$"
    replace = "+$1"
  }
  trunks = ["lcr_1", "lcr_2"]
}
