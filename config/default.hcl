# The embedded default configuration: everything on loopback, so that
# `sbc` with no flags takes calls on 127.0.0.1:5060 and routes them (with
# the embedded default policy) to a peer at 127.0.0.1:5080.

interface "loopback" {
  listen {
    transport = "udp"
    address   = "127.0.0.1:5060"
  }
  listen {
    transport = "tcp"
    address   = "127.0.0.1:5060"
  }
  media {
    address = "127.0.0.1"
    ports   = "20000-29999"
  }
}

admin {
  listen = "127.0.0.1:9060"
}

log {
  level  = "info"
  format = "text"
}
