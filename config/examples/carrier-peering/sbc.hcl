# Two carriers peering through the SBC: carrier A on the "a_side" network,
# carrier B on the "b_side" network; signalling and media anchored on each.

interface "a_side" {
  listen {
    transport = "udp"
    address   = "192.0.2.10:5060"
  }
  listen {
    transport = "tcp"
    address   = "192.0.2.10:5060"
  }
  media {
    address = "192.0.2.10"
    ports   = "20000-29999"
  }
}

interface "b_side" {
  listen {
    transport = "udp"
    address   = "198.51.100.10:5060"
  }
  listen {
    transport = "tls"
    address   = "198.51.100.10:5061"
    cert_file = "/etc/sbc/tls/b_side.crt"
    key_file  = "/etc/sbc/tls/b_side.key"
  }
  media {
    address = "198.51.100.10"
    ports   = "30000-39999"
  }
}

sip {
  t1 = "500ms"
  max_connections_per_source = 64
  # Refuse new calls with 503 + Retry-After once requests wait this long in
  # the receive queue (overload control; "0s" turns it off).
  overload_queue_delay = "500ms"
}

media {
  timeout = "60s"
}

admin {
  listen = "127.0.0.1:9060"
}

log {
  level  = "info"
  format = "json"
}

cdr {
  file = "/var/lib/sbc/cdr/cdr.jsonl"
}

policy {
  files = ["policy.hcl"]
}

drain_timeout = "5m"
