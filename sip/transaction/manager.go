package transaction

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

// Wire is what the Manager needs of the transport layer;
// *transport.Layer implements it, tests substitute a recorder.
type Wire interface {
	Write(f transport.Flow, b []byte, sink transport.ErrorSink) error
	ResponseFlow(in transport.Flow, resp *sip.Message) (transport.Flow, error)
	RequestFlow(d transport.Dest) (transport.Flow, error)
	Resolve(ctx context.Context, t transport.Target) ([]transport.Dest, error)
}

var _ Wire = (*transport.Layer)(nil)

// Handler receives each new server transaction (never ACK, never a
// retransmission, never a CANCEL: see Hooks.Cancel).
type Handler interface {
	HandleRequest(tx *ServerTx, req *sip.Message)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(tx *ServerTx, req *sip.Message)

// HandleRequest calls f(tx, req).
func (f HandlerFunc) HandleRequest(tx *ServerTx, req *sip.Message) { f(tx, req) }

// Hooks are optional callbacks for what is not a new server transaction.
// They run on transport or timer goroutines and must not block.
type Hooks struct {
	// ACK receives every ACK that is not absorbed by an INVITE server
	// transaction in Completed/Confirmed: ACKs for 2xx (RFC 3261 §13.3.1.4,
	// RFC 6026 §8.7). tx is the INVITE server transaction whose 2xx it
	// acknowledges (matched by Call-ID, From tag, To tag and CSeq number),
	// or nil.
	ACK func(tx *ServerTx, in transport.Inbound)
	// StrayResponse receives responses that match no client transaction
	// (RFC 3261 §17.1.3), such as 2xx retransmissions after Timer M.
	StrayResponse func(in transport.Inbound)
	// Cancel is called when a CANCEL matches an INVITE server transaction
	// still in Proceeding (RFC 3261 §9.2), after the Manager answered the
	// CANCEL with 200. The TU should answer the INVITE with 487. When nil,
	// the Manager sends the 487 itself. The TU may have answered the INVITE
	// meanwhile on another goroutine, and invite.Request() is then nil:
	// identify the call by invite.CallID() and invite.ToTag().
	Cancel func(invite *ServerTx, cancel *sip.Message)
	// ServerError reports a server transaction that ended in failure:
	// ErrNoACK (Timer H, or Timer L without ACK for a 2xx) or a transport
	// error (RFC 3261 §17.2.1, §17.2.2). tx has usually released its
	// request (ServerTx.Request): use tx.Method, CallID and ToTag.
	ServerError func(tx *ServerTx, err error)
}

// Config configures a Manager. Zero fields take RFC 3261 defaults.
type Config struct {
	// T1 is the RTT estimate (default 500 ms), T2 the maximum non-INVITE
	// retransmit interval (default 4 s), T4 the time a message may stay in
	// the network (default 5 s) (RFC 3261 §17.1.1.1, Table 4).
	T1, T2, T4 time.Duration
	// Clock drives timers (default RealClock).
	Clock Clock
	// Resolution is the timer-wheel tick (default 10 ms).
	Resolution time.Duration
	// Handler receives new server transactions; required.
	Handler Handler
	// Hooks are optional.
	Hooks Hooks
	// TimerD is how long an INVITE client transaction absorbs response
	// retransmissions on unreliable transports (RFC 3261 Table 4: at least
	// 32 s, the default).
	TimerD time.Duration
	// TimerC bounds how long an INVITE client transaction stays in
	// Proceeding without a final response (default 3 minutes, after
	// RFC 3261 §16.6 step 11); when it fires the TU gets ErrTimeout and
	// should have sent CANCEL before.
	TimerC time.Duration
	// MaxServerTransactions bounds live server transactions (default
	// 200000); beyond it new requests get a stateless 503 with Retry-After
	// (RFC 3261 §21.5.4) instead of a transaction.
	MaxServerTransactions int
	// No100 disables the automatic 100 Trying the INVITE server
	// transaction sends on creation (RFC 3261 §17.2.1); the TU must then
	// send a provisional response within 200 ms itself.
	No100 bool
	// TryingDelay postpones the automatic 100 Trying: it is sent only if
	// the TU has sent no response TryingDelay after the INVITE arrived (or
	// at once when the INVITE is retransmitted before). RFC 3261 §17.2.1
	// lets a transaction skip the 100 when the TU answers within 200 ms; a
	// B2BUA whose far side rings quickly then sends one message fewer per
	// call. 0 sends it at once; values above 200 ms are used as 200 ms.
	TryingDelay time.Duration
	// Logger receives rare events; never per message.
	Logger *slog.Logger
}

const nShards = 64

// Manager is the transaction layer: it matches every inbound message to a
// transaction (RFC 3261 §17.1.3, §17.2.3), creates server transactions,
// runs all timers on one wheel, and starts client transactions.
type Manager struct {
	cfg    Config
	wire   Wire
	clock  Clock
	wheel  *wheel
	stop   func()
	log    *slog.Logger
	seed   maphash.Seed
	shards [nShards]shard
	closed atomic.Bool

	t1, t2, t4 time.Duration
	liveClient atomic.Int64
	liveServer atomic.Int64
	stats      counters
}

type counters struct {
	retransmits, absorbed, timeouts, merged, stray, noACK, overload, tryingLate atomic.Uint64
}

// Stats are counters of a Manager.
type Stats struct {
	LiveClient, LiveServer int64
	Retransmits            uint64 // requests and responses sent again by timers A, E, G and 2xx
	Absorbed               uint64 // retransmissions absorbed by a server transaction
	Timeouts               uint64 // Timer B or F
	Merged                 uint64 // 482 answers (RFC 3261 §8.2.2.2)
	Stray                  uint64 // responses without a client transaction
	NoACK                  uint64 // Timer H, or Timer L without ACK
	Overload               uint64 // 503 answers beyond MaxServerTransactions
	TryingSent             uint64 // postponed 100 Trying sent (Config.TryingDelay elapsed or INVITE retransmitted)
}

type shard struct {
	mu     sync.Mutex
	client map[string]*ClientTx
	server map[string]*ServerTx
	merged map[string]*ServerTx // §8.2.2.2 keys of requests without To tag
	acks   map[string]*ServerTx // 2xx ACK keys (Call-ID, tags, CSeq number)
}

// NewManager builds a Manager over w and starts its timer wheel.
func NewManager(w Wire, cfg Config) (*Manager, error) {
	if cfg.Handler == nil {
		return nil, fmt.Errorf("transaction: %w", errors.New("no handler"))
	}
	m := &Manager{cfg: cfg, wire: w, clock: cfg.Clock, log: cfg.Logger, seed: maphash.MakeSeed()}
	m.t1, m.t2, m.t4 = orDefault(cfg.T1, 500*time.Millisecond), orDefault(cfg.T2, 4*time.Second), orDefault(cfg.T4, 5*time.Second)
	if m.clock == nil {
		m.clock = RealClock{}
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.log = m.log.With("component", "sip/transaction")
	res := orDefault(cfg.Resolution, 10*time.Millisecond)
	for i := range m.shards {
		s := &m.shards[i]
		s.client = map[string]*ClientTx{}
		s.server = map[string]*ServerTx{}
		s.merged = map[string]*ServerTx{}
		s.acks = map[string]*ServerTx{}
	}
	m.wheel = newWheel(m.clock.Now(), res, 12)
	m.stop = m.clock.Start(res, m.wheel.advance)
	return m, nil
}

// New builds a transport layer from tc with the Manager as its handler, and
// the Manager over it. Close the Manager, then the layer.
func New(cfg Config, tc transport.Config) (*Manager, *transport.Layer, error) {
	m, err := NewManager(nil, cfg)
	if err != nil {
		return nil, nil, err
	}
	tc.Handler = m
	l, err := transport.New(tc)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	m.wire = l
	l.Start()
	return m, l, nil
}

func (m *Manager) timerC() time.Duration { return orDefault(m.cfg.TimerC, 3*time.Minute) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Close stops the timer wheel; live transactions stop retransmitting.
func (m *Manager) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	m.stop()
	return nil
}

// Stats returns a snapshot of the counters.
func (m *Manager) Stats() Stats {
	return Stats{
		LiveClient: m.liveClient.Load(), LiveServer: m.liveServer.Load(),
		Retransmits: m.stats.retransmits.Load(), Absorbed: m.stats.absorbed.Load(), TryingSent: m.stats.tryingLate.Load(),
		Timeouts: m.stats.timeouts.Load(), Merged: m.stats.merged.Load(),
		Stray: m.stats.stray.Load(), NoACK: m.stats.noACK.Load(), Overload: m.stats.overload.Load(),
	}
}

// Timers returns the number of armed timers (for tests and metrics).
func (m *Manager) Timers() int { return m.wheel.len() }

func (m *Manager) shardOf(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)%nShards]
}

