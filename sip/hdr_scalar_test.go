package sip

import (
	"errors"
	"slices"
	"testing"
)

func TestParseCSeq(t *testing.T) {
	ok := []struct {
		in     string
		seq    uint32
		method string
	}{
		{"4711 INVITE", 4711, "INVITE"},
		{"0009 INVITE", 9, "INVITE"}, // RFC 4475 wsinv (unfolded)
		{"  1   REGISTER  ", 1, "REGISTER"},
		{"4294967295 BYE", 4294967295, "BYE"},
		{"0 NEWMETHOD", 0, "NEWMETHOD"},
		{"1 !interesting-Method0123456789_*+`.%indeed'~", 1, "!interesting-Method0123456789_*+`.%indeed'~"},
	}
	for _, c := range ok {
		v, err := ParseCSeq(c.in)
		if err != nil || v.Seq != c.seq || v.Method != c.method {
			t.Errorf("ParseCSeq(%q) = %+v, %v", c.in, v, err)
			continue
		}
		w, err := ParseCSeq(v.String())
		if err != nil || w != v {
			t.Errorf("round trip %q: %+v %v", v.String(), w, err)
		}
	}
	bad := []struct {
		in   string
		want error
	}{
		{"", ErrBadValue},
		{"INVITE", ErrBadValue},
		{"1", ErrBadValue},
		{"1INVITE", ErrBadValue},
		{"-1 INVITE", ErrBadValue},
		{"1 INV ITE", ErrBadValue},
		{"1 INVITE;x", ErrBadValue},
		{"4294967296 INVITE", ErrOverflow},
		{"36893488147419103232 REGISTER", ErrOverflow},  // RFC 4475 scalar02
		{"9292394834772304023312 OPTIONS", ErrOverflow}, // RFC 4475 scalarlg
	}
	for _, c := range bad {
		if v, err := ParseCSeq(c.in); !errors.Is(err, c.want) {
			t.Errorf("ParseCSeq(%q) = %+v, %v; want %v", c.in, v, err, c.want)
		}
	}
}

func TestParseNumbers(t *testing.T) {
	type row struct {
		in   string
		want uint64
		err  error
	}
	check := func(name string, f func(string) (uint64, error), rows []row) {
		t.Helper()
		for _, r := range rows {
			v, err := f(r.in)
			if r.err != nil {
				if !errors.Is(err, r.err) {
					t.Errorf("%s(%q) = %d, %v; want %v", name, r.in, v, err, r.err)
				}
				continue
			}
			if err != nil || v != r.want {
				t.Errorf("%s(%q) = %d, %v; want %d", name, r.in, v, err, r.want)
			}
		}
	}
	check("ParseMaxForwards", func(s string) (uint64, error) { v, err := ParseMaxForwards(s); return uint64(v), err }, []row{
		{"70", 70, nil}, {"0068", 68, nil}, {" 0 ", 0, nil}, {"255", 255, nil},
		{"256", 0, ErrOverflow}, {"300", 0, ErrOverflow}, {"", 0, ErrBadValue}, {"-1", 0, ErrBadValue}, {"7 0", 0, ErrBadValue}, {"0x10", 0, ErrBadValue},
	})
	check("ParseContentLength", func(s string) (uint64, error) { v, err := ParseContentLength(s); return uint64(v), err }, []row{
		{"0", 0, nil}, {"150", 150, nil}, {" 13 ", 13, nil}, {"2147483647", 2147483647, nil},
		{"-999", 0, ErrBadValue}, {"+1", 0, ErrBadValue}, {"", 0, ErrBadValue}, {"1e3", 0, ErrBadValue},
		{"2147483648", 0, ErrOverflow}, {"99999999999999999999999", 0, ErrOverflow},
	})
	check("ParseExpires", func(s string) (uint64, error) { v, err := ParseExpires(s); return uint64(v), err }, []row{
		{"3600", 3600, nil}, {"0", 0, nil}, {"4294967295", 4294967295, nil},
		{"4294967296", 0, ErrOverflow},
		{"10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", 0, ErrOverflow},
		{"Thu, 01 Dec 1994 16:00:00 GMT", 0, ErrBadValue}, {"", 0, ErrBadValue},
	})
	check("ParseRSeq", func(s string) (uint64, error) { v, err := ParseRSeq(s); return uint64(v), err }, []row{
		{"988789", 988789, nil}, {"1", 1, nil}, {"2147483647", 2147483647, nil},
		{"0", 0, ErrBadValue}, {"2147483648", 0, ErrOverflow}, {"x", 0, ErrBadValue},
	})
}

