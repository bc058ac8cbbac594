# A wholesale switch: customers on "customers", carriers on "carriers".

interface "customers" {
  listen "udp" {
    address = "192.0.2.10"
  }
  media {
    address  = "192.0.2.10"
    port_min = 10000
    port_max = 29999
  }
}

interface "carriers" {
  listen "udp" {
    address = "198.51.100.10"
  }
  media {
    address  = "198.51.100.10"
    port_min = 30000
    port_max = 49999
  }
}

sip {
  max_connections = 100
}

policy {
  files = ["policy.hcl"]
}