// shardOfBytes is shardOf for a key being built (maphash.Bytes and
// maphash.String agree on equal contents).
func (m *Manager) shardOfBytes(key []byte) *shard {
	return &m.shards[maphash.Bytes(m.seed, key)%nShards]
}

// keyBufSize is the stack room for building a match key; longer keys
// spill to the heap.
const keyBufSize = 256

// info is what matching needs from a message, parsed once.
type info struct {
	via     sip.Via
	branch  string
	port    int // sent-by port, default filled in (RFC 3261 §18.2.1)
	cseq    sip.CSeq
	callID  string
	fromTag string
	toTag   string
	hasTo   bool
}

// parseInfo extracts the matching fields; dialog adds Call-ID and tags.
func parseInfo(msg *sip.Message, dialog bool) (info, error) {
	var in info
	v, _, _, ok := transport.TopVia(msg)
	if !ok {
		return in, fmt.Errorf("%w: top Via", ErrBadMessage)
	}
	in.via = v
	in.branch = v.Branch()
	port := v.Port
	if port == 0 {
		port = 5060
		if tr, _ := transport.ParseTransport(v.Transport); tr == transport.TLS {
			port = 5061
		}
	}
	in.port = port
	cs, ok := msg.GetHeader("CSeq")
	if !ok {
		return in, fmt.Errorf("%w: CSeq", ErrBadMessage)
	}
	c, err := sip.ParseCSeq(cs)
	if err != nil {
		return in, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	in.cseq = c
	if !dialog {
		return in, nil
	}
	in.callID, _ = msg.GetHeader("Call-ID")
	if f, ok := msg.GetHeader("From"); ok {
		in.fromTag, _ = transport.TagOf(f)
	}
	if t, ok := msg.GetHeader("To"); ok {
		in.hasTo = true
		in.toTag, _ = transport.TagOf(t)
	}
	return in, nil
}

// rfc3261 reports whether the branch carries the magic cookie (RFC 3261
// §8.1.1.7).
func (in *info) rfc3261() bool { return strings.HasPrefix(in.branch, sip.BranchMagic) }

// appendServerKey appends the key of the matching rules of RFC 3261
// §17.2.3: branch, sent-by (host compared case-insensitively, default port
// filled in) and method (ACK matches INVITE); without the magic cookie, the
// RFC 2543 fallback on Request-URI, From tag, Call-ID, CSeq number and top
// Via. method overrides the request's method (CANCEL looks for its INVITE,
// §9.2). Keys are built into a caller's buffer so that looking a message
// up allocates nothing (map[string(b)] does not copy).
func appendServerKey(b []byte, req *sip.Message, in *info, method string) []byte {
	if method == "ACK" {
		method = "INVITE"
	}
	if in.rfc3261() {
		b = append(b, "s|"...)
		b = append(b, in.branch...)
		b = append(b, '|')
		b = appendLower(b, in.via.Host)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(in.port), 10)
		b = append(b, '|')
		return append(b, method...)
	}
	b = append(b, "o|"...)
	b = append(b, req.RequestURI...)
	b = append(b, '|')
	b = append(b, in.fromTag...)
	b = append(b, '|')
	b = append(b, in.callID...)
	b = append(b, '|')
	b = strconv.AppendUint(b, uint64(in.cseq.Seq), 10)
	b = append(b, '|')
	b = append(b, in.via.String()...)
	b = append(b, '|')
	return append(b, method...)
}

