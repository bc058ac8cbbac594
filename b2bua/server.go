package b2bua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbc-project/sbc/mediarelay"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// TxLayer is what the B2BUA needs of the transaction layer;
// *transaction.Manager implements it.
type TxLayer interface {
	Request(ctx context.Context, req *sip.Message, t transport.Target, onResp transaction.ResponseFunc) (*transaction.ClientTx, error)
	RequestOn(f transport.Flow, req *sip.Message, onResp transaction.ResponseFunc) (*transaction.ClientTx, error)
	Send(ctx context.Context, msg *sip.Message, t transport.Target) (transport.Flow, error)
	SendOn(f transport.Flow, msg *sip.Message) error
}

var _ TxLayer = (*transaction.Manager)(nil)

// Interface is one of the SBC's named network sides as the B2BUA writes it
// into messages.
type Interface struct {
	Name string
	// Listeners are the SIP listeners on the interface (their addresses
	// and ports go into Via and Contact unless Advertise is set).
	Listeners []transport.ListenerInfo
	// Advertise, when valid, is the public address of a 1:1 NAT written in
	// Via, Contact and SDP instead of the local one (cloud instances).
	Advertise netip.Addr
	// MediaAdvertise, when valid, overrides the media address written in
	// SDP (defaults to Advertise, else the relay's bind address).
	MediaAdvertise netip.Addr
}

// Config configures a Server.
type Config struct {
	Tx         TxLayer
	Relay      *mediarelay.Relay
	Policy     func() *policy.Policy
	Interfaces []Interface
	Limiter    *Limiter // nil: a new one
	CDR        CDRSink  // nil: no CDRs
	Logger     *slog.Logger
	Now        func() time.Time
	// Observer receives call events for metrics; nil for none.
	Observer Observer
	// Registrar handles REGISTER (NAT registration relay); nil answers 403.
	Registrar Registrar
	// Locator finds the registered UA a call from the core is for; nil
	// routes every call by policy.
	Locator Locator
	// DetectNAT tells whether a request's sender is behind NAT (its Via,
	// Contact or SDP disagree with the packet's source, RFC 3581); such a
	// leg is then reached over the flow its packets came from. nil: only
	// access trunks are treated as NATed.
	DetectNAT func(req *sip.Message, src netip.AddrPort, udp bool) bool
	// MaxRedirects bounds the 3xx responses followed per call (default 3).
	MaxRedirects int
	// MaxQueueDelay is the overload threshold: an out-of-dialog request
	// (a new call, subscription, registration, message or OPTIONS) that
	// waited longer than this between arriving and reaching the B2BUA is
	// answered 503 with Retry-After instead of being served (0: never).
	// In-dialog requests and responses are always served: they end calls
	// and free what the SBC holds.
	MaxQueueDelay time.Duration
}

// Locator finds the UA a call from the core is for: the registration
// cache of access trunks (package nat).
type Locator interface {
	Locate(ruri sip.URI) (LocatedUA, bool)
}

// LocatedUA is a registered UA as the B2BUA reaches it: through the NAT
// binding its REGISTER opened (RFC 3581 symmetric routing), with its own
// Contact as Request-URI (RFC 3261 §10.2, §16.5).
type LocatedUA struct {
	Trunk     string // the access trunk it registered through
	AOR       string // its address-of-record, for To
	Contact   string // its Contact URI: the Request-URI of the B-leg INVITE
	Source    netip.AddrPort
	Transport transport.Transport
	Flow      transport.Flow // its connection (TCP/TLS) or listener flow (UDP); may be zero
}

// Observer is told about calls as they progress (for metrics). Every
// attempted call ends with exactly one CallFailed (never answered) or
// CallEnded (answered, then hung up). Methods are called from call context
// and must not block.
type Observer interface {
	CallAttempted(trunk string)
	CallAnswered(trunk string, setup time.Duration)
	CallFailed(trunk string, code int)
	CallEnded(c *CDR)
}

