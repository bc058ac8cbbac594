package sip

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseVia(t *testing.T) {
	type want struct {
		proto, version, transport, host string
		port                            int
		branch, received                string
		rport                           int
		hasRPort                        bool
		maddr                           string
		ttl                             int
		params                          string
	}
	ok := []struct {
		in string
		w  want
	}{
		{"SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds", want{"SIP", "2.0", "UDP", "pc33.atlanta.com", 0, "z9hG4bK776asdhds", "", 0, false, "", 0, ";branch=z9hG4bK776asdhds"}},
		{"SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bKa;received=192.0.2.99;rport=6000", want{"SIP", "2.0", "TCP", "192.0.2.1", 5070, "z9hG4bKa", "192.0.2.99", 6000, true, "", 0, ";branch=z9hG4bKa;received=192.0.2.99;rport=6000"}},
		{"SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKa", want{"SIP", "2.0", "UDP", "192.0.2.1", 0, "z9hG4bKa", "", 0, true, "", 0, ";rport;branch=z9hG4bKa"}},
		{"SIP/2.0/UDP 192.0.2.1;maddr=224.2.0.1;ttl=16;branch=z9hG4bKa", want{"SIP", "2.0", "UDP", "192.0.2.1", 0, "z9hG4bKa", "", 0, false, "224.2.0.1", 16, ";maddr=224.2.0.1;ttl=16;branch=z9hG4bKa"}},
		// RFC 5118 §4.5: received with and without brackets.
		{"SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111", want{"SIP", "2.0", "UDP", "[2001:db8::9:1]", 0, "z9hG4bKas3-111", "2001:db8::9:255", 0, false, "", 0, ";received=[2001:db8::9:255];branch=z9hG4bKas3-111"}},
		{"SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3-111", want{"SIP", "2.0", "UDP", "[2001:db8::9:1]", 0, "z9hG4bKas3-111", "2001:db8::9:255", 0, false, "", 0, ";received=2001:db8::9:255;branch=z9hG4bKas3-111"}},
		{"SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19", want{"SIP", "2.0", "UDP", "[::ffff:192.0.2.10]", 19823, "z9hG4bKbh19", "", 0, false, "", 0, ";branch=z9hG4bKbh19"}},
		// RFC 4475 §3.1.1.10: unknown transports.
		{"SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en", want{"SIP", "2.0", "UNKNOWN", "t4.example.com", 0, "z9hG4bKasd0f3en", "", 0, false, "", 0, ";branch=z9hG4bKasd0f3en"}},
		{"SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf", want{"SIP", "2.0", "SCTP", "t2.example.com", 0, "z9hG4bKklasjdhf", "", 0, false, "", 0, ";branch=z9hG4bKklasjdhf"}},
		// RFC 4475 §3.1.1.1 wsinv (values as unfolded by the message parser).
		{"SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw", want{"SIP", "2.0", "UDP", "192.0.2.2", 0, "390skdjuw", "", 0, false, "", 0, ";branch=390skdjuw"}},
		{"SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8", want{"SIP", "2.0", "TCP", "spindle.example.com", 0, "z9hG4bK9ikj8", "", 0, false, "", 0, ";branch=z9hG4bK9ikj8"}},
		{"SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239", want{"SIP", "2.0", "UDP", "192.168.255.111", 0, "z9hG4bK30239", "", 0, false, "", 0, ";branch=z9hG4bK30239"}},
		{"SIP/2.0/TCP sip33.example.com", want{"SIP", "2.0", "TCP", "sip33.example.com", 0, "", "", 0, false, "", 0, ""}},
		{"SIP/2.0/UDP host : 5060;x=\"a;b\"", want{"SIP", "2.0", "UDP", "host", 5060, "", "", 0, false, "", 0, ";x=\"a;b\""}},
		{"SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKa", want{"SIP", "2.0", "WSS", "df7jal23ls0d.invalid", 0, "z9hG4bKa", "", 0, false, "", 0, ";branch=z9hG4bKa"}},
	}
	for _, c := range ok {
		v, err := ParseVia(c.in)
		if err != nil {
			t.Errorf("ParseVia(%q): %v", c.in, err)
			continue
		}
		rp, hasRP := v.RPort()
		ttl, _ := v.TTL()
		got := want{v.Proto, v.Version, v.Transport, v.Host, v.Port, v.Branch(), v.Received(), rp, hasRP, v.MAddr(), ttl, v.Params.String()}
		if got != c.w {
			t.Errorf("ParseVia(%q)\n got %+v\nwant %+v", c.in, got, c.w)
		}
		roundTrip(t, c.in, v, ParseVia)
	}
	bad := []struct {
		in   string
		want error
	}{
		{"", ErrBadValue},
		{"SIP/2.0 host", ErrBadValue},
		{"SIP/2.0/UDP", ErrBadValue},
		{"SIP/2.0/UDPhost", ErrBadValue},
		{"SIP//UDP host", ErrBadValue},
		{"SIP/2.0/UDP 192.0.2.15;;", ErrBadValue}, // RFC 4475 §3.1.2.1 badinv01
		{"SIP/2.0/UDP 192.0.2.15;", ErrBadValue},
		{"SIP/2.0/UDP host:0", ErrBadValue},
		{"SIP/2.0/UDP host:70000", ErrBadValue},
		{"SIP/2.0/UDP host:", ErrBadValue},
		{"SIP/2.0/UDP [2001:db8::1", ErrUnbalanced},
		{"SIP/2.0/UDP 2001:db8::1", ErrBadValue},
		{"SIP/2.0/UDP host;received=example.com", ErrBadValue},
		{"SIP/2.0/UDP host;received=", ErrBadValue},
		{"SIP/2.0/UDP host;rport=0", ErrBadValue},
		{"SIP/2.0/UDP host;rport=x", ErrBadValue},
		{"SIP/2.0/UDP host;ttl=300", ErrBadValue},
		{"SIP/2.0/UDP host;maddr=-x", ErrBadValue},
		{"SIP/2.0/UDP host;branch=\"q\"", ErrBadValue},
		{"SIP/2.0/UDP host;x=\"open", ErrUnbalanced},
		{"SIP/2.0/UDP host, SIP/2.0/UDP other", ErrBadValue},
		{"SIP/2.0/UDP host extra", ErrBadValue},
	}
	for _, c := range bad {
		if v, err := ParseVia(c.in); !errors.Is(err, c.want) {
			t.Errorf("ParseVia(%q) = %+v, %v; want %v", c.in, v, err, c.want)
		}
	}
}

