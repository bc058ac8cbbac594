package nat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// TxLayer is what the registration relay needs of the transaction layer;
// *transaction.Manager implements it (as does b2bua.TxLayer).
type TxLayer interface {
	Request(ctx context.Context, req *sip.Message, t transport.Target, onResp transaction.ResponseFunc) (*transaction.ClientTx, error)
	RequestOn(f transport.Flow, req *sip.Message, onResp transaction.ResponseFunc) (*transaction.ClientTx, error)
}

var _ TxLayer = (*transaction.Manager)(nil)

// Wire writes raw bytes on a flow, for CRLF keepalives; *transport.Layer
// implements it.
type Wire interface {
	Write(f transport.Flow, b []byte, sink transport.ErrorSink) error
}

var _ Wire = (*transport.Layer)(nil)

// Config configures a Registrar. Policy and SentBy are required; Tx is
// required before the first REGISTER (give it here or with SetTx when the
// transaction layer is built after the Registrar).
type Config struct {
	// Tx sends REGISTERs to registrars and OPTIONS keepalives to UAs.
	Tx TxLayer
	// Wire sends CRLF keepalives on streams; nil sends OPTIONS instead.
	Wire Wire
	// Policy returns the current policy (read on every REGISTER and
	// keepalive, so reloads apply at once while the cache stays).
	Policy func() *policy.Policy
	// SentBy returns the SBC's own host:port for Via and Contact on an
	// interface and transport (the advertised address behind a 1:1 NAT).
	SentBy func(iface string, tr transport.Transport) (string, error)
	// RegistrarInterface is the interface registrars are reached on (the
	// core side); empty uses the access trunk's own interface.
	RegistrarInterface string
	// Clock drives expiry and keepalives (default transaction.RealClock).
	Clock transaction.Clock
	// Resolution is the tick of the expiry heap (default 1 s).
	Resolution time.Duration
	// MaxBindings bounds the cache (default 1,000,000); beyond it new
	// bindings get 503.
	MaxBindings int
	// MaxContactsPerAOR bounds the bindings of one AOR (default 16).
	MaxContactsPerAOR int
	// MaxPending bounds REGISTER sessions without a binding yet (waiting
	// for a challenge to be answered; default 65536, oldest evicted).
	MaxPending int
	// PendingTTL is how long such a session waits (default 2 minutes).
	PendingTTL time.Duration
	// Grace is how long a binding outlives the expiry given to the UA, for
	// refreshes that arrive late (default 10 s).
	Grace time.Duration
	// KeepaliveFailures is the number of consecutive failed keepalives
	// after which a binding is dropped (default 3).
	KeepaliveFailures int
	// Logger receives binding events (never per keepalive).
	Logger *slog.Logger
}

// Registrar is the registration relay of access trunks: it implements the
// B2BUA's Registrar interface (HandleRegister), keeps the binding cache,
// expires bindings and sends keepalives to NATed UAs. One goroutine (the
// clock's ticker) runs expiry and keepalives; Close stops it.
type Registrar struct {
	cfg   Config
	log   *slog.Logger
	clock transaction.Clock
	cache *Cache
	stop  func()

	io atomic.Pointer[txWire] // set by New or SetTx

	pmu     sync.Mutex
	pending []*session // sessions without bindings, oldest first

	stats struct {
		forwarded, local, challenged, failed, expired, kaSent, kaFailed, kaDropped atomic.Uint64
	}
}

// Stats are the relay's counters since start, for metrics.
type Stats struct {
	Bindings           int    // bindings in the cache now
	Forwarded          uint64 // REGISTERs sent to a registrar
	AnsweredLocally    uint64 // refreshes answered from the cache
	Challenged         uint64 // 401/407 relayed to a UA
	Failed             uint64 // REGISTERs answered with another error
	Expired            uint64 // bindings removed by expiry
	KeepalivesSent     uint64
	KeepalivesFailed   uint64
	DroppedByKeepalive uint64 // bindings removed after failed keepalives
}

