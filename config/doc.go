// Package config is how the daemon runs, read once at start from HCL: its
// interfaces (SIP listeners per transport, the address advertised behind a
// 1:1 NAT, the media address and port range), SIP timers (RFC 3261 §17.1.1.1
// T1, T2, T4) and transport limits, media settings, the admin and metrics
// listener, logging, CDR output, SIP capture and the policy files to load.
//
// An embedded default (default.hcl) makes `sbc` with no flags start on
// loopback: SIP on 127.0.0.1:5060 over UDP and TCP, media on 127.0.0.1,
// admin and metrics on 127.0.0.1:9060, with the embedded default policy.
// Every error is an hcl.Diagnostic with file, line and column (DiagError).
// The package is pure: it opens no sockets.
package config
