// Package sip is the SBC's SIP message layer: the message model, a parser that
// keeps one owned copy of the received bytes and views it, a canonical
// serializer into caller buffers, building and editing helpers for the B2BUA,
// stream framing, and a validator naming the answer a UAS owes (RFC 3261 §7,
// §8, §18.3, §19, §20, §25; RFC 4475 torture tests; RFC 5118 IPv6 tests), plus
// URI and header value types.
package sip
