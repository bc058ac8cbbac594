package sip

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	type want struct {
		scheme, user, pass, host string
		port                     int
		params, headers, opaque  string
	}
	ok := []struct {
		in string
		w  want
	}{
		{"sip:alice@atlanta.com", want{scheme: "sip", user: "alice", host: "atlanta.com"}},
		{"SIPS:Bob:secret@Biloxi.COM:5061;transport=tcp", want{scheme: "SIPS", user: "Bob", pass: "secret", host: "Biloxi.COM", port: 5061, params: ";transport=tcp"}},
		{"sip:atlanta.com;lr", want{scheme: "sip", host: "atlanta.com", params: ";lr"}},
		{"sip:192.0.2.4:5070;maddr=239.255.255.1;ttl=15", want{scheme: "sip", host: "192.0.2.4", port: 5070, params: ";maddr=239.255.255.1;ttl=15"}},
		{"sip:user@[2001:db8::10]:5070", want{scheme: "sip", user: "user", host: "[2001:db8::10]", port: 5070}},
		// RFC 5118 §4.3: the port is inside the brackets, so it is an address.
		{"sip:[2001:db8::10:5070]", want{scheme: "sip", host: "[2001:db8::10:5070]"}},
		// RFC 5118 §4.10: tolerate the three-colon form of the ABNF bug.
		{"sip:user@[2001:db8:::192.0.2.1]", want{scheme: "sip", user: "user", host: "[2001:db8:::192.0.2.1]"}},
		{"sip:ted@[::ffff:192.0.2.2]", want{scheme: "sip", user: "ted", host: "[::ffff:192.0.2.2]"}},
		// RFC 4475 §3.1.1.9 semiuri: the user part holds ';'.
		{"sip:user;par=u%40example.net@example.com", want{scheme: "sip", user: "user;par=u%40example.net", host: "example.com"}},
		// RFC 4475 §3.1.1.3 esc01.
		{"sip:sips%3Auser%40example.com@example.net", want{scheme: "sip", user: "sips%3Auser%40example.com", host: "example.net"}},
		{"sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31", want{scheme: "sip", user: "cal%6Cer", host: "host5.example.net", params: ";%6C%72;n%61me=v%61lue%25%34%31"}},
		// RFC 4475 §3.1.1.4 escnull.
		{"sip:null-%00-null@example.com", want{scheme: "sip", user: "null-%00-null", host: "example.com"}},
		{"sip:user@example.com?Route=%3Csip:sip.example.com%3E", want{scheme: "sip", user: "user", host: "example.com", headers: "Route=%3Csip:sip.example.com%3E"}},
		{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", want{scheme: "sip", host: "biloxi.com", params: ";transport=tcp;method=REGISTER", headers: "to=sip:bob%40biloxi.com"}},
		{"sip:bob@host?Replaces=12345%40192.0.2.3%3Bto-tag%3D1%3Bfrom-tag%3D2&Require=replaces", want{scheme: "sip", user: "bob", host: "host", headers: "Replaces=12345%40192.0.2.3%3Bto-tag%3D1%3Bfrom-tag%3D2&Require=replaces"}},
		{"sip:+1-212-555-1212:1234@gateway.com;user=phone", want{scheme: "sip", user: "+1-212-555-1212", pass: "1234", host: "gateway.com", params: ";user=phone"}},
		{"sip:host.example.com.", want{scheme: "sip", host: "host.example.com."}},
		{"tel:+1-201-555-0123", want{scheme: "tel", user: "+1-201-555-0123"}},
		{"tel:7042;phone-context=example.com", want{scheme: "tel", user: "7042", params: ";phone-context=example.com"}},
		{"tel:863-1234;phone-context=+1-914-555", want{scheme: "tel", user: "863-1234", params: ";phone-context=+1-914-555"}},
		{"tel:+1-201-555-0123;ext=1234;isub=abc;foo=bar", want{scheme: "tel", user: "+1-201-555-0123", params: ";ext=1234;isub=abc;foo=bar"}},
		{"mailto:alice@example.com", want{scheme: "mailto", opaque: "alice@example.com"}},
		{"urn:service:sos", want{scheme: "urn", opaque: "service:sos"}},
		{"http://www.example.com", want{scheme: "http", opaque: "//www.example.com"}},
		{"isbn:2983792873", want{scheme: "isbn", opaque: "2983792873"}},
		{"name:John_Smith", want{scheme: "name", opaque: "John_Smith"}},
	}
	for _, c := range ok {
		u, err := ParseURI(c.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", c.in, err)
			continue
		}
		got := want{u.Scheme, u.User, u.Password, u.Host, u.Port, u.Params.String(), u.Headers.String(), u.Opaque}
		if got != c.w {
			t.Errorf("ParseURI(%q) = %+v, want %+v", c.in, got, c.w)
		}
		if s := u.String(); s != c.in {
			t.Errorf("ParseURI(%q).String() = %q, want the input back", c.in, s)
		}
	}
	bad := []string{
		"",
		"sip:",
		"sip:user@",
		"<sip:user@example.com>",   // RFC 4475 §3.1.2.7 ltgtruri
		"sip:user@example.com; lr", // RFC 4475 §3.1.2.8 lwsruri
		"sip:user@example.com ",
		"sip: user@example.com",
		"sip:2001:db8::10",       // RFC 5118 §4.2 ipv6-bad
		"sip:user@[2001:db8::10", // unterminated
		"sip:user@[2001:db8::10]x",
		"sip:user@[fe80::1%25eth0]",
		"sip:us%4ger@example.com", // bad escape
		"sip:user%@example.com",
		"sip:user@exa%6Dple.com", // escapes are not allowed in the host (esc01)
		"sip:user@example.com:",  // empty port
		"sip:user@example.com:65536",
		"sip:user@example.com:0",
		"sip:user@example.com:5o60",
		"sip:user@1.2.3.999",
		"sip:user@-host.com",
		"sip:user@host-.com",
		"sip:user@host..com",
		"sip:@example.com",
		"sip:us er@example.com",
		"sip:user@example.com;;lr",
		"sip:user@example.com;=x",
		"sip:user@example.com;a=",
		"sip:user@example.com;ttl=256",
		"sip:user@example.com;ttl=abc",
		"sip:user@example.com;maddr=bad_host",
		"sip:user@example.com;transport=",
		"sip:user@example.com?",
		"sip:user@example.com?a",
		"sip:user@example.com?=b",
		"sip:user@example.com?a=b&",
		"sip:user@exa\x00mple.com",
		"1sip:user@example.com",
		"tel:",
		"tel:7042",                                      // local number without phone-context
		"tel:+1-201-555-0123;phone-context=example.com", // global with context
		"tel:+",
		"tel:+1 201",
		"tel:7042;phone-context=example.com;phone-context=example.net",
		"tel:+12015550123;ext=12a",
		"tel:+12015550123;a_b=1",
		"tel:+0;eXt=0;eXt=1", // RFC 3966 §3: repeated parameter (fuzz regression)
		"mailto:",
		"mailto:a b@example.com",
		"x:%zz",
	}
	for _, s := range bad {
		if u, err := ParseURI(s); err == nil {
			t.Errorf("ParseURI(%q) = %+v, want an error", s, u)
		} else if !errors.Is(err, ErrBadURI) {
			t.Errorf("ParseURI(%q) error %v does not wrap ErrBadURI", s, err)
		}
	}
}

