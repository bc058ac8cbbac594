package b2bua

import (
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbc-project/sbc/mediarelay"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sdp"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

type callState uint8

const (
	stateRouting   callState = iota // B-leg INVITE attempts in progress
	stateEarly                      // a provisional response with a tag was relayed
	stateAnswered                   // 2xx relayed to the A leg, its ACK awaited
	stateConfirmed                  // both legs confirmed
	stateEnded                      // released; late responses are cleaned up
)

func (c *Call) setState(st callState) {
	c.state = st
	c.shown.Store(uint32(st))
}

func (s callState) String() string {
	return [...]string{"routing", "early", "answered", "confirmed", "ended"}[s]
}

// callLeg is one side of a call: its dialog, trunk, interface and the SDP
// origin the SBC uses on it.
type callLeg struct {
	side   mediarelay.Leg
	iface  string
	tr     transport.Transport
	trunk  *policy.Trunk
	dlg    *dialog
	flow   transport.Flow // flow of the initial request (A leg)
	origin *sdp.Origin
	// natted: in-dialog requests go back over the flow the peer used, or
	// to the address its packets came from (RFC 3581 symmetric routing;
	// access trunks and detected NAT); its Contact is kept only for the
	// Request-URI.
	natted bool
	peer   netip.AddrPort
	// pendingOut is the INVITE client transaction the SBC has open toward
	// this leg, pendingIn the INVITE server transaction open from it; both
	// are used for RFC 3261 §14.2 glare (491).
	pendingOut *transaction.ClientTx
	pendingIn  *transaction.ServerTx
	// acks maps the CSeq of an INVITE received on this leg whose 2xx we
	// relayed to the CSeq of the INVITE we sent on the other leg, so the
	// end-to-end ACK can be mapped (RFC 3261 §13.2.2.4).
	acks map[uint32]uint32
	// lastACK is the ACK we sent on this leg for its latest 2xx, re-sent
	// when that 2xx is retransmitted.
	lastACK    *sip.Message
	lastACKSeq uint32
	// reliable provisionals sent on this leg (A leg only): our RSeq
	// counter and RSeq → the RSeq/CSeq of the other leg's provisional.
	rseq    uint32
	prack   map[uint32]rackRef
	retx    map[uint32]*time.Timer
	contact string // our Contact on this leg
}

type rackRef struct {
	rseq, cseq uint32
	local      bool // acknowledged by the SBC itself
}

// attempt is one destination of the route: a trunk and one of its
// destinations (alternates are further attempts).
type attempt struct {
	trunk *policy.Trunk
	dest  policy.Destination
	ua    *LocatedUA // a registered UA found by the Locator
}

// Call is one call across the SBC: the A leg (the SBC as UAS toward the
// caller) and the B leg (the SBC as UAC toward the chosen trunk).
type Call struct {
	s      *Server
	id     string
	serial serial
	log    *slog.Logger
	pol    *policy.Policy
	kind   string // "call" (INVITE) or "subscription" (SUBSCRIBE / REFER)

	state  callState
	shown  atomic.Uint32 // state mirrored for the admin API's readers
	shownB atomic.Pointer[bInfo]
	a, b   callLeg

	aTx      *transaction.ServerTx // the A-leg initial request
	aReq     *sip.Message
	aSeq     uint32 // CSeq of the A-leg initial INVITE
	decision policy.Decision
	attempts []attempt
	next     int // next attempt index
	gen      int // attempt generation; stale responses are recognised by it
	ruriUser string

	bTx       *transaction.ClientTx
	bReq      *sip.Message
	bSeq      uint32
	bOffered  bool // the B-leg INVITE carried an offer
	failTimer *time.Timer
	lastCode  int
	lastRsn   string
	lastResp  *sip.Message
	redirects int
	authTried bool

	releaseIn  func()
	releaseOut func()
	mediaMu    sync.Mutex // guards media for the admin API's readers
	media      []*mediarelay.Session
	aOffer     []byte // the A leg's initial offer, rewritten afresh per attempt
	lifeTimer  *time.Timer

	cdr CDR

	// handle is what B-leg INVITE transaction callbacks hold (see
	// bInviteCallback); nil until the first B-leg INVITE.
	handle *callHandle
}

// CallInfo is a snapshot of a call for the admin API.
type CallInfo struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	FromTrunk  string    `json:"from_trunk"`
	ToTrunk    string    `json:"to_trunk"`
	ALegCallID string    `json:"a_call_id"`
	BLegCallID string    `json:"b_call_id"`
	Caller     string    `json:"caller"`
	Callee     string    `json:"callee"`
	Start      time.Time `json:"start"`
	Answer     time.Time `json:"answer,omitzero"`
	AgeSeconds float64   `json:"age_s"`
	Media      MediaCDR  `json:"media"`
}

// bInfo is the B-leg part of a call's snapshot, published whole whenever it
// changes (an attempt starts, the call is answered).
type bInfo struct {
	toTrunk, callID string
	answer          time.Time
}

func (c *Call) publishB() {
	c.shownB.Store(&bInfo{toTrunk: c.cdr.ToTrunk, callID: c.cdr.BLegCallID, answer: c.cdr.AnswerTime})
}