// serverKey is appendServerKey as a string.
func serverKey(req *sip.Message, in *info, method string) string {
	var buf [keyBufSize]byte
	return string(appendServerKey(buf[:0], req, in, method))
}

// appendLower appends s in ASCII lower case (RFC 3261 §19.1.4: hosts
// compare case-insensitively).
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendClientKey appends the key of RFC 3261 §17.1.3: branch and CSeq
// method.
func appendClientKey(b []byte, branch, method string) []byte {
	b = append(b, "c|"...)
	b = append(b, branch...)
	b = append(b, '|')
	return append(b, method...)
}

// clientKey is appendClientKey as a string.
func clientKey(branch, method string) string {
	var buf [keyBufSize]byte
	return string(appendClientKey(buf[:0], branch, method))
}

// appendMergeKey appends the RFC 3261 §8.2.2.2 identity of a request
// without To tag: From tag, Call-ID, CSeq number and method.
func appendMergeKey(b []byte, in *info) []byte {
	b = append(b, in.fromTag...)
	b = append(b, '|')
	b = append(b, in.callID...)
	b = append(b, '|')
	b = strconv.AppendUint(b, uint64(in.cseq.Seq), 10)
	b = append(b, '|')
	return append(b, in.cseq.Method...)
}

// appendACKKey appends the identity of the ACK for a 2xx: Call-ID, From
// tag, To tag, CSeq number (RFC 3261 §13.2.2.4, §12.2.1.1).
func appendACKKey(b []byte, callID, fromTag, toTag string, seq uint32) []byte {
	b = append(b, callID...)
	b = append(b, '|')
	b = append(b, fromTag...)
	b = append(b, '|')
	b = append(b, toTag...)
	b = append(b, '|')
	return strconv.AppendUint(b, uint64(seq), 10)
}

