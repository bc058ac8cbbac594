package transaction

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

// ResponseFunc receives what a client transaction passes to the TU: each
// response (err nil), or once an error (ErrTimeout or a transport error)
// when the transaction ends without a final response. Calls for one
// transaction never overlap and arrive in the order the state machine saw
// them. It runs on a transport or timer goroutine and must not block.
type ResponseFunc func(tx *ClientTx, resp *sip.Message, err error)

// ClientTx is a client transaction (RFC 3261 §17.1): INVITE (Figure 5 with
// the Accepted state of RFC 6026 §7.2) or non-INVITE (Figure 6). Timers A,
// B, D, E, F, K and M run on the Manager's wheel; requests are
// retransmitted only on unreliable transports.
//
// A transaction keeps only what its state needs (see Request): the bytes
// of the request while it may retransmit them (Calling, Trying,
// Proceeding of non-INVITE), the request while the TU may still use it,
// the ACK bytes in INVITE Completed.
type ClientTx struct {
	m      *Manager
	key    string // ends with "|" and the method (appendClientKey)
	flow   transport.Flow
	invite bool
	state  State // guarded by mu

	cb       sync.Mutex   // serialises TU callbacks, taken before mu
	onResp   ResponseFunc // written under cb and mu; nil once no response can reach the TU
	mu       sync.Mutex
	req      *sip.Message // nil once released
	wire     []byte       // the request's bytes while Timer A or E may resend them
	ack      []byte       // ACK for a non-2xx final response (§17.1.1.3)
	retr     timer        // A or E
	tmo      timer        // B, C, D, F, K, M
	interval time.Duration
	cancelCB ResponseFunc // CANCEL waiting for a provisional (§9.1)

	// Value is free for the TU.
	Value any
}

// RequestOn starts a client transaction sending req on flow f (a resolved
// destination, or the connection a dialog lives on). See Request.
func (m *Manager) RequestOn(f transport.Flow, req *sip.Message, onResp ResponseFunc) (*ClientTx, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if req.Method == "ACK" {
		return nil, ErrACK
	}
	key, err := ensureVia(req, f)
	if err != nil {
		return nil, err
	}
	tx := &ClientTx{m: m, req: req, flow: f, invite: req.Method == "INVITE", onResp: onResp}
	if tx.invite {
		// An INVITE transaction keeps its request up to 64*T1 after a 2xx
		// (Accepted, RFC 6026 §7.2). A TU's request often views other
		// messages (a B2BUA builds one leg's INVITE from the other's
		// values); owning its bytes, it keeps only itself alive.
		req.Detach()
	}
	tx.retr.owner, tx.tmo.owner = tx, tx
	tx.key = key
	tx.wire = req.AppendTo(nil)
	tx.mu.Lock()
	defer tx.mu.Unlock()
	s := m.shardOf(tx.key)
	s.mu.Lock()
	if old := s.client[tx.key]; old != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: branch already in use (key %s)", ErrBadMessage, key)
	}
	s.client[tx.key] = tx
	s.mu.Unlock()
	m.liveClient.Add(1)
	if err := m.wire.Write(f, tx.wire, tx); err != nil {
		tx.state = Terminated
		s.mu.Lock()
		delete(s.client, tx.key)
		s.mu.Unlock()
		m.liveClient.Add(-1)
		return nil, err
	}
	unreliable := !f.Reliable()
	if tx.invite {
		// RFC 3261 §17.1.1.2: Calling; A = T1 (unreliable), B = 64*T1.
		tx.state = Calling
		if unreliable {
			tx.interval = m.t1
			tx.arm(&tx.retr, timerA, m.t1)
		}
		tx.arm(&tx.tmo, timerB, 64*m.t1)
	} else {
		// RFC 3261 §17.1.2.2: Trying; E = T1 (unreliable), F = 64*T1.
		tx.state = Trying
		if unreliable {
			tx.interval = m.t1
			tx.arm(&tx.retr, timerE, m.t1)
		}
		tx.arm(&tx.tmo, timerF, 64*m.t1)
	}
	return tx, nil
}

