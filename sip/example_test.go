package sip_test

import (
	"fmt"
	"strings"

	"github.com/sbc-project/sbc/sip"
)

// The receive path: frame (streams only), parse, validate, and answer a
// defective request statelessly.
func Example_receive() {
	datagram := []byte("OPTIONS sip:sbc.example.net SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9\r\n" +
		"From: <sip:alice@example.com>;tag=9fxced76sl\r\n" +
		"To: <sip:sbc.example.net>\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n")
	m, err := sip.Parse(datagram)
	if err != nil {
		fmt.Println(sip.DropVerdict(err)) // unframeable: drop (close a stream)
		return
	}
	v := sip.Validate(m)
	fmt.Println(v)
	if resp := v.Response(m); resp != nil {
		resp.SetHeader("To", "<sip:sbc.example.net>;tag=sbc1")
		fmt.Print(strings.ReplaceAll(resp.String(), "\r\n", "\n"))
	}
	// Output:
	// 400 Bad Request (Missing Call-ID)
	// SIP/2.0 400 Bad Request (Missing Call-ID)
	// Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9
	// From: <sip:alice@example.com>;tag=9fxced76sl
	// To: <sip:sbc.example.net>;tag=sbc1
	// CSeq: 1 OPTIONS
	// Content-Length: 0
}

// Building a B-leg request from an allowlist and serializing it into a
// reused buffer.
func ExampleNewRequest() {
	m := sip.NewRequest("INVITE", "sip:+4930123456@carrier.example.net")
	m.AddHeader("Via", "SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKb2b1")
	m.AddHeader("Max-Forwards", "69")
	m.AddHeader("From", "<sip:+4989987654@sbc.example.net>;tag=b1")
	m.AddHeader("To", "<sip:+4930123456@carrier.example.net>")
	m.AddHeader("i", "b2b-1@sbc.example.net") // compact forms are expanded
	m.AddHeader("CSeq", "1 INVITE")
	m.SetBody("application/sdp", []byte("v=0\r\n"))
	buf := make([]byte, 0, 1500)
	buf = m.AppendTo(buf[:0])
	fmt.Print(strings.ReplaceAll(string(buf), "\r\n", "\n"))
	// Output:
	// INVITE sip:+4930123456@carrier.example.net SIP/2.0
	// Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKb2b1
	// Max-Forwards: 69
	// From: <sip:+4989987654@sbc.example.net>;tag=b1
	// To: <sip:+4930123456@carrier.example.net>
	// Call-ID: b2b-1@sbc.example.net
	// CSeq: 1 INVITE
	// Content-Type: application/sdp
	// Content-Length: 5
	//
	// v=0
}
