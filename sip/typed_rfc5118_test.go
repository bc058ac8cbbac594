package sip

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbc-project/sbc/internal/testenv"
)

// TestTypedRFC5118 reads every RFC 5118 message (wire form, CRLF) through
// the typed accessors: every header parses, and the IPv6 details the RFC
// names come out right.
func TestTypedRFC5118(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t), "rfc5118", "wire")
	files, err := filepath.Glob(filepath.Join(dir, "*.sip"))
	if err != nil || len(files) < 12 {
		t.Fatalf("RFC 5118 corpus: %d files, %v", len(files), err)
	}
	msgs := map[string]*Message{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".sip")
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		msgs[name] = m
		_, ruErr := m.ParsedRequestURI()
		if name == "ipv6-bad" {
			// §4.2: an IPv6 address without brackets is not a host.
			if !errors.Is(ruErr, ErrBadURI) {
				t.Errorf("ipv6-bad R-URI parsed: %v", ruErr)
			}
		} else if m.IsRequest() && ruErr != nil {
			t.Errorf("%s: R-URI: %v", name, ruErr)
		}
		if _, err := m.Via(); err != nil {
			t.Errorf("%s: Via: %v", name, err)
		}
		if _, err := m.Contacts(); err != nil {
			t.Errorf("%s: Contact: %v", name, err)
		}
		for hdr, f := range map[string]func() error{
			"From": func() error { _, err := m.From(); return err },
			"To":   func() error { _, err := m.To(); return err },
			"CSeq": func() error { _, err := m.CSeq(); return err },
		} {
			if err := f(); err != nil {
				t.Errorf("%s: %s: %v", name, hdr, err)
			}
		}
	}
	ru := func(name string) URI {
		u, err := msgs[name].ParsedRequestURI()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return u
	}
	// §4.3 and §4.4: the port is outside the brackets only in the second.
	if u := ru("port-ambiguous"); u.Host != "[2001:db8::10:5070]" || u.Port != 0 {
		t.Errorf("port-ambiguous = %q port %d", u.Host, u.Port)
	}
	if u := ru("port-unambiguous"); u.Host != "[2001:db8::10]" || u.Port != 5070 {
		t.Errorf("port-unambiguous = %q port %d", u.Host, u.Port)
	}
	// §4.5: received with and without brackets read the same.
	for _, name := range []string{"via-received-param-with-delim", "via-received-param-no-delim"} {
		v, err := msgs[name].TopVia()
		if err != nil || v.Received() != "2001:db8::9:255" {
			t.Errorf("%s received = %q, %v", name, v.Received(), err)
		}
	}
	// §4.7: mixed IPv4 and IPv6 Via values.
	if v, _ := msgs["mult-ip-in-header"].Via(); len(v) != 3 || v[0].Port != 6050 || v[2].Received() != "192.0.2.200" {
		t.Errorf("mult-ip-in-header Via = %+v", v)
	}
	// §4.9: IPv4-mapped addresses.
	if v, err := msgs["ipv4-mapped-ipv6"].TopVia(); err != nil || v.Host != "[::ffff:192.0.2.10]" || v.Port != 19823 {
		t.Errorf("ipv4-mapped Via = %+v, %v", v, err)
	}
	// §4.10: the three-colon form is tolerated and means the same address.
	a, b := ru("ipv6-bug-abnf-3-colons"), ru("ipv6-correct-abnf-2-colons")
	if !a.Equal(b) {
		t.Errorf("%s and %s differ", a, b)
	}
	if addr, ok := a.HostAddr(); !ok || addr.String() != "2001:db8::c000:201" {
		t.Errorf("3-colon HostAddr = %v %v", addr, ok)
	}
}