func (c *Call) info() CallInfo {
	// The A-leg fields are set before the call is published and never
	// change; the B-leg ones come from the last published snapshot; the
	// media counters are read from the relay under its own locks.
	ci := CallInfo{ID: c.id, State: callState(c.shown.Load()).String(), FromTrunk: c.cdr.FromTrunk,
		ALegCallID: c.cdr.ALegCallID, Caller: c.cdr.Caller,
		Callee: c.cdr.Callee, Start: c.cdr.SetupTime, AgeSeconds: c.s.now().Sub(c.cdr.SetupTime).Seconds()}
	if b := c.shownB.Load(); b != nil {
		ci.ToTrunk, ci.BLegCallID, ci.Answer = b.toTrunk, b.callID, b.answer
	}
	ci.Media = c.mediaCounters()
	return ci
}

func (c *Call) mediaCounters() MediaCDR {
	var m MediaCDR
	for _, ms := range c.mediaSnapshot() {
		st := ms.Stats()
		a, b := st.A, st.B
		m.APackets += a.Packets
		m.ABytes += a.Bytes
		m.ALost += uint64(max(a.Lost, 0))
		m.BPackets += b.Packets
		m.BBytes += b.Bytes
		m.BLost += uint64(max(b.Lost, 0))
	}
	return m
}

func (c *Call) mediaSnapshot() []*mediarelay.Session {
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	return append([]*mediarelay.Session(nil), c.media...)
}

// newCall admits an INVITE: ACL, source trunk, limits, route, then the
// first B-leg attempt.
func (s *Server) newCall(tx *transaction.ServerTx, req *sip.Message) {
	s.newDialogPair(tx, req, "call")
}

func (s *Server) newDialogPair(tx *transaction.ServerTx, req *sip.Message, kind string) {
	if s.draining.Load() {
		r := tx.NewResponse(503, "Service Unavailable (draining)")
		r.AddHeader("Retry-After", "30")
		_ = tx.Respond(r)
		return
	}
	p := s.cfg.Policy()
	f := tx.Flow()
	iface, src, tr := f.Interface(), f.Remote(), f.Transport()
	if !p.ACLAllows(iface, src.Addr()) {
		s.respond(tx, 403, "Forbidden")
		return
	}
	src4 := netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	srcTrunk, ok := p.MatchTrunk(src4, strings.ToLower(tr.String()), iface)
	if !ok {
		s.respond(tx, 403, "Forbidden (unknown peer)")
		return
	}
	// RFC 3261 §8.2.2.3: extensions the SBC cannot honour across the legs.
	if bad := unsupportedRequire(req); len(bad) > 0 {
		r := tx.NewResponse(420, "")
		r.AddHeader("Unsupported", strings.Join(bad, ", "))
		_ = tx.Respond(r)
		return
	}
	ruri, err := sip.ParseURI(req.RequestURI)
	if err != nil {
		s.respond(tx, 400, "Bad Request (Request-URI)")
		return
	}
	if !ruri.IsSIP() && !ruri.IsTel() {
		s.respond(tx, 416, "") // RFC 3261 §8.2.2.1
		return
	}
	from, err1 := req.From()
	to, err2 := req.To()
	cs, err3 := req.CSeq()
	if err := errors.Join(err1, err2, err3); err != nil {
		s.respond(tx, 400, "Bad Request")
		return
	}
	var offer *sdp.Session
	if len(req.Body) > 0 {
		ct, _ := req.GetHeader("Content-Type")
		if !isSDP(ct) && kind == "call" {
			r := tx.NewResponse(415, "")
			r.AddHeader("Accept", "application/sdp")
			_ = tx.Respond(r)
			return
		}
		if kind == "call" {
			if offer, err = sdp.Parse(req.Body); err != nil {
				s.respond(tx, 400, "Bad Request (SDP)")
				return
			}
		}
	}
	release, retry, ok := s.limiter.Admit(srcTrunk.Name, Inbound, limitsIn(p, srcTrunk))
	if !ok {
		r := tx.NewResponse(503, "Service Unavailable (call limit)")
		r.AddHeader("Retry-After", strconv.Itoa(int(retry/time.Second)))
		_ = tx.Respond(r)
		if s.cfg.Observer != nil {
			s.cfg.Observer.CallAttempted(srcTrunk.Name)
			s.cfg.Observer.CallFailed(srcTrunk.Name, 503)
		}
		return
	}
	callID, _ := req.GetHeader("Call-ID")
	ruser := uriUser(ruri)
	d := p.Route(policy.RouteRequest{
		SourceTrunk: srcTrunk.Name,
		RURIUser:    ruser,
		FromUser:    uriUser(from.URI),
		ToUser:      uriUser(to.URI),
		Header:      req.GetHeader,
	})
	now := s.now()
	c := &Call{
		s: s, id: strconv.FormatUint(s.seq.Add(1), 10) + "-" + NewTag()[:6], pol: p, kind: kind,
		aTx: tx, aReq: req, aSeq: cs.Seq, decision: d, releaseIn: release,
		a: callLeg{side: mediarelay.LegA, iface: iface, tr: tr, trunk: srcTrunk, flow: f, peer: src,
			natted: srcTrunk.Kind == policy.KindAccess ||
				(s.cfg.DetectNAT != nil && s.cfg.DetectNAT(req, src, !tr.Reliable()))},
		cdr: CDR{ALegCallID: callID, FromTrunk: srcTrunk.Name, Route: d.RouteName(),
			Caller: uriUser(from.URI), Callee: ruser, CallerOut: d.FromUser, CalleeOut: d.RURIUser,
			SetupTime: now.UTC()},
	}
	c.cdr.ID = c.id
	c.log = s.log.With("call", c.id, "a_call_id", callID, "from_trunk", srcTrunk.Name)
	if s.cfg.Observer != nil {
		s.cfg.Observer.CallAttempted(srcTrunk.Name)
	}
	c.a.dlg, err = uasDialog(req, tx.ToTag())
	if err != nil {
		release()
		s.respond(tx, 400, "Bad Request (dialog)")
		return
	}
	// A call from the core for a UA registered through an access trunk goes
	// to that UA's binding, whatever the route table says.
	if s.cfg.Locator != nil && srcTrunk.Kind != policy.KindAccess {
		if ua, ok := s.cfg.Locator.Locate(ruri); ok {
			if t, ok := p.Trunk(ua.Trunk); ok {
				c.attempts = []attempt{{trunk: t, ua: &ua}}
				c.cdr.Route = "registered:" + ua.AOR
			}
		}
	}
	if len(c.attempts) == 0 {
		if d.Rejected() {
			c.serial.do(func() { c.finishFailure(d.RejectCode, d.RejectReason, "rejected", "sbc") })
			s.register(c)
			return
		}
		for _, t := range d.Trunks {
			for _, dst := range t.Destinations {
				c.attempts = append(c.attempts, attempt{trunk: t, dest: dst})
			}
		}
	}
	c.ruriUser = d.RURIUser
	s.register(c)
	c.serial.do(func() {
		if offer != nil {
			c.aOffer = req.Body
		}
		c.tryNext()
	})
}