// Stats returns the counters.
func (r *Registrar) Stats() Stats {
	return Stats{Bindings: r.cache.Len(), Forwarded: r.stats.forwarded.Load(), AnsweredLocally: r.stats.local.Load(),
		Challenged: r.stats.challenged.Load(), Failed: r.stats.failed.Load(), Expired: r.stats.expired.Load(),
		KeepalivesSent: r.stats.kaSent.Load(), KeepalivesFailed: r.stats.kaFailed.Load(),
		DroppedByKeepalive: r.stats.kaDropped.Load()}
}

// New returns a running Registrar.
func New(cfg Config) (*Registrar, error) {
	if cfg.Policy == nil || cfg.SentBy == nil {
		return nil, fmt.Errorf("%w: Policy and SentBy are required", ErrConfig)
	}
	if cfg.Clock == nil {
		cfg.Clock = transaction.RealClock{}
	}
	if cfg.Resolution <= 0 {
		cfg.Resolution = time.Second
	}
	if cfg.MaxBindings <= 0 {
		cfg.MaxBindings = 1_000_000
	}
	if cfg.MaxContactsPerAOR <= 0 {
		cfg.MaxContactsPerAOR = 16
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 65536
	}
	if cfg.PendingTTL <= 0 {
		cfg.PendingTTL = 2 * time.Minute
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.KeepaliveFailures <= 0 {
		cfg.KeepaliveFailures = 3
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registrar{cfg: cfg, log: log.With("component", "nat"), clock: cfg.Clock,
		cache: newCache(cfg.MaxBindings, cfg.MaxContactsPerAOR)}
	if cfg.Tx != nil {
		r.SetTx(cfg.Tx, cfg.Wire)
	}
	r.stop = cfg.Clock.Start(cfg.Resolution, r.tick)
	return r, nil
}

type txWire struct {
	tx   TxLayer
	wire Wire
}

// SetTx sets the transaction layer (and the wire for CRLF keepalives, nil
// for none) when they are built after the Registrar: the Manager needs the
// B2BUA as its handler, and the B2BUA needs the Registrar. Safe while
// running.
func (r *Registrar) SetTx(tx TxLayer, w Wire) { r.io.Store(&txWire{tx: tx, wire: w}) }

// Close stops expiry and keepalives. The cache stays readable.
func (r *Registrar) Close() error {
	r.stop()
	return nil
}

// Cache returns the binding cache.
func (r *Registrar) Cache() *Cache { return r.cache }

// Lookup finds a binding by token or AOR (see Cache.Lookup).
func (r *Registrar) Lookup(key string) (Binding, bool) { return r.cache.Lookup(key) }

// LookupURI finds the binding a call from the core is addressed to (see
// Cache.LookupURI).
func (r *Registrar) LookupURI(requestURI string) (Binding, bool) {
	return r.cache.LookupURI(requestURI)
}

// List returns every binding for the admin API.
func (r *Registrar) List() []Info { return r.cache.List() }

// regContact is one Contact of a REGISTER: the UA's URI and the expiry it
// asked for.
type regContact struct {
	uri     string
	q       string
	expires uint32
	token   string // ours toward the registrar
}

// relay is one REGISTER in flight toward a registrar.
type relay struct {
	r        *Registrar
	tx       *transaction.ServerTx
	ua       *sip.Message
	aor      string
	sess     *session
	star     bool
	query    bool
	contacts []regContact
	trunk    *policy.Trunk
	det      Detection
	regExp   uint32 // seconds asked of the registrar
	retried  bool   // a 423 was answered once already
	target   transport.Target
	sentBy   string
}

// HandleRegister relays a REGISTER from a UA of an access trunk to the
// trunk's registrar (RFC 3261 §10), or answers it from the cache when the
// registrar's binding is still fresh. It never blocks.
func (r *Registrar) HandleRegister(tx *transaction.ServerTx, req *sip.Message) {
	p := r.cfg.Policy()
	f := tx.Flow()
	src := f.Remote()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	trunk, ok := p.MatchTrunk(src, strings.ToLower(f.Transport().String()), f.Interface())
	if !ok || trunk.Kind != policy.KindAccess || trunk.Registrar == nil {
		respond(tx, 403, "Forbidden (not an access trunk)")
		return
	}
	rl, code, reason := r.parse(tx, req, trunk)
	if code != 0 {
		respond(tx, code, reason)
		return
	}
	rl.det = Detect(req, src, f.Transport() == transport.UDP)
	now := r.clock.Now()
	if rl.answerLocally(now) {
		return
	}
	if code, reason := rl.prepare(now); code != 0 {
		respond(tx, code, reason)
		return
	}
	if err := rl.send(); err != nil {
		r.log.Warn("REGISTER relay failed", "aor", rl.aor, "err", err)
		respond(tx, 503, "Service Unavailable (registrar unreachable)")
	}
}

func respond(tx *transaction.ServerTx, code int, reason string) {
	_ = tx.Respond(tx.NewResponse(code, reason))
}

// parse reads the REGISTER (RFC 3261 §10.2, §10.3 steps 5 and 6).
func (r *Registrar) parse(tx *transaction.ServerTx, req *sip.Message, trunk *policy.Trunk) (*relay, int, string) {
	to, err := req.To()
	if err != nil {
		return nil, 400, "Bad Request (To)"
	}
	aor, err := canonical(to.URI)
	if err != nil {
		return nil, 400, "Bad Request (AOR)"
	}
	if _, err := req.CallID(); err != nil {
		return nil, 400, "Bad Request (Call-ID)"
	}
	cs, err := req.CSeq()
	if err != nil || cs.Method != "REGISTER" {
		return nil, 400, "Bad Request (CSeq)"
	}
	var hdrExp uint32
	hasHdrExp := false
	if v, ok := req.GetHeader("Expires"); ok {
		if hdrExp, err = sip.ParseExpires(v); err != nil {
			return nil, 400, "Bad Request (Expires)"
		}
		hasHdrExp = true
	}
	cts, err := req.Contacts()
	if err != nil {
		return nil, 400, "Bad Request (Contact)"
	}
	reg := trunk.Registrar
	rl := &relay{r: r, tx: tx, ua: req, aor: aor, trunk: trunk, query: len(cts) == 0,
		regExp: seconds(reg.RegistrarExpires)}
	for _, c := range cts {
		if c.Star {
			// RFC 3261 §10.3 step 6: "*" only alone and with Expires: 0.
			if len(cts) != 1 || !hasHdrExp || hdrExp != 0 {
				return nil, 400, "Bad Request (Contact: * needs Expires: 0)"
			}
			rl.star = true
			continue
		}
		if !c.URI.IsSIP() {
			return nil, 400, "Bad Request (Contact URI)"
		}
		// RFC 3261 §10.2.1.1: the contact's expires parameter, else the
		// Expires header, else the registrar's choice (ours: its period).
		e, ok := c.Expires()
		if !ok {
			e = rl.regExp
			if hasHdrExp {
				e = hdrExp
			}
		}
		q, _ := c.Params.Get("q")
		rl.contacts = append(rl.contacts, regContact{uri: c.URI.String(), q: q, expires: e})
	}
	return rl, 0, ""
}

func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }

// answerLocally answers a refresh from the cache when every contact is
// already bound for this Call-ID, from the same source and transport, and
// the registrar's binding outlives the next UA refresh by a wide margin
// (more than half the registrar period and twice the UA period left). The
// registrar then sees one refresh per half period instead of one per UA
// period, which is the point of shortening the UA's expiry. Matching the
// source, transport and Call-ID exactly means a local answer can only
// extend a binding the registrar authenticated, never create or move one.
func (rl *relay) answerLocally(now time.Time) bool {
	if rl.query || rl.star || len(rl.contacts) == 0 {
		return false
	}
	callID, _ := rl.ua.GetHeader("Call-ID")
	reg := rl.trunk.Registrar
	uaExp := seconds(reg.UAExpires)
	f := rl.tx.Flow()
	c := rl.r.cache
	c.mu.Lock()
	e, ok := c.byAOR[rl.aor]
	if !ok {
		c.mu.Unlock()
		return false
	}
	var s *session
	for _, x := range e.sessions {
		if x.uaCallID == callID {
			s = x
		}
	}
	margin := max(reg.RegistrarExpires/2, 2*reg.UAExpires)
	if s == nil || s.upstream-now.UnixNano() <= int64(margin) {
		c.mu.Unlock()
		return false
	}
	bs := make([]*binding, len(rl.contacts))
	for i, ct := range rl.contacts {
		b := e.find(ct.uri)
		if b == nil || b.sess != s || ct.expires == 0 || b.flow.Remote() != f.Remote() ||
			b.flow.Transport() != f.Transport() || b.trunk != rl.trunk.Name {
			c.mu.Unlock()
			return false
		}
		bs[i] = b
	}
	upLeft := uint32((s.upstream - now.UnixNano()) / int64(time.Second))
	for i, b := range bs {
		rl.r.refresh(b, f, rl, min(rl.contacts[i].expires, uaExp, upLeft), now)
	}
	resp := rl.okResponse(e, now)
	c.mu.Unlock()
	rl.r.stats.local.Add(1)
	_ = rl.tx.Respond(resp)
	return true
}

// refresh updates a binding from a successful REGISTER; called with the
// cache lock held.
func (r *Registrar) refresh(b *binding, f transport.Flow, rl *relay, uaSecs uint32, now time.Time) {
	c := r.cache
	b.flow = f
	b.nat = rl.det.NATed
	b.trunk = rl.trunk.Name
	if ua, ok := rl.ua.GetHeader("User-Agent"); ok && ua != b.ua {
		b.ua = c.agent(ua)
	}
	b.expires = now.Add(time.Duration(uaSecs) * time.Second).UnixNano()
	c.schedule(&b.exp, b.expires+int64(r.cfg.Grace))
	ka := rl.trunk.Keepalive
	if b.nat && ka.Interval > 0 && ka.Method != "" {
		if b.ka.idx < 0 && !b.kaBusy {
			c.schedule(&b.ka, now.Add(ka.Interval).UnixNano())
		}
	} else {
		c.unschedule(&b.ka)
	}
}

// okResponse builds the 200 to the UA listing the AOR's bindings with the
// expiry the UA must refresh within (RFC 3261 §10.3 step 8); called with
// the cache lock held. The UA's own Contacts go back, never ours.
func (rl *relay) okResponse(e *aorEntry, now time.Time) *sip.Message {
	resp := rl.tx.NewResponse(200, "")
	var mine uint32
	var have bool
	for _, b := range e.bindings {
		left := max((b.expires-now.UnixNano()+int64(time.Second)-1)/int64(time.Second), 0)
		resp.AddHeader("Contact", "<"+b.contact+">;expires="+strconv.FormatInt(left, 10))
		for _, ct := range rl.contacts {
			if ct.uri == b.contact && !have {
				mine, have = uint32(left), true
			}
		}
	}
	if have {
		resp.AddHeader("Expires", strconv.FormatUint(uint64(mine), 10))
	}
	resp.AddHeader("Date", now.UTC().Format(time.RFC1123))
	return resp
}

// prepare picks the session and tokens for a REGISTER to forward.
func (rl *relay) prepare(now time.Time) (int, string) {
	reg := rl.trunk.Registrar
	iface := rl.r.cfg.RegistrarInterface
	if iface == "" {
		iface = rl.trunk.Interface
	}
	tr, ok := transport.ParseTransport(reg.Transport)
	if !ok {
		tr = transport.UDP
	}
	sb, err := rl.r.cfg.SentBy(iface, tr)
	if err != nil {
		return 500, "Server Internal Error (no listener toward the registrar)"
	}
	rl.sentBy = sb
	rl.target = transport.Target{Host: reg.Host, Port: reg.Port, Transport: tr, Interface: iface}
	callID, _ := rl.ua.GetHeader("Call-ID")
	c := rl.r.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byAOR[rl.aor]
	fresh := 0
	for i := range rl.contacts {
		ct := &rl.contacts[i]
		var b *binding
		if e != nil {
			b = e.find(ct.uri)
		}
		if b != nil {
			ct.token = b.token
			continue
		}
		if ct.expires == 0 {
			continue // removing what we do not have: forwarded without contact
		}
		ct.token = rl.r.newToken()
		fresh++
	}
	if fresh > 0 && !c.room(e, fresh) {
		// RFC 3261 §21.5.4: temporary overload, retry later.
		return 503, "Service Unavailable (registration cache full)"
	}
	if e == nil {
		e = c.entry(rl.aor)
	}
	_, existed := sessionOf(e, callID)
	rl.sess = e.sessionFor(callID)
	rl.sess.aor = e
	if !existed {
		rl.sess.born = now.UnixNano()
		rl.r.addPending(rl.sess)
	}
	return 0, ""
}

func sessionOf(e *aorEntry, callID string) (*session, bool) {
	for _, s := range e.sessions {
		if s.uaCallID == callID {
			return s, true
		}
	}
	return nil, false
}

// newToken returns a token no binding uses; called with the cache lock.
func (r *Registrar) newToken() string {
	for {
		t := "r" + transport.RandomToken(15)
		if _, dup := r.cache.byToken[t]; !dup {
			return t
		}
	}
}

// send builds the REGISTER toward the registrar and starts its client
// transaction: the UA's Request-URI (the digest covers it, RFC 3261
// §22.4), From and To; our Via, Call-ID, CSeq (RFC 3261 §10.2.4: one
// Call-ID per binding set, CSeq incremented per REGISTER) and Contacts
// addressed to the SBC; the UA's Authorization relayed unchanged.
func (rl *relay) send() error {
	req := rl.ua
	out := sip.NewRequest("REGISTER", req.RequestURI)
	out.AddHeader("Via", "SIP/2.0/"+rl.target.Transport.String()+" "+rl.sentBy+";branch="+sip.BranchMagic+transport.RandomToken(16)+";rport")
	mf := 70
	if v, ok := req.GetHeader("Max-Forwards"); ok {
		if n, err := sip.ParseMaxForwards(v); err == nil && n > 0 {
			mf = min(n-1, 70)
		}
	}
	out.AddHeader("Max-Forwards", strconv.Itoa(mf))
	from, err := req.From()
	if err != nil {
		return fmt.Errorf("nat: REGISTER From: %w", err)
	}
	to, _ := req.To()
	out.AddHeader("From", "<"+from.URI.String()+">;tag="+transport.RandomToken(10))
	out.AddHeader("To", "<"+to.URI.String()+">")
	c := rl.r.cache
	c.mu.Lock()
	rl.sess.cseq++
	cseq := rl.sess.cseq
	callID := rl.sess.callID
	c.mu.Unlock()
	out.AddHeader("Call-ID", callID)
	out.AddHeader("CSeq", strconv.FormatUint(uint64(cseq), 10)+" REGISTER")
	tp := ""
	if rl.target.Transport != transport.UDP {
		tp = ";transport=" + strings.ToLower(rl.target.Transport.String())
	}
	switch {
	case rl.star:
		out.AddHeader("Contact", "*")
		out.AddHeader("Expires", "0")
	default:
		for _, ct := range rl.contacts {
			if ct.token == "" {
				continue
			}
			exp := rl.regExp
			if ct.expires == 0 {
				exp = 0
			}
			v := "<sip:" + ct.token + "@" + rl.sentBy + tp + ">;expires=" + strconv.FormatUint(uint64(exp), 10)
			if ct.q != "" {
				v += ";q=" + ct.q
			}
			out.AddHeader("Contact", v)
		}
		if len(rl.contacts) > 0 && out.HeaderCount("Contact") == 0 {
			// Only removals of contacts we never had: ask nothing of them.
			out.AddHeader("Expires", "0")
		}
	}
	// RFC 3261 §22.2, §22.3: the UA answers the registrar's challenge; its
	// credentials pass unchanged (the digest covers method and R-URI only).
	for _, h := range [...]string{"Authorization", "Proxy-Authorization"} {
		for v := range req.HeaderLines(h) {
			out.AddHeader(h, v)
		}
	}
	io := rl.r.io.Load()
	if io == nil {
		return fmt.Errorf("%w: no transaction layer", ErrConfig)
	}
	rl.r.stats.forwarded.Add(1)
	_, err = io.tx.Request(context.Background(), out, rl.target, rl.onResponse)
	if err != nil {
		return fmt.Errorf("nat: REGISTER to %s: %w", rl.target.Host, err)
	}
	return nil
}

// onResponse maps the registrar's answer back to the UA.
func (rl *relay) onResponse(_ *transaction.ClientTx, resp *sip.Message, err error) {
	if err != nil {
		code, reason := 503, "Service Unavailable (registrar unreachable)"
		if errors.Is(err, transaction.ErrTimeout) {
			code, reason = 408, "Request Timeout"
		}
		rl.r.stats.failed.Add(1)
		respond(rl.tx, code, reason)
		return
	}
	code := resp.StatusCode
	switch {
	case code < 200:
		return
	case code < 300:
		rl.accepted(resp)
		return
	case code == 423 && !rl.retried:
		// RFC 3261 §10.2.8: retry once with the registrar's Min-Expires;
		// the UA keeps its short expiry.
		if v, ok := resp.GetHeader("Min-Expires"); ok {
			if m, err := sip.ParseExpires(v); err == nil && m > rl.regExp {
				rl.retried = true
				rl.regExp = m
				if rl.send() == nil {
					return
				}
			}
		}
	}
	if code == 401 || code == 407 {
		rl.r.stats.challenged.Add(1)
	} else {
		rl.r.stats.failed.Add(1)
	}
	out := rl.tx.NewResponse(code, resp.Reason)
	// RFC 3261 §22.1, §22.3: challenges are relayed so the UA answers them.
	for _, h := range [...]string{"WWW-Authenticate", "Proxy-Authenticate", "Retry-After", "Min-Expires"} {
		for v := range resp.HeaderLines(h) {
			out.AddHeader(h, v)
		}
	}
	_ = rl.tx.Respond(out)
}

// accepted applies a 2xx from the registrar to the cache and answers the
// UA with its shortened expiry.
func (rl *relay) accepted(resp *sip.Message) {
	now := rl.r.clock.Now()
	granted := map[string]uint32{} // token → seconds the registrar granted
	hdrExp, hasHdr := uint32(0), false
	if v, ok := resp.GetHeader("Expires"); ok {
		if e, err := sip.ParseExpires(v); err == nil {
			hdrExp, hasHdr = e, true
		}
	}
	if cts, err := resp.Contacts(); err == nil {
		for _, ct := range cts {
			if ct.Star {
				continue
			}
			e, ok := ct.Expires()
			if !ok {
				if !hasHdr {
					continue
				}
				e = hdrExp
			}
			granted[ct.URI.User] = e
		}
	}
	uaExp := seconds(rl.trunk.Registrar.UAExpires)
	f := rl.tx.Flow()
	c := rl.r.cache
	c.mu.Lock()
	e := rl.sess.aor
	if e == nil || c.byAOR[rl.aor] != e {
		// The entry went away while the REGISTER was in flight.
		e = c.entry(rl.aor)
		rl.sess.aor = e
	}
	switch {
	case rl.star:
		// RFC 3261 §10.3 step 6: "*" removes every binding of the AOR.
		for len(e.bindings) > 0 {
			c.remove(e.bindings[0])
		}
	case !rl.query:
		upstream := int64(0)
		for _, ct := range rl.contacts {
			b := e.find(ct.uri)
			if ct.expires == 0 {
				if b != nil {
					c.remove(b) // un-REGISTER of one contact
				}
				continue
			}
			g, ok := granted[ct.token]
			if !ok {
				g = rl.regExp // a registrar that does not echo: what we asked
			}
			if g == 0 {
				if b != nil {
					c.remove(b)
				}
				continue
			}
			if b == nil {
				if !c.room(e, 1) {
					continue
				}
				if rl.sess.refs == 0 && !sessionLive(e, rl.sess) {
					e.sessions = append(e.sessions, rl.sess)
				}
				b = c.addToken(e, rl.sess, ct.uri, ct.token)
			} else if b.sess != rl.sess {
				// The UA changed Call-ID (rebooted): the binding moves to
				// the new session.
				if b.sess.refs--; b.sess.refs == 0 {
					e.dropSession(b.sess)
				}
				if rl.sess.refs == 0 && !sessionLive(e, rl.sess) {
					e.sessions = append(e.sessions, rl.sess)
				}
				rl.sess.refs++
				b.sess = rl.sess
			}
			rl.r.refresh(b, f, rl, min(ct.expires, uaExp, g), now)
			if up := now.Add(time.Duration(g) * time.Second).UnixNano(); upstream == 0 || up < upstream {
				upstream = up
			}
		}
		if upstream != 0 {
			rl.sess.upstream = upstream
		}
	}
	out := rl.okResponse(e, now)
	if len(e.bindings) == 0 && len(e.sessions) == 0 {
		delete(c.byAOR, e.aor)
	}
	c.mu.Unlock()
	_ = rl.tx.Respond(out)
}

func sessionLive(e *aorEntry, s *session) bool {
	for _, x := range e.sessions {
		if x == s {
			return true
		}
	}
	return false
}

// addToken inserts a binding with a token chosen earlier; called with mu
// held.
func (c *Cache) addToken(e *aorEntry, s *session, contact, token string) *binding {
	b := &binding{aor: e, sess: s, contact: strings.Clone(contact), token: token}
	b.exp = event{idx: -1, b: b}
	b.ka = event{idx: -1, ka: true, b: b}
	if _, dup := c.byToken[token]; dup {
		for {
			b.token = "r" + transport.RandomToken(15)
			if _, dup := c.byToken[b.token]; !dup {
				break
			}
		}
	}
	s.refs++
	e.bindings = append(e.bindings, b)
	c.byToken[b.token] = b
	c.n++
	return b
}

// addPending queues a new session so that it is forgotten if no binding
// comes of it (a challenge never answered); called with the cache lock
// held.
func (r *Registrar) addPending(s *session) {
	r.pmu.Lock()
	r.pending = append(r.pending, s)
	over := len(r.pending) > r.cfg.MaxPending
	r.pmu.Unlock()
	if over {
		r.sweepPending(0, true)
	}
}

// sweepPending forgets pending sessions older than PendingTTL (or the
// oldest one when force); called with the cache lock held.
func (r *Registrar) sweepPending(now int64, force bool) {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	c := r.cache
	i := 0
	for ; i < len(r.pending); i++ {
		s := r.pending[i]
		if s.refs > 0 {
			s.born = 0 // live now: no longer pending
			continue
		}
		if !force && s.born > now-int64(r.cfg.PendingTTL) {
			break
		}
		force = false
		s.born = 0
		if e := s.aor; e != nil {
			e.dropSession(s)
			if len(e.bindings) == 0 && len(e.sessions) == 0 && c.byAOR[e.aor] == e {
				delete(c.byAOR, e.aor)
			}
		}
	}
	n := copy(r.pending, r.pending[i:])
	clear(r.pending[n:])
	r.pending = r.pending[:n]
}
