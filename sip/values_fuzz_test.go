package sip

import (
	"strings"
	"testing"
)

// FuzzParseURI checks that ParseURI never panics, that an accepted URI
// serialises to text that parses back to an equal URI with the same text,
// and that Equal is reflexive.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"sip:alice@atlanta.com",
		"sips:bob:pw@[2001:db8::1]:5061;transport=tls;lr?Subject=x&h=%20",
		"sip:user;par=u%40example.net@example.com",
		"sip:sips%3Auser%40example.com@example.net",
		"sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
		"sip:null-%00-null@example.com",
		"sip:[2001:db8:::192.0.2.1]",
		"sip:host;maddr=[::1];ttl=5",
		"tel:+1-201-555-0123;ext=1;isub=x",
		"tel:7042;phone-context=example.com",
		"mailto:alice@example.com",
		"urn:service:sos",
		"<sip:a@b>",
		"sip:a@b; lr",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		if !u.Equal(u) {
			t.Fatalf("%q: not equal to itself", s)
		}
		s1 := u.String()
		v, err := ParseURI(s1)
		if err != nil {
			t.Fatalf("%q serialised as %q which does not parse: %v", s, s1, err)
		}
		if s2 := v.String(); s2 != s1 {
			t.Fatalf("%q: %q then %q", s, s1, s2)
		}
		if !u.Equal(v) || !v.Equal(u) {
			t.Fatalf("%q: reparsed %q is not equal", s, s1)
		}
		if strings.ContainsAny(s, " \t\r\n<>") {
			t.Fatalf("%q: accepted LWS or <> inside a URI", s)
		}
	})
}

// FuzzParseNameAddr checks that ParseNameAddr never panics and that an
// accepted value round-trips through AppendTo to an equal value.
func FuzzParseNameAddr(f *testing.F) {
	for _, s := range []string{
		`"Bob \"B\"" <sip:bob@biloxi.com>;tag=a6c85cf`,
		"sip:caller@example.net;tag=93334",
		"caller<sip:caller@example.com>;tag=323",
		"A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe",
		`"J Rosenberg \\\""       <sip:jdrosen@example.com>   ;   tag = 98asjd8`,
		`"Mr. J. User <sip:j.user@example.com>`,
		"sip:user@example.com?Route=%3Csip:sip.example.com%3E",
		"<sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
		"<tel:+1-201-555-0123>;x=\"q;s\";flag",
		"<urn:service:sos>",
		"Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNameAddr(s)
		if err != nil {
			return
		}
		s1 := n.String()
		m, err := ParseNameAddr(s1)
		if err != nil {
			t.Fatalf("%q serialised as %q which does not parse: %v", s, s1, err)
		}
		if s2 := m.String(); s2 != s1 {
			t.Fatalf("%q: %q then %q", s, s1, s2)
		}
		if m.Display != n.Display || !m.URI.Equal(n.URI) || m.Params != n.Params {
			t.Fatalf("%q: reparsed %+v differs from %+v", s, m, n)
		}
	})
}
