// Package siptest holds SIP test fixtures shared by the sip package's tests and
// the benchmarks under bench/: typical carrier messages as wire bytes.
package siptest

import "strings"

// TypicalInvite is a typical carrier INVITE with SDP: 14 header lines and a
// 238-octet audio offer.
const TypicalInvite = "INVITE sip:+4930123456@sbc.example.net;user=phone SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"To: <sip:+4930123456@sbc.example.net;user=phone>\r\n" +
	"From: \"Alice\" <sip:+4989987654@carrier.example.com;user=phone>;tag=1928301774\r\n" +
	"Call-ID: a84b4c76e66710@pc33.carrier.example.com\r\n" +
	"CSeq: 314159 INVITE\r\n" +
	"Contact: <sip:+4989987654@198.51.100.7:5060;transport=udp>\r\n" +
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, REFER, NOTIFY\r\n" +
	"Supported: 100rel, timer, replaces\r\n" +
	"Session-Expires: 1800;refresher=uac\r\n" +
	"P-Asserted-Identity: <sip:+4989987654@carrier.example.com;user=phone>\r\n" +
	"User-Agent: CarrierGW/4.2\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 238\r\n" +
	"\r\n" +
	"v=0\r\n" +
	"o=- 2890844526 2890842807 IN IP4 198.51.100.7\r\n" +
	"s=-\r\n" +
	"c=IN IP4 198.51.100.7\r\n" +
	"t=0 0\r\n" +
	"m=audio 49170 RTP/AVP 8 0 101\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-15\r\n" +
	"a=ptime:20\r\n" +
	"a=sendrecv\r\n"

// OKResponse is a 200 OK answering TypicalInvite, without a body.
const OKResponse = "SIP/2.0 200 OK\r\n" +
	"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport=5060;received=198.51.100.7\r\n" +
	"Record-Route: <sip:sbc.example.net;lr>\r\n" +
	"To: <sip:+4930123456@sbc.example.net;user=phone>;tag=a6c85cf\r\n" +
	"From: \"Alice\" <sip:+4989987654@carrier.example.com;user=phone>;tag=1928301774\r\n" +
	"Call-ID: a84b4c76e66710@pc33.carrier.example.com\r\n" +
	"CSeq: 314159 INVITE\r\n" +
	"Contact: <sip:+4930123456@203.0.113.5:5060>\r\n" +
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n" +
	"Content-Length: 0\r\n" +
	"\r\n"

// LargeMessage returns an INVITE that crossed many proxies: 40 Via lines, 20
// Record-Route lines, a 360-octet display name, a 100-octet tag, a 220-octet
// Call-ID and a folded unknown header (about 6 KB).
func LargeMessage() string {
	var b strings.Builder
	b.WriteString("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n")
	for i := range 40 {
		b.WriteString("Via: SIP/2.0/TCP proxy")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(".example.com:5060;branch=z9hG4bK")
		b.WriteString(strings.Repeat("a", 16+i%5))
		b.WriteString(";received=192.0.2.1;rport=5060\r\n")
	}
	for range 20 {
		b.WriteString("Record-Route: <sip:rr.example.com;lr;ftag=3k49djq;did=f3a.8b2c>\r\n")
	}
	b.WriteString("Max-Forwards: 30\r\nTo: <sip:bob@biloxi.example.com>\r\n")
	b.WriteString("From: \"" + strings.Repeat("Long Display Name ", 20) + "\" <sip:alice@atlanta.example.com>;tag=" + strings.Repeat("t", 100) + "\r\n")
	b.WriteString("Call-ID: " + strings.Repeat("c", 200) + "@atlanta.example.com\r\n")
	b.WriteString("CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.10>\r\n")
	b.WriteString("X-Folded: " + strings.Repeat("word ", 30) + "\r\n  " + strings.Repeat("more ", 30) + "\r\n")
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}
