package sdp

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func mustParse(t testing.TB, text string) *Session {
	t.Helper()
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return s
}

// params gives default RewriteParams for s: relay4, ports 30000+2i.
func params(s *Session) RewriteParams {
	p := RewriteParams{Addr: relay4, Origin: NewOrigin("sbc", 77, 1, relay4), Streams: make([]StreamParams, len(s.Media))}
	for i := range p.Streams {
		p.Streams[i].Port = uint16(30000 + 2*i)
	}
	return p
}

func rewriteString(t *testing.T, text string, edit func(p *RewriteParams)) (string, error) {
	t.Helper()
	s := mustParse(t, text)
	p := params(s)
	if edit != nil {
		edit(&p)
	}
	err := Rewrite(s, p)
	out := s.AppendTo(nil)
	if _, perr := Parse(out); perr != nil {
		t.Fatalf("rewritten SDP does not parse: %v\n%s", perr, out)
	}
	return string(out), err
}

// leaky is an offer that carries its sender's topology in every place SDP
// allows: o=, s=, i=, u=, e=, p=, c= at both levels (multicast layers too),
// a=rtcp with address, ICE candidates with raddr, remote-candidates, an
// unknown line type.
const leaky = "v=0\r\n" +
	"o=jdoe.secret 8675309123 42 IN IP4 pbx7.inside.example.net\r\n" +
	"s=call from pbx7.inside.example.net\r\n" +
	"i=trunk 10.99.1.2 to core\r\n" +
	"u=http://pbx7.inside.example.net/\r\n" +
	"e=jdoe.secret@inside.example.net\r\n" +
	"p=+1 555 0199\r\n" +
	"c=IN IP4 10.99.1.2\r\n" +
	"t=0 0\r\n" +
	"x=route 10.99.1.1\r\n" +
	"a=ice-lite\r\n" +
	"a=ice-ufrag:Sk3t\r\n" +
	"a=ice-pwd:verysecretpassword0123\r\n" +
	"m=audio 10000 RTP/AVP 0 8 101\r\n" +
	"i=leg via 10.99.1.2\r\n" +
	"c=IN IP4 10.99.1.3\r\n" +
	"a=rtcp:10001 IN IP4 10.99.1.4\r\n" +
	"a=candidate:1 1 UDP 2130706431 10.99.1.3 10000 typ host\r\n" +
	"a=candidate:2 1 UDP 1694498815 198.51.100.200 61000 typ srflx raddr 10.99.1.3 rport 10000\r\n" +
	"a=remote-candidates:1 192.0.2.250 40000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=X-Nat:10.99.1.3:10000\r\n" +
	"a=ssrc:11 cname:jdoe.secret@pbx7.inside.example.net\r\n" +
	"a=x-session:8675309123\r\n" +
	"m=video 10002 RTP/AVP 96\r\n" +
	"c=IN IP6 fd00:99::7\r\n" +
	"c=IN IP6 fd00:99::8\r\n" +
	"a=rtcp:10003 IN IP6 fd00:99::9\r\n" +
	"a=rtpmap:96 H264/90000\r\n" +
	"m=image 10004 udptl t38\r\n" +
	"c=IN IP4 media7.inside.example.net\r\n"

var leakySecrets = []string{
	"jdoe.secret", "8675309123", "pbx7", "inside.example.net", "10.99.1.", "198.51.100.200",
	"192.0.2.250", "fd00:99", "media7", "Sk3t", "verysecretpassword0123", "555 0199", "route",
}

