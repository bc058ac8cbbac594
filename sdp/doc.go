// Package sdp parses, rewrites and serialises Session Description Protocol
// bodies (RFC 8866) for the B2BUA, which anchors every media stream of a call
// on the SBC's relay: [Remote] reports what each stream's sender signalled
// (RFC 3264 offer/answer, RFC 3605 a=rtcp, RFC 5761 rtcp-mux, RFC 3264 §8.4
// hold), and [Rewrite] replaces c=, o= (per leg, RFC 3264 §8 versioning), m=
// ports and a=rtcp with the relay's own, strips ICE (RFC 8839) or puts the
// relay's ICE-lite candidates in its place (RFC 8445 §2.5) and filters codecs
// (RFC 3551 static payload types) so that nothing of one side's topology
// reaches the other side.
package sdp
