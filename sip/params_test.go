package sip

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParams(t *testing.T) {
	p, err := parseHeaderParams(` ; tag = abc ;lr; x="a;b \" c" ;Q=0.5`, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.String(); got != `;tag=abc;lr;x="a;b \" c";Q=0.5` {
		t.Errorf("normalised = %q", got)
	}
	for _, c := range []struct {
		name, value string
		ok          bool
	}{
		{"tag", "abc", true}, {"TAG", "abc", true}, {"lr", "", true}, {"x", `"a;b \" c"`, true}, {"q", "0.5", true}, {"b", "", false}, {"a", "", false},
	} {
		if v, ok := p.Get(c.name); v != c.value || ok != c.ok {
			t.Errorf("Get(%q) = %q %v", c.name, v, ok)
		}
	}
	if p.Len() != 4 {
		t.Errorf("Len = %d", p.Len())
	}
	var names []string
	for n := range p.All() {
		names = append(names, n)
	}
	if len(names) != 4 || names[2] != "x" {
		t.Errorf("All = %q", names)
	}
	p.Set("lr", "on")
	p.Set("new", "")
	p.Del("q")
	if got := p.String(); got != `;tag=abc;lr=on;x="a;b \" c";new` {
		t.Errorf("edited = %q", got)
	}
	// A clean value is a view of the input: no copy.
	in := ";branch=z9hG4bK1;rport"
	if n := testing.AllocsPerRun(50, func() { _, _ = parseHeaderParams(in, 0, "t") }); n != 0 {
		t.Errorf("clean params allocate %v times", n)
	}
	// URI parameter names compare after unescaping; header ones do not.
	u := Params{s: ";%6C%72", uri: true}
	h := Params{s: ";%6C%72"}
	if !u.Has("lr") || h.Has("lr") {
		t.Errorf("escaped names: uri %v header %v", u.Has("lr"), h.Has("lr"))
	}
	for _, bad := range []string{";", ";;a", ";a=", ";a b", ";=b", `;a="x`, ";a=<x>", "x"} {
		if _, err := parseHeaderParams(bad, 0, "test"); err == nil {
			t.Errorf("parseHeaderParams(%q) accepted", bad)
		}
	}
}

func TestGrammarHelpers(t *testing.T) {
	for s, want := range map[string]bool{"INVITE": true, "a.b-c!%*_+`'~": true, "": false, "a b": false, "a,b": false, "ä": false} {
		if IsToken(s) != want {
			t.Errorf("IsToken(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"f81d4fae-7dec@foo": false, "a<b>:c\\\"/[]?{}()": true, "": false} {
		if IsWord(s) != want {
			t.Errorf("IsWord(%q) != %v", s, want)
		}
	}
	for in, want := range map[string]string{`"a\"b"`: `a"b`, `"plain"`: "plain", "token": "token", `"\\"`: `\`} {
		if got := Unquote(in); got != want {
			t.Errorf("Unquote(%q) = %q", in, got)
		}
	}
	if got := Quote("a\"b\\c\r\nd"); got != `"a\"b\\c  d"` {
		t.Errorf("Quote = %q", got)
	}
	for _, in := range []string{"BEL:\a NUL:\x00 DEL:\x7f", "tab\tok", "Ünïcödé", `"\`} {
		q := Quote(in)
		if scanQuoted(q, 0) != len(q) || Unquote(q) != in {
			t.Errorf("Quote(%q) = %q does not scan back", in, q)
		}
	}
	for _, c := range []struct {
		in   string
		want int
	}{{`"abc"x`, 5}, {`"a\"c"`, 6}, {`"open`, -1}, {`"a\`, -1}, {"\"a\x01\"", -1}, {"\"a\r\n b\"", 7}, {"\"a\r\nb\"", -1}} {
		if got := scanQuoted(c.in, 0); got != c.want {
			t.Errorf("scanQuoted(%q) = %d, want %d", c.in, got, c.want)
		}
	}
	if got := HostForAddr(netip.MustParseAddr("2001:db8::1")); got != "[2001:db8::1]" {
		t.Errorf("HostForAddr v6 = %q", got)
	}
	if got := HostForAddr(netip.MustParseAddr("192.0.2.1")); got != "192.0.2.1" {
		t.Errorf("HostForAddr v4 = %q", got)
	}
	if _, err := parseDecimal("x", "h", 10); !errors.Is(err, ErrBadValue) {
		t.Error("parseDecimal")
	}
}