// TestRewriteLeak proves that after Rewrite no original address, host name,
// o= username or session id remains anywhere in the output.
func TestRewriteLeak(t *testing.T) {
	for _, secret := range leakySecrets {
		if !strings.Contains(leaky, secret) {
			t.Fatalf("precondition: %q is not in the input", secret)
		}
	}
	out, err := rewriteString(t, leaky, func(p *RewriteParams) { p.Codecs = allow })
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range leakySecrets {
		if strings.Contains(out, secret) {
			t.Errorf("output leaks %q:\n%s", secret, out)
		}
	}
	// Every address in the output is the relay's.
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\r\n") {
		if strings.Contains(line, "IN IP") && !strings.HasSuffix(line, "IN IP4 203.0.113.5") {
			t.Errorf("line names another address: %q", line)
		}
	}
	if s := mustParse(t, out); len(s.Media) != 3 {
		t.Errorf("m= lines: %d, want 3", len(s.Media))
	}
	for _, kept := range []string{"a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:96 H264/90000\r\n", "m=image 30004 udptl t38\r\n"} {
		if !strings.Contains(out, kept) {
			t.Errorf("output lost %q:\n%s", kept, out)
		}
	}
	// Without the scrubber, the unknown attributes leak: the safety net is
	// what removes them.
	out, _ = rewriteString(t, leaky, func(p *RewriteParams) { p.NoScrub = true })
	for _, l := range []string{"a=X-Nat:10.99.1.3", "a=ssrc:11 cname:jdoe.secret", "a=x-session:8675309123"} {
		if !strings.Contains(out, l) {
			t.Errorf("NoScrub output should hold %q:\n%s", l, out)
		}
	}

	// The check can fail: with ICE kept, the candidates leak.
	out, _ = rewriteString(t, leaky, func(p *RewriteParams) { p.KeepICE = true })
	if !strings.Contains(out, "10.99.1.3") {
		t.Errorf("KeepICE output should still hold the candidates:\n%s", out)
	}
	out, _ = rewriteString(t, leaky, func(p *RewriteParams) { p.KeepInfo = true })
	if !strings.Contains(out, "e=jdoe.secret@inside.example.net") || !strings.Contains(out, "s=call from pbx7") {
		t.Errorf("KeepInfo output should hold s= and e=:\n%s", out)
	}
}

// TestOriginVersion: RFC 3264 §8 — the version goes up by one exactly when
// the SDP sent on the leg changes.
func TestOriginVersion(t *testing.T) {
	offer := "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
	held := strings.Replace(offer, "RTP/AVP 0\r\n", "RTP/AVP 0\r\na=sendonly\r\n", 1)
	// The sender bumps its own version without changing anything else.
	bumped := strings.Replace(offer, "o=a 1 1", "o=a 1 2", 1)

	o := NewOrigin("", 555, 10, relay4)
	send := func(text string) string {
		t.Helper()
		s := mustParse(t, text)
		p := params(s)
		p.Origin = o
		if err := Rewrite(s, p); err != nil {
			t.Fatal(err)
		}
		return s.Origin.SessionVersion
	}
	steps := []struct {
		in   string
		want string
	}{
		{offer, "10"},  // first SDP on the leg
		{offer, "10"},  // same again (retransmission, refresh)
		{bumped, "10"}, // only the other side's o= changed: our SDP did not
		{held, "11"},   // hold
		{held, "11"},
		{offer, "12"}, // resume: a change again, so +1, never back
	}
	for i, st := range steps {
		if got := send(st.in); got != st.want {
			t.Errorf("step %d: version %s, want %s", i, got, st.want)
		}
	}
	if o.Version() != 12 {
		t.Errorf("Version() = %d", o.Version())
	}
	// An SDP stamped but never sent is undone: the next one sent moves the
	// version by exactly one over what the peer saw.
	if got := send(held); got != "13" {
		t.Errorf("unsent hold: version %s, want 13", got)
	}
	if !o.Revert() || o.Revert() {
		t.Fatal("Revert should undo exactly one Stamp")
	}
	if got := send(offer); got != "12" {
		t.Errorf("after Revert, same SDP as last sent: version %s, want 12", got)
	}
	if got := send(held); got != "13" {
		t.Errorf("after Revert, changed SDP: version %s, want 13", got)
	}
	first := NewOrigin("", 1, 5, relay4)
	if first.Revert() {
		t.Error("Revert with nothing stamped")
	}
	// Another leg has its own state.
	o2 := NewOrigin("sbc", 9, 1, relay6)
	s := mustParse(t, held)
	p := params(s)
	p.Origin = o2
	if err := Rewrite(s, p); err != nil {
		t.Fatal(err)
	}
	if want := (OriginLine{"sbc", "9", "1", "IN", "IP6", "2001:db8:5bc::5"}); s.Origin != want {
		t.Errorf("origin %+v, want %+v", s.Origin, want)
	}
	if got := NewOrigin("", 1, 1, relay4); got.username != "-" {
		t.Errorf("empty username = %q, want -", got.username)
	}
}

