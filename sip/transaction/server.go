package transaction

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

// ServerTx is a server transaction (RFC 3261 §17.2): INVITE (Figure 7 with
// the Accepted state of RFC 6026 §7.1) or non-INVITE (Figure 8). The TU
// answers through Respond; retransmitted requests are absorbed and answered
// with the last response; timers G, H, I, J and L run on the Manager's
// wheel. On unreliable transports the transaction also retransmits a 2xx to
// INVITE until its ACK arrives (the UAS core duty of RFC 3261 §13.3.1.4,
// taken on here so the TU needs no timers).
//
// Once its final response is sent the transaction releases the request:
// while it only absorbs retransmissions (non-INVITE Completed, INVITE
// Completed, Confirmed and Accepted, up to 64*T1) it keeps only its match
// keys, its flows, the bytes of the last response and a few scalars (see
// Request).
type ServerTx struct {
	m      *Manager
	key    string
	method string // interned, or a copy: never a view of the request
	callID string // a copy, never a view of the request
	flow   transport.Flow
	recv   time.Time   // when the request arrived (transport.Inbound.Received)
	dead   atomic.Bool // set on entering Terminated
	invite bool

	// Guarded by mu (small fields first, packed with dead and invite).
	state    State
	acked    bool
	canceled bool
	mu       sync.Mutex
	req      *sip.Message // nil once released
	mergeKey string
	ackKey   string
	respFlow transport.Flow
	last     []byte // last response sent, for retransmission
	toTag    string // never a view of the request or of a TU message
	retr     timer  // G, or 2xx retransmission
	tmo      timer  // H, I, J, L
	interval time.Duration

	// Value is free for the TU (for example its call or dialog).
	Value any
}

// newServerTx creates and registers the server transaction of the request
// in in, whose key was built into key; nil when a live one with that key
// appeared meanwhile (the request is then absorbed as a retransmission).
// merge asks for the RFC 3261 §8.2.2.2 merge key of a request without To
// tag.
func (m *Manager) newServerTx(in transport.Inbound, inf *info, key []byte, merge bool) *ServerTx {
	req := in.Msg
	tx := &ServerTx{m: m, req: req, flow: in.Flow, recv: in.Received, invite: req.Method == "INVITE", method: internMethod(req.Method)}
	tx.setIdent(key, inf, merge && (!inf.hasTo || inf.toTag == ""))
	tx.retr.owner, tx.tmo.owner = tx, tx
	tx.state = Trying
	if tx.invite {
		tx.state = Proceeding // RFC 3261 §17.2.1: created in Proceeding
	}
	s := m.shardOf(tx.key)
	s.mu.Lock()
	// Lock order is tx.mu before shard.mu: under the shard lock only the
	// atomic dead flag of another transaction is read.
	if old := s.server[tx.key]; old != nil && !old.dead.Load() {
		s.mu.Unlock()
		old.retransmission(in.Msg)
		return nil
	}
	s.server[tx.key] = tx
	s.mu.Unlock()
	m.liveServer.Add(1)
	// A guard bounds a transaction whose TU never answers: after 64*T1 a
	// non-INVITE client has given up (Timer F); an INVITE gets 408 after
	// Timer C plus 64*T1 (after RFC 3261 §16.8).
	tx.mu.Lock()
	if tx.invite {
		tx.arm(&tx.tmo, timerGuard, m.timerC()+64*m.t1)
	} else {
		tx.arm(&tx.tmo, timerGuard, 64*m.t1)
	}
	tx.mu.Unlock()
	return tx
}

// setIdent stores the key, the merge key (when merge), the Call-ID and the
// To tag in one allocation that does not view the request, so that
// releasing the request releases its buffer: map keys and accessors keep
// working on the copy. A request without To tag gets the To tag of its
// responses here (RFC 3261 §8.2.6.2).
func (tx *ServerTx) setIdent(key []byte, inf *info, merge bool) {
	var buf [2 * keyBufSize]byte
	b := append(buf[:0], key...)
	nk := len(b)
	if merge {
		b = appendMergeKey(b, inf)
	}
	nm := len(b)
	b = append(b, inf.callID...)
	nc := len(b)
	if inf.toTag != "" {
		b = append(b, inf.toTag...)
	} else if tx.method != "CANCEL" { // a CANCEL's 200 carries its INVITE's tag
		b = appendToken(b, toTagLen)
	}
	id := string(b)
	tx.key, tx.mergeKey, tx.callID, tx.toTag = id[:nk], id[nk:nm], id[nm:nc], id[nc:]
}

