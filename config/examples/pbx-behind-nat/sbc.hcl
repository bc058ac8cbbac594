# A cloud SBC behind a 1:1 NAT (private 10.0.1.5, public 203.0.113.5):
# customers' PBXs behind NAT reach it from the internet ("access"), the
# carrier is reached on a private interconnect ("core").

interface "access" {
  advertise = "203.0.113.5"
  listen {
    transport = "udp"
    address   = "10.0.1.5:5060"
  }
  listen {
    transport = "tcp"
    address   = "10.0.1.5:5060"
  }
  media {
    address   = "10.0.1.5"
    advertise = "203.0.113.5"
    ports     = "40000-49999"
  }
}

interface "core" {
  listen {
    transport = "udp"
    address   = "10.0.2.5:5060"
  }
  media {
    address = "10.0.2.5"
    ports   = "20000-29999"
  }
}

admin {
  listen = "127.0.0.1:9060"
}

cdr {
  file = "/var/lib/sbc/cdr/cdr.jsonl"
}

capture {
  pcap   = "/var/lib/sbc/capture/sip.pcap"
  sample = 10
}

policy {
  files = ["policy.hcl"]
}

# REGISTERs of the access trunk's PBXs are relayed to the registrar on the
# core side.
registrar_interface = "core"