func TestRewriteRTCP(t *testing.T) {
	base := "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
	tests := []struct {
		name    string
		attrs   string
		edit    func(p *RewriteParams)
		want    []string // lines that must be present
		wantNot []string // substrings that must be absent
	}{
		{name: "no a=rtcp, default port+1", want: []string{"m=audio 30000 RTP/AVP 0"}, wantNot: []string{"a=rtcp"}},
		{name: "no a=rtcp, other RTCP port adds one", edit: func(p *RewriteParams) { p.Streams[0].RTCPPort = 31001 },
			want: []string{"a=rtcp:31001"}},
		{name: "a=rtcp port only", attrs: "a=rtcp:5001\r\n", want: []string{"a=rtcp:30001"}, wantNot: []string{"5001"}},
		{name: "a=rtcp with address", attrs: "a=rtcp:6000 IN IP4 192.0.2.9\r\n",
			edit: func(p *RewriteParams) { p.Streams[0].RTCPPort = 30005 },
			want: []string{"a=rtcp:30005 IN IP4 203.0.113.5"}, wantNot: []string{"192.0.2.9"}},
		{name: "a=rtcp with address, IPv6 relay", attrs: "a=rtcp:6000 IN IP4 192.0.2.9\r\n",
			edit: func(p *RewriteParams) { p.Addr = relay6; p.Origin = NewOrigin("", 1, 1, relay6) },
			want: []string{"a=rtcp:30001 IN IP6 2001:db8:5bc::5", "c=IN IP6 2001:db8:5bc::5"}},
		{name: "rtcp-mux removes a=rtcp", attrs: "a=rtcp:5000\r\na=rtcp-mux\r\n",
			want: []string{"a=rtcp-mux"}, wantNot: []string{"a=rtcp:"}},
		{name: "rtcp-mux, other RTCP port adds nothing", attrs: "a=rtcp-mux\r\n",
			edit: func(p *RewriteParams) { p.Streams[0].RTCPPort = 31001 }, want: []string{"a=rtcp-mux"}, wantNot: []string{"a=rtcp:"}},
		{name: "DropRTCPMux", attrs: "a=rtcp:5000\r\na=rtcp-mux\r\n", edit: func(p *RewriteParams) { p.DropRTCPMux = true },
			want: []string{"a=rtcp:30001"}, wantNot: []string{"rtcp-mux"}},
		{name: "rejected by relay", attrs: "a=rtcp:5001\r\n", edit: func(p *RewriteParams) { p.Streams[0].Port = 0 },
			want: []string{"m=audio 0 RTP/AVP 0"}, wantNot: []string{"a=rtcp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rewriteString(t, base+tt.attrs, tt.edit)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w+"\r\n") {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in\n%s", w, out)
				}
			}
		})
	}
}