// Server is the B2BUA: it turns every accepted INVITE into a Call of two
// dialogs, relays in-dialog requests between the legs and answers what is
// addressed to the SBC itself. It implements transaction.Handler and the
// transaction hooks.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	limiter *Limiter
	ifaces  atomic.Pointer[map[string]*Interface] // replaced whole, never edited

	dialogs dialogTable
	calls   sync.Map // call ID → *Call
	nCalls  atomic.Int64
	seq     atomic.Uint64

	draining atomic.Bool
	overload atomic.Uint64 // requests refused by MaxQueueDelay
	idle     chan struct{} // closed when draining and the last call ends
	idleOnce sync.Once
}

// New returns a Server; wire it into transaction.Config as Handler and with
// Hooks().
func New(cfg Config) (*Server, error) {
	if cfg.Tx == nil || cfg.Policy == nil {
		return nil, errors.New("b2bua: Config.Tx and Config.Policy are required")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, limiter: cfg.Limiter,
		idle: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "b2bua")
	if s.now == nil {
		s.now = time.Now
	}
	if s.limiter == nil {
		s.limiter = NewLimiter(s.now)
	}
	if s.cfg.MaxRedirects == 0 {
		s.cfg.MaxRedirects = 3
	}
	s.SetInterfaces(cfg.Interfaces)
	s.dialogs.init()
	return s, nil
}

// SetTx sets the transaction layer when it is built after the Server (the
// Manager needs the Server as its Handler).
func (s *Server) SetTx(tx TxLayer) { s.cfg.Tx = tx }

// Hooks returns the transaction hooks the Server needs.
func (s *Server) Hooks() transaction.Hooks {
	return transaction.Hooks{
		ACK:           s.onACK,
		Cancel:        s.onCancel,
		ServerError:   s.onServerError,
		StrayResponse: s.onStray,
	}
}

// ActiveCalls returns the number of calls in progress.
func (s *Server) ActiveCalls() int { return int(s.nCalls.Load()) }

// Dialogs returns the number of dialog entries (two per established call).
func (s *Server) Dialogs() int { return s.dialogs.len() }

// Limiter returns the call counters (for metrics).
func (s *Server) Limiter() *Limiter { return s.limiter }

// Calls returns a snapshot of every call in progress.
func (s *Server) Calls() []CallInfo {
	var out []CallInfo
	s.calls.Range(func(_, v any) bool {
		out = append(out, v.(*Call).info())
		return true
	})
	return out
}

// Call returns one call's snapshot.
func (s *Server) Call(id string) (CallInfo, bool) {
	v, ok := s.calls.Load(id)
	if !ok {
		return CallInfo{}, false
	}
	return v.(*Call).info(), true
}

// Hangup ends a call from the SBC's side (BYE or CANCEL on both legs).
func (s *Server) Hangup(id string) error {
	v, ok := s.calls.Load(id)
	if !ok {
		return ErrNoCall
	}
	c := v.(*Call)
	c.serial.do(func() { c.hangup("sbc", 0, "Call terminated by operator") })
	return nil
}

// Drain stops taking new calls (they get 503) and waits until the calls in
// progress have ended or ctx is done; then the remaining ones are ended
// with BYE on both legs (graceful shutdown).
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	if s.nCalls.Load() == 0 {
		s.idleOnce.Do(func() { close(s.idle) })
	}
	select {
	case <-s.idle:
		return nil
	case <-ctx.Done():
	}
	s.calls.Range(func(_, v any) bool {
		c := v.(*Call)
		c.serial.do(func() { c.hangup("sbc", 0, "SBC shutting down") })
		return true
	})
	// Give the BYEs a moment to leave; transactions finish on their own.
	wait := time.NewTimer(2 * time.Second)
	defer wait.Stop()
	select {
	case <-s.idle:
	case <-wait.C:
	}
	return ctx.Err()
}

