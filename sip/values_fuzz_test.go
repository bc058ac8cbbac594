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

// FuzzParseValues feeds one string to every header-value parser: none may
// panic, and each accepted value must serialise to text that parses back
// to the same canonical text.
func FuzzParseValues(f *testing.F) {
	for _, s := range []string{
		"SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3-111;rport",
		`"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33`,
		"*",
		"4711 INVITE",
		`Digest username="bob", realm="biloxi.com", qop=auth, nc=00000001`,
		"SIP;cause=200;text=\"done\"",
		"multipart/mixed;boundary=\"b1\"",
		"abc.def;info=<https://x.example/c.cer>;alg=ES256",
		"425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only",
		"terminated;reason=noresource;retry-after=5",
		"refer;id=1",
		"1800;refresher=uac",
		"5 7 INVITE",
		"a, \"b,c\", <d,e>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(name string, v interface{ AppendTo([]byte) []byte }, err error, parse func(string) (string, error)) {
			if err != nil {
				return
			}
			s1 := string(v.AppendTo(nil))
			s2, err := parse(s1)
			if err != nil {
				t.Fatalf("%s(%q) → %q does not parse: %v", name, s, s1, err)
			}
			if s2 != s1 {
				t.Fatalf("%s(%q): %q then %q", name, s, s1, s2)
			}
		}
		via, err := ParseVia(s)
		check("Via", via, err, func(x string) (string, error) { v, err := ParseVia(x); return v.String(), err })
		c, err := ParseContact(s)
		check("Contact", c, err, func(x string) (string, error) { v, err := ParseContact(x); return v.String(), err })
		cs, err := ParseCSeq(s)
		check("CSeq", cs, err, func(x string) (string, error) { v, err := ParseCSeq(x); return v.String(), err })
		a, err := ParseAuth(s)
		check("Auth", a, err, func(x string) (string, error) { v, err := ParseAuth(x); return v.String(), err })
		r, err := ParseReason(s)
		check("Reason", r, err, func(x string) (string, error) { v, err := ParseReason(x); return v.String(), err })
		ct, err := ParseContentType(s)
		check("ContentType", ct, err, func(x string) (string, error) { v, err := ParseContentType(x); return v.String(), err })
		id, err := ParseIdentity(s)
		check("Identity", id, err, func(x string) (string, error) { v, err := ParseIdentity(x); return v.String(), err })
		rp, err := ParseReplaces(s)
		check("Replaces", rp, err, func(x string) (string, error) { v, err := ParseReplaces(x); return v.String(), err })
		ss, err := ParseSubscriptionState(s)
		check("SubscriptionState", ss, err, func(x string) (string, error) { v, err := ParseSubscriptionState(x); return v.String(), err })
		ev, err := ParseEvent(s)
		check("Event", ev, err, func(x string) (string, error) { v, err := ParseEvent(x); return v.String(), err })
		se, err := ParseSessionExpires(s)
		check("SessionExpires", se, err, func(x string) (string, error) { v, err := ParseSessionExpires(x); return v.String(), err })
		ra, err := ParseRAck(s)
		check("RAck", ra, err, func(x string) (string, error) { v, err := ParseRAck(x); return v.String(), err })
		if elems, err := SplitList(nil, s); err == nil {
			for _, e := range elems {
				if e == "" || e != trimLWS(e) {
					t.Fatalf("SplitList(%q) gave element %q", s, e)
				}
			}
		}
		if !strings.ContainsAny(s, "\r\n") {
			if q := Quote(s); scanQuoted(q, 0) != len(q) || Unquote(q) != s {
				t.Fatalf("Quote(%q) = %q does not scan back", s, q)
			}
		}
		for part := EscapeUser; part <= EscapeHeader; part++ {
			e := Escape(s, part)
			if back, err := Unescape(e); err != nil || back != s || !validEscaped(e, part.class()) {
				t.Fatalf("Escape(%q, %d) = %q, back %q, %v", s, part, e, back, err)
			}
		}
		_, _ = ParseTokenList(nil, s)
		_, _ = ParsePrivacy(nil, s)
		_, _ = ParseHistoryInfo(s)
		_, _ = ParseDiversion(s)
		_, _ = ParseText(s)
		_, _ = ParseCallID(s)
		_, _, _ = ParseMinSE(s)
	})
}

// FuzzURIEqual checks that URI comparison is symmetric and that a URI and
// its serialisation compare equal.
func FuzzURIEqual(f *testing.F) {
	f.Add("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp")
	f.Add("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off")
	f.Add("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060")
	f.Add("tel:+1-201-555-0123;ext=1", "tel:+12015550123;ext=1")
	f.Add("sip:a@h;x=1;x=2", "sip:a@h;x=1")
	f.Fuzz(func(t *testing.T, a, b string) {
		u, err1 := ParseURI(a)
		v, err2 := ParseURI(b)
		if err1 != nil || err2 != nil {
			return
		}
		if u.Equal(v) != v.Equal(u) {
			t.Fatalf("Equal(%q, %q) is not symmetric", a, b)
		}
	})
}