// HandleMessage is the transport.Handler of the Manager: it routes each
// inbound message to its transaction, or creates one.
func (m *Manager) HandleMessage(in transport.Inbound) {
	if m.closed.Load() {
		return
	}
	if in.Msg.IsResponse() {
		m.handleResponse(in)
		return
	}
	m.handleRequest(in)
}

func (m *Manager) handleResponse(in transport.Inbound) {
	inf, err := parseInfo(in.Msg, false)
	if err == nil {
		var buf [keyBufSize]byte
		key := appendClientKey(buf[:0], inf.branch, inf.cseq.Method)
		s := m.shardOfBytes(key)
		s.mu.Lock()
		tx := s.client[string(key)]
		s.mu.Unlock()
		if tx != nil && tx.receive(in.Msg) {
			return
		}
	}
	m.stats.stray.Add(1)
	if m.cfg.Hooks.StrayResponse != nil {
		m.cfg.Hooks.StrayResponse(in)
	}
}

func (m *Manager) handleRequest(in transport.Inbound) {
	req := in.Msg
	inf, err := parseInfo(req, true)
	if err != nil {
		return // Validate already answered what is answerable
	}
	var buf [keyBufSize]byte
	key := appendServerKey(buf[:0], req, &inf, req.Method)
	s := m.shardOfBytes(key)
	s.mu.Lock()
	tx := s.server[string(key)]
	s.mu.Unlock()
	if req.Method == "ACK" {
		if tx != nil && tx.receiveACK(in, &inf) {
			return
		}
		m.ack2xx(in, &inf)
		return
	}
	if tx != nil {
		if tx.retransmission(req) {
			return
		}
		// Terminated and not yet removed: fall through and replace it.
	}
	if max := m.cfg.MaxServerTransactions; m.liveServer.Load() >= int64(cmp.Or(max, 200_000)) {
		m.stats.overload.Add(1)
		resp := sip.NewResponse(req, 503, "Service Unavailable")
		transport.AddToTag(resp, "")
		resp.AddHeader("Retry-After", "5")
		if f, err := m.wire.ResponseFlow(in.Flow, resp); err == nil {
			m.wire.Write(f, resp.AppendTo(nil), nil)
		}
		return
	}
	if req.Method == "CANCEL" {
		m.handleCancel(in, &inf, key)
		return
	}
	tx = m.newServerTx(in, &inf, key, true)
	if tx == nil {
		return // lost an insertion race: a retransmission, absorbed
	}
	// RFC 3261 §8.2.2.2: a request without To tag that is not a
	// retransmission but has the From tag, Call-ID and CSeq of a live
	// transaction has merged (forked and come back): 482. newServerTx set
	// mergeKey for such a request; cleanup removes it only where it maps to
	// this transaction.
	if mk := tx.mergeKey; mk != "" {
		ms := m.shardOf(mk)
		ms.mu.Lock()
		other := ms.merged[mk]
		if other == nil {
			ms.merged[mk] = tx
		}
		ms.mu.Unlock()
		if other != nil && other != tx {
			m.stats.merged.Add(1)
			tx.Respond(tx.NewResponse(482, "Loop Detected"))
			return
		}
	}
	if tx.invite && !m.cfg.No100 {
		if d := min(m.cfg.TryingDelay, 200*time.Millisecond); d > 0 {
			// RFC 3261 §17.2.1: the 100 only if the TU has not answered
			// within d (≤ 200 ms): see onTimer, timer100.
			tx.mu.Lock()
			if tx.state == Proceeding && tx.last == nil {
				tx.arm(&tx.retr, timer100, d)
			}
			tx.mu.Unlock()
		} else {
			tx.Respond(sip.NewResponse(req, 100, "Trying"))
		}
	}
	m.cfg.Handler.HandleRequest(tx, req)
}

