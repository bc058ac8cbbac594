package capture

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// recSink records what it is given; gate, when set, blocks WritePacket until
// closed, and entered reports each entry.
type recSink struct {
	mu      sync.Mutex
	pkts    []Packet
	gate    chan struct{}
	entered chan struct{}
	closed  bool
	flushes int
}

func (s *recSink) WritePacket(p *Packet) error {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		<-s.gate
	}
	cp := *p
	cp.Payload = append([]byte(nil), p.Payload...)
	s.mu.Lock()
	s.pkts = append(s.pkts, cp)
	s.mu.Unlock()
	return nil
}
func (s *recSink) Flush() error { s.mu.Lock(); s.flushes++; s.mu.Unlock(); return nil }
func (s *recSink) Close() error { s.mu.Lock(); s.closed = true; s.mu.Unlock(); return nil }

var (
	sbcAddr  = netip.MustParseAddrPort("192.0.2.1:5060")
	peerAddr = netip.MustParseAddrPort("198.51.100.7:5060")
	at       = time.Unix(1_764_063_000, 0)
)

func closeOK(t *testing.T, c *Capturer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSamplingWholeCalls(t *testing.T) {
	const calls, n, msgsPerCall = 10000, 10, 4
	sink := &recSink{}
	c := New(Options{SampleOneIn: n, QueueSize: calls * msgsPerCall}, map[string]Sink{"rec": sink})
	for i := range calls {
		id := fmt.Sprintf("%08x-call@198.51.100.7", i*7919)
		for m := range msgsPerCall {
			dir := In
			if m%2 == 1 {
				dir = Out
			}
			c.Capture(dir, "udp", peerAddr, sbcAddr, id, "carrier", []byte(id), at)
		}
	}
	closeOK(t, c)
	perCall := map[string]int{}
	for _, p := range sink.pkts {
		if string(p.Payload) != p.CallID {
			t.Fatalf("payload %q under call %q", p.Payload, p.CallID)
		}
		perCall[p.CallID]++
	}
	for id, k := range perCall {
		if k != msgsPerCall {
			t.Errorf("call %s: %d of %d messages captured", id, k, msgsPerCall)
		}
	}
	// Deterministic hash: the same IDs always give the same count. It must
	// be near calls/n (binomial sd ~30: allow 4 sd).
	got := len(perCall)
	if got < calls/n-120 || got > calls/n+120 {
		t.Fatalf("%d of %d calls sampled at 1 in %d", got, calls, n)
	}
	const exact = 1030 // pinned: a change of hash changes which calls are kept
	if got != exact {
		t.Errorf("%d calls sampled, pinned count %d", got, exact)
	}
	st := c.Stats()
	if st.Captured != uint64(got*msgsPerCall) || st.Skipped != uint64((calls-got)*msgsPerCall) {
		t.Errorf("stats %+v", st)
	}
	for i := range calls { // Sampled agrees with what was captured
		id := fmt.Sprintf("%08x-call@198.51.100.7", i*7919)
		if _, ok := perCall[id]; ok != c.Sampled(id, "carrier") {
			t.Fatalf("Sampled(%s) disagrees with capture", id)
		}
	}
}

func TestSampleHashSpread(t *testing.T) {
	for _, n := range []uint64{2, 3, 16, 100} {
		buckets := make([]int, n)
		const ids = 20000
		for i := range ids {
			buckets[SampleHash(fmt.Sprintf("call-%d", i))%n]++
		}
		want := ids / int(n)
		for b, k := range buckets {
			if k < want*7/10 || k > want*13/10 {
				t.Errorf("mod %d: bucket %d has %d, want about %d", n, b, k, want)
			}
		}
	}
}

func TestTrunkFilter(t *testing.T) {
	sink := &recSink{}
	c := New(Options{Trunks: []string{"carrier-a", "pbx"}}, map[string]Sink{"rec": sink})
	for _, trunk := range []string{"carrier-a", "carrier-b", "", "pbx", "PBX"} {
		c.Capture(In, "tcp", peerAddr, sbcAddr, "id-"+trunk, trunk, []byte("x"), at)
	}
	closeOK(t, c)
	var got []string
	for _, p := range sink.pkts {
		got = append(got, p.Trunk)
		if p.Transport != TCP || p.Direction != In || p.Src != peerAddr || p.Dst != sbcAddr || !p.Time.Equal(at) {
			t.Errorf("packet fields %+v", p)
		}
	}
	if fmt.Sprint(got) != "[carrier-a pbx]" {
		t.Fatalf("captured trunks %v", got)
	}
	if st := c.Stats(); st.Skipped != 3 {
		t.Errorf("skipped %d", st.Skipped)
	}
}

func TestQueueFullDropsNeverBlocks(t *testing.T) {
	slow := &recSink{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	fast := &recSink{}
	c := New(Options{QueueSize: 4}, map[string]Sink{"slow": slow, "fast": fast})
	msg := []byte("INVITE")
	c.Capture(Out, "udp", sbcAddr, peerAddr, "c1", "", msg, at)
	<-slow.entered // the worker holds message 1 in WritePacket
	for range 10 { // 4 fit the queue, 6 drop; none blocks
		c.Capture(Out, "udp", sbcAddr, peerAddr, "c1", "", msg, at)
	}
	msg[0] = 'X' // the capturer copied the message
	close(slow.gate)
	closeOK(t, c)
	stats := map[string]SinkStats{}
	for _, s := range c.Stats().Sinks {
		stats[s.Name] = s
	}
	if s := stats["slow"]; s.Written != 5 || s.Dropped != 6 || s.Errors != 0 {
		t.Errorf("slow sink %+v, want 5 written 6 dropped", s)
	}
	if s := stats["fast"]; s.Written+s.Dropped != 11 || s.Written < 4 {
		t.Errorf("fast sink %+v", s)
	}
	if c.Dropped() != stats["slow"].Dropped+stats["fast"].Dropped {
		t.Error("Dropped disagrees with Stats")
	}
	for _, p := range slow.pkts {
		if string(p.Payload) != "INVITE" {
			t.Fatalf("payload %q: the record was shared or reused too early", p.Payload)
		}
	}
	if !slow.closed || !fast.closed || slow.flushes == 0 {
		t.Error("sinks not flushed and closed")
	}
	c.Capture(Out, "udp", sbcAddr, peerAddr, "c1", "", msg, at) // after Close: ignored
	if c.Stats().Captured != 11 {
		t.Error("capture after Close counted")
	}
}

func TestNilCapturer(t *testing.T) {
	var c *Capturer
	c.Capture(In, "udp", peerAddr, sbcAddr, "x", "", []byte("x"), at)
	if c.Dropped() != 0 || c.Close(context.Background()) != nil {
		t.Fatal("nil capturer misbehaves")
	}
}

func TestCapturerToPcap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	w, err := OpenPcap(path, PcapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{}, map[string]Sink{"pcap": w})
	for i := range 50 {
		c.Capture(In, "udp", peerAddr, sbcAddr, "c", "", sipRequest("OPTIONS", fmt.Sprint(i), ""), at)
	}
	c.Capture(Out, "udp", sbcAddr, peerAddr, "c", "", sipRequest("OPTIONS", "out", ""), at)
	closeOK(t, c)
	_, recs := readPcap(t, path)
	if len(recs) != 51 {
		t.Fatalf("%d records, want 51", len(recs))
	}
	// Ethernet destination, source: the SBC's MAC receives In, sends Out.
	if string(recs[0][:6]) != string(macSBC[:]) || string(recs[0][6:12]) != string(macPeer[:]) {
		t.Errorf("incoming frame MACs % x", recs[0][:12])
	}
	if string(recs[50][:6]) != string(macPeer[:]) || string(recs[50][6:12]) != string(macSBC[:]) {
		t.Errorf("outgoing frame MACs % x", recs[50][:12])
	}
}

func TestCaptureAllocs(t *testing.T) {
	gated := gatedDiscard{make(chan struct{})} // allocates nothing itself
	c := New(Options{QueueSize: 1 << 12}, map[string]Sink{"gated": gated})
	defer closeOK(t, c)
	msg := sipRequest("INVITE", "alloc@x", "")
	// Fill the free list: with the sink held, every message needs a record
	// of its own; once released they all come back for reuse.
	const warm = 2000
	for range warm {
		c.Capture(In, "udp", peerAddr, sbcAddr, "alloc@x", "t", msg, at)
	}
	close(gated.gate)
	for deadline := time.Now().Add(10 * time.Second); len(c.free) < warm-1; {
		if time.Now().After(deadline) {
			t.Fatalf("free list holds %d records", len(c.free))
		}
		time.Sleep(time.Millisecond)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		c.Capture(In, "udp", peerAddr, sbcAddr, "alloc@x", "t", msg, at)
	})
	if allocs != 0 {
		t.Fatalf("Capture: %v allocs per message", allocs)
	}
}

