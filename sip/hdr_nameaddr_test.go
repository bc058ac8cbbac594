package sip

import (
	"errors"
	"testing"
)

func TestParseNameAddr(t *testing.T) {
	type want struct {
		display, name, uri, params, tag string
		angle                           bool
	}
	ok := []struct {
		in string
		w  want
	}{
		{"Bob <sip:bob@biloxi.com>;tag=a6c85cf", want{"Bob", "Bob", "sip:bob@biloxi.com", ";tag=a6c85cf", "a6c85cf", true}},
		{`"Bob \"B\" Smith" <sip:bob@biloxi.com>`, want{`"Bob \"B\" Smith"`, `Bob "B" Smith`, "sip:bob@biloxi.com", "", "", true}},
		{"<sip:alice@atlanta.com>;tag=1928301774", want{"", "", "sip:alice@atlanta.com", ";tag=1928301774", "1928301774", true}},
		// RFC 3261 §20.10: without <>, ";tag" belongs to the header.
		{"sip:caller@example.net;tag=93334", want{"", "", "sip:caller@example.net", ";tag=93334", "93334", false}},
		// RFC 4475 §3.1.1.6 lwsdisp.
		{"caller<sip:caller@example.com>;tag=323", want{"caller", "caller", "sip:caller@example.com", ";tag=323", "323", true}},
		{"A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe", want{"A. Bell", "A. Bell", "sip:a.g.bell@example.com", ";tag=qweoiqpe", "qweoiqpe", true}},
		{`"Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423`, want{`"Bell, Alexander"`, "Bell, Alexander", "sip:a.g.bell@example.com", ";tag=433423", "433423", true}},
		// RFC 4475 §3.1.1.1 wsinv (unfolded).
		{`"J Rosenberg \\\""       <sip:jdrosen@example.com>   ;   tag = 98asjd8`, want{`"J Rosenberg \\\""`, `J Rosenberg \"`, "sip:jdrosen@example.com", ";tag=98asjd8", "98asjd8", true}},
		{"sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n", want{"", "", "sip:vivekg@chair-dnrc.example.com", ";tag=1918181833n", "1918181833n", false}},
		{`"%Z%45" <sip:resource@example.com>;tag=f232jadfj23`, want{`"%Z%45"`, "%Z%45", "sip:resource@example.com", ";tag=f232jadfj23", "f232jadfj23", true}},
		{"<sip:+19725552222@gw1.example.net;unknownparam>", want{"", "", "sip:+19725552222@gw1.example.net;unknownparam", "", "", true}},
		{"<sip:services.example.com;lr;unknownwith=value;unknown-no-value>", want{"", "", "sip:services.example.com;lr;unknownwith=value;unknown-no-value", "", "", true}},
		{"<sip:user@example.com?Route=%3Csip:sip.example.com%3E>", want{"", "", "sip:user@example.com?Route=%3Csip:sip.example.com%3E", "", "", true}},
		{"<tel:+1-201-555-0123>;tag=x", want{"", "", "tel:+1-201-555-0123", ";tag=x", "x", true}},
		{"tel:+12015550123;tag=x", want{"", "", "tel:+12015550123", ";tag=x", "x", false}},
		{"<http://www.example.com>;tag=3234233", want{"", "", "http://www.example.com", ";tag=3234233", "3234233", true}},
		{"isbn:2983792873", want{"", "", "isbn:2983792873", "", "", false}},
		{"<urn:service:sos>", want{"", "", "urn:service:sos", "", "", true}},
		{`"Ünïcödé" <sip:u@example.com>`, want{`"Ünïcödé"`, "Ünïcödé", "sip:u@example.com", "", "", true}},
		{"<sip:a@b>;x=\"quoted;semi\";flag", want{"", "", "sip:a@b", ";x=\"quoted;semi\";flag", "", true}},
		// History-Info (RFC 7044) and Diversion (RFC 5806) parameters.
		{"<sip:bob@example.com?Reason=SIP%3Bcause%3D302>;index=1.1", want{"", "", "sip:bob@example.com?Reason=SIP%3Bcause%3D302", ";index=1.1", "", true}},
		{"<sip:+15551234@example.com>;reason=unconditional;counter=1;privacy=off", want{"", "", "sip:+15551234@example.com", ";reason=unconditional;counter=1;privacy=off", "", true}},
	}
	for _, c := range ok {
		n, err := ParseNameAddr(c.in)
		if err != nil {
			t.Errorf("ParseNameAddr(%q): %v", c.in, err)
			continue
		}
		got := want{n.Display, n.DisplayName(), n.URI.String(), n.Params.String(), n.Tag(), n.Angle}
		if got != c.w {
			t.Errorf("ParseNameAddr(%q)\n got %+v\nwant %+v", c.in, got, c.w)
		}
		roundTrip(t, c.in, n, ParseNameAddr)
	}
	bad := []struct {
		in   string
		want error
	}{
		{"", ErrBadValue},
		{"   ", ErrBadValue},
		{`"Mr. J. User <sip:j.user@example.com>`, ErrUnbalanced},              // RFC 4475 §3.1.2.6 quotbal
		{"sip:user@example.com?Route=%3Csip:sip.example.com%3E", ErrBadValue}, // RFC 4475 §3.1.2.13 regbadct
		{"sip:a@b,sip:c@d", ErrBadValue},
		{"Bell, Alexander <sip:a.g.bell@example.com>;tag=43", ErrBadValue}, // RFC 4475 §3.1.2.15 baddn
		{`"Watson, Thomas" < sip:t.watson@example.org >`, ErrBadURI},       // RFC 4475 §3.1.2.14 badaspec
		{"<sip:a@b", ErrUnbalanced},
		{`"x" sip:a@b`, ErrBadValue},
		{"<sip:a@b>;;;;", ErrBadValue}, // RFC 4475 §3.1.2.1 badinv01
		{"<sip:a@b>;tag=", ErrBadValue},
		{"<sip:a@b> junk", ErrBadValue},
		{"<sip:a@b>;tag=\"x", ErrUnbalanced},
		{"<>", ErrBadURI},
		{"<sip:a@b>>", ErrBadValue},
		{"Bob <notauri>", ErrBadURI},
		{"sip:user;par=u@example.com", ErrBadValue},
		{"Bob\x01 <sip:a@b>", ErrBadURI},
	}
	for _, c := range bad {
		if n, err := ParseNameAddr(c.in); !errors.Is(err, c.want) {
			t.Errorf("ParseNameAddr(%q) = %+v, %v; want %v", c.in, n, err, c.want)
		}
	}
}