// Request returns the request the transaction sent, for as long as a
// response can still reach the TU with it: in Calling, Trying and
// Proceeding, and for INVITE in Accepted, where every 2xx retransmission
// goes to the TU, which needs the INVITE to build its ACK (RFC 6026 §7.2,
// RFC 3261 §13.2.2.4); also in Terminated after Accepted or after a
// timeout or transport error. From the moment a non-2xx final response
// (INVITE) or any final response (non-INVITE) moves the transaction to
// Completed, where it only absorbs retransmitted responses or answers them
// with the kept ACK bytes (RFC 3261 §17.1.1.2, §17.1.2.2), it has released
// the request and Request returns nil, already in the callback that
// delivers that final response: a TU that needs the request then keeps its
// own reference (it built it).
func (tx *ClientTx) Request() *sip.Message {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.req
}

// release drops what Completed does not need: the request, its bytes and
// the TU's callback (RFC 3261 §17.1.1.2, §17.1.2.2: retransmitted
// responses are absorbed, or answered with the kept ACK bytes). Called
// with cb and mu held.
func (tx *ClientTx) release() {
	tx.req, tx.wire, tx.onResp = nil, nil, nil
}

// Flow returns the flow the request travels on.
func (tx *ClientTx) Flow() transport.Flow { return tx.flow }

// State returns the current state.
func (tx *ClientTx) State() State {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.state
}

func (tx *ClientTx) arm(t *timer, k timerKind, d time.Duration) {
	t.kind = k
	tx.m.wheel.schedule(t, tx.m.clock.Now(), d)
}

// receive runs a response through the state machine; false when the
// transaction has terminated (the response is then stray).
func (tx *ClientTx) receive(resp *sip.Message) bool {
	m := tx.m
	tx.cb.Lock()
	defer tx.cb.Unlock()
	tx.mu.Lock()
	code := resp.StatusCode
	deliver, term := false, false
	onResp, req := tx.onResp, tx.req // before a release below
	var sendCancel ResponseFunc
	var dropCancel ResponseFunc
	if tx.state == Terminated {
		tx.mu.Unlock()
		return false
	}
	if !tx.invite {
		// RFC 3261 §17.1.2.2.
		switch tx.state {
		case Trying, Proceeding:
			if code < 200 {
				tx.state = Proceeding // E continues, at T2 from its next firing
			} else {
				term = tx.completeNonInvite()
				tx.release()
			}
			deliver = true
		}
		// Completed: retransmitted responses are absorbed.
	} else {
		switch tx.state {
		case Calling, Proceeding:
			switch {
			case code < 200:
				if tx.state == Calling {
					// §17.1.1.2: no more retransmissions; Timer B no
					// longer applies. A cap on Proceeding (Timer C) is
					// armed instead so a silent peer cannot hold the
					// transaction forever.
					m.wheel.stop(&tx.retr)
					tx.wire = nil // §17.1.1.2: never resent from here on
					tx.arm(&tx.tmo, timerC, m.timerC())
					tx.state = Proceeding
					sendCancel, tx.cancelCB = tx.cancelCB, nil
				}
				deliver = true
			case code < 300:
				// RFC 6026 §7.2: Accepted, Timer M = 64*T1.
				m.wheel.stop(&tx.retr)
				tx.wire = nil // the request stays: 2xx retransmissions need it for their ACK
				tx.state = Accepted
				tx.arm(&tx.tmo, timerM, 64*m.t1)
				deliver = true
				dropCancel, tx.cancelCB = tx.cancelCB, nil
			default:
				// §17.1.1.2: Completed, ACK, Timer D (≥ 32 s unreliable,
				// 0 reliable).
				m.wheel.stop(&tx.retr)
				tx.state = Completed
				tx.ack = buildACK(tx.req, resp).AppendTo(nil)
				tx.release()
				m.wire.Write(tx.flow, tx.ack, tx)
				if tx.flow.Reliable() {
					term = true
				} else {
					tx.arm(&tx.tmo, timerD, orDefault(m.cfg.TimerD, 32*time.Second))
				}
				deliver = true
				dropCancel, tx.cancelCB = tx.cancelCB, nil
			}
		case Accepted:
			// RFC 6026 §7.2: every 2xx goes to the TU, which ACKs it.
			deliver = code >= 200 && code < 300
		case Completed:
			if code >= 300 {
				m.wire.Write(tx.flow, tx.ack, tx) // §17.1.1.2: ACK again, absorb
			}
		}
	}
	if term {
		tx.terminateLocked()
	}
	tx.mu.Unlock()
	if term {
		tx.cleanup()
	}
	if deliver && onResp != nil {
		onResp(tx, resp, nil)
	}
	if dropCancel != nil {
		dropCancel(nil, nil, ErrNotCanceled)
	}
	if sendCancel != nil {
		tx.sendCancel(req, sendCancel)
	}
	return true
}

