package sdp

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// crlf joins lines with CRLF, the wire form.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// toCRLF turns a LF-only text into CRLF.
func toCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

const minimal = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		check   func(t *testing.T, s *Session)
	}{
		{name: "minimal no media", in: minimal, check: func(t *testing.T, s *Session) {
			if len(s.Media) != 0 || s.Name != "-" || s.Origin.Address != "192.0.2.1" {
				t.Errorf("got %+v", s)
			}
		}},
		{name: "bare LF", in: strings.ReplaceAll(minimal+"m=audio 1000 RTP/AVP 0\r\n", "\r\n", "\n"), check: func(t *testing.T, s *Session) {
			if len(s.Media) != 1 || s.Media[0].Port != 1000 {
				t.Errorf("media %+v", s.Media)
			}
		}},
		{name: "no final line end", in: strings.TrimSuffix(minimal, "\r\n"), check: func(t *testing.T, s *Session) {
			if len(s.Lines) != 2 || s.Lines[1] != (Line{'t', "0 0"}) {
				t.Errorf("lines %+v", s.Lines)
			}
		}},
		{name: "missing t= tolerated", in: crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "m=audio 1 RTP/AVP 0")},
		{name: "extra spaces in o= m= c=", in: crlf("v=0", "o=-  1 1  IN IP4 192.0.2.1 ", "s=-", "c=IN  IP4   192.0.2.1", "m=audio  5004   RTP/AVP  0   8 "), check: func(t *testing.T, s *Session) {
			m := s.Media[0]
			if m.Port != 5004 || m.Proto != "RTP/AVP" || !slices.Equal(m.Formats, []string{"0", "8"}) {
				t.Errorf("media %+v", m)
			}
			if c, ok := s.Connection(); !ok || c.Addr != netip.MustParseAddr("192.0.2.1") {
				t.Errorf("connection %+v %v", c, ok)
			}
		}},
		{name: "s= before o=", in: crlf("v=0", "s=x", "o=- 1 1 IN IP4 192.0.2.1", "c=IN IP4 192.0.2.1", "t=0 0")},
		{name: "blank lines skipped", in: "v=0\r\n\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\r\n"},
		{name: "port count", in: minimal + "m=video 49170/2 RTP/AVP 31\r\n", check: func(t *testing.T, s *Session) {
			if m := s.Media[0]; m.Port != 49170 || m.PortCount != 2 {
				t.Errorf("media %+v", m)
			}
		}},
		{name: "rejected stream without formats", in: minimal + "m=video 0 RTP/AVP\r\n"},
		{name: "port 0 media without c=", in: crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "m=audio 0 RTP/AVP 0")},
		{name: "per-media c= only (RFC 5118 4.8)", in: crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "t=0 0", "m=audio 1 RTP/AVP 0", "c=IN IP4 192.0.2.1", "m=video 2 RTP/AVP 107", "c=IN IP6 2001:db8::1")},
		{name: "c= host name", in: crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 media.example.com", "t=0 0"), check: func(t *testing.T, s *Session) {
			if c, _ := s.Connection(); c.Addr.IsValid() || c.Address != "media.example.com" {
				t.Errorf("connection %+v", c)
			}
		}},
		{name: "IPv4 multicast ttl/count", in: crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 224.2.1.1/127/3", "t=0 0"), check: func(t *testing.T, s *Session) {
			if c, _ := s.Connection(); c.TTL != 127 || c.Count != 3 || c.Address != "224.2.1.1" {
				t.Errorf("connection %+v", c)
			}
		}},
		{name: "IPv6 multicast count", in: crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP6 ff15::101/3", "t=0 0"), check: func(t *testing.T, s *Session) {
			if c, _ := s.Connection(); c.TTL != 0 || c.Count != 3 {
				t.Errorf("connection %+v", c)
			}
		}},
		{name: "IPv4-mapped IPv6 (RFC 5118 4.9)", in: crlf("v=0", "o=- 1 1 IN IP6 ::ffff:192.0.2.2", "s=-", "c=IN IP6 ::ffff:192.0.2.2", "t=0 0")},
		{name: "unknown line type kept", in: minimal + "x=private\r\nm=audio 1 RTP/AVP 0\r\ny=also\r\n", check: func(t *testing.T, s *Session) {
			if s.Lines[2] != (Line{'x', "private"}) || s.Media[0].Lines[0] != (Line{'y', "also"}) {
				t.Errorf("lines %+v %+v", s.Lines, s.Media[0].Lines)
			}
		}},
		{name: "udptl formats are names", in: minimal + "m=image 4000 udptl t38\r\n"},

		{name: "empty", in: "", wantErr: ErrNoVersion},
		{name: "missing v=", in: "o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n", wantErr: ErrNoVersion},
		{name: "v=1", in: "v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n", wantErr: ErrBadVersion},
		{name: "missing o=", in: "v=0\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n", wantErr: ErrNoOrigin},
		{name: "missing o= before m=", in: "v=0\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\n", wantErr: ErrNoOrigin},
		{name: "missing s=", in: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n", wantErr: ErrNoSessionName},
		{name: "o= five fields", in: "v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", wantErr: ErrBadOrigin},
		{name: "o= seven fields", in: "v=0\r\no=- 1 1 IN IP4 a b\r\ns=-\r\n", wantErr: ErrBadOrigin},
		{name: "second v=", in: minimal + "v=0\r\n", wantErr: ErrDuplicate},
		{name: "second o=", in: minimal + "o=- 1 1 IN IP4 192.0.2.1\r\n", wantErr: ErrDuplicate},
		{name: "s= in media", in: minimal + "m=audio 1 RTP/AVP 0\r\ns=x\r\n", wantErr: ErrDuplicate},
		{name: "garbage line", in: minimal + "hello world\r\n", wantErr: ErrSyntax},
		{name: "upper-case type", in: minimal + "A=foo\r\n", wantErr: ErrSyntax},
		{name: "leading space", in: minimal + " a=foo\r\n", wantErr: ErrSyntax},
		{name: "NUL in value", in: minimal + "a=fo\x00o\r\n", wantErr: ErrSyntax},
		{name: "bare CR in value", in: minimal + "a=fo\ro\r\n", wantErr: ErrSyntax},
		{name: "m= too short", in: minimal + "m=audio 1000\r\n", wantErr: ErrBadMedia},
		{name: "m= no formats", in: minimal + "m=audio 1000 RTP/AVP\r\n", wantErr: ErrBadMedia},
		{name: "m= payload type 128", in: minimal + "m=audio 1000 RTP/AVP 128\r\n", wantErr: ErrBadMedia},
		{name: "m= payload type name", in: minimal + "m=audio 1000 RTP/AVP PCMU\r\n", wantErr: ErrBadMedia},
		{name: "port too big", in: minimal + "m=audio 65536 RTP/AVP 0\r\n", wantErr: ErrBadPort},
		{name: "port negative", in: minimal + "m=audio -1 RTP/AVP 0\r\n", wantErr: ErrBadPort},
		{name: "port plus sign", in: minimal + "m=audio +5 RTP/AVP 0\r\n", wantErr: ErrBadPort},
		{name: "port letters", in: minimal + "m=audio 12a RTP/AVP 0\r\n", wantErr: ErrBadPort},
		{name: "port count zero", in: minimal + "m=audio 1000/0 RTP/AVP 0\r\n", wantErr: ErrBadPort},
		{name: "c= IP4 with IPv6", in: "v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 2001:db8::1\r\n", wantErr: ErrBadConnection},
		{name: "c= IP6 with IPv4", in: "v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP6 192.0.2.1\r\n", wantErr: ErrBadConnection},
		{name: "c= bad IPv4", in: "v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 999.1.1.1\r\n", wantErr: ErrBadConnection},
		{name: "c= nettype", in: "v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=ATM NSAP 1\r\n", wantErr: ErrBadConnection},
		{name: "c= two fields", in: "v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4\r\n", wantErr: ErrBadConnection},
		{name: "c= junk address", in: "v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 a..b\r\n", wantErr: ErrBadConnection},
		{name: "c= IP6 with ttl", in: "v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP6 ff15::1/3/2\r\n", wantErr: ErrBadConnection},
		{name: "media without any c=", in: "v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nt=0 0\r\nm=audio 1000 RTP/AVP 0\r\n", wantErr: ErrNoConnection},
		{name: "rtpmap without rate tolerated (RFC 4475 a=rtpmap:31 LPC)", in: minimal + "m=video 1 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n", check: func(t *testing.T, s *Session) {
			if c, ok := s.Media[0].Codec("31"); !ok || c.Name != "LPC" || c.ClockRate != 0 {
				t.Errorf("codec %+v %v", c, ok)
			}
		}},
		{name: "rtpmap empty name", in: minimal + "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 /8000\r\n", wantErr: ErrBadAttribute},
		{name: "rtpmap bad rate", in: minimal + "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/x\r\n", wantErr: ErrBadAttribute},
		{name: "rtpmap bad pt", in: minimal + "m=audio 1 RTP/AVP 96\r\na=rtpmap:x opus/48000\r\n", wantErr: ErrBadAttribute},
		{name: "rtcp bad port", in: minimal + "m=audio 1 RTP/AVP 0\r\na=rtcp:70000\r\n", wantErr: ErrBadAttribute},
		{name: "rtcp bad address", in: minimal + "m=audio 1 RTP/AVP 0\r\na=rtcp:53020 IN IP4 1.2.3\r\n", wantErr: ErrBadAttribute},
		{name: "too large", in: minimal + strings.Repeat("a=x\r\n", MaxSize/5), wantErr: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "sdp: ") {
					t.Errorf("error %q lacks the component prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
			// Whatever was accepted re-parses to the same serialisation.
			out := s.AppendTo(nil)
			s2, err := Parse(out)
			if err != nil {
				t.Fatalf("re-parse of %q: %v", out, err)
			}
			if out2 := s2.AppendTo(nil); string(out2) != string(out) {
				t.Errorf("not idempotent:\n%q\n%q", out, out2)
			}
		})
	}
}

