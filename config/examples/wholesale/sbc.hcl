# A wholesale transit switch: one customer-facing side, one supplier side.

interface "customers" {
  listen {
    transport = "udp"
    address   = "192.0.2.20:5060"
  }
  media {
    address = "192.0.2.20"
    ports   = "16384-32767"
  }
}

interface "suppliers" {
  listen {
    transport = "udp"
    address   = "198.51.100.20:5060"
  }
  media {
    address = "198.51.100.20"
    ports   = "32768-49151"
  }
}

admin {
  listen = "127.0.0.1:9060"
}

policy {
  files = ["policy.hcl"]
}