// Request returns the request that created the transaction (the one
// Handler.HandleRequest received) while the TU may still answer it: in
// Trying and Proceeding. Once the final response is sent (Completed,
// Confirmed, Accepted, and Terminated after them) the transaction has
// released the request and Request returns nil: absorbing retransmissions
// needs only the response bytes (RFC 3261 §17.2.1, §17.2.2, RFC 6026 §7.1),
// and a lingering transaction must not hold the parsed request and its
// buffer for 64*T1. A TU that needs the request later keeps its own
// reference; Method, CallID, ToTag, Flow and NewResponse keep working in
// every state.
func (tx *ServerTx) Request() *sip.Message {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.req
}

// Method returns the method of the request that created the transaction.
func (tx *ServerTx) Method() string { return tx.method }

// CallID returns the Call-ID of the request that created the transaction.
func (tx *ServerTx) CallID() string { return tx.callID }

// release drops the request once the transaction only absorbs
// retransmissions with its last response (RFC 3261 §17.2.1 Completed and
// Confirmed, §17.2.2 Completed, RFC 6026 §7.1 Accepted); called with mu
// held, after send stored the response bytes.
func (tx *ServerTx) release() { tx.req = nil }

// Flow returns the flow the request arrived on.
func (tx *ServerTx) Flow() transport.Flow { return tx.flow }

// Received returns when the request arrived: for UDP the kernel's receive
// time, so time.Since(Received) includes the time it waited in the socket
// queue (see transport.Inbound.Received); zero when unknown.
func (tx *ServerTx) Received() time.Time { return tx.recv }

// Source returns the request's source address.
func (tx *ServerTx) Source() netip.AddrPort { return tx.flow.Remote() }

// Interface returns the name of the interface the request arrived on.
func (tx *ServerTx) Interface() string { return tx.flow.Interface() }

// State returns the current state.
func (tx *ServerTx) State() State {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.state
}

// Canceled reports whether a CANCEL matched this INVITE (RFC 3261 §9.2).
func (tx *ServerTx) Canceled() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.canceled
}

func (tx *ServerTx) markCanceled() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if !tx.invite || tx.state != Proceeding || tx.canceled {
		return false
	}
	tx.canceled = true
	return true
}

// ToTag returns the To tag of this transaction's responses: the request's,
// or the one the first tagged response carried, or a new random tag.
func (tx *ServerTx) ToTag() string {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.toTag == "" {
		tx.toTag = transport.RandomToken(toTagLen)
	}
	return tx.toTag
}

// NewResponse builds a response to the transaction's request (RFC 3261
// §8.2.6.2) with the transaction's To tag on anything but 100.
//
// After the request was released (see Request) the response is built from
// the last response sent, which carries the same Via, From, To, Call-ID and
// CSeq: a further 2xx in Accepted (RFC 6026 §7.1) is built exactly as
// before; any other code is refused by Respond in those states.
func (tx *ServerTx) NewResponse(code int, reason string) *sip.Message {
	tx.mu.Lock()
	req, last := tx.req, tx.last
	tx.mu.Unlock()
	if req == nil {
		req = &sip.Message{}
		if r, err := sip.Parse(last); err == nil {
			req = r
		}
	}
	r := sip.NewResponse(req, code, reason)
	if code > 100 {
		transport.AddToTag(r, tx.ToTag())
	}
	return r
}