func (s *Server) register(c *Call) {
	s.nCalls.Add(1)
	s.calls.Store(c.id, c)
	s.dialogs.put(c.a.dlg.callID, c.a.dlg.localTag, legRef{call: c, leg: mediarelay.LegA})
}

func limitsIn(p *policy.Policy, t *policy.Trunk) Limit {
	l := t.Limits
	return Limit{MaxCalls: firstPositive(l.CallsIn, l.Calls), CPS: float64(l.CPSIn)}
}

func limitsOut(t *policy.Trunk) Limit {
	l := t.Limits
	return Limit{MaxCalls: firstPositive(l.CallsOut, l.Calls), CPS: float64(l.CPSOut)}
}

func firstPositive(v ...int) int {
	for _, x := range v {
		if x > 0 {
			return x
		}
	}
	return 0
}

func uriUser(u sip.URI) string {
	if u.IsTel() {
		return u.Opaque
	}
	s, err := sip.Unescape(u.User)
	if err != nil {
		return u.User
	}
	return s
}

func isSDP(ct string) bool {
	t, err := sip.ParseContentType(ct)
	return err == nil && strings.EqualFold(t.Type, "application") && strings.EqualFold(t.Subtype, "sdp")
}

// unsupportedRequire returns the Require option tags the SBC does not
// support (RFC 3261 §8.2.2.3).
func unsupportedRequire(req *sip.Message) []string {
	var bad []string
	for _, t := range tokens(req.Require()) {
		if !hasTag(supportedByUs, t) {
			bad = append(bad, t)
		}
	}
	return bad
}

// tryNext sends the INVITE to the next attempt of the route, or gives the
// caller the final answer when none is left.
func (c *Call) tryNext() {
	for c.next < len(c.attempts) {
		at := c.attempts[c.next]
		c.next++
		if c.releaseOut != nil {
			c.releaseOut()
			c.releaseOut = nil
		}
		rel, _, ok := c.s.limiter.Admit(at.trunk.Name, Outbound, limitsOut(at.trunk))
		if !ok {
			c.lastCode, c.lastRsn = 503, "Service Unavailable (trunk limit)"
			c.log.Info("trunk over its limit, skipped", "trunk", at.trunk.Name)
			continue
		}
		c.releaseOut = rel
		if err := c.sendBInvite(at); err != nil {
			c.log.Warn("b-leg attempt failed to start", "trunk", at.trunk.Name, "err", err)
			c.lastCode, c.lastRsn = 503, "Service Unavailable"
			continue
		}
		return
	}
	code, reason := c.lastCode, c.lastRsn
	if code == 0 {
		code, reason = 480, "Temporarily Unavailable"
	}
	c.finishFailure(code, reason, disposition(code), "callee")
}

func disposition(code int) string {
	switch {
	case code == 486 || code == 600:
		return "busy"
	case code == 487:
		return "cancelled"
	case code == 408:
		return "timeout"
	}
	return "failed"
}