type discardSink struct{}

type gatedDiscard struct{ gate chan struct{} }

func (g gatedDiscard) WritePacket(*Packet) error { <-g.gate; return nil }
func (gatedDiscard) Flush() error                { return nil }
func (gatedDiscard) Close() error                { return nil }

func (discardSink) WritePacket(*Packet) error { return nil }
func (discardSink) Flush() error              { return nil }
func (discardSink) Close() error              { return nil }

// BenchmarkCopyBaseline is the floor for BenchmarkCaptureEnqueue: copying the
// message into a reused buffer.
func BenchmarkCopyBaseline(b *testing.B) {
	msg := sipRequest("INVITE", "bench@x", "v=0\r\n")
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		buf = append(buf[:0], msg...)
	}
	_ = buf
}

func BenchmarkCaptureEnqueue(b *testing.B) {
	c := New(Options{}, map[string]Sink{"discard": discardSink{}})
	defer c.Close(context.Background())
	msg := sipRequest("INVITE", "bench@x", "v=0\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		c.Capture(In, "udp", peerAddr, sbcAddr, "bench@x", "t", msg, at)
	}
}

func BenchmarkCaptureSampledOut(b *testing.B) {
	c := New(Options{Trunks: []string{"other"}}, map[string]Sink{"discard": discardSink{}})
	defer c.Close(context.Background())
	msg := sipRequest("INVITE", "bench@x", "v=0\r\n")
	b.ReportAllocs()
	for b.Loop() {
		c.Capture(In, "udp", peerAddr, sbcAddr, "bench@x", "t", msg, at)
	}
}