func TestURILimits(t *testing.T) {
	p64 := strings.Repeat(";a", MaxURIParams)
	h64 := "?a=1" + strings.Repeat("&a=1", MaxURIParams-1)
	var tel strings.Builder
	for i := range MaxURIParams {
		fmt.Fprintf(&tel, ";p%d", i)
	}
	for _, s := range []string{"sip:h" + p64, "sip:h" + h64, "tel:+1" + tel.String()} {
		if _, err := ParseURI(s); err != nil {
			t.Errorf("%d params/headers rejected: %v", MaxURIParams, err)
		}
	}
	for _, s := range []string{"sip:h" + p64 + ";b", "sip:h" + h64 + "&b=1", "tel:+1" + tel.String() + ";x"} {
		if _, err := ParseURI(s); !errors.Is(err, ErrBadURI) {
			t.Errorf("more than %d params/headers accepted", MaxURIParams)
		}
	}
}

func TestParseRequestURI(t *testing.T) {
	for _, s := range []string{"<sip:user@example.com>", "sip:user@example.com; lr", "sip:a@b\tc"} {
		if _, err := ParseRequestURI(s); !errors.Is(err, ErrBadURI) {
			t.Errorf("ParseRequestURI(%q) = %v, want ErrBadURI", s, err)
		}
	}
	if u, err := ParseRequestURI("sip:user@example.com;lr"); err != nil || !u.Params.Has("lr") {
		t.Errorf("ParseRequestURI(valid) = %+v, %v", u, err)
	}
}

