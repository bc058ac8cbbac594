# A PBX behind NAT (its phones register through us) reaching a carrier trunk.

interface "inside" {
  advertise = "198.51.100.30"
  listen "udp" {
    address = "0.0.0.0"
  }
  listen "tcp" {
    address = "0.0.0.0"
  }
  media {
    address  = "172.31.7.10"
    port_min = 16384
    port_max = 32767
  }
}

interface "carrier" {
  listen "udp" {
    address = "192.0.2.40"
    port    = 5080
  }
  media {
    address  = "192.0.2.40"
    port_min = 40000
    port_max = 44999
  }
}

policy {
  files = ["policy.hcl"]
}
