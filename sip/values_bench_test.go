package sip

import (
	"testing"

	"github.com/sbc-project/sbc/sip/siptest"
)

// Benchmarks of the value parsers. Each reports allocations; the baseline
// for ratios is BenchmarkSplitList (one pass over a similar-sized value).

func BenchmarkParseURI(b *testing.B) {
	for _, c := range []struct{ name, in string }{
		{"short", "sip:alice@atlanta.example.com"},
		{"typical", "sip:+4930123456@sbc.example.net:5060;user=phone;transport=udp"},
		{"ipv6+headers", "sips:bob@[2001:db8::10]:5061;transport=tls;lr?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2"},
		{"tel", "tel:+1-201-555-0123;ext=1234"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				if _, err := ParseURI(c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseVia(b *testing.B) {
	for _, c := range []struct{ name, in string }{
		{"typical", "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport"},
		{"response", "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport=5060;received=198.51.100.7"},
		{"lws", "SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				if _, err := ParseVia(c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseNameAddr(b *testing.B) {
	for _, c := range []struct{ name, in string }{
		{"from", `"Alice" <sip:+4989987654@carrier.example.com;user=phone>;tag=1928301774`},
		{"addr-spec", "sip:caller@example.net;tag=93334"},
		{"route", "<sip:p1.example.com;lr>"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				if _, err := ParseNameAddr(c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSplitList(b *testing.B) {
	in := `"Bell, Alexander" <sip:a@b>;tag=1, <sip:c@d>, sip:e@f`
	buf := make([]string, 0, 8)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := SplitList(buf[:0], in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkURIEqual(b *testing.B) {
	u := mustURIB(b, "sip:%61lice@atlanta.com;transport=TCP;lr")
	v := mustURIB(b, "sip:alice@AtLanTa.CoM;Transport=tcp;lr")
	b.ReportAllocs()
	for b.Loop() {
		if !u.Equal(v) {
			b.Fatal("not equal")
		}
	}
}

func BenchmarkURIAppendTo(b *testing.B) {
	u := mustURIB(b, "sip:+4930123456@sbc.example.net:5060;user=phone;transport=udp")
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = u.AppendTo(buf[:0])
	}
}

func mustURIB(b *testing.B, s string) URI {
	u, err := ParseURI(s)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// BenchmarkTypedAccess reads the headers a proxy core needs from a parsed
// INVITE through the typed accessors (the message parse itself excluded).
func BenchmarkTypedAccess(b *testing.B) {
	m, err := Parse([]byte(siptest.TypicalInvite))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, e1 := m.TopVia()
		_, e2 := m.From()
		_, e3 := m.To()
		_, e4 := m.CallID()
		_, e5 := m.CSeq()
		_, e6 := m.MaxForwards()
		if e1 != nil || e2 != nil || e3 != nil || e4 != nil || e5 != nil || e6 != nil {
			b.Fatal(e1, e2, e3, e4, e5, e6)
		}
	}
}
