package transaction_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
	"github.com/sbc-project/sbc/sip/transport/transporttest"
)

// dropFirst drops the first datagram that contains each marker, once.
type dropFirst struct {
	mu      sync.Mutex
	markers map[string]bool // marker → already dropped
	dropped int
}

func newDropFirst(markers ...string) *dropFirst {
	d := &dropFirst{markers: map[string]bool{}}
	for _, m := range markers {
		d.markers[m] = false
	}
	return d
}

func (d *dropFirst) drop(b []byte, out bool) bool {
	if !out {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for m, done := range d.markers {
		if !done && bytes.HasPrefix(b, []byte(m)) {
			d.markers[m] = true
			d.dropped++
			return true
		}
	}
	return false
}

func (d *dropFirst) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

type peer struct {
	m   *transaction.Manager
	l   *transport.Layer
	tr  transport.Transport
	mu  sync.Mutex
	err []error
	ack chan *sip.Message
}

func (p *peer) addr() netip.AddrPort { return p.l.Listeners()[0].Addr }

func newPeer(t testing.TB, tr transport.Transport, h transaction.HandlerFunc, drop func([]byte, bool) bool, cert [2]string, pool *tls.Config) *peer {
	t.Helper()
	return newPeerT1(t, tr, h, drop, cert, pool, 20*time.Millisecond)
}

func newPeerT1(t testing.TB, tr transport.Transport, h transaction.HandlerFunc, drop func([]byte, bool) bool, cert [2]string, pool *tls.Config, t1 time.Duration) *peer {
	t.Helper()
	p := &peer{tr: tr, ack: make(chan *sip.Message, 16)}
	tc := transport.Config{
		Listeners: []transport.ListenerConfig{{Interface: "lo", Transport: tr, Addr: netip.MustParseAddrPort("127.0.0.1:0"), CertFile: cert[0], KeyFile: cert[1]}},
		TLSClient: pool,
	}
	if drop != nil {
		tc.WrapUDP = transporttest.WrapUDP(drop, nil)
	}
	m, l, err := transaction.New(transaction.Config{
		T1: t1, T2: 8 * t1, T4: 10 * t1,
		Resolution: 5 * time.Millisecond, TimerD: 300 * time.Millisecond,
		Handler: h,
		Hooks: transaction.Hooks{
			ACK: func(_ *transaction.ServerTx, in transport.Inbound) { p.ack <- in.Msg },
			ServerError: func(_ *transaction.ServerTx, err error) {
				p.mu.Lock()
				p.err = append(p.err, err)
				p.mu.Unlock()
			},
		},
	}, tc)
	if err != nil {
		t.Fatal(err)
	}
	p.m, p.l = m, l
	t.Cleanup(func() { m.Close(); l.Close() })
	return p
}

func newRequest(t testing.TB, method, callID string) *sip.Message {
	t.Helper()
	m, err := sip.Parse([]byte(method + " sip:uas@127.0.0.1 SIP/2.0\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:uac@127.0.0.1>;tag=uac\r\n" +
		"To: <sip:uas@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Content-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type result struct {
	codes []int
	err   error
	done  chan struct{}
	once  sync.Once
}

func collect() (*result, transaction.ResponseFunc) {
	r := &result{done: make(chan struct{})}
	return r, func(_ *transaction.ClientTx, resp *sip.Message, err error) {
		if err != nil {
			r.err = err
			r.once.Do(func() { close(r.done) })
			return
		}
		r.codes = append(r.codes, resp.StatusCode)
		if resp.StatusCode >= 200 {
			r.once.Do(func() { close(r.done) })
		}
	}
}

func (r *result) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("transaction did not complete")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Over lossy UDP every transaction still completes: the first request, the
// first final response and the first ACK are dropped, and retransmission
// (Timers A, E, G, 2xx) recovers each.
func TestLoopbackUDPWithLoss(t *testing.T) {
	uasDrop := newDropFirst("SIP/2.0 200", "SIP/2.0 486")
	uas := newPeer(t, transport.UDP, func(tx *transaction.ServerTx, req *sip.Message) {
		switch req.Method {
		case "INVITE":
			if id, _ := req.GetHeader("Call-ID"); id == "reject" {
				tx.Respond(tx.NewResponse(486, ""))
				return
			}
			tx.Respond(tx.NewResponse(200, ""))
		default:
			tx.Respond(tx.NewResponse(200, ""))
		}
	}, uasDrop.drop, [2]string{}, nil)
	uacDrop := newDropFirst("MESSAGE", "INVITE", "ACK")
	uac := newPeer(t, transport.UDP, func(tx *transaction.ServerTx, _ *sip.Message) {
		tx.Respond(tx.NewResponse(501, ""))
	}, uacDrop.drop, [2]string{}, nil)
	target := transport.Target{Host: "127.0.0.1", Port: uas.addr().Port(), Transport: transport.UDP}
	ctx := context.Background()

	// Non-INVITE: request lost once (Timer E), 200 lost once (the
	// retransmitted request is answered from Completed).
	r, cb := collect()
	if _, err := uac.m.Request(ctx, newRequest(t, "MESSAGE", "msg"), target, cb); err != nil {
		t.Fatal(err)
	}
	r.wait(t)
	if r.err != nil || len(r.codes) != 1 || r.codes[0] != 200 {
		t.Fatalf("MESSAGE: codes %v, err %v", r.codes, r.err)
	}

	// INVITE rejected: INVITE lost once (Timer A), the ACK the client
	// transaction builds is lost once (Timer G resends 486, ACKed again),
	// the 486 itself lost once.
	r, cb = collect()
	if _, err := uac.m.Request(ctx, newRequest(t, "INVITE", "reject"), target, cb); err != nil {
		t.Fatal(err)
	}
	r.wait(t)
	if r.err != nil || r.codes[len(r.codes)-1] != 486 {
		t.Fatalf("INVITE: codes %v, err %v", r.codes, r.err)
	}
	// INVITE accepted: the 200 is lost once; the server retransmits it until
	// the TU's ACK arrives.
	r, cb = collect()
	var ctx1 *transaction.ClientTx
	ctx1, err := uac.m.Request(ctx, newRequest(t, "INVITE", "accept"), target, func(tx *transaction.ClientTx, resp *sip.Message, err error) {
		if resp != nil && resp.StatusCode == 200 {
			ack := sip.NewRequest("ACK", tx.Request().RequestURI)
			ack.AddHeader("Via", fmt.Sprintf("SIP/2.0/UDP %s;branch=z9hG4bK%s;rport", tx.Flow().Local(), transport.RandomToken(12)))
			ack.AddHeader("Max-Forwards", "70")
			for _, h := range []string{"From", "Call-ID"} {
				v, _ := tx.Request().GetHeader(h)
				ack.AddHeader(h, v)
			}
			to, _ := resp.GetHeader("To")
			ack.AddHeader("To", to)
			ack.AddHeader("CSeq", "1 ACK")
			uac.m.SendOn(tx.Flow(), ack)
		}
		cb(tx, resp, err)
	})
	if err != nil {
		t.Fatal(err)
	}
	r.wait(t)
	if r.err != nil || r.codes[len(r.codes)-1] != 200 {
		t.Fatalf("INVITE 200: codes %v, err %v", r.codes, r.err)
	}
	select {
	case <-uas.ack:
	case <-time.After(5 * time.Second):
		t.Fatal("ACK for 2xx not delivered to the UAS")
	}
	if ctx1.State() != transaction.Accepted && ctx1.State() != transaction.Terminated {
		t.Fatalf("client INVITE state %v", ctx1.State())
	}
	if uacDrop.count() != 3 || uasDrop.count() != 2 {
		t.Fatalf("dropped %d and %d datagrams, want 3 and 2", uacDrop.count(), uasDrop.count())
	}
	// Everything winds down: Timers K, J, D, I, L, M end every transaction.
	waitFor(t, "all transactions to terminate", func() bool {
		a, b := uac.m.Stats(), uas.m.Stats()
		return a.LiveClient+a.LiveServer+b.LiveClient+b.LiveServer == 0 && uac.m.Timers()+uas.m.Timers() == 0
	})
	if st := uac.m.Stats(); st.Retransmits < 3 || st.Timeouts != 0 {
		t.Fatalf("UAC stats %+v", st)
	}
	if st := uas.m.Stats(); st.Retransmits == 0 || st.Absorbed == 0 || st.NoACK != 0 {
		t.Fatalf("UAS stats %+v", st)
	}
	uas.mu.Lock()
	defer uas.mu.Unlock()
	if len(uas.err) != 0 {
		t.Fatalf("UAS server errors %v", uas.err)
	}
}

// Over TCP and TLS: the same flows with no retransmission at all.
func TestLoopbackStreams(t *testing.T) {
	certFile, keyFile, pool := transporttest.SelfSigned(t)
	for _, tr := range []transport.Transport{transport.TCP, transport.TLS} {
		t.Run(tr.String(), func(t *testing.T) {
			cert := [2]string{certFile, keyFile}
			tlsc := &tls.Config{RootCAs: pool}
			uas := newPeer(t, tr, func(tx *transaction.ServerTx, req *sip.Message) {
				if req.Method == "INVITE" {
					tx.Respond(tx.NewResponse(180, ""))
					tx.Respond(tx.NewResponse(603, ""))
					return
				}
				tx.Respond(tx.NewResponse(200, ""))
			}, nil, cert, tlsc)
			uac := newPeer(t, tr, func(tx *transaction.ServerTx, _ *sip.Message) {}, nil, cert, tlsc)
			target := transport.Target{Host: "127.0.0.1", Port: uas.addr().Port(), Transport: tr}
			for i := range 3 {
				r, cb := collect()
				if _, err := uac.m.Request(context.Background(), newRequest(t, "OPTIONS", fmt.Sprint("o", i)), target, cb); err != nil {
					t.Fatal(err)
				}
				r.wait(t)
				if r.err != nil || len(r.codes) != 1 || r.codes[0] != 200 {
					t.Fatalf("OPTIONS: %v %v", r.codes, r.err)
				}
			}
			r, cb := collect()
			if _, err := uac.m.Request(context.Background(), newRequest(t, "INVITE", "inv"), target, cb); err != nil {
				t.Fatal(err)
			}
			r.wait(t)
			if fmt.Sprint(r.codes) != "[100 180 603]" || r.err != nil {
				t.Fatalf("INVITE: %v %v", r.codes, r.err)
			}
			waitFor(t, "all transactions to terminate", func() bool {
				a, b := uac.m.Stats(), uas.m.Stats()
				return a.LiveClient+b.LiveServer == 0
			})
			if a, b := uac.m.Stats(), uas.m.Stats(); a.Retransmits+b.Retransmits != 0 {
				t.Fatalf("retransmissions over %s: %+v %+v", tr, a, b)
			}
			if n := uac.l.Stats().ConnsOpened; n != 1 {
				t.Fatalf("%d connections opened, want 1 (reuse)", n)
			}
		})
	}
}

// Many transactions at once from several goroutines (run under -race):
// every one completes, and everything winds down.
func TestLoopbackConcurrent(t *testing.T) {
	uas := newPeer(t, transport.UDP, func(tx *transaction.ServerTx, req *sip.Message) {
		if req.Method == "INVITE" {
			tx.Respond(tx.NewResponse(486, ""))
			return
		}
		tx.Respond(tx.NewResponse(200, ""))
	}, nil, [2]string{}, nil)
	uac := newPeer(t, transport.UDP, func(*transaction.ServerTx, *sip.Message) {}, nil, [2]string{}, nil)
	dest := transport.Dest{Transport: transport.UDP, Addr: uas.addr()}
	const workers, each = 4, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				method := "OPTIONS"
				if i%3 == 0 {
					method = "INVITE"
				}
				r, cb := collect()
				if _, err := uac.m.RequestTo(newRequest(t, method, fmt.Sprintf("w%d-%d", w, i)), dest, cb); err != nil {
					errs <- err
					return
				}
				select {
				case <-r.done:
					if r.err != nil {
						errs <- r.err
					}
				case <-time.After(10 * time.Second):
					errs <- fmt.Errorf("%s w%d-%d did not complete", method, w, i)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitFor(t, "all transactions to terminate", func() bool {
		a, b := uac.m.Stats(), uas.m.Stats()
		return a.LiveClient+b.LiveServer == 0 && uac.m.Timers()+uas.m.Timers() == 0
	})
}
