package transaction

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

// discardWire counts writes and sends nothing.
type discardWire struct{ writes atomic.Int64 }

func (w *discardWire) Write(transport.Flow, []byte, transport.ErrorSink) error {
	w.writes.Add(1)
	return nil
}

func (w *discardWire) ResponseFlow(in transport.Flow, _ *sip.Message) (transport.Flow, error) {
	return in, nil
}

func (w *discardWire) RequestFlow(d transport.Dest) (transport.Flow, error) {
	return transport.PseudoFlow(d.Transport, "bench", localAddr, d.Addr), nil
}

func (w *discardWire) Resolve(context.Context, transport.Target) ([]transport.Dest, error) {
	return nil, errors.New("no resolver in benchmarks")
}

const liveN = 100_000

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func inviteBytes(i int) []byte {
	return fmt.Appendf(nil, "INVITE sip:bob@192.0.2.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK%08d;rport=5060;received=198.51.100.7\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: \"Alice\" <sip:alice@example.com>;tag=f%08d\r\n"+
		"To: <sip:bob@example.net>\r\n"+
		"Call-ID: %08d@example.com\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:alice@198.51.100.7:5060>\r\n"+
		"Content-Length: 0\r\n\r\n", i, i, i)
}

// BenchmarkLiveServerTransactions holds 100,000 INVITE server transactions
// in Proceeding (100 Trying sent, TU silent) and reports the heap bytes per
// transaction with and without its request, and the goroutines used.
// b.N is ignored: each run measures once (ns/op is meaningless here).
func BenchmarkLiveServerTransactions(b *testing.B) {
	// One measurement whatever b.N is: the figures are per transaction.
	{
		msgs := make([]*sip.Message, liveN)
		base := heapInUse()
		for i := range msgs {
			m, err := sip.Parse(inviteBytes(i))
			if err != nil {
				b.Fatal(err)
			}
			msgs[i] = m
		}
		withMsgs := heapInUse()
		g0 := runtime.NumGoroutine()
		w := &discardWire{}
		m, err := NewManager(w, Config{Handler: HandlerFunc(func(*ServerTx, *sip.Message) {})})
		if err != nil {
			b.Fatal(err)
		}
		flow := transport.PseudoFlow(transport.UDP, "bench", localAddr, peerAddr)
		for _, msg := range msgs {
			m.HandleMessage(transport.Inbound{Msg: msg, Source: peerAddr, Transport: transport.UDP, Flow: flow})
		}
		after := heapInUse()
		if got := m.Stats().LiveServer; got != liveN {
			b.Fatalf("%d live server transactions, want %d", got, liveN)
		}
		b.ReportMetric(float64(after-withMsgs)/liveN, "B/tx")
		b.ReportMetric(float64(after-base)/liveN, "B/tx+request")
		b.ReportMetric(float64(runtime.NumGoroutine()-g0), "goroutines")
		m.Close()
		runtime.KeepAlive(msgs)
	}
}

// BenchmarkLiveClientTransactions holds 100,000 INVITE client transactions
// in Calling with Timers A and B armed on the wheel.
func BenchmarkLiveClientTransactions(b *testing.B) {
	// One measurement whatever b.N is: the figures are per transaction.
	{
		reqs := make([]*sip.Message, liveN)
		base := heapInUse()
		for i := range reqs {
			r := sip.NewRequest("INVITE", "sip:bob@198.51.100.7")
			r.AddHeader("Max-Forwards", "70")
			r.AddHeader("From", fmt.Sprintf("<sip:sbc@example.com>;tag=t%08d", i))
			r.AddHeader("To", "<sip:bob@example.net>")
			r.AddHeader("Call-ID", fmt.Sprintf("%08d@sbc", i))
			r.AddHeader("CSeq", "1 INVITE")
			reqs[i] = r
		}
		withReqs := heapInUse()
		g0 := runtime.NumGoroutine()
		w := &discardWire{}
		m, err := NewManager(w, Config{Handler: HandlerFunc(func(*ServerTx, *sip.Message) {})})
		if err != nil {
			b.Fatal(err)
		}
		flow := transport.PseudoFlow(transport.UDP, "bench", localAddr, netip.MustParseAddrPort("198.51.100.7:5060"))
		for _, r := range reqs {
			if _, err := m.RequestOn(flow, r, nil); err != nil {
				b.Fatal(err)
			}
		}
		after := heapInUse()
		if got := m.Stats().LiveClient; got != liveN {
			b.Fatalf("%d live client transactions", got)
		}
		b.ReportMetric(float64(after-withReqs)/liveN, "B/tx")
		b.ReportMetric(float64(after-base)/liveN, "B/tx+request")
		b.ReportMetric(float64(runtime.NumGoroutine()-g0), "goroutines")
		b.ReportMetric(float64(m.Timers()), "timers")
		m.Close()
		runtime.KeepAlive(reqs)
	}
}

func messageBytes(i int) []byte {
	return fmt.Appendf(nil, "MESSAGE sip:bob@192.0.2.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK%08d;rport=5060;received=198.51.100.7\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:alice@example.com>;tag=f%08d\r\n"+
		"To: <sip:bob@example.net>\r\n"+
		"Call-ID: %08d@example.com\r\n"+
		"CSeq: 1 MESSAGE\r\n"+
		"Content-Length: 0\r\n\r\n", i, i, i)
}

// BenchmarkServerTransaction measures the transaction layer's own cost per
// non-INVITE server transaction (match, create, answer 200, arm Timer J)
// without sockets, against a baseline in the same run: the stateless work
// any answer needs (parse, build the response, serialise it).
func BenchmarkServerTransaction(b *testing.B) {
	const pool = 1 << 14
	raw := make([][]byte, pool)
	for i := range raw {
		raw[i] = messageBytes(i)
	}
	b.Run("baseline-stateless", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for i := 0; b.Loop(); i++ {
			req, err := sip.Parse(raw[i%pool])
			if err != nil {
				b.Fatal(err)
			}
			resp := sip.NewResponse(req, 200, "")
			transport.AddToTag(resp, "abcdef")
			buf = resp.AppendTo(buf[:0])
		}
	})
	b.Run("stateful", func(b *testing.B) {
		w := &discardWire{}
		m, err := NewManager(w, Config{Handler: HandlerFunc(func(tx *ServerTx, _ *sip.Message) {
			tx.Respond(tx.NewResponse(200, ""))
		})})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		flow := transport.PseudoFlow(transport.UDP, "bench", localAddr, peerAddr)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if i%pool == 0 && i > 0 {
				// The same branches come back: start from a fresh Manager
				// so they are new transactions, not retransmissions.
				b.StopTimer()
				m.Close()
				m, _ = NewManager(w, m.cfg)
				b.StartTimer()
			}
			req, err := sip.Parse(raw[i%pool])
			if err != nil {
				b.Fatal(err)
			}
			m.HandleMessage(transport.Inbound{Msg: req, Source: peerAddr, Transport: transport.UDP, Flow: flow})
		}
		if w.writes.Load() == 0 {
			b.Fatal("nothing answered")
		}
	})
}