// completeNonInvite enters Completed (§17.1.2.2): Timer K = T4 unreliable,
// 0 reliable; it reports whether the transaction terminates now.
func (tx *ClientTx) completeNonInvite() bool {
	tx.m.wheel.stop(&tx.retr)
	tx.m.wheel.stop(&tx.tmo)
	tx.state = Completed
	if tx.flow.Reliable() {
		return true
	}
	tx.arm(&tx.tmo, timerK, tx.m.t4)
	return false
}

func (tx *ClientTx) onTimer(t *timer, gen uint32) {
	m := tx.m
	tx.cb.Lock()
	defer tx.cb.Unlock()
	tx.mu.Lock()
	if t.stale(gen) || tx.state == Terminated {
		tx.mu.Unlock()
		return
	}
	var fail error
	term := false
	var dropCancel ResponseFunc
	switch t.kind {
	case timerA: // §17.1.1.2: retransmit, double
		if tx.state == Calling {
			m.wire.Write(tx.flow, tx.wire, tx)
			m.stats.retransmits.Add(1)
			tx.interval *= 2
			tx.arm(&tx.retr, timerA, tx.interval)
		}
	case timerE: // §17.1.2.2: retransmit; double to T2 in Trying, T2 in Proceeding
		if tx.state == Trying || tx.state == Proceeding {
			m.wire.Write(tx.flow, tx.wire, tx)
			m.stats.retransmits.Add(1)
			if tx.state == Trying {
				tx.interval = min(2*tx.interval, m.t2)
			} else {
				tx.interval = m.t2
			}
			tx.arm(&tx.retr, timerE, tx.interval)
		}
	case timerB, timerF, timerC:
		term, fail = true, ErrTimeout
		m.stats.timeouts.Add(1)
		dropCancel, tx.cancelCB = tx.cancelCB, nil
	case timerD, timerK, timerM:
		term = true
	}
	if term {
		tx.terminateLocked()
	}
	tx.mu.Unlock()
	if term {
		tx.cleanup()
	}
	if fail != nil && tx.onResp != nil {
		tx.onResp(tx, nil, fail)
	}
	if dropCancel != nil {
		dropCancel(nil, nil, ErrNotCanceled)
	}
}

// TransportError implements transport.ErrorSink (§17.1.1.2, §17.1.2.2: a
// transport error terminates the transaction and informs the TU).
func (tx *ClientTx) TransportError(_ transport.Flow, err error) {
	tx.cb.Lock()
	defer tx.cb.Unlock()
	tx.mu.Lock()
	if tx.state == Terminated {
		tx.mu.Unlock()
		return
	}
	inform := tx.state != Completed && tx.state != Accepted
	tx.terminateLocked()
	tx.mu.Unlock()
	tx.cleanup()
	if inform && tx.onResp != nil {
		tx.onResp(tx, nil, fmt.Errorf("transaction: transport: %w", err))
	}
}

func (tx *ClientTx) terminateLocked() {
	tx.state = Terminated
	tx.m.wheel.stop(&tx.retr)
	tx.m.wheel.stop(&tx.tmo)
}

