# The embedded default policy: the README's demo on loopback.
# Calls from a UA on this machine (127.0.0.0/8 or ::1) are routed to the
# peer at 127.0.0.1:5080 over UDP, where `sipp -sn uas -i 127.0.0.1 -p 5080`
# answers. Replace it with -policy FILE or a policy block in the config.

trunk "local_uas" {
  interface = "loopback"
  # Requests the UAS sends back (BYE) come from its own port.
  match {
    sources = ["127.0.0.1"]
    port    = 5080
  }
  destination {
    host      = "127.0.0.1"
    port      = 5080
    transport = "udp"
  }
  media {
    latching = "learn"
  }
}

trunk "local_uac" {
  interface = "loopback"
  match {
    sources = ["127.0.0.0/8", "::1"]
  }
}

route "demo" {
  match {
    from_trunk = ["local_uac"]
  }
  trunks = ["local_uas"]
}