// TestRoundTrip: parse → serialise is byte-stable for well-formed (CRLF)
// input, and a bare-LF input serialises to the CRLF form.
func TestRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.sdp")
	if len(files) < 10 {
		t.Fatalf("want at least 10 testdata SDPs, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			lf, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wire := toCRLF(string(lf))
			s, err := Parse([]byte(wire))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(s.AppendTo(nil)); got != wire {
				t.Errorf("CRLF round trip differs:\n%s\nwant:\n%s", got, wire)
			}
			s2, err := Parse(lf)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(s2.AppendTo(nil)); got != wire {
				t.Errorf("LF input did not serialise to CRLF form:\n%q", got)
			}
		})
	}
}

// TestUnmarshalReuse: a Session reused for a smaller body keeps nothing of
// the larger one.
func TestUnmarshalReuse(t *testing.T) {
	big, _ := os.ReadFile("testdata/webrtc.sdp")
	small, _ := os.ReadFile("testdata/t38.sdp")
	var s Session
	if err := s.Unmarshal(big); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmarshal(small); err != nil {
		t.Fatal(err)
	}
	if got, want := string(s.AppendTo(nil)), toCRLF(string(small)); got != want {
		t.Errorf("reused session:\n%s\nwant:\n%s", got, want)
	}
	if err := s.Unmarshal([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestAllocsUnmarshal(t *testing.T) {
	b, _ := os.ReadFile("testdata/telephone-event.sdp")
	var s Session
	if err := s.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	// One allocation: the string copy of the body every field points into.
	if n := testing.AllocsPerRun(100, func() { _ = s.Unmarshal(b) }); n > 1 {
		t.Errorf("Unmarshal into a reused Session: %.0f allocs, want ≤ 1", n)
	}
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() { buf = s.AppendTo(buf[:0]) }); n != 0 {
		t.Errorf("AppendTo into a large enough buffer: %.0f allocs, want 0", n)
	}
}

func TestConnectionAttrs(t *testing.T) {
	tests := []struct {
		in      string
		want    Connection
		wantErr bool
	}{
		{in: "IN IP4 192.0.2.1", want: Connection{NetType: "IN", AddrType: "IP4", Address: "192.0.2.1", Addr: netip.MustParseAddr("192.0.2.1")}},
		{in: "IN IP6 2001:db8::1", want: Connection{NetType: "IN", AddrType: "IP6", Address: "2001:db8::1", Addr: netip.MustParseAddr("2001:db8::1")}},
		{in: "IN IP4 host.example.com", want: Connection{NetType: "IN", AddrType: "IP4", Address: "host.example.com"}},
		{in: "IN IP4 0.0.0.0", want: Connection{NetType: "IN", AddrType: "IP4", Address: "0.0.0.0", Addr: netip.MustParseAddr("0.0.0.0")}},
		{in: "IN IP4 10.1.2.3.", wantErr: true},
		{in: "IN IP5 192.0.2.1", wantErr: true},
		{in: "IN IP4 192.0.2.1/x", wantErr: true},
		{in: "IN IP4 192.0.2.1/300", wantErr: true},
		{in: "", wantErr: true},
		{in: "IN IP6 fe80::1%eth0", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseConnection(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseConnection(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("ParseConnection(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestRTPMapRTCP(t *testing.T) {
	r, err := ParseRTPMap("111 opus/48000/2")
	if err != nil || r != (RTPMap{PT: 111, Name: "opus", ClockRate: 48000, Params: "2"}) {
		t.Errorf("rtpmap = %+v, %v", r, err)
	}
	if r, err := ParseRTPMap("31 LPC"); err != nil || r != (RTPMap{PT: 31, Name: "LPC"}) {
		t.Errorf("rtpmap without rate = %+v, %v", r, err)
	}
	for _, bad := range []string{"", "111", "111 opus/", "111 /8000", "200 x/8000", "1 PCMU/8000 extra", "1 PCMU/0"} {
		if _, err := ParseRTPMap(bad); !errors.Is(err, ErrBadAttribute) {
			t.Errorf("ParseRTPMap(%q) err = %v", bad, err)
		}
	}
	rc, err := ParseRTCP("53020 IN IP6 2001:db8::2")
	if err != nil || rc.Port != 53020 || rc.Conn.Addr != netip.MustParseAddr("2001:db8::2") {
		t.Errorf("rtcp = %+v, %v", rc, err)
	}
	rc, err = ParseRTCP("53020")
	if err != nil || rc.Port != 53020 || rc.Conn.NetType != "" {
		t.Errorf("rtcp = %+v, %v", rc, err)
	}
	for _, bad := range []string{"", "x", "53020 IN", "53020 IN IP4 999.0.0.1"} {
		if _, err := ParseRTCP(bad); !errors.Is(err, ErrBadAttribute) {
			t.Errorf("ParseRTCP(%q) err = %v", bad, err)
		}
	}
}

func TestLineAttr(t *testing.T) {
	tests := []struct {
		l                 Line
		name, value       string
		hasValue, isAttrb bool
	}{
		{Line{'a', "rtpmap:0 PCMU/8000"}, "rtpmap", "0 PCMU/8000", true, true},
		{Line{'a', "rtcp-mux"}, "rtcp-mux", "", false, true},
		{Line{'a', "x:"}, "x", "", true, true},
		{Line{'b', "AS:64"}, "", "", false, false},
	}
	for _, tt := range tests {
		name, value, hasValue, ok := tt.l.Attr()
		if name != tt.name || value != tt.value || hasValue != tt.hasValue || ok != tt.isAttrb {
			t.Errorf("%+v.Attr() = %q %q %v %v", tt.l, name, value, hasValue, ok)
		}
	}
	if got := Direction(9).String(); got != "Direction(9)" {
		t.Errorf("Direction(9) = %q", got)
	}
	if got := Inactive.String(); got != "inactive" {
		t.Errorf("Inactive = %q", got)
	}
}