func TestParseCallID(t *testing.T) {
	for _, s := range []string{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com", "a84b4c76e66710", " wsinv.ndaksdj@192.0.2.1 ", "G9559905523997077@hlau_4100", "abc@[2001:db8::1]"} {
		if v, err := ParseCallID(s); err != nil || v != trimLWS(s) {
			t.Errorf("ParseCallID(%q) = %q, %v", s, v, err)
		}
	}
	for _, s := range []string{"", "a b", "a@", "@b", "a@b@c", "a\x00b"} {
		if _, err := ParseCallID(s); !errors.Is(err, ErrBadValue) {
			t.Errorf("ParseCallID(%q) = %v, want ErrBadValue", s, err)
		}
	}
}

func TestSplitList(t *testing.T) {
	ok := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"a", []string{"a"}},
		{"a, b ,c", []string{"a", "b", "c"}},
		{`"Bell, Alexander" <sip:a@b>;tag=1, <sip:c@d>`, []string{`"Bell, Alexander" <sip:a@b>;tag=1`, "<sip:c@d>"}},
		{`"a \", b" <sip:x@y>, sip:z@w`, []string{`"a \", b" <sip:x@y>`, "sip:z@w"}},
		{"<sip:a@b;x=1,2>, <sip:c@d>", []string{"<sip:a@b;x=1,2>", "<sip:c@d>"}},
		{"SIP/2.0/TCP spindle.example.com ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111", []string{"SIP/2.0/TCP spindle.example.com ;\r\n  branch  =   z9hG4bK9ikj8", "SIP  /    2.0   / UDP  192.168.255.111"}},
	}
	for _, c := range ok {
		got, err := SplitList(nil, c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("SplitList(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []struct {
		in   string
		want error
	}{
		{`"open, <sip:a@b>`, ErrUnbalanced},
		{"<sip:a@b, c", ErrUnbalanced},
		{"a>, b", ErrUnbalanced},
		{`"a\"`, ErrUnbalanced},
		{"a,,b", ErrBadValue},
		{"a,", ErrBadValue},
		{",a", ErrBadValue},
		{"192.0.2.15;;,;,,", ErrBadValue}, // RFC 4475 badinv01
	}
	for _, c := range bad {
		if got, err := SplitList(nil, c.in); !errors.Is(err, c.want) {
			t.Errorf("SplitList(%q) = %q, %v; want %v", c.in, got, err, c.want)
		}
	}
	// dst is appended to and reused without allocation.
	buf := make([]string, 0, 8)
	if n := testing.AllocsPerRun(50, func() { _, _ = SplitList(buf[:0], "a, <b,c>, \"d,e\"") }); n != 0 {
		t.Errorf("SplitList allocates %v times with a large enough dst", n)
	}
}

func TestParseTokenList(t *testing.T) {
	got, err := ParseTokenList(nil, "100rel, timer ,replaces")
	if err != nil || !slices.Equal(got, []string{"100rel", "timer", "replaces"}) {
		t.Errorf("ParseTokenList = %q, %v", got, err)
	}
	if !HasToken(got, "TIMER") || HasToken(got, "path") {
		t.Error("HasToken wrong")
	}
	if got, err := ParseTokenList(nil, ""); err != nil || len(got) != 0 {
		t.Errorf("empty Supported = %q, %v", got, err)
	}
	got, err = ParseTokenList([]string{"keep"}, "INVITE, ACK, BYE")
	if err != nil || !slices.Equal(got, []string{"keep", "INVITE", "ACK", "BYE"}) {
		t.Errorf("append Allow = %q, %v", got, err)
	}
	for _, s := range []string{"a b", "a,,b", `"q"`, "a;b", "nope, <x>"} {
		if got, err := ParseTokenList([]string{"keep"}, s); !errors.Is(err, ErrBadValue) || !slices.Equal(got, []string{"keep"}) {
			t.Errorf("ParseTokenList(%q) = %q, %v; want ErrBadValue and dst unchanged", s, got, err)
		}
	}
}

func TestParsePrivacy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"id", []string{"id"}},
		{"header;user ; critical", []string{"header", "user", "critical"}},
		{"none", []string{"none"}},
		{"session;id", []string{"session", "id"}},
	} {
		got, err := ParsePrivacy(nil, c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParsePrivacy(%q) = %q, %v", c.in, got, err)
		}
	}
	for _, s := range []string{"", "id;", "a b", "id,user", `"id"`} {
		if _, err := ParsePrivacy(nil, s); !errors.Is(err, ErrBadValue) {
			t.Errorf("ParsePrivacy(%q) = %v, want ErrBadValue", s, err)
		}
	}
}