// handleCancel implements RFC 3261 §9.2: the CANCEL gets its own server
// transaction; 200 when it matches an INVITE server transaction, else 481.
func (m *Manager) handleCancel(in transport.Inbound, inf *info, key []byte) {
	ctx := m.newServerTx(in, inf, key, false)
	if ctx == nil {
		return
	}
	var buf [keyBufSize]byte
	invKey := appendServerKey(buf[:0], in.Msg, inf, "INVITE")
	s := m.shardOfBytes(invKey)
	s.mu.Lock()
	inv := s.server[string(invKey)]
	s.mu.Unlock()
	if inv == nil {
		ctx.Respond(ctx.NewResponse(481, "Call/Transaction Does Not Exist"))
		return
	}
	// The 200 to CANCEL carries the To tag the INVITE's responses use.
	resp := sip.NewResponse(in.Msg, 200, "OK")
	transport.AddToTag(resp, inv.ToTag())
	ctx.Respond(resp)
	if inv.markCanceled() {
		if m.cfg.Hooks.Cancel != nil {
			m.cfg.Hooks.Cancel(inv, in.Msg)
		} else {
			inv.Respond(inv.NewResponse(487, "Request Terminated"))
		}
	}
}

// ack2xx handles an ACK that no transaction absorbed: an ACK for a 2xx,
// matched to the INVITE server transaction by dialog identifiers to stop
// 2xx retransmission, and always passed to the TU.
func (m *Manager) ack2xx(in transport.Inbound, inf *info) {
	var buf [keyBufSize]byte
	k := appendACKKey(buf[:0], inf.callID, inf.fromTag, inf.toTag, inf.cseq.Seq)
	s := m.shardOfBytes(k)
	s.mu.Lock()
	tx := s.acks[string(k)]
	s.mu.Unlock()
	if tx != nil {
		tx.ackFor2xx()
	}
	if m.cfg.Hooks.ACK != nil {
		m.cfg.Hooks.ACK(tx, in)
	}
}

