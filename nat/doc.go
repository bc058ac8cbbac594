// Package nat holds the SBC's NAT traversal building blocks for user agents
// behind NAT: per-request NAT detection (RFC 3581 sent-by versus source,
// private ranges of RFC 1918, RFC 6598 and RFC 4193), the registration
// relay of an access trunk with its binding cache (RFC 3261 §10: REGISTER
// forwarded with the SBC's own Contact, expiry shortened toward the UA,
// 401/407 challenges relayed, §10.2.4 Call-ID/CSeq per binding), and
// keepalives that hold each NATed UA's binding open (OPTIONS, RFC 3261 §11,
// or the double-CRLF ping of RFC 5626 §4.4.1 on streams). Expiry and
// keepalives run on one heap driven by an injectable clock; there is no
// goroutine per binding. The cache belongs to the process, not to a policy
// generation, so it survives policy reloads.
package nat