// ErrNoCall is returned for an unknown call ID.
var ErrNoCall = errors.New("b2bua: no such call")

// HandleRequest receives every new server transaction (RFC 3261 §17.2).
func (s *Server) HandleRequest(tx *transaction.ServerTx, req *sip.Message) {
	to, err := req.To()
	if err != nil {
		s.respond(tx, 400, "Bad Request (To)")
		return
	}
	if tag := to.Tag(); tag != "" {
		s.inDialog(tx, req, tag)
		return
	}
	if s.overloaded(tx, req) {
		return
	}
	switch req.Method {
	case "INVITE":
		s.newCall(tx, req)
	case "OPTIONS":
		s.options(tx, req)
	case "MESSAGE", "PUBLISH", "SUBSCRIBE", "INFO", "NOTIFY", "REFER", "REGISTER":
		s.outOfDialog(tx, req)
	case "BYE", "PRACK", "UPDATE":
		// RFC 3261 §15.1.2, RFC 3262 §3, RFC 3311 §5.2: these exist only
		// within a dialog.
		s.respond(tx, 481, "")
	default:
		r := tx.NewResponse(501, "")
		r.AddHeader("Allow", allowMethods)
		_ = tx.Respond(r)
	}
}

// overloaded refuses an out-of-dialog request that waited in the receive
// queue longer than MaxQueueDelay: 503 with Retry-After (RFC 3261 §21.5.4),
// so that the caller's proxy tries another destination (RFC 3263 §4.3)
// while the SBC spends its time on the calls it already carries instead of
// accepting work it would serve too late. It is the cheapest answer there
// is: no call, no relay ports, no B leg.
func (s *Server) overloaded(tx *transaction.ServerTx, req *sip.Message) bool {
	if s.cfg.MaxQueueDelay <= 0 || req.Method == "ACK" {
		return false
	}
	rx := tx.Received()
	if rx.IsZero() {
		return false
	}
	waited := time.Since(rx) // wall clock, as the kernel's timestamp (not Config.Now)
	if waited <= s.cfg.MaxQueueDelay {
		return false
	}
	n := s.overload.Add(1)
	r := tx.NewResponse(503, "Service Unavailable (overload)")
	// Retry-After in whole seconds, at least 1: long enough for the queue
	// to drain at the rate it built up.
	r.AddHeader("Retry-After", strconv.Itoa(max(1, int((waited+time.Second-1)/time.Second))))
	_ = tx.Respond(r)
	if n&(n-1) == 0 { // 1st, 2nd, 4th, 8th...: a trace without a line per request
		s.log.Warn("overload: refusing new requests", "waited", waited, "threshold", s.cfg.MaxQueueDelay, "refused", n)
	}
	return true
}

// OverloadRefused counts the requests refused by MaxQueueDelay.
func (s *Server) OverloadRefused() uint64 { return s.overload.Load() }

func (s *Server) respond(tx *transaction.ServerTx, code int, reason string) {
	_ = tx.Respond(tx.NewResponse(code, reason))
}

// inDialog routes a request carrying a To tag to its call, or answers 481
// (RFC 3261 §12.2.2).
func (s *Server) inDialog(tx *transaction.ServerTx, req *sip.Message, toTag string) {
	callID, _ := req.GetHeader("Call-ID")
	ref, ok := s.dialogs.get(callID, toTag)
	if !ok {
		s.respond(tx, 481, "")
		return
	}
	ref.call.serial.do(func() { ref.call.onRequest(ref.leg, tx, req) })
}

// options answers an OPTIONS addressed to the SBC itself (no user part in
// the Request-URI) with what it supports (RFC 3261 §11.2); one with a user
// part is routed like any out-of-dialog request.
func (s *Server) options(tx *transaction.ServerTx, req *sip.Message) {
	if u, err := sip.ParseURI(req.RequestURI); err == nil && u.User == "" {
		r := tx.NewResponse(200, "")
		r.AddHeader("Allow", allowMethods)
		r.AddHeader("Supported", "100rel, replaces")
		r.AddHeader("Accept", "application/sdp")
		_ = tx.Respond(r)
		return
	}
	s.outOfDialog(tx, req)
}