// Request starts a client transaction for req toward t: it resolves t
// (RFC 3263 subset), takes the first destination it can send to, fills in a
// top Via with a fresh branch when req has none, and sends. onResp receives
// every response passed to the TU (RFC 3261 §17.1), then at most once a
// non-nil error (ErrTimeout, a transport error) when the transaction ends
// without a final response. ctx bounds resolution only.
func (m *Manager) Request(ctx context.Context, req *sip.Message, t transport.Target, onResp ResponseFunc) (*ClientTx, error) {
	ds, err := m.wire.Resolve(ctx, t)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, d := range ds {
		f, err := m.wire.RequestFlow(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return m.RequestOn(f, req, onResp)
	}
	return nil, errors.Join(errs...)
}

// RequestTo is Request for a destination already resolved.
func (m *Manager) RequestTo(req *sip.Message, d transport.Dest, onResp ResponseFunc) (*ClientTx, error) {
	f, err := m.wire.RequestFlow(d)
	if err != nil {
		return nil, err
	}
	return m.RequestOn(f, req, onResp)
}

// Send writes a message outside any transaction (an ACK for a 2xx, RFC 3261
// §13.2.2.4) to t.
func (m *Manager) Send(ctx context.Context, msg *sip.Message, t transport.Target) (transport.Flow, error) {
	ds, err := m.wire.Resolve(ctx, t)
	if err != nil {
		return transport.Flow{}, err
	}
	var errs []error
	for _, d := range ds {
		f, err := m.wire.RequestFlow(d)
		if err == nil {
			if err = m.wire.Write(f, msg.AppendTo(nil), nil); err == nil {
				return f, nil
			}
		}
		errs = append(errs, err)
	}
	return transport.Flow{}, errors.Join(errs...)
}

// SendOn writes a message outside any transaction on a known flow.
func (m *Manager) SendOn(f transport.Flow, msg *sip.Message) error {
	return m.wire.Write(f, msg.AppendTo(nil), nil)
}

// branchTokenLen is the length of the random part of the branches the
// client transactions make (RFC 3261 §8.1.1.7: unique in space and time).
const branchTokenLen = 16

// ensureVia returns the client transaction key of req (RFC 3261 §17.1.3),
// adding a Via for f with a new branch and rport (RFC 3581 §3) when req has
// none. The Via value and the key share one allocation.
func ensureVia(req *sip.Message, f transport.Flow) (key string, err error) {
	if v, _, _, ok := transport.TopVia(req); ok {
		if b := v.Branch(); b != "" {
			return clientKey(b, req.Method), nil
		}
		return "", fmt.Errorf("%w: top Via without branch", ErrBadMessage)
	}
	if req.HeaderIndex("Via", 0) >= 0 {
		return "", fmt.Errorf("%w: top Via", ErrBadMessage)
	}
	var buf [keyBufSize]byte
	b := append(buf[:0], "SIP/2.0/"...)
	b = append(b, f.Transport().String()...)
	b = append(b, ' ')
	n := len(b)
	if b = f.AppendSentBy(b); len(b) == n {
		return "", ErrNoSentBy
	}
	b = append(b, ";branch="...)
	nb := len(b)
	b = append(b, sip.BranchMagic...)
	b = appendToken(b, branchTokenLen)
	ne := len(b)
	b = append(b, ";rport"...)
	nv := len(b)
	b = append(b, "c|"...)
	b = append(b, b[nb:ne]...)
	b = append(b, '|')
	b = append(b, req.Method...)
	s := string(b)
	req.PrependHeader("Via", s[:nv])
	return s[nv:], nil
}
