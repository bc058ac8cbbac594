// Package sipptest runs SIPp (Debian's sip-tester) as a real SIP peer for the
// SBC's end-to-end tests and load bench: it starts a bounded SIPp process with
// a scenario from scripts/sipp, waits for it under a context, kills only its
// own PID on cleanup, and parses SIPp's statistics (-trace_stat CSV) and
// response times (-trace_rtt) into Go values. It also writes the RTP capture
// SIPp plays (WriteRTPPcap) and taps RTP on loopback (RTPTap) so tests can
// prove that media reached the address an SDP answer named.
//
// The scenarios follow RFC 3261 (dialogs, route sets, CANCEL, ACK), RFC 3262
// (PRACK), RFC 3311 (UPDATE), RFC 3264 (offer/answer), RFC 6086 (INFO) and
// RFC 3428 (MESSAGE); see scripts/sipp/README.md.
package sipptest