func (tx *ClientTx) cleanup() {
	s := tx.m.shardOf(tx.key)
	s.mu.Lock()
	if s.client[tx.key] == tx {
		delete(s.client, tx.key)
		tx.m.liveClient.Add(-1)
	}
	s.mu.Unlock()
}

// Cancel cancels an INVITE (RFC 3261 §9.1): the CANCEL is built from the
// request and sent on the same flow as its own client transaction, whose
// responses go to onResp. Before any provisional response the CANCEL waits
// for one; if a final response comes first, onResp gets ErrNotCanceled.
func (tx *ClientTx) Cancel(onResp ResponseFunc) error {
	if !tx.invite {
		return fmt.Errorf("%w: CANCEL of %s", ErrState, tx.key[strings.LastIndexByte(tx.key, '|')+1:])
	}
	tx.mu.Lock()
	req := tx.req
	switch tx.state {
	case Calling:
		tx.cancelCB = onResp
		if tx.cancelCB == nil {
			tx.cancelCB = func(*ClientTx, *sip.Message, error) {}
		}
		tx.mu.Unlock()
		return nil
	case Proceeding:
		tx.mu.Unlock()
		return tx.sendCancel(req, onResp)
	}
	tx.mu.Unlock()
	return ErrNotCanceled
}

// sendCancel sends the CANCEL of req, the request as read under mu in
// Calling or Proceeding (a final response may release it meanwhile).
func (tx *ClientTx) sendCancel(req *sip.Message, onResp ResponseFunc) error {
	c := buildCancel(req)
	_, err := tx.m.RequestOn(tx.flow, c, onResp)
	if err != nil && onResp != nil {
		onResp(nil, nil, err)
	}
	return err
}

// topViaValue returns the request's first via-parm as written.
func topViaValue(req *sip.Message) string {
	v, _, _, ok := transport.TopVia(req)
	if !ok {
		return ""
	}
	return v.String()
}

// buildACK builds the ACK for a non-2xx final response (RFC 3261
// §17.1.1.3): Request-URI, Call-ID, From, CSeq number and the top Via of
// the request, To of the response, the request's Route headers.
func buildACK(req, resp *sip.Message) *sip.Message {
	a := sip.NewRequest("ACK", req.RequestURI)
	a.AddHeader("Via", topViaValue(req))
	for r := range req.HeaderLines("Route") {
		a.AddHeader("Route", r)
	}
	a.AddHeader("Max-Forwards", "70")
	if v, ok := req.GetHeader("From"); ok {
		a.AddHeader("From", v)
	}
	if v, ok := resp.GetHeader("To"); ok {
		a.AddHeader("To", v)
	}
	if v, ok := req.GetHeader("Call-ID"); ok {
		a.AddHeader("Call-ID", v)
	}
	a.AddHeader("CSeq", cseqFor(req, "ACK"))
	return a
}

// buildCancel builds a CANCEL per RFC 3261 §9.1: Request-URI, Call-ID, To,
// From, CSeq number and the single top Via of the request, its Route headers.
func buildCancel(req *sip.Message) *sip.Message {
	c := sip.NewRequest("CANCEL", req.RequestURI)
	c.AddHeader("Via", topViaValue(req))
	for r := range req.HeaderLines("Route") {
		c.AddHeader("Route", r)
	}
	c.AddHeader("Max-Forwards", "70")
	for _, h := range []string{"From", "To", "Call-ID"} {
		if v, ok := req.GetHeader(h); ok {
			c.AddHeader(h, v)
		}
	}
	c.AddHeader("CSeq", cseqFor(req, "CANCEL"))
	return c
}

func cseqFor(req *sip.Message, method string) string {
	v, _ := req.GetHeader("CSeq")
	cs, err := sip.ParseCSeq(v)
	if err != nil {
		return "1 " + method
	}
	return strconv.FormatUint(uint64(cs.Seq), 10) + " " + method
}