func TestURIAccessors(t *testing.T) {
	u, err := ParseURI("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.UserUnescaped(); got != "caller" {
		t.Errorf("UserUnescaped = %q", got)
	}
	// The escaped name %6C%72 is the lr parameter (RFC 4475 esc01).
	if !u.Params.Has("lr") || !u.Params.Has("LR") {
		t.Error("escaped lr parameter not found")
	}
	v, ok := u.Params.Get("name")
	if !ok {
		t.Fatal("escaped name parameter not found")
	}
	// One level of unescaping only: %25%34%31 is "%41", not "A".
	if got, _ := Unescape(v); got != "value%41" {
		t.Errorf("Unescape(%q) = %q, want value%%41", v, got)
	}
	u, _ = ParseURI("sip:null-%00-null@example.com")
	if got := u.UserUnescaped(); got != "null-\x00-null" {
		t.Errorf("escnull user = %q", got)
	}
	u, _ = ParseURI("sip:user;par=u%40example.net@example.com")
	if got := u.UserUnescaped(); got != "user;par=u@example.net" {
		t.Errorf("semiuri user = %q", got)
	}
	if u.Params.Len() != 0 {
		t.Errorf("semiuri has URI params %q", u.Params)
	}
	for _, c := range []struct {
		in   string
		addr string
	}{
		{"sip:[2001:db8:::192.0.2.1]", "2001:db8::c000:201"},
		{"sip:[2001:db8::192.0.2.1]", "2001:db8::c000:201"},
		{"sip:[::ffff:192.0.2.2]", "::ffff:192.0.2.2"},
		{"sip:192.0.2.2", "192.0.2.2"},
	} {
		u, err := ParseURI(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		a, ok := u.HostAddr()
		if !ok || a.String() != c.addr {
			t.Errorf("%s HostAddr = %v %v, want %s", c.in, a, ok, c.addr)
		}
	}
	if _, ok := (URI{Scheme: "sip", Host: "example.com"}).HostAddr(); ok {
		t.Error("host name reported as address")
	}
	h, _ := ParseURI("sip:a@b?Route=%3Csip:x%3E&subject=hi")
	if v, ok := h.Headers.Get("route"); !ok || v != "%3Csip:x%3E" {
		t.Errorf("Headers.Get(route) = %q %v", v, ok)
	}
	if h.Headers.Len() != 2 {
		t.Errorf("Headers.Len = %d", h.Headers.Len())
	}
	h.Headers.Del("ROUTE")
	if h.Headers.String() != "subject=hi" || h.String() != "sip:a@b?subject=hi" {
		t.Errorf("after Del: %q", h.String())
	}
	h.Headers.Del("subject")
	if h.Headers.Len() != 0 || h.String() != "sip:a@b" {
		t.Errorf("after second Del: %q", h.String())
	}
}

func TestURIBuild(t *testing.T) {
	u := URI{Scheme: "sip", User: Escape("alice smith@x", EscapeUser), Host: "example.com", Port: 5080, Params: URIParams()}
	u.Params.Set("transport", "tcp")
	u.Params.Set("lr", "")
	u.Headers.Add("Subject", Escape("hello there", EscapeHeader))
	want := "sip:alice%20smith%40x@example.com:5080;transport=tcp;lr?Subject=hello%20there"
	if got := u.String(); got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	back, err := ParseURI(want)
	if err != nil || !back.Equal(u) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestURIEqual(t *testing.T) {
	// Every example of RFC 3261 §19.1.4, then our own rows.
	equal := [][2]string{
		{"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;security=on"},
		{"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"},
		{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
		{"sip:alice@atlanta.com?subject=project%20x&priority=urgent", "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
		// Our own.
		{"sip:user@[2001:db8::1]", "sip:user@[2001:DB8:0::1]"},
		{"sip:user@[2001:db8:::192.0.2.1]", "sip:user@[2001:db8::192.0.2.1]"},
		{"sip:a@h;lr", "sip:a@h;%6C%72"},
		{"sip:a@h;maddr=1.2.3.4", "sip:a@h;MADDR=1.2.3.4"},
		{"SIP:a@h", "sip:a@h"},
		{"sip:a@h;x=1", "sip:a@h;y=2"},
		{"tel:+1-201-555-0123", "tel:+12015550123"},
		{"tel:+1-201-555-0123;ext=12;isub=A", "tel:+12015550123;isub=a;ext=1-2"},
		{"tel:7042;phone-context=Example.COM", "tel:7042;phone-context=example.com"},
		{"tel:863-1234;phone-context=+1-914-555", "tel:8631234;phone-context=+1914555"},
		{"tel:ab12;phone-context=example.com", "tel:AB12;phone-context=example.com"},
		{"mailto:a@b", "MAILTO:a@b"},
	}
	notEqual := [][2]string{
		// RFC 3261 §19.1.4.
		{"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"},
		{"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},
		{"sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"},
		// Our own.
		{"sip:alice@atlanta.com", "sips:alice@atlanta.com"},
		{"sip:a@h", "sip:a:pw@h"},
		{"sip:a;b@h", "sip:a%3Bb@h"}, // ';' is reserved: escaped differs from literal
		{"sip:a@h;user=phone", "sip:a@h"},
		{"sip:a@h;ttl=1", "sip:a@h"},
		{"sip:a@h;method=INVITE", "sip:a@h;method=BYE"},
		{"sip:a@h;maddr=1.2.3.4", "sip:a@h"},
		{"sip:a@h?x=1", "sip:a@h?x=2"},
		{"sip:a@h?x=1&y=2", "sip:a@h?x=1"},
		{"sip:a@[::1]", "sip:a@127.0.0.1"},
		{"tel:+12015550123", "tel:2015550123;phone-context=+1"},
		{"tel:+12015550123", "tel:+12015550124"},
		{"tel:+12015550123;ext=1", "tel:+12015550123"},
		{"tel:+12015550123", "sip:+12015550123@h"},
		{"mailto:a@b", "mailto:A@b"},
	}
	for _, c := range equal {
		a, b := mustURI(t, c[0]), mustURI(t, c[1])
		if !a.Equal(b) || !b.Equal(a) {
			t.Errorf("%s and %s should be equal", c[0], c[1])
		}
	}
	for _, c := range notEqual {
		a, b := mustURI(t, c[0]), mustURI(t, c[1])
		if a.Equal(b) || b.Equal(a) {
			t.Errorf("%s and %s should differ", c[0], c[1])
		}
	}
}

func mustURI(t *testing.T, s string) URI {
	t.Helper()
	u, err := ParseURI(s)
	if err != nil {
		t.Fatalf("ParseURI(%q): %v", s, err)
	}
	return u
}

func TestEscaping(t *testing.T) {
	for _, c := range []struct {
		in   string
		part EscapePart
		want string
	}{
		{"alice", EscapeUser, "alice"},
		{"a b@c;d", EscapeUser, "a%20b%40c;d"},
		{"p:w%", EscapePassword, "p%3Aw%25"},
		{"a;b=c", EscapeParam, "a%3Bb%3Dc"},
		{"[::1]:5060", EscapeParam, "[::1]:5060"},
		{"<sip:x@y>;a=b&c", EscapeHeader, "%3Csip:x%40y%3E%3Ba%3Db%26c"},
		{"\x00", EscapeUser, "%00"},
	} {
		got := Escape(c.in, c.part)
		if got != c.want {
			t.Errorf("Escape(%q, %d) = %q, want %q", c.in, c.part, got, c.want)
		}
		back, err := Unescape(got)
		if err != nil || back != c.in {
			t.Errorf("Unescape(%q) = %q, %v", got, back, err)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"%25%34%31", "%41"}, // once only
		{"%00", "\x00"},
		{"%7e%7E", "~~"},
		{"plain", "plain"},
	} {
		if got, err := Unescape(c.in); err != nil || got != c.want {
			t.Errorf("Unescape(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, s := range []string{"%", "%4", "%4g", "a%"} {
		if _, err := Unescape(s); !errors.Is(err, ErrBadURI) {
			t.Errorf("Unescape(%q) = %v, want ErrBadURI", s, err)
		}
	}
}

func TestParseURIAllocs(t *testing.T) {
	in := "sip:alice:pw@atlanta.example.com:5060;transport=tcp;lr?Subject=x"
	n := testing.AllocsPerRun(100, func() {
		if _, err := ParseURI(in); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("ParseURI allocates %v times, want 0", n)
	}
}

func TestURIConvenience(t *testing.T) {
	u := mustURI(t, "sip:+1555@gw.example.com;user=phone;transport=TCP;lr;maddr=192.0.2.1")
	if u.Transport() != "tcp" || !u.LR() || u.MAddr() != "192.0.2.1" || u.UserParam() != "phone" {
		t.Errorf("accessors: %q %v %q %q", u.Transport(), u.LR(), u.MAddr(), u.UserParam())
	}
	v := mustURI(t, "sips:a@b")
	if v.Transport() != "" || v.LR() || v.MAddr() != "" || !v.IsSIP() || !v.IsSIPS() || v.IsTel() {
		t.Errorf("absent accessors on %s", v)
	}
	if w := mustURI(t, "tel:+1"); !w.IsTel() || w.IsSIP() {
		t.Error("tel scheme")
	}
	if n := testing.AllocsPerRun(20, func() { _ = mustURI(t, "sip:h;transport=udp").Transport() }); n != 0 {
		t.Errorf("Transport allocates %v", n)
	}
}
