package nat

import (
	"net/netip"
	"testing"

	"github.com/sbc-project/sbc/sip"
)

func TestDetect(t *testing.T) {
	msg := func(via, contact string) *sip.Message {
		s := "INVITE sip:bob@example.com SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + via + ";branch=z9hG4bK1\r\n" +
			"From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n" +
			"Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
		if contact != "" {
			s += "Contact: " + contact + "\r\n"
		}
		s += "Content-Length: 0\r\n\r\n"
		m, err := sip.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	pub := netip.MustParseAddrPort("198.51.100.7:5060")
	tests := []struct {
		name    string
		via     string
		contact string
		src     netip.AddrPort
		udp     bool
		sdp     []netip.Addr
		want    Reason
	}{
		{"public UA, everything agrees", "198.51.100.7:5060", "<sip:a@198.51.100.7:5060>", pub, true, []netip.Addr{pub.Addr()}, 0},
		{"default port 5060 agrees", "198.51.100.7", "<sip:a@198.51.100.7>", pub, true, nil, 0},
		{"host names are no evidence", "ua.example.com", "<sip:a@ua.example.com>", pub, true, nil, 0},
		{"private LAN, no NAT", "10.0.0.5:5060", "<sip:a@10.0.0.5:5060>", netip.MustParseAddrPort("10.0.0.5:5060"), true, []netip.Addr{netip.MustParseAddr("10.0.0.5")}, 0},
		{"hold address ignored", "198.51.100.7:5060", "<sip:a@198.51.100.7:5060>", pub, true, []netip.Addr{netip.MustParseAddr("0.0.0.0")}, 0},
		{"TCP source port is ephemeral", "198.51.100.7:5060", "<sip:a@198.51.100.7:5060;transport=tcp>", netip.MustParseAddrPort("198.51.100.7:49152"), false, nil, 0},
		{"IPv4-mapped source", "198.51.100.7:5060", "<sip:a@198.51.100.7:5060>", netip.MustParseAddrPort("[::ffff:198.51.100.7]:5060"), true, nil, 0},
		{"RFC 1918 behind NAT", "192.168.1.20:5060", "<sip:a@192.168.1.20:5060>", netip.MustParseAddrPort("198.51.100.7:31000"), true,
			[]netip.Addr{netip.MustParseAddr("192.168.1.20")}, ViaAddr | ViaPort | ContactAddr | ContactPort | SDPAddr | Private},
		{"CGN RFC 6598", "100.64.3.4:5060", "<sip:a@100.64.3.4:5060>", pub, true, nil, ViaAddr | ContactAddr | Private},
		{"port translated only (rport)", "198.51.100.7:5060", "<sip:a@198.51.100.7:5060>", netip.MustParseAddrPort("198.51.100.7:40000"), true, nil, ViaPort | ContactPort},
		{"public Contact from STUN, other source", "203.0.113.9:5060", "<sip:a@203.0.113.9:5060>", pub, true, nil, ViaAddr | ContactAddr},
		{"SDP private only", "198.51.100.7:5060", "<sip:a@198.51.100.7:5060>", pub, true, []netip.Addr{netip.MustParseAddr("172.16.0.9")}, SDPAddr | Private},
		{"ULA IPv6", "[fd00::5]:5060", "<sip:a@[fd00::5]:5060>", netip.MustParseAddrPort("[2001:db8::7]:5060"), true, nil, ViaAddr | ContactAddr | Private},
		{"IPv6 link-local", "[fe80::1]:5060", "", netip.MustParseAddrPort("[2001:db8::7]:5060"), true, nil, ViaAddr | Private},
		{"IPv6 agrees", "[2001:db8::7]:5060", "<sip:a@[2001:db8::7]:5060>", netip.MustParseAddrPort("[2001:db8::7]:5060"), true, nil, 0},
		{"TLS default port 5061", "198.51.100.7", "<sips:a@198.51.100.7>", netip.MustParseAddrPort("198.51.100.7:5061"), true, nil, ViaPort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Detect(msg(tc.via, tc.contact), tc.src, tc.udp, tc.sdp...)
			if d.Reasons != tc.want || d.NATed != (tc.want != 0) {
				t.Errorf("Detect = %v (%s), want %s", d.NATed, d.Reasons, tc.want)
			}
		})
	}
}

func TestIsPrivate(t *testing.T) {
	for _, a := range []string{"10.1.2.3", "172.31.255.255", "192.168.0.1", "100.127.0.1", "169.254.1.1", "fc00::1", "fd12::1", "fe80::1", "::ffff:10.0.0.1"} {
		if !IsPrivate(netip.MustParseAddr(a)) {
			t.Errorf("IsPrivate(%s) = false", a)
		}
	}
	for _, a := range []string{"172.32.0.1", "100.128.0.1", "100.63.255.255", "192.0.2.1", "8.8.8.8", "2001:db8::1", "fec0::1"} {
		if IsPrivate(netip.MustParseAddr(a)) {
			t.Errorf("IsPrivate(%s) = true", a)
		}
	}
}

func TestReasonString(t *testing.T) {
	if s := (ViaAddr | ContactPort | Private).String(); s != "via-addr,contact-port,private" {
		t.Errorf("String = %q", s)
	}
	if s := Reason(0).String(); s != "" {
		t.Errorf("String = %q", s)
	}
}
