package sdp

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var (
	relay4 = netip.MustParseAddr("203.0.113.5")
	relay6 = netip.MustParseAddr("2001:db8:5bc::5")
	// allow is the codec allow-list of a typical carrier trunk.
	allow = []string{"PCMU", "PCMA", "G722", "opus", "telephone-event", "H264", "rtx"}
)

// goldenCase says how a testdata SDP is rewritten for its golden file.
type goldenCase struct {
	file    string
	golden  string // golden file name when not file
	iceLite *ICECredentials
	offer   bool
	addr    netip.Addr
	codecs  []string
	streams func(i int) StreamParams // nil: port 30000+2i
	wantErr error
}

var goldenCases = []goldenCase{
	{file: "pcmu-pcma-offer", offer: true, codecs: allow},
	{file: "telephone-event", offer: true, codecs: allow,
		streams: func(i int) StreamParams { return StreamParams{Port: 40000, RTCPPort: 40011} }},
	{file: "ipv6", offer: true, addr: relay6, codecs: allow},
	{file: "audio-video", offer: true, codecs: allow},
	{file: "webrtc", offer: true, codecs: allow},
	{file: "webrtc", golden: "webrtc-icelite", offer: true, codecs: allow, addr: relay6,
		iceLite: &ICECredentials{Ufrag: "SbC1", Pwd: "Sbc1Relay2Password3456789"}},
	{file: "hold-sendonly", offer: true, codecs: allow},
	{file: "hold-zero", offer: true, codecs: allow},
	{file: "t38", offer: true, codecs: allow},
	{file: "srtp-sdes", offer: false, codecs: allow},
	{file: "rejected-stream", offer: false, codecs: allow},
	{file: "mixed-family", offer: true, codecs: allow, wantErr: ErrNoCodec,
		streams: func(i int) StreamParams {
			if i == 1 {
				return StreamParams{Port: 30002, Addr: relay6}
			}
			return StreamParams{Port: 30000}
		}},
}

func (gc goldenCase) params(s *Session) RewriteParams {
	addr := gc.addr
	if !addr.IsValid() {
		addr = relay4
	}
	p := RewriteParams{
		Addr:    addr,
		Origin:  NewOrigin("sbc", 3900000000, 1, addr),
		Streams: make([]StreamParams, len(s.Media)),
		Codecs:  gc.codecs,
		Offer:   gc.offer,
		ICELite: gc.iceLite,
	}
	for i := range p.Streams {
		if gc.streams != nil {
			p.Streams[i] = gc.streams(i)
		} else {
			p.Streams[i] = StreamParams{Port: uint16(30000 + 2*i)}
		}
	}
	return p
}

// dumpRemote renders Remote's report one stream a line, for golden files.
func dumpRemote(infos []StreamInfo) string {
	var b strings.Builder
	for _, in := range infos {
		fmt.Fprintf(&b, "%d %s %s addr=%v", in.Index, in.Media, in.Proto, in.Addr)
		if in.Host != "" {
			fmt.Fprintf(&b, " host=%s", in.Host)
		}
		fmt.Fprintf(&b, " rtcp=%v mux=%v dir=%v hold=%v rejected=%v ptime=%d codecs=[",
			in.RTCP, in.RTCPMux, in.Direction, in.Hold, in.Rejected, in.Ptime)
		for j, c := range in.Codecs {
			if j > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%d:%s/%d/%d", c.PT, c.Name, c.ClockRate, c.Channels)
			if c.Fmtp != "" {
				fmt.Fprintf(&b, "{%s}", c.Fmtp)
			}
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestGolden parses each testdata SDP, reports Remote and rewrites it; the
// result must equal testdata/<name>.golden (go test -run TestGolden -update
// rewrites them; review the diff).
func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		name := gc.file
		if gc.golden != "" {
			name = gc.golden
		}
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", gc.file+".sdp"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			remote := dumpRemote(Remote(s))
			p := gc.params(s)
			err = Rewrite(s, p)
			if !errors.Is(err, gc.wantErr) {
				t.Fatalf("Rewrite err = %v, want %v", err, gc.wantErr)
			}
			out := s.AppendTo(nil)
			checkWireForm(t, out)
			if _, err := Parse(out); err != nil {
				t.Fatalf("rewritten SDP does not parse: %v", err)
			}
			got := fmt.Sprintf("# Remote(received)\n%s# Rewrite(offer=%v, addr=%v, err=%v)\n%s",
				remote, gc.offer, p.Addr, err, strings.ReplaceAll(string(out), "\r\n", "\n"))
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("golden mismatch for %s:\n--- got\n%s--- want\n%s", gc.file, got, want)
			}
		})
	}
}

// checkWireForm: every line ends in CRLF and there is no bare CR or LF.
func checkWireForm(t *testing.T, out []byte) {
	t.Helper()
	s := string(out)
	if !strings.HasSuffix(s, "\r\n") {
		t.Errorf("output does not end in CRLF")
	}
	if strings.Count(s, "\n") != strings.Count(s, "\r\n") || strings.Count(s, "\r") != strings.Count(s, "\r\n") {
		t.Errorf("output has bare CR or LF: %q", s)
	}
}
