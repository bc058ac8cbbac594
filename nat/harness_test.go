package nat

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transaction/transactiontest"
	"github.com/sbc-project/sbc/sip/transport"
)

// Addresses of the tests: documentation ranges, never sent to (every
// message stays in memory).
var (
	sbcOutside = netip.MustParseAddrPort("203.0.113.1:5060") // toward the UAs
	sbcInside  = netip.MustParseAddrPort("192.0.2.1:5060")   // toward the registrar
	uaPublic   = netip.MustParseAddrPort("198.51.100.7:40000")
)

const testPolicy = `
trunk "ua" {
  kind      = "access"
  interface = "outside"
  match { sources = ["198.51.100.0/24"] }
  registrar {
    host              = "192.0.2.10"
    port              = 5060
    transport         = "udp"
    ua_expires        = 60
    registrar_expires = 3600
  }
  keepalive {
    method   = "options"
    interval = "20s"
  }
}
trunk "core" {
  interface = "inside"
  match { sources = ["192.0.2.10"] }
  destination { host = "192.0.2.10" }
}
`

func loadPolicy(t testing.TB, src string) *policy.Policy {
	t.Helper()
	p, err := policy.LoadSources([]policy.Source{{Name: "test.hcl", Data: []byte(src)}}, policy.LoadOptions{})
	if err != nil {
		var de *policy.DiagError
		if errors.As(err, &de) {
			t.Fatalf("policy: %s", de.Text())
		}
		t.Fatalf("policy: %v", err)
	}
	return p
}

// sent is one request the registrar gave the fake transaction layer.
type sent struct {
	req    *sip.Message
	target transport.Target
	flow   transport.Flow // for RequestOn
	onResp transaction.ResponseFunc
}

// fakeTx records requests; the test answers them through onResp.
type fakeTx struct {
	mu   sync.Mutex
	reqs []sent // Request: toward registrars
	kas  []sent // RequestOn: keepalives toward UAs
	err  error  // returned by Request/RequestOn when set
}

func (f *fakeTx) Request(_ context.Context, req *sip.Message, t transport.Target, onResp transaction.ResponseFunc) (*transaction.ClientTx, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.reqs = append(f.reqs, sent{req: reparse(req), target: t, onResp: onResp})
	return nil, nil
}

func (f *fakeTx) RequestOn(fl transport.Flow, req *sip.Message, onResp transaction.ResponseFunc) (*transaction.ClientTx, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.kas = append(f.kas, sent{req: reparse(req), flow: fl, onResp: onResp})
	return nil, nil
}

// takeKA returns and forgets the recorded keepalives.
func (f *fakeTx) takeKA() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.kas
	f.kas = nil
	return r
}

// take returns and forgets the recorded requests toward registrars.
func (f *fakeTx) take() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

// reparse round-trips a message through the wire format, as the real
// transaction layer would send it.
func reparse(m *sip.Message) *sip.Message {
	b := m.AppendTo(nil)
	p, err := sip.Parse(b)
	if err != nil {
		panic("unparseable output: " + err.Error() + "\n" + string(b))
	}
	return p
}

// uaWire is the Manager's wire toward the UA: it records responses.
type uaWire struct {
	mu  sync.Mutex
	out []*sip.Message
	raw [][]byte
	err error
}

func (w *uaWire) Write(_ transport.Flow, b []byte, _ transport.ErrorSink) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.raw = append(w.raw, append([]byte(nil), b...))
	if m, err := sip.Parse(b); err == nil {
		w.out = append(w.out, m)
	}
	return nil
}
func (w *uaWire) ResponseFlow(in transport.Flow, _ *sip.Message) (transport.Flow, error) {
	return in, nil
}
func (w *uaWire) RequestFlow(d transport.Dest) (transport.Flow, error) {
	return transport.PseudoFlow(d.Transport, "outside", sbcOutside, d.Addr), nil
}
func (w *uaWire) Resolve(context.Context, transport.Target) ([]transport.Dest, error) {
	return nil, errors.New("not used")
}

func (w *uaWire) take() []*sip.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.out
	w.out = nil
	return r
}

type harness struct {
	t      *testing.T
	clock  *transactiontest.FakeClock
	pol    atomic.Pointer[policy.Policy]
	tx     *fakeTx
	wire   *uaWire
	mgr    *transaction.Manager
	reg    *Registrar
	branch int
	via    string // the UA's Via sent-by (default its private address)
}