// Respond sends resp through the transaction (RFC 3261 §17.2.1, §17.2.2,
// RFC 6026 §7.1): provisional responses in Trying/Proceeding, one final
// response, and for INVITE further 2xx in Accepted. A response without To
// tag (other than 100) gets the transaction's tag.
func (tx *ServerTx) Respond(resp *sip.Message) error {
	code := resp.StatusCode
	if code > 100 {
		want := tx.ToTag()
		if tag := transport.AddToTag(resp, want); tag != "" && tag != want {
			// The TU's response carried its own tag: keep a copy, not a
			// view of the TU's message.
			tx.mu.Lock()
			tx.toTag = strings.Clone(tag)
			tx.mu.Unlock()
		}
	}
	tx.mu.Lock()
	var err error
	var term bool
	switch {
	case tx.state == Terminated:
		tx.mu.Unlock()
		return ErrTerminated
	case tx.state == Trying || tx.state == Proceeding:
		if tx.invite && code >= 200 && code < 300 {
			// Register the ACK's identity before the 2xx leaves: on a fast
			// path the ACK can arrive (on another reader) before the send
			// returns, and must still match (RFC 3261 §13.3.1.4).
			tx.ackKey = tx.registerACK(resp)
		}
		if err = tx.send(resp); err != nil {
			term = true
			break
		}
		m := tx.m
		switch {
		case code < 200:
			tx.state = Proceeding
		case tx.invite && code < 300:
			// RFC 6026 §7.1: 2xx → Accepted, Timer L = 64*T1.
			tx.state = Accepted
			tx.release()
			tx.arm(&tx.tmo, timerL, 64*m.t1)
			if !tx.flow.Reliable() {
				tx.interval = m.t1
				tx.arm(&tx.retr, timer2xx, m.t1) // RFC 3261 §13.3.1.4
			}
		case tx.invite:
			// RFC 3261 §17.2.1: Completed, G = T1 (unreliable), H = 64*T1.
			tx.state = Completed
			tx.release()
			if !tx.flow.Reliable() {
				tx.interval = m.t1
				tx.arm(&tx.retr, timerG, m.t1)
			}
			tx.arm(&tx.tmo, timerH, 64*m.t1)
		default:
			// RFC 3261 §17.2.2: Completed, J = 64*T1 (unreliable) or 0.
			tx.state = Completed
			tx.release()
			if tx.flow.Reliable() {
				term = true
			} else {
				tx.arm(&tx.tmo, timerJ, 64*m.t1)
			}
		}
	case tx.state == Accepted && code >= 200 && code < 300:
		// RFC 6026 §7.1: further 2xx from the TU are sent.
		err = tx.send(resp)
	default:
		tx.mu.Unlock()
		return ErrState
	}
	if term {
		tx.terminateLocked()
	}
	tx.mu.Unlock()
	if term {
		tx.cleanup()
		if err != nil && tx.m.cfg.Hooks.ServerError != nil {
			tx.m.cfg.Hooks.ServerError(tx, err)
		}
	}
	return err
}

// send serialises and writes resp; called with mu held.
func (tx *ServerTx) send(resp *sip.Message) error {
	f, err := tx.m.wire.ResponseFlow(tx.flow, resp)
	if err != nil {
		return err
	}
	b := resp.AppendTo(nil)
	tx.respFlow = f
	tx.last = b
	return tx.m.wire.Write(f, b, tx)
}

// trying sends the 100 Trying of an INVITE server transaction whose TU
// has sent nothing yet; called with mu held. Its own timer (retr, unused
// in Proceeding) is stopped: a response from the TU supersedes it.
func (tx *ServerTx) trying() {
	tx.m.wheel.stop(&tx.retr)
	if err := tx.send(sip.NewResponse(tx.req, 100, "Trying")); err == nil {
		tx.m.stats.tryingLate.Add(1)
	}
}

// resend writes the last response again; called with mu held.
func (tx *ServerTx) resend() {
	if tx.last != nil {
		tx.m.wire.Write(tx.respFlow, tx.last, tx)
	}
}

func (tx *ServerTx) arm(t *timer, k timerKind, d time.Duration) {
	t.kind = k
	tx.m.wheel.schedule(t, tx.m.clock.Now(), d)
}

// registerACK records the identity of the ACK for a 2xx; called with mu
// held.
func (tx *ServerTx) registerACK(resp *sip.Message) string {
	inf, err := parseInfo(resp, true)
	if err != nil {
		return ""
	}
	var buf [keyBufSize]byte
	k := string(appendACKKey(buf[:0], inf.callID, inf.fromTag, inf.toTag, inf.cseq.Seq))
	s := tx.m.shardOf(k)
	s.mu.Lock()
	s.acks[k] = tx
	s.mu.Unlock()
	return k
}

// retransmission absorbs a retransmitted request, answering it with the
// last response (RFC 3261 §17.2.1, §17.2.2); false when terminated.
func (tx *ServerTx) retransmission(_ *sip.Message) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	switch tx.state {
	case Terminated:
		return false
	case Proceeding, Completed:
		if tx.last == nil && tx.invite && tx.state == Proceeding {
			// The 100 Trying was postponed (Config.TryingDelay) and the
			// UAC is already retransmitting: send it now (RFC 3261 §17.2.1).
			tx.trying()
			break
		}
		tx.resend()
	}
	// Trying, Confirmed and (RFC 6026 §7.1) Accepted absorb silently.
	tx.m.stats.absorbed.Add(1)
	return true
}

// receiveACK handles an ACK matched to this transaction (RFC 3261 §17.2.1);
// false lets the Manager pass it to the TU.
func (tx *ServerTx) receiveACK(_ transport.Inbound, _ *info) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if !tx.invite {
		return false
	}
	switch tx.state {
	case Completed:
		// Confirmed; Timer I = T4 (unreliable) or 0 (fired on the next
		// tick, so cleanup never runs under mu).
		tx.m.wheel.stop(&tx.retr)
		tx.state = Confirmed
		d := tx.m.t4
		if tx.flow.Reliable() {
			d = 0
		}
		tx.arm(&tx.tmo, timerI, d)
		return true
	case Confirmed:
		tx.m.stats.absorbed.Add(1)
		return true
	case Proceeding:
		return true // an ACK before any final response: nothing to acknowledge
	}
	// Accepted (ACK for the 2xx, RFC 2543 style with the INVITE's branch)
	// or Terminated: the TU's business.
	return false
}