func TestRewriteCodecs(t *testing.T) {
	audio := "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=audio 5000 RTP/AVP 96 0 8 9 18 97 101 102\r\n" +
		"a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\na=rtcp-fb:96 nack\r\n" +
		"a=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" +
		"a=rtpmap:102 rtx/8000\r\na=fmtp:102 apt=96\r\n" +
		"a=rtcp-fb:* trr-int 100\r\n"
	// 97 has no rtpmap: dynamic and unnamed, never allowed.
	tests := []struct {
		name      string
		codecs    []string
		offer     bool
		wantM     string
		wantErr   error
		wantLines []string
		wantNot   []string
	}{
		{name: "nil keeps all", codecs: nil, wantM: "m=audio 30000 RTP/AVP 96 0 8 9 18 97 101 102"},
		{name: "static by number, case-insensitive", codecs: []string{"pcmu", "g722"}, wantM: "m=audio 30000 RTP/AVP 0 9",
			wantLines: []string{"a=rtcp-fb:* trr-int 100"}, wantNot: []string{"rtpmap:96", "fmtp:96", "rtcp-fb:96", "G729", "annexb", "telephone-event", "apt="}},
		{name: "opus with rtx and DTMF", codecs: []string{"OPUS", "telephone-event", "rtx"}, wantM: "m=audio 30000 RTP/AVP 96 101 102",
			wantLines: []string{"a=rtpmap:96 opus/48000/2", "a=fmtp:96 useinbandfec=1", "a=rtcp-fb:96 nack", "a=fmtp:102 apt=96"}},
		{name: "rtx without its codec goes", codecs: []string{"PCMA", "rtx"}, wantM: "m=audio 30000 RTP/AVP 8", wantNot: []string{"rtx"}},
		{name: "G729 by rtpmap", codecs: []string{"G729"}, wantM: "m=audio 30000 RTP/AVP 18", wantLines: []string{"a=fmtp:18 annexb=no"}},
		{name: "answer with nothing left is rejected", codecs: []string{"AMR"}, wantM: "m=audio 0 RTP/AVP 96 0 8 9 18 97 101 102"},
		{name: "empty list rejects", codecs: []string{}, wantM: "m=audio 0 RTP/AVP 96 0 8 9 18 97 101 102"},
		{name: "offer with nothing left reports", codecs: []string{"AMR"}, offer: true, wantErr: ErrNoCodec, wantM: "m=audio 0 RTP/AVP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rewriteString(t, audio, func(p *RewriteParams) { p.Codecs, p.Offer = tt.codecs, tt.offer })
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if ce := (*CodecError)(nil); errors.As(err, &ce) && !slices.Equal(ce.Streams, []int{0}) {
				t.Errorf("CodecError streams %v", ce.Streams)
			}
			if !strings.Contains(out, tt.wantM) {
				t.Errorf("want %q in\n%s", tt.wantM, out)
			}
			for _, w := range tt.wantLines {
				if !strings.Contains(out, w+"\r\n") {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in\n%s", w, out)
				}
			}
		})
	}
}

func TestRewriteParamsErrors(t *testing.T) {
	text := "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=x\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
	tests := []struct {
		name string
		edit func(p *RewriteParams)
	}{
		{"no address", func(p *RewriteParams) { p.Addr = netip.Addr{} }},
		{"zoned address", func(p *RewriteParams) { p.Addr = netip.MustParseAddr("fe80::1%eth0") }},
		{"no origin", func(p *RewriteParams) { p.Origin = nil }},
		{"origin without address", func(p *RewriteParams) { p.Origin = NewOrigin("", 1, 1, netip.Addr{}) }},
		{"too few streams", func(p *RewriteParams) { p.Streams = nil }},
		{"too many streams", func(p *RewriteParams) { p.Streams = make([]StreamParams, 2) }},
		{"zoned stream address", func(p *RewriteParams) { p.Streams[0].Addr = netip.MustParseAddr("fe80::1%eth0") }},
		{"ICE-lite ufrag too short", func(p *RewriteParams) { p.ICELite = &ICECredentials{"abc", strings.Repeat("p", 22)} }},
		{"ICE-lite pwd too short", func(p *RewriteParams) { p.ICELite = &ICECredentials{"abcd", strings.Repeat("p", 21)} }},
		{"ICE-lite bad char", func(p *RewriteParams) { p.ICELite = &ICECredentials{"ab:d", strings.Repeat("p", 22)} }},
		{"ICE-lite with KeepICE", func(p *RewriteParams) {
			p.ICELite, p.KeepICE = &ICECredentials{"abcd", strings.Repeat("p", 22)}, true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, text)
			p := params(s)
			tt.edit(&p)
			if err := Rewrite(s, p); !errors.Is(err, ErrParams) {
				t.Fatalf("err = %v, want ErrParams", err)
			}
			if got := s.String(); got != text {
				t.Errorf("session changed on error:\n%s", got)
			}
		})
	}
}

