package sdp

import (
	"bytes"
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