// ackFor2xx stops 2xx retransmission once the ACK arrived.
func (tx *ServerTx) ackFor2xx() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.acked = true
	tx.m.wheel.stop(&tx.retr)
}

// Acked reports whether the ACK for this INVITE's final response arrived.
func (tx *ServerTx) Acked() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.acked || tx.state == Confirmed
}

func (tx *ServerTx) onTimer(t *timer, gen uint32) {
	m := tx.m
	tx.mu.Lock()
	if t.stale(gen) || tx.state == Terminated {
		tx.mu.Unlock()
		return
	}
	var fail error
	term := false
	switch t.kind {
	case timerG: // RFC 3261 §17.2.1: resend, double up to T2
		if tx.state == Completed {
			tx.resend()
			m.stats.retransmits.Add(1)
			tx.interval = min(2*tx.interval, m.t2)
			tx.arm(&tx.retr, timerG, tx.interval)
		}
	case timer2xx: // RFC 3261 §13.3.1.4: T1 doubling to T2 until ACK
		if tx.state == Accepted && !tx.acked {
			tx.resend()
			m.stats.retransmits.Add(1)
			tx.interval = min(2*tx.interval, m.t2)
			tx.arm(&tx.retr, timer2xx, tx.interval)
		}
	case timerH: // ACK never received
		term, fail = true, ErrNoACK
	case timerI, timerJ:
		term = true
	case timer100: // the postponed 100 Trying (Config.TryingDelay)
		if tx.state == Proceeding && tx.last == nil {
			tx.trying()
		}
	case timerGuard: // the TU never sent a final response
		if tx.state == Trying || tx.state == Proceeding {
			fail = ErrTimeout
			if !tx.invite {
				term = true // RFC 4320 §4.2: no late 408 to non-INVITE
			}
		}
	case timerL: // RFC 6026 §7.1: Accepted → Terminated
		term = true
		if !tx.acked {
			fail = ErrNoACK
		}
	}
	if term {
		tx.terminateLocked()
	}
	tx.mu.Unlock()
	if t.kind == timerGuard && fail != nil && tx.invite {
		tx.Respond(tx.NewResponse(408, "Request Timeout"))
		m.stats.timeouts.Add(1)
		if m.cfg.Hooks.ServerError != nil {
			m.cfg.Hooks.ServerError(tx, fail)
		}
		return
	}
	if term {
		tx.cleanup()
		if fail != nil {
			if fail == ErrNoACK {
				m.stats.noACK.Add(1)
			}
			if m.cfg.Hooks.ServerError != nil {
				m.cfg.Hooks.ServerError(tx, fail)
			}
		}
	}
}

// TransportError implements transport.ErrorSink: a response could not be
// written (RFC 3261 §17.2.1, §17.2.2: Terminated, inform the TU).
func (tx *ServerTx) TransportError(_ transport.Flow, err error) {
	tx.mu.Lock()
	if tx.state == Terminated {
		tx.mu.Unlock()
		return
	}
	tx.terminateLocked()
	tx.mu.Unlock()
	tx.cleanup()
	if tx.m.cfg.Hooks.ServerError != nil {
		tx.m.cfg.Hooks.ServerError(tx, err)
	}
}

func (tx *ServerTx) terminateLocked() {
	tx.state = Terminated
	tx.dead.Store(true)
	tx.m.wheel.stop(&tx.retr)
	tx.m.wheel.stop(&tx.tmo)
}

// cleanup removes the terminated transaction from the Manager's tables;
// called without mu.
func (tx *ServerTx) cleanup() {
	m := tx.m
	tx.mu.Lock()
	mk, ak := tx.mergeKey, tx.ackKey
	tx.mu.Unlock()
	s := m.shardOf(tx.key)
	s.mu.Lock()
	if s.server[tx.key] == tx {
		delete(s.server, tx.key)
		m.liveServer.Add(-1)
	}
	s.mu.Unlock()
	if mk != "" {
		s := m.shardOf(mk)
		s.mu.Lock()
		if s.merged[mk] == tx {
			delete(s.merged, mk)
		}
		s.mu.Unlock()
	}
	if ak != "" {
		s := m.shardOf(ak)
		s.mu.Lock()
		if s.acks[ak] == tx {
			delete(s.acks, ak)
		}
		s.mu.Unlock()
	}
}