// onACK receives ACKs for 2xx (end to end, RFC 3261 §13.3.1.4): relayed to
// the other leg of the call.
func (s *Server) onACK(_ *transaction.ServerTx, in transport.Inbound) {
	to, err := in.Msg.To()
	if err != nil {
		return
	}
	callID, _ := in.Msg.GetHeader("Call-ID")
	ref, ok := s.dialogs.get(callID, to.Tag())
	if !ok {
		return // RFC 3261 §17.2.3: a stray ACK is absorbed
	}
	ref.call.serial.do(func() { ref.call.onACK(ref.leg, in.Msg) })
}

// onCancel: a CANCEL matched an INVITE server transaction (RFC 3261 §9.2);
// the Manager answered it with 200.
//
// The INVITE may have been answered meanwhile on another goroutine, and its
// transaction then no longer holds the request: only the kept Call-ID and
// To tag are used.
func (s *Server) onCancel(invite *transaction.ServerTx, cancel *sip.Message) {
	ref, ok := s.dialogs.get(invite.CallID(), invite.ToTag())
	if !ok {
		s.respond(invite, 487, "")
		return
	}
	c := ref.call
	c.serial.do(func() { c.onCancel(invite, cancel) })
}

// onServerError: a server transaction failed (no ACK for our 2xx, or a
// transport error): the call cannot go on.
// The transaction released its request when it sent its final response
// (transaction.ServerTx.Request): only the kept method, Call-ID and To tag
// are used.
func (s *Server) onServerError(tx *transaction.ServerTx, err error) {
	if tx.Method() != "INVITE" {
		return
	}
	ref, ok := s.dialogs.get(tx.CallID(), tx.ToTag())
	if !ok {
		return
	}
	c := ref.call
	c.serial.do(func() { c.onServerError(ref.leg, tx, err) })
}

// onStray: a response no client transaction matched, such as a 2xx
// retransmitted after the INVITE transaction ended: re-send the ACK we sent
// for it (RFC 3261 §13.2.2.4).
func (s *Server) onStray(in transport.Inbound) {
	m := in.Msg
	if m.StatusCode < 200 || m.StatusCode >= 300 {
		return
	}
	cs, err := m.CSeq()
	if err != nil || cs.Method != "INVITE" {
		return
	}
	from, err := m.From()
	if err != nil {
		return
	}
	callID, _ := m.GetHeader("Call-ID")
	ref, ok := s.dialogs.get(callID, from.Tag())
	if !ok {
		return
	}
	ref.call.serial.do(func() { ref.call.onStray2xx(ref.leg, m, cs.Seq) })
}

// SentBy is sentBy for other components that build requests of the SBC's
// own (the registration relay, keepalives).
func (s *Server) SentBy(iface string, tr transport.Transport) (string, error) {
	return s.sentBy(iface, tr)
}

// SetRegistrar and SetLocator install the registration relay and the
// lookup of registered UAs; call them before the transaction layer starts.
func (s *Server) SetRegistrar(r Registrar) { s.cfg.Registrar = r }

// SetLocator: see SetRegistrar.
func (s *Server) SetLocator(l Locator) { s.cfg.Locator = l }

