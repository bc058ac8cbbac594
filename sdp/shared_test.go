package sdp

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/sbc-project/sbc/internal/testenv"
)

// sipBody returns the body of a SIP message file: what follows the first
// empty line (CRLF or LF form).
func sipBody(t *testing.T, msg []byte) []byte {
	t.Helper()
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[i+4:]
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[i+2:]
	}
	t.Fatal("no body separator")
	return nil
}

// TestRFC5118SDP parses the SDP bodies of the RFC 5118 §4.6, §4.8 and §4.9
// messages from the shared corpus (both the LF text and the CRLF wire form),
// checks what Remote reports, and rewrites them to an IPv4 relay.
func TestRFC5118SDP(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t), "rfc5118")
	tests := []struct {
		file  string
		addrs []netip.AddrPort
	}{
		{"ipv6-in-sdp.sip", []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::20]:6000"), netip.MustParseAddrPort("[2001:db8::20]:6024")}},
		{"mult-ip-in-sdp.sip", []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:22334"), netip.MustParseAddrPort("[2001:db8::1]:6024")}},
		{"ipv4-mapped-ipv6.sip", []netip.AddrPort{netip.MustParseAddrPort("[::ffff:192.0.2.2]:6000"), netip.MustParseAddrPort("[::ffff:192.0.2.2]:6024")}},
	}
	for _, tt := range tests {
		for _, sub := range []string{"", "wire"} {
			path := filepath.Join(dir, sub, tt.file)
			t.Run(filepath.Join(sub, tt.file), func(t *testing.T) {
				msg, err := os.ReadFile(path)
				if err != nil {
					testenv.Missing(t, path)
				}
				s, err := Parse(sipBody(t, msg))
				if err != nil {
					t.Fatal(err)
				}
				infos := Remote(s)
				if len(infos) != len(tt.addrs) {
					t.Fatalf("%d streams, want %d", len(infos), len(tt.addrs))
				}
				for i, in := range infos {
					if in.Addr != tt.addrs[i] {
						t.Errorf("stream %d addr %v, want %v", i, in.Addr, tt.addrs[i])
					}
				}
				p := params(s)
				if err := Rewrite(s, p); err != nil {
					t.Fatal(err)
				}
				out := s.AppendTo(nil)
				for _, old := range []string{"2001:db8::", "192.0.2.", "host.example.com", "971731711378798081", "280744730"} {
					if bytes.Contains(out, []byte(old)) {
						t.Errorf("rewritten SDP still holds %q:\n%s", old, out)
					}
				}
			})
		}
	}
}

// TestRFC4475SDP parses every SDP body of the RFC 4475 torture messages
// (those whose body starts with v=0). All parse and serialise back to the
// same bytes, except mismatch02, whose body has no s= (RFC 8866 §5.3), and
// test.sip, whose body is not SDP.
func TestRFC4475SDP(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t), "rfc4475")
	files, err := filepath.Glob(filepath.Join(dir, "*.sip"))
	if err != nil || len(files) == 0 {
		testenv.Missing(t, "RFC 4475 messages in "+dir)
	}
	wantErr := map[string]error{
		"mismatch02.sip": ErrNoSessionName, // no s=
		"test.sip":       ErrSyntax,        // "testing=123"
	}
	n := 0
	for _, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(msg, []byte("\r\n\r\n"))
		if i < 0 || !bytes.HasPrefix(msg[i+4:], []byte("v=0")) {
			continue
		}
		body := msg[i+4:]
		n++
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			s, err := Parse(body)
			if want := wantErr[name]; want != nil || err != nil {
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
				return
			}
			// Trailing blank lines (multi01) are skipped.
			want := append(bytes.TrimRight(body, "\r\n"), "\r\n"...)
			if got := s.AppendTo(nil); !bytes.Equal(got, want) {
				t.Errorf("round trip differs:\n%q\nwant\n%q", got, want)
			}
			if err := Rewrite(s, params(s)); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n < 15 {
		t.Errorf("only %d SDP bodies found in the RFC 4475 corpus, want ≥ 15", n)
	}
}
