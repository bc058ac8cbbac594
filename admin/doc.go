// Package admin serves the SBC's operator interface on the admin listener
// (loopback by default): /metrics for Prometheus and a JSON API under /api/
// to list and hang up calls, list registrations, reload policy, drain and
// check health, with optional bearer-token authentication (RFC 6750 §2.1,
// §3). It also provides the Client the sbc subcommands use. Data comes
// through small interfaces the daemon implements; admin imports no other
// SBC package.
package admin
