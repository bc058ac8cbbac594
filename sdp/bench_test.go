package sdp

import (
	"os"
	"testing"
)

// BenchmarkParse, BenchmarkRewrite... measure the B2BUA's per-SDP cost:
// Unmarshal into a reused Session, Rewrite, AppendTo into a reused buffer.
// BenchmarkCopy is the baseline: copying the same bytes once.

func benchInput(b *testing.B, name string) []byte {
	in, err := os.ReadFile("testdata/" + name + ".sdp")
	if err != nil {
		b.Fatal(err)
	}
	return []byte(toCRLF(string(in)))
}

func BenchmarkCopy(b *testing.B) {
	in := benchInput(b, "telephone-event")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		_ = string(in)
	}
}

func BenchmarkParse(b *testing.B) {
	in := benchInput(b, "telephone-event")
	var s Session
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Unmarshal(in); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPipeline(b *testing.B, name string) {
	in := benchInput(b, name)
	var s Session
	buf := make([]byte, 0, 4096)
	o := NewOrigin("sbc", 1, 1, relay4)
	streams := make([]StreamParams, 8)
	for i := range streams {
		streams[i].Port = uint16(30000 + 2*i)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Unmarshal(in); err != nil {
			b.Fatal(err)
		}
		p := RewriteParams{Addr: relay4, Origin: o, Streams: streams[:len(s.Media)], Codecs: allow, Offer: true}
		if err := Rewrite(&s, p); err != nil {
			b.Fatal(err)
		}
		buf = s.AppendTo(buf[:0])
	}
}

// BenchmarkPipeline: a typical carrier offer (G722/PCMU/PCMA/DTMF/CN,
// a=rtcp with address).
func BenchmarkPipeline(b *testing.B) { benchPipeline(b, "telephone-event") }

// BenchmarkPipelineWebRTC: a two-stream WebRTC offer with ICE and rtcp-mux.
func BenchmarkPipelineWebRTC(b *testing.B) { benchPipeline(b, "webrtc") }

// BenchmarkRemote: the report the relay needs, per offer.
func BenchmarkRemote(b *testing.B) {
	in := benchInput(b, "telephone-event")
	s, err := Parse(in)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]StreamInfo, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendRemote(dst[:0], s)
	}
}

// TestAllocsPipeline guards the per-SDP allocation count of the B2BUA's
// path for a typical offer: the body copy in Unmarshal, the c= value and the
// a=rtcp value. Origin state and output buffers are reused.
func TestAllocsPipeline(t *testing.T) {
	in, err := os.ReadFile("testdata/telephone-event.sdp")
	if err != nil {
		t.Fatal(err)
	}
	var s Session
	buf := make([]byte, 0, 4096)
	o := NewOrigin("sbc", 1, 1, relay4)
	streams := []StreamParams{{Port: 30000, RTCPPort: 30011}}
	run := func() {
		if err := s.Unmarshal(in); err != nil {
			t.Fatal(err)
		}
		if err := Rewrite(&s, RewriteParams{Addr: relay4, Origin: o, Streams: streams, Codecs: allow, Offer: true}); err != nil {
			t.Fatal(err)
		}
		buf = s.AppendTo(buf[:0])
	}
	run()
	if n := testing.AllocsPerRun(200, run); n > 3 {
		t.Errorf("parse+rewrite+serialise: %.0f allocs, want ≤ 3", n)
	}
}