// roundTrip checks parse → AppendTo → parse gives an equal value (when T
// is comparable, compared with ==, else by canonical text) and that the
// canonical text is a fixed point.
func roundTrip[T interface{ AppendTo([]byte) []byte }](t *testing.T, in string, v T, parse func(string) (T, error)) {
	t.Helper()
	s1 := string(v.AppendTo(nil))
	w, err := parse(s1)
	if err != nil {
		t.Errorf("round trip of %q: reparse of %q: %v", in, s1, err)
		return
	}
	if s2 := string(w.AppendTo(nil)); s2 != s1 {
		t.Errorf("round trip of %q: %q then %q", in, s1, s2)
	}
	if eq, ok := any(v).(interface{ equalForTest(any) bool }); ok {
		if !eq.equalForTest(w) {
			t.Errorf("round trip of %q: %+v reparsed as %+v", in, v, w)
		}
	} else if any(v) != any(w) {
		t.Errorf("round trip of %q: %+v reparsed as %+v", in, v, w)
	}
}

func (v Via) equalForTest(o any) bool { return v == o.(Via) }

func (n NameAddr) equalForTest(o any) bool {
	m := o.(NameAddr)
	m.Angle = n.Angle // AppendTo always writes the <> form
	return n == m
}

func (h HistoryInfo) equalForTest(o any) bool {
	return h.NameAddr.equalForTest(o.(HistoryInfo).NameAddr)
}

func (d Diversion) equalForTest(o any) bool { return d.NameAddr.equalForTest(o.(Diversion).NameAddr) }

func (c Contact) equalForTest(o any) bool {
	d := o.(Contact)
	d.Angle = c.Angle
	return c == d
}

func TestParseViaAllocs(t *testing.T) {
	for _, in := range []string{
		"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport;received=192.0.2.7",
		"SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3-111",
	} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseVia(in) }); n != 0 {
			t.Errorf("ParseVia(%q) allocates %v times, want 0", in, n)
		}
	}
}

func TestViaBuild(t *testing.T) {
	v := Via{Transport: "TLS", Host: HostForAddr(netip.MustParseAddr("2001:db8::5")), Port: 5061}
	v.Params.Set("branch", BranchMagic+"abc")
	v.Params.Set("rport", "")
	want := "SIP/2.0/TLS [2001:db8::5]:5061;branch=z9hG4bKabc;rport"
	if got := v.String(); got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	w, err := ParseVia(want)
	if p, ok := w.RPort(); err != nil || w.Branch() != "z9hG4bKabc" || !ok || p != 0 || w.Host != "[2001:db8::5]" {
		t.Errorf("reparse = %+v, %v", w, err)
	}
}
