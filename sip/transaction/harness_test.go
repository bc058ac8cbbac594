package transaction

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction/transactiontest"
	"github.com/sbc-project/sbc/sip/transport"
)

var (
	localAddr = netip.MustParseAddrPort("192.0.2.1:5060")
	peerAddr  = netip.MustParseAddrPort("198.51.100.7:5060")
)

// wrote is one message the fake wire was asked to send.
type wrote struct {
	at   time.Duration // since the harness started
	flow transport.Flow
	msg  *sip.Message
	sink transport.ErrorSink
}

// fakeWire records writes instead of sending; err, when set, fails them.
type fakeWire struct {
	mu    sync.Mutex
	t     *testing.T
	start time.Time
	clock Clock
	out   []wrote
	err   error
}

func (w *fakeWire) Write(f transport.Flow, b []byte, sink transport.ErrorSink) error {
	msg, err := sip.Parse(b)
	if err != nil {
		w.t.Errorf("wire: unparseable output %v:\n%s", err, b)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.out = append(w.out, wrote{at: w.clock.Now().Sub(w.start), flow: f, msg: msg, sink: sink})
	return nil
}

func (w *fakeWire) ResponseFlow(in transport.Flow, _ *sip.Message) (transport.Flow, error) {
	return in, nil
}

func (w *fakeWire) RequestFlow(d transport.Dest) (transport.Flow, error) {
	return transport.PseudoFlow(d.Transport, "test", localAddr, d.Addr), nil
}

func (w *fakeWire) Resolve(_ context.Context, t transport.Target) ([]transport.Dest, error) {
	a, err := netip.ParseAddr(t.Host)
	if err != nil {
		return nil, err
	}
	tr := t.Transport
	if tr == 0 {
		tr = transport.UDP
	}
	return []transport.Dest{{Transport: tr, Addr: netip.AddrPortFrom(a, t.Port)}}, nil
}

// take returns and forgets what was written.
func (w *fakeWire) take() []wrote {
	w.mu.Lock()
	defer w.mu.Unlock()
	o := w.out
	w.out = nil
	return o
}

type event struct {
	kind string // "request", "ack", "stray", "cancel", "server-error", "response", "client-error"
	tx   *ServerTx
	ctx  *ClientTx
	msg  *sip.Message
	err  error
}

type harness struct {
	t     *testing.T
	clock *transactiontest.FakeClock
	wire  *fakeWire
	m     *Manager
	tr    transport.Transport
	mu    sync.Mutex
	ev    []event
	// respond, when set, answers each new server transaction at once.
	respond func(tx *ServerTx, req *sip.Message)
}

func newHarness(t *testing.T, tr transport.Transport, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, clock: transactiontest.NewFakeClock(), tr: tr}
	h.wire = &fakeWire{t: t, clock: h.clock, start: h.clock.Now()}
	cfg := Config{
		Clock: h.clock,
		Handler: HandlerFunc(func(tx *ServerTx, req *sip.Message) {
			h.record(event{kind: "request", tx: tx, msg: req})
			if h.respond != nil {
				h.respond(tx, req)
			}
		}),
		Hooks: Hooks{
			ACK:           func(tx *ServerTx, in transport.Inbound) { h.record(event{kind: "ack", tx: tx, msg: in.Msg}) },
			StrayResponse: func(in transport.Inbound) { h.record(event{kind: "stray", msg: in.Msg}) },
			ServerError:   func(tx *ServerTx, err error) { h.record(event{kind: "server-error", tx: tx, err: err}) },
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := NewManager(h.wire, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	t.Cleanup(func() { m.Close() })
	return h
}

func (h *harness) record(e event) {
	h.mu.Lock()
	h.ev = append(h.ev, e)
	h.mu.Unlock()
}

func (h *harness) events() []event {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.ev
	h.ev = nil
	return e
}

func (h *harness) flow() transport.Flow {
	return transport.PseudoFlow(h.tr, "test", localAddr, peerAddr)
}

// inject delivers a message as if the transport had read it from the peer.
func (h *harness) inject(msg *sip.Message) {
	h.t.Helper()
	h.m.HandleMessage(transport.Inbound{Msg: msg, Source: peerAddr, Interface: "test", Transport: h.tr, Flow: h.flow()})
}

func (h *harness) advance(d time.Duration) { h.clock.Advance(d) }

func mustParse(t *testing.T, s string) *sip.Message {
	t.Helper()
	m, err := sip.Parse([]byte(s))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, s)
	}
	return m
}

// peerRequest is a request as a peer sends it to us.
func peerRequest(t *testing.T, tr transport.Transport, method, branch, callID string, seq int, toTag string) *sip.Message {
	t.Helper()
	to := "<sip:bob@example.net>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	cseqMethod := method
	return mustParse(t, fmt.Sprintf("%s sip:bob@192.0.2.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/%s 198.51.100.7:5060;branch=%s\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:alice@example.com>;tag=from1\r\n"+
		"To: %s\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: %d %s\r\n"+
		"Content-Length: 0\r\n\r\n", method, tr, branch, to, callID, seq, cseqMethod))
}

// ourRequest is a request the TU hands to a client transaction (no Via).
func ourRequest(t *testing.T, method string) *sip.Message {
	t.Helper()
	return mustParse(t, fmt.Sprintf("%s sip:bob@198.51.100.7 SIP/2.0\r\n"+
		"Max-Forwards: 70\r\n"+
		"Route: <sip:proxy.example.net;lr>\r\n"+
		"From: <sip:sbc@example.com>;tag=ours\r\n"+
		"To: <sip:bob@example.net>\r\n"+
		"Call-ID: call-%s@sbc\r\n"+
		"CSeq: 7 %s\r\n"+
		"Content-Length: 0\r\n\r\n", method, method, method))
}

// reply builds the peer's response to a request we sent.
func reply(t *testing.T, req *sip.Message, code int, toTag string) *sip.Message {
	t.Helper()
	r := sip.NewResponse(req, code, "")
	if toTag != "" {
		transport.AddToTag(r, toTag)
	}
	// Round-trip through the parser, as the transport would deliver it.
	return mustParse(t, r.String())
}

func times(ws []wrote) []time.Duration {
	out := make([]time.Duration, len(ws))
	for i, w := range ws {
		out[i] = w.at
	}
	return out
}

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, v := range ms {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func codes(ws []wrote) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		if w.msg.IsRequest() {
			out[i] = w.msg.Method
		} else {
			out[i] = fmt.Sprint(w.msg.StatusCode)
		}
	}
	return out
}

func kinds(ev []event) []string {
	out := make([]string, len(ev))
	for i, e := range ev {
		out[i] = e.kind
		if e.msg != nil && e.msg.IsResponse() {
			out[i] += fmt.Sprint(":", e.msg.StatusCode)
		}
		if e.err != nil {
			out[i] += ":" + e.err.Error()
		}
	}
	return out
}

// clientCB records client transaction callbacks in the harness.
func (h *harness) clientCB() ResponseFunc {
	return func(tx *ClientTx, resp *sip.Message, err error) {
		h.record(event{kind: "response", ctx: tx, msg: resp, err: err})
	}
}

// assertIdle checks that nothing is live: no transactions, no timers.
func (h *harness) assertIdle() {
	h.t.Helper()
	st := h.m.Stats()
	if st.LiveClient != 0 || st.LiveServer != 0 || h.m.Timers() != 0 {
		h.t.Fatalf("not idle: %d client, %d server, %d timers", st.LiveClient, st.LiveServer, h.m.Timers())
	}
}

var errInjected = errors.New("injected transport failure")
