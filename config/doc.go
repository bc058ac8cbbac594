// Package config is the SBC daemon's own settings, read once at start from
// HCL: interfaces (SIP listeners per transport, the address advertised
// behind a 1:1 NAT, media address and port range), SIP timers T1/T2/T4
// (RFC 3261 §17.1.1.1), message size and connection limits (RFC 3261
// §18.1.1), admin and metrics listeners, logging, CDR output and the policy
// files to load. An embedded default runs the demo on loopback; a file and
// flags override it. Validation errors are hcl.Diagnostics with file, line
// and column, like package policy's.
package config
