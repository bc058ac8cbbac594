# Two carriers peering through the SBC: carrier A on "inside" (a private
# interconnect VLAN), carrier B on "outside" (public, the SBC behind a
# cloud 1:1 NAT).

interface "inside" {
  listen "udp" {
    address = "10.0.10.5"
  }
  listen "tcp" {
    address = "10.0.10.5"
  }
  media {
    address  = "10.0.10.5"
    port_min = 20000
    port_max = 29999
  }
}

interface "outside" {
  advertise = "198.51.100.20"
  listen "udp" {
    address = "172.31.5.10"
  }
  media {
    address  = "172.31.5.10"
    port_min = 30000
    port_max = 39999
  }
}

sip {
  t1 = "500ms"
}

admin {
  listen = "127.0.0.1:9060"
}

log {
  level  = "info"
  format = "json"
}

cdr {
  file = "/var/log/sbc/cdr.jsonl"
}

policy {
  files = ["policy.hcl"]
}
