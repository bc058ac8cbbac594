package sdp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics; whatever it accepts serialises to a form
// that parses again to the same bytes; Remote and Rewrite never panic on it,
// and the rewritten form parses too. Seeds: testdata/*.sdp and the committed
// corpus under testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sdp")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(leaky))
	f.Add([]byte(minimal + "m=audio 0 RTP/AVP\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		out := s.AppendTo(nil)
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("serialised form does not parse: %v\n%q", err, out)
		}
		if out2 := s2.AppendTo(nil); !bytes.Equal(out, out2) {
			t.Fatalf("not idempotent:\n%q\n%q", out, out2)
		}
		_ = Remote(s)
		variants := []func(p *RewriteParams){
			func(p *RewriteParams) {},
			func(p *RewriteParams) { p.Codecs, p.Offer = []string{"PCMU", "telephone-event", "rtx"}, true },
			func(p *RewriteParams) {
				p.Addr = relay6
				p.ICELite = &ICECredentials{"abcd", "abcdefghijklmnopqrstuv"}
				p.DropRTCPMux, p.KeepInfo = true, true
				p.DropAttributes = []string{"", "sendonly"}
				for i := range p.Streams {
					p.Streams[i].RTCPPort = 40000
				}
			},
		}
		for _, edit := range variants {
			s3, _ := Parse(out)
			p := params(s3)
			edit(&p)
			if err := Rewrite(s3, p); err != nil && !errors.Is(err, ErrNoCodec) {
				t.Fatalf("Rewrite: %v", err)
			}
			rw := s3.AppendTo(nil)
			s4, err := Parse(rw)
			if err != nil {
				t.Fatalf("rewritten form does not parse: %v\n%q", err, rw)
			}
			// RFC 3264 §6/§8: m= lines are never added, removed or reordered.
			if err := CheckAnswer(s, s4); err != nil {
				t.Fatalf("Rewrite changed the m= lines: %v\n%q", err, rw)
			}
		}
	})
}