func TestRewriteConnection(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		edit  func(p *RewriteParams)
		want  string // the whole output after o=
		wantE error
	}{
		{
			name: "media-level c= only stays media-level (RFC 5118 4.8)",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "t=0 0", "m=audio 1 RTP/AVP 0", "c=IN IP4 192.0.2.1", "m=video 2 RTP/AVP 34", "c=IN IP6 2001:db8::1"),
			want: crlf("s=-", "t=0 0", "m=audio 30000 RTP/AVP 0", "c=IN IP4 203.0.113.5", "m=video 30002 RTP/AVP 34", "c=IN IP4 203.0.113.5"),
		},
		{
			name: "per-stream address of another family",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 1 RTP/AVP 0", "m=video 2 RTP/AVP 34", "b=AS:512", "a=sendrecv"),
			edit: func(p *RewriteParams) { p.Streams[1].Addr = relay6 },
			want: crlf("s=-", "c=IN IP4 203.0.113.5", "t=0 0", "m=audio 30000 RTP/AVP 0", "m=video 30002 RTP/AVP 34", "c=IN IP6 2001:db8:5bc::5", "b=AS:512", "a=sendrecv"),
		},
		{
			name: "session c= added when a media lacks one; t= added; multicast layers collapse",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "a=recvonly", "m=audio 0 RTP/AVP 0", "m=video 2/2 RTP/AVP 34", "c=IN IP4 224.2.1.1/127/2", "c=IN IP4 224.2.1.2/127/2"),
			want: crlf("s=-", "c=IN IP4 203.0.113.5", "t=0 0", "a=recvonly", "m=audio 0 RTP/AVP 0", "m=video 30002 RTP/AVP 34", "c=IN IP4 203.0.113.5"),
		},
		{
			name: "session-level 0.0.0.0 hold becomes media-level",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 1 RTP/AVP 0", "a=ptime:20"),
			edit: func(p *RewriteParams) { p.Addr = relay6; p.Origin = NewOrigin("", 1, 1, relay6) },
			want: crlf("s=-", "c=IN IP6 2001:db8:5bc::5", "t=0 0", "m=audio 30000 RTP/AVP 0", "c=IN IP6 ::", "a=ptime:20"),
		},
		{
			name: "DropAttributes and unknown types",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "c=IN IP4 192.0.2.1", "t=0 0", "a=tool:Vendor 1.0", "q=what", "m=audio 1 RTP/AVP 0", "a=X-Nat:10.0.0.1", "a=", "a=label:1"),
			edit: func(p *RewriteParams) { p.DropAttributes = []string{"TOOL", "x-nat", ""} },
			want: crlf("s=-", "c=IN IP4 203.0.113.5", "t=0 0", "m=audio 30000 RTP/AVP 0", "a=", "a=label:1"),
		},
		{
			name: "scrubber ignores short identifiers and keeps the relay's address",
			in:   crlf("v=0", "o=- 1 1 IN IP4 203.0.113.5", "s=", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 1 RTP/AVP 0", "a=ssrc:1 cname:-", "a=x-relay:203.0.113.5"),
			want: crlf("s=-", "c=IN IP4 203.0.113.5", "t=0 0", "m=audio 30000 RTP/AVP 0", "a=ssrc:1 cname:-", "a=x-relay:203.0.113.5"),
		},
		{
			name: "session-level a=rtcp is not an RFC 3605 place and goes",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "c=IN IP4 192.0.2.1", "t=0 0", "a=rtcp:9 IN IP4 192.0.2.77", "m=audio 1 RTP/AVP 0"),
			edit: func(p *RewriteParams) { p.NoScrub = true },
			want: crlf("s=-", "c=IN IP4 203.0.113.5", "t=0 0", "m=audio 30000 RTP/AVP 0"),
		},
		{
			name: "ICE trickle placeholder gets the relay address",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "t=0 0", "a=ice-ufrag:abcd", "m=audio 9 UDP/TLS/RTP/SAVPF 0", "c=IN IP4 0.0.0.0", "a=rtcp-mux"),
			want: crlf("s=-", "t=0 0", "m=audio 30000 UDP/TLS/RTP/SAVPF 0", "c=IN IP4 203.0.113.5", "a=rtcp-mux"),
		},
		{
			name: "ICE-lite without rtcp-mux: two components; rejected stream none",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=", "c=IN IP4 192.0.2.1", "t=0 0", "a=ice-ufrag:theirs", "m=audio 1 RTP/AVP 0", "a=candidate:1 1 UDP 1 192.0.2.1 1 typ host", "m=video 0 RTP/AVP 31"),
			edit: func(p *RewriteParams) {
				p.ICELite = &ICECredentials{"SbCu", "SbCpassword0123456789+/"}
				p.Streams[0].RTCPPort = 30007
			},
			want: crlf("s=-", "c=IN IP4 203.0.113.5", "t=0 0", "a=ice-lite", "m=audio 30000 RTP/AVP 0", "a=rtcp:30007",
				"a=ice-ufrag:SbCu", "a=ice-pwd:SbCpassword0123456789+/",
				"a=candidate:1 1 UDP 2130706431 203.0.113.5 30000 typ host",
				"a=candidate:1 2 UDP 2130706430 203.0.113.5 30007 typ host",
				"a=end-of-candidates", "m=video 0 RTP/AVP 31"),
		},
		{
			name: "SessionName",
			in:   crlf("v=0", "o=- 1 1 IN IP4 h.example.com", "s=secret", "c=IN IP4 192.0.2.1", "t=0 0"),
			edit: func(p *RewriteParams) { p.SessionName = "SBC" },
			want: crlf("s=SBC", "c=IN IP4 203.0.113.5", "t=0 0"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rewriteString(t, tt.in, tt.edit)
			if !errors.Is(err, tt.wantE) {
				t.Fatalf("err = %v", err)
			}
			_, body, _ := strings.Cut(out, "\r\ns=")
			if got := "s=" + body; got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRemote(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
	ap := netip.MustParseAddrPort
	tests := []struct {
		name string
		in   string
		want StreamInfo // Codecs not compared
	}{
		{"session c=, defaults", head + "m=audio 5000 RTP/AVP 0\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("192.0.2.1:5000"), RTCP: ap("192.0.2.1:5001")}},
		{"media c= wins", head + "m=audio 5000 RTP/AVP 0\r\nc=IN IP6 2001:db8::7\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("[2001:db8::7]:5000"), RTCP: ap("[2001:db8::7]:5001")}},
		{"a=rtcp port", head + "m=audio 5000 RTP/AVP 0\r\na=rtcp:6001\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("192.0.2.1:5000"), RTCP: ap("192.0.2.1:6001")}},
		{"a=rtcp address (RFC 3605)", head + "m=audio 5000 RTP/AVP 0\r\na=rtcp:53020 IN IP4 126.16.64.4\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("192.0.2.1:5000"), RTCP: ap("126.16.64.4:53020")}},
		{"rtcp-mux", head + "m=audio 5000 RTP/SAVPF 0\r\na=rtcp-mux\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/SAVPF", Addr: ap("192.0.2.1:5000"), RTCP: ap("192.0.2.1:5001"), RTCPMux: true}},
		{"session sendonly is hold", strings.Replace(head, "t=0 0\r\n", "t=0 0\r\na=sendonly\r\n", 1) + "m=audio 5000 RTP/AVP 0\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("192.0.2.1:5000"), RTCP: ap("192.0.2.1:5001"), Direction: SendOnly, Hold: true}},
		{"media direction beats session", strings.Replace(head, "t=0 0\r\n", "t=0 0\r\na=sendonly\r\n", 1) + "m=audio 5000 RTP/AVP 0\r\na=sendrecv\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("192.0.2.1:5000"), RTCP: ap("192.0.2.1:5001")}},
		{"inactive is hold", head + "m=audio 5000 RTP/AVP 0\r\na=inactive\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("192.0.2.1:5000"), RTCP: ap("192.0.2.1:5001"), Direction: Inactive, Hold: true}},
		{"recvonly is not hold", head + "m=audio 5000 RTP/AVP 0\r\na=recvonly\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("192.0.2.1:5000"), RTCP: ap("192.0.2.1:5001"), Direction: RecvOnly}},
		{"0.0.0.0 is hold", head + "m=audio 5000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("0.0.0.0:5000"), RTCP: ap("0.0.0.0:5001"), Hold: true}},
		{"host name", head + "m=audio 5000 RTP/AVP 0\r\nc=IN IP4 media.example.com\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: netip.AddrPortFrom(netip.Addr{}, 5000), Host: "media.example.com"}},
		{"rejected", head + "m=video 0 RTP/AVP 31\r\n",
			StreamInfo{Media: "video", Proto: "RTP/AVP", Addr: ap("192.0.2.1:0"), Rejected: true}},
		{"ICE trickle placeholder is not hold", head + "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:p\r\n",
			StreamInfo{Media: "audio", Proto: "UDP/TLS/RTP/SAVPF", Addr: ap("0.0.0.0:9"), RTCP: ap("0.0.0.0:10"), ICE: true, ICEUfrag: "abcd", ICEPwd: "p"}},
		{"ICE with 0.0.0.0 on a real port is hold", head + "a=ice-pwd:sp\r\nm=audio 5000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("0.0.0.0:5000"), RTCP: ap("0.0.0.0:5001"), ICE: true, ICEUfrag: "abcd", ICEPwd: "sp", Hold: true}},
		{"ptime", head + "m=audio 5000 RTP/AVP 0\r\na=ptime:30\r\n",
			StreamInfo{Media: "audio", Proto: "RTP/AVP", Addr: ap("192.0.2.1:5000"), RTCP: ap("192.0.2.1:5001"), Ptime: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Remote(mustParse(t, tt.in))
			if len(got) != 1 {
				t.Fatalf("%d streams", len(got))
			}
			g := got[0]
			g.Codecs = nil
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("got  %+v\nwant %+v", g, tt.want)
			}
		})
	}
	// Codecs: rtpmap, static table, unknown dynamic.
	s := mustParse(t, head+"m=audio 5000 RTP/AVP 96 8 97 18\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\na=fmtp:18 annexb=no\r\na=fmtp:97 x=1\r\n")
	want := []Codec{{96, "opus", 48000, 2, "useinbandfec=1"}, {8, "PCMA", 8000, 1, ""}, {PT: 97, Fmtp: "x=1"}, {18, "G729", 8000, 1, "annexb=no"}}
	if got := Remote(s)[0].Codecs; !slices.Equal(got, want) {
		t.Errorf("codecs %+v, want %+v", got, want)
	}
	if c := Remote(mustParse(t, head+"m=image 5000 udptl t38\r\n"))[0].Codecs; c != nil {
		t.Errorf("udptl codecs %+v, want nil", c)
	}
}

func TestCheckAnswer(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
	offer := mustParse(t, head+"m=audio 5000 RTP/AVP 0\r\nm=video 5002 RTP/AVP 31\r\n")
	tests := []struct {
		name, answer string
		ok           bool
	}{
		{"same m= lines", head + "m=audio 6000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n", true},
		{"one missing", head + "m=audio 6000 RTP/AVP 0\r\n", false},
		{"one extra", head + "m=audio 6000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\nm=text 0 RTP/AVP 98\r\n", false},
		{"reordered", head + "m=video 0 RTP/AVP 31\r\nm=audio 6000 RTP/AVP 0\r\n", false},
	}
	for _, tt := range tests {
		err := CheckAnswer(offer, mustParse(t, tt.answer))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrAnswerMismatch)) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}