// sentBy returns the host:port to write in Via and Contact for the
// interface and transport (the advertised address behind a 1:1 NAT).
func (s *Server) sentBy(iface string, tr transport.Transport) (string, error) {
	ifc, ok := (*s.ifaces.Load())[iface]
	if !ok {
		return "", fmt.Errorf("b2bua: unknown interface %q", iface)
	}
	var port uint16
	var addr netip.Addr
	for _, l := range ifc.Listeners {
		if l.Transport == tr || (port == 0 && tr == 0) {
			addr, port = l.Addr.Addr(), l.Addr.Port()
			if l.Transport == tr {
				break
			}
		}
	}
	if port == 0 {
		for _, l := range ifc.Listeners {
			addr, port = l.Addr.Addr(), l.Addr.Port()
			break
		}
	}
	if port == 0 {
		return "", fmt.Errorf("b2bua: interface %q has no %v listener", iface, tr)
	}
	if ifc.Advertise.IsValid() {
		addr = ifc.Advertise
	}
	return netip.AddrPortFrom(addr, port).String(), nil
}

// mediaAddr is the address written in SDP for the interface.
func (s *Server) mediaAddr(iface string, local netip.Addr) netip.Addr {
	if ifc, ok := (*s.ifaces.Load())[iface]; ok {
		if ifc.MediaAdvertise.IsValid() {
			return ifc.MediaAdvertise
		}
		if ifc.Advertise.IsValid() {
			return ifc.Advertise
		}
	}
	return local
}

// dialogTable maps (Call-ID, local tag) to a call leg. Sharded to keep lock
// contention low at thousands of calls per second.
type dialogTable struct {
	shards [32]struct {
		mu sync.Mutex
		m  map[string]legRef
	}
	n atomic.Int64
}

type legRef struct {
	call *Call
	leg  mediarelay.Leg
}

func (t *dialogTable) init() {
	for i := range t.shards {
		t.shards[i].m = make(map[string]legRef)
	}
}

func dialogKey(callID, localTag string) string { return callID + "\x00" + localTag }

func (t *dialogTable) shard(key string) int {
	var h uint32 = 2166136261
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return int(h % uint32(len(t.shards)))
}

func (t *dialogTable) put(callID, localTag string, ref legRef) {
	k := dialogKey(callID, localTag)
	sh := &t.shards[t.shard(k)]
	sh.mu.Lock()
	if _, ok := sh.m[k]; !ok {
		t.n.Add(1)
	}
	sh.m[k] = ref
	sh.mu.Unlock()
}

func (t *dialogTable) get(callID, localTag string) (legRef, bool) {
	k := dialogKey(callID, localTag)
	sh := &t.shards[t.shard(k)]
	sh.mu.Lock()
	r, ok := sh.m[k]
	sh.mu.Unlock()
	return r, ok
}

func (t *dialogTable) del(callID, localTag string) {
	k := dialogKey(callID, localTag)
	sh := &t.shards[t.shard(k)]
	sh.mu.Lock()
	if _, ok := sh.m[k]; ok {
		delete(sh.m, k)
		t.n.Add(-1)
	}
	sh.mu.Unlock()
}

func (t *dialogTable) len() int { return int(t.n.Load()) }

// SetInterfaces replaces the interfaces the Server writes into messages
// (their listeners, advertised and media addresses); safe while running.
func (s *Server) SetInterfaces(ifs []Interface) {
	m := make(map[string]*Interface, len(ifs))
	for i := range ifs {
		ifc := ifs[i]
		m[ifc.Name] = &ifc
	}
	s.ifaces.Store(&m)
}

// AddListeners adds SIP listeners to their interfaces (for Via and
// Contact), creating interfaces that are not known yet.
func (s *Server) AddListeners(ls []transport.ListenerInfo) {
	old := *s.ifaces.Load()
	var ifs []Interface
	for _, ifc := range old {
		ifs = append(ifs, *ifc)
	}
	for _, l := range ls {
		found := false
		for i := range ifs {
			if ifs[i].Name == l.Interface {
				ifs[i].Listeners = append(append([]transport.ListenerInfo(nil), ifs[i].Listeners...), l)
				found = true
			}
		}
		if !found {
			ifs = append(ifs, Interface{Name: l.Interface, Listeners: []transport.ListenerInfo{l}})
		}
	}
	s.SetInterfaces(ifs)
}
