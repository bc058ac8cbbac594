# The embedded default configuration: the README's demo on loopback.
# SIP on 127.0.0.1:5060 over UDP and TCP, media anchored on 127.0.0.1,
# admin API and metrics on 127.0.0.1:9060, the embedded default policy
# (every call to the peer at 127.0.0.1:5080 over UDP).

interface "loopback" {
  listen "udp" {
    address = "127.0.0.1"
    port    = 5060
  }
  listen "tcp" {
    address = "127.0.0.1"
    port    = 5060
  }
  media {
    address  = "127.0.0.1"
    port_min = 20000
    port_max = 20999
  }
}

sip {
  t1               = "500ms"
  t2               = "4s"
  t4               = "5s"
  max_message_size = 65535
  max_connections  = 4096
}

admin {
  listen = "127.0.0.1:9060"
}

metrics {
  listen = "127.0.0.1:9060"
}

log {
  level  = "info"
  format = "text"
}

cdr {
  file   = ""
  format = "jsonl"
}