func BenchmarkPcapWrite(b *testing.B) {
	for _, tr := range []Transport{UDP, TCP} {
		b.Run(fmt.Sprint("transport", tr), func(b *testing.B) {
			w, err := OpenPcap(filepath.Join(b.TempDir(), "b.pcap"), PcapOptions{MaxBytes: 32 << 20, MaxFiles: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			p := testMessages()[0].pkt
			p.Transport = tr
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Payload)))
			for b.Loop() {
				if err := w.WritePacket(&p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendHEP(b *testing.B) {
	p := testMessages()[0].pkt
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(p.Payload)))
	for b.Loop() {
		buf, _ = AppendHEP(buf[:0], &p, 1, "")
	}
}

func TestOpenConfig(t *testing.T) {
	if c, err := Open(Config{}, nil); c != nil || err != nil {
		t.Fatalf("empty config: %v %v", c, err)
	}
	dir := t.TempDir()
	c, err := Open(Config{PcapPath: filepath.Join(dir, "a.pcap"), HEPAddr: netip.MustParseAddrPort("127.0.0.1:9"),
		SampleOneIn: 1, Trunks: []string{"t"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Capture(Out, "udp", sbcAddr, peerAddr, "x", "t", []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"), at)
	closeOK(t, c)
	names := map[string]bool{}
	for _, s := range c.Stats().Sinks {
		names[s.Name] = true
	}
	if !names["pcap"] || !names["hep"] {
		t.Fatalf("sinks %v", names)
	}
	if _, recs := readPcap(t, filepath.Join(dir, "a.pcap")); len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	if _, err := Open(Config{PcapPath: filepath.Join(dir, "missing", "dir", "a.pcap")}, nil); err == nil {
		t.Fatal("unwritable pcap path accepted")
	}
}