func TestNameAddrBuild(t *testing.T) {
	n := NameAddr{URI: URI{Scheme: "sip", User: "alice", Host: "atlanta.example.com"}}
	n.SetDisplayName(`Alice "Al" Smith`)
	n.Params.Set("tag", "1928301774")
	want := `"Alice \"Al\" Smith" <sip:alice@atlanta.example.com>;tag=1928301774`
	if got := n.String(); got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	back, err := ParseNameAddr(want)
	if err != nil || back.DisplayName() != `Alice "Al" Smith` || back.Tag() != "1928301774" {
		t.Fatalf("reparse = %+v, %v", back, err)
	}
	n.SetDisplayName("Alice")
	if got := n.String(); got != "Alice <sip:alice@atlanta.example.com>;tag=1928301774" {
		t.Errorf("token display: %q", got)
	}
	n.Params.Set("tag", "new")
	n.Params.Del("nothing")
	if n.Tag() != "new" || n.Params.Len() != 1 {
		t.Errorf("Set replaced badly: %q", n.Params)
	}
	n.Params.Del("TAG")
	if n.Params.Len() != 0 {
		t.Errorf("Del left %q", n.Params)
	}
}

func TestParseNameAddrAllocs(t *testing.T) {
	in := `"Alice" <sip:alice@atlanta.example.com;transport=tcp>;tag=1928301774`
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseNameAddr(in) }); n != 0 {
		t.Errorf("ParseNameAddr allocates %v times, want 0", n)
	}
}

func TestParseContact(t *testing.T) {
	ok := []struct {
		in      string
		star    bool
		uri     string
		q       int
		hasQ    bool
		expires uint32
		hasExp  bool
	}{
		{"*", true, "", 0, false, 0, false},
		{"  *  ", true, "", 0, false, 0, false},
		{"<sip:alice@192.0.2.4>;q=0.7;expires=3600", false, "sip:alice@192.0.2.4", 700, true, 3600, true},
		{`"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=1.000`, false, "sip:watson@worcester.bell-telephone.com", 1000, true, 0, false},
		{"sip:+19725552222@gw1.example.net;unknownparam", false, "sip:+19725552222@gw1.example.net", 0, false, 0, false}, // RFC 4475 cparam01
		{`"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33`, false, "sip:jdrosen@example.com", 330, true, 0, false},
		{"<sip:a@b>;q=0", false, "sip:a@b", 0, true, 0, false},
		{"<sip:a@b>;q=0.", false, "sip:a@b", 0, true, 0, false},
		{"<sip:a@b>;expires=4294967295", false, "sip:a@b", 0, false, 4294967295, true},
		{"<sip:%00@host5.example.com>", false, "sip:%00@host5.example.com", 0, false, 0, false},
		{`<sip:u@h;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1`, false, "sip:u@h;ob", 0, false, 0, false},
	}
	for _, c := range ok {
		ct, err := ParseContact(c.in)
		if err != nil {
			t.Errorf("ParseContact(%q): %v", c.in, err)
			continue
		}
		q, hasQ := ct.Q()
		e, hasE := ct.Expires()
		uri := ""
		if !ct.Star {
			uri = ct.URI.String()
		}
		if ct.Star != c.star || uri != c.uri || q != c.q || hasQ != c.hasQ || e != c.expires || hasE != c.hasExp {
			t.Errorf("ParseContact(%q) = star %v uri %q q %d/%v expires %d/%v", c.in, ct.Star, uri, q, hasQ, e, hasE)
		}
		roundTrip(t, c.in, ct, ParseContact)
	}
	bad := []struct {
		in   string
		want error
	}{
		{"<sip:a@b>;q=1.1", ErrBadValue},
		{"<sip:a@b>;q=2", ErrBadValue},
		{"<sip:a@b>;q=0.1234", ErrBadValue},
		{"<sip:a@b>;q=.5", ErrBadValue},
		{"<sip:a@b>;expires=-1", ErrBadValue},
		{"<sip:a@b>;expires=280297596632815", ErrOverflow}, // RFC 4475 scalar02
		{"sip:user@example.com?Route=%3Csip:sip.example.com%3E", ErrBadValue},
		{"**", ErrBadValue},
		{`"Joe" <sip:joe@example.org>;;;;`, ErrBadValue},
	}
	for _, c := range bad {
		if ct, err := ParseContact(c.in); !errors.Is(err, c.want) {
			t.Errorf("ParseContact(%q) = %+v, %v; want %v", c.in, ct, err, c.want)
		}
	}
}