func newHarness(t *testing.T, pol string) *harness {
	h := &harness{t: t, clock: transactiontest.NewFakeClock(), tx: &fakeTx{}, wire: &uaWire{}, via: "10.0.0.5:5060"}
	h.pol.Store(loadPolicy(t, pol))
	reg, err := New(Config{
		Tx:     h.tx,
		Wire:   h.wire,
		Policy: h.pol.Load,
		SentBy: func(iface string, tr transport.Transport) (string, error) {
			switch iface {
			case "outside":
				return sbcOutside.String(), nil
			case "inside":
				return sbcInside.String(), nil
			}
			return "", errors.New("no such interface")
		},
		RegistrarInterface: "inside",
		Clock:              h.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.reg = reg
	// The Manager runs on a clock of its own that never moves: its
	// retransmission timers are not under test here.
	mgr, err := transaction.NewManager(h.wire, transaction.Config{
		Handler: transaction.HandlerFunc(func(tx *transaction.ServerTx, req *sip.Message) {
			reg.HandleRegister(tx, req)
		}),
		Clock: transactiontest.NewFakeClock(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.mgr = mgr
	t.Cleanup(func() { mgr.Close(); reg.Close() })
	return h
}

// register delivers a REGISTER from the UA; extra holds more header lines.
func (h *harness) register(src netip.AddrPort, tr transport.Transport, callID string, cseq int, contacts []string, extra ...string) {
	h.t.Helper()
	h.branch++
	var b strings.Builder
	b.WriteString("REGISTER sip:example.com SIP/2.0\r\n")
	b.WriteString("Via: SIP/2.0/" + tr.String() + " " + h.via + ";branch=z9hG4bKua" + itoa(h.branch) + ";rport\r\n")
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("From: \"Alice\" <sip:alice@example.com>;tag=ua1\r\n")
	b.WriteString("To: <sip:alice@example.com>\r\n")
	b.WriteString("Call-ID: " + callID + "\r\n")
	b.WriteString("CSeq: " + itoa(cseq) + " REGISTER\r\n")
	for _, c := range contacts {
		b.WriteString("Contact: " + c + "\r\n")
	}
	b.WriteString("User-Agent: TestPhone/1.0\r\n")
	for _, x := range extra {
		b.WriteString(x + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	msg, err := sip.Parse([]byte(b.String()))
	if err != nil {
		h.t.Fatalf("parse REGISTER: %v", err)
	}
	h.mgr.HandleMessage(transport.Inbound{Msg: msg, Source: src, Interface: "outside", Transport: tr,
		Flow: transport.PseudoFlow(tr, "outside", sbcOutside, src)})
}

func itoa(n int) string { return strconv.Itoa(n) }

// upstream returns the one request sent to the registrar.
func (h *harness) upstream() sent {
	h.t.Helper()
	rs := h.tx.take()
	if len(rs) != 1 {
		h.t.Fatalf("want 1 request toward the registrar, got %d", len(rs))
	}
	return rs[0]
}

// answer gives the registrar's response to s.
func (h *harness) answer(s sent, code int, headers ...string) {
	h.t.Helper()
	r := sip.NewResponse(s.req, code, "")
	for _, x := range headers {
		name, val, _ := strings.Cut(x, ":")
		r.AddHeader(name, strings.TrimSpace(val))
	}
	s.onResp(nil, reparse(r), nil)
}

// echoOK answers a REGISTER with 200 echoing its Contacts with expires.
func (h *harness) echoOK(s sent, expires int) {
	h.t.Helper()
	r := sip.NewResponse(s.req, 200, "")
	cts, err := s.req.Contacts()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, c := range cts {
		r.AddHeader("Contact", "<"+c.URI.String()+">;expires="+itoa(expires))
	}
	s.onResp(nil, reparse(r), nil)
}

// response returns the one response sent to the UA.
func (h *harness) response() *sip.Message {
	h.t.Helper()
	rs := h.wire.take()
	if len(rs) != 1 {
		h.t.Fatalf("want 1 response to the UA, got %d", len(rs))
	}
	return rs[0]
}

func mustParse(t testing.TB, s string) *sip.Message {
	t.Helper()
	m, err := sip.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
