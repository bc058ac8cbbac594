// Package transport carries SIP messages over UDP, TCP and TLS (RFC 3261 §18)
// for named interfaces: it listens on IPv4 and IPv6, frames streams by
// Content-Length, fills in `received` and `rport` on incoming requests
// (RFC 3261 §18.2.1, RFC 3581), sends responses where RFC 3261 §18.2.2 and
// RFC 3581 §4 say, answers RFC 5626 §4.4.1 CRLF keepalives, reuses stream
// connections, resolves host names through SRV and A/AAAA (an RFC 3263
// subset; answers cached per target for Config.DNSCacheTTL, refreshed in
// the background and served stale through a DNS outage, RFC 8767), and bounds every peer's cost with limits on message size,
// connections per source, idle time, partial-message time and a per
// connection write queue with write deadlines.
//
// A Layer owns the sockets. Each message that parses and validates is handed
// to the Handler with its source, interface, transport and the Flow to answer
// on; messages that do not are counted and reported through Config.OnReject,
// and requests among them get the stateless answer sip.Validate names.
package transport
