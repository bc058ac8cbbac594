package b2bua

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sbc-project/sbc/mediarelay"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// defaultFailover are the final responses that move a call to the route's
// next trunk when the route names none (RFC 3261 §21.4.9 408, §21.5 5xx:
// the trunk, not the callee, failed).
var defaultFailover = []int{408, 500, 502, 503, 504}

func transportOf(name string) transport.Transport {
	t, ok := transport.ParseTransport(name)
	if !ok {
		return transport.UDP
	}
	return t
}

func transportParam(t transport.Transport) string {
	if t == transport.UDP || t == 0 {
		return ""
	}
	return ";transport=" + strings.ToLower(t.String())
}

// hostOnly strips the port of a host:port.
func hostOnly(hostport string) string {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return sip.HostForAddr(ap.Addr())
	}
	return hostport
}

func hostPort(host string, port uint16) string {
	if a, err := netip.ParseAddr(host); err == nil {
		host = sip.HostForAddr(a)
	}
	if port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(int(port))
}

// stamp adds the SBC's own Via (RFC 3261 §8.1.1.7, with rport per RFC 3581)
// and Max-Forwards to a request it sends on leg l.
func (c *Call) stamp(l *callLeg, m *sip.Message, maxForwards int) error {
	sb, err := c.s.sentBy(l.iface, l.tr)
	if err != nil {
		return err
	}
	m.PrependHeader("Via", "SIP/2.0/"+l.tr.String()+" "+sb+";branch="+NewBranch()+";rport")
	m.SetHeader("Max-Forwards", strconv.Itoa(maxForwards))
	return nil
}

// ourContact is the SBC's Contact on leg l (RFC 3261 §8.1.1.8).
func (c *Call) ourContact(l *callLeg) string {
	if l.contact == "" {
		sb, err := c.s.sentBy(l.iface, l.tr)
		if err != nil {
			return ""
		}
		l.contact = "<sip:" + sb + transportParam(l.tr) + ">"
	}
	return l.contact
}

func (c *Call) maxForwards() int {
	if v, ok := c.aReq.GetHeader("Max-Forwards"); ok {
		if n, err := sip.ParseMaxForwards(v); err == nil && n > 0 {
			return n - 1 // RFC 3261 §16.6 step 3, as a B2BUA passes it on
		}
	}
	return 70
}

// sendBInvite builds and sends the B-leg INVITE (or SUBSCRIBE) for one
// attempt. Built, not copied: new Call-ID, tags, CSeq, Via and Contact; the
// route's numbers; the allowlisted headers; PAI per trust policy; the SDP
// anchored on the relay.
func (c *Call) sendBInvite(at attempt) error {
	c.gen++
	gen := c.gen
	t := at.trunk
	c.b = callLeg{side: mediarelay.LegB, iface: t.Interface, tr: transportOf(at.dest.Transport), trunk: t}
	if at.ua != nil {
		c.b.tr, c.b.natted, c.b.flow, c.b.peer = at.ua.Transport, true, at.ua.Flow, at.ua.Source
	}
	c.cdr.ToTrunk = t.Name
	c.cdr.Attempts++
	sb, err := c.s.sentBy(c.b.iface, c.b.tr)
	if err != nil {
		return err
	}
	ourHost := hostOnly(sb)
	ruri := "sip:" + sip.Escape(c.ruriUser, sip.EscapeUser) + "@" + hostPort(at.dest.Host, at.dest.Port) + transportParam(c.b.tr)
	if c.ruriUser == "" {
		ruri = "sip:" + hostPort(at.dest.Host, at.dest.Port) + transportParam(c.b.tr)
	}
	callID, tag := NewCallID(), NewTag()
	fromUser := c.decision.FromUser
	if fromUser == "" {
		fromUser = c.cdr.Caller
	}
	display := ""
	if from, err := c.aReq.From(); err == nil && from.Display != "" {
		display = from.Display + " "
	}
	fromVal := display + "<sip:" + userAt(fromUser) + ourHost + ">"
	toUser := c.decision.ToUser
	if toUser == "" {
		toUser = c.ruriUser
	}
	toVal := "<sip:" + userAt(toUser) + at.dest.Host + ">"
	if a, err := netip.ParseAddr(at.dest.Host); err == nil {
		toVal = "<sip:" + userAt(toUser) + sip.HostForAddr(a) + ">"
	}
	if at.ua != nil {
		ruri, toVal = at.ua.Contact, "<"+at.ua.AOR+">"
	}
	method := c.aReq.Method
	c.bSeq = 1
	c.b.dlg = uacDialog(callID, tag, fromVal, toVal, c.bSeq)
	req := sip.NewRequest(method, ruri)
	if err := c.stamp(&c.b, req, c.maxForwards()); err != nil {
		return err
	}
	req.AddHeader("From", tagged(fromVal, tag))
	req.AddHeader("To", toVal)
	req.AddHeader("Call-ID", callID)
	req.AddHeader("CSeq", "1 "+method)
	req.AddHeader("Contact", c.ourContact(&c.b))
	req.AddHeader("Allow", allowMethods)
	if c.kind == "call" {
		if hasTag(tokens(c.aReq.Supported()), "100rel") || hasTag(tokens(c.aReq.Require()), "100rel") {
			req.AddHeader("Supported", "100rel")
		}
		if hasTag(tokens(c.aReq.Require()), "100rel") {
			req.AddHeader("Require", "100rel")
		}
	}
	pai, privacy := identityHeaders(c.aReq, c.a.trunk, t)
	for _, v := range pai {
		req.AddHeader("P-Asserted-Identity", v)
	}
	if privacy != "" {
		req.AddHeader("Privacy", privacy)
	}
	copyHeaders(req, c.aReq, c.a.trunk)
	if t.Credentials == nil {
		// No credentials of our own for this trunk: the caller answers the
		// trunk's challenge itself (relayed 401/407), so its credentials
		// go through (RFC 3261 §22.3). The digest's uri is the caller's
		// Request-URI; a registrar that checks it against its own sees the
		// SBC's, so trunks that authenticate should get credentials in
		// policy instead.
		for _, h := range []string{"Authorization", "Proxy-Authorization"} {
			for v := range c.aReq.HeaderLines(h) {
				req.AddHeader(h, v)
			}
		}
	}
	applyHeaderOps(req, c.decision.Headers)
	c.bOffered = false
	switch {
	case len(c.aOffer) > 0:
		body, err := c.crossSDP(&c.a, &c.b, c.aOffer, true)
		if err != nil {
			return err
		}
		req.SetBody("application/sdp", body)
		c.bOffered = true
	case len(c.aReq.Body) > 0:
		// Non-SDP bodies of dialog-creating non-INVITE requests (SUBSCRIBE
		// resource lists) are content, not topology.
		ct, _ := c.aReq.GetHeader("Content-Type")
		req.SetBody(ct, c.aReq.Body)
	}
	c.bReq = req
	c.s.dialogs.put(callID, tag, legRef{call: c, leg: mediarelay.LegB})
	c.cdr.BLegCallID = callID
	c.publishB()
	onResp := c.bInviteCallback(gen)
	var tx *transaction.ClientTx
	if at.ua != nil {
		tx, err = c.sendOn(&c.b, req, onResp)
	} else {
		target := transport.Target{Host: at.dest.Host, Port: at.dest.Port, Transport: c.b.tr, Interface: t.Interface}
		tx, err = c.s.cfg.Tx.Request(context.Background(), req, target, onResp)
	}
	if err != nil {
		c.s.dialogs.del(callID, tag)
		return err
	}
	c.bTx = tx
	c.b.pendingOut = tx
	if to := c.decision.FailoverTimeout; to > 0 && c.next < len(c.attempts) {
		c.failTimer = time.AfterFunc(to, func() {
			c.serial.do(func() { c.onFailoverTimeout(gen) })
		})
	}
	c.log.Debug("b-leg INVITE sent", "trunk", t.Name, "b_call_id", callID, "attempt", c.cdr.Attempts)
	return nil
}

func userAt(user string) string {
	if user == "" {
		return ""
	}
	return sip.Escape(user, sip.EscapeUser) + "@"
}

func (c *Call) stopFailTimer() {
	if c.failTimer != nil {
		c.failTimer.Stop()
		c.failTimer = nil
	}
}

// onFailoverTimeout: the trunk gave no provisional answer within the route's
// failover timeout: cancel the attempt and move on (RFC 3261 §9.1 CANCEL).
func (c *Call) onFailoverTimeout(gen int) {
	if gen != c.gen || c.state != stateRouting {
		return
	}
	c.log.Info("failover timeout", "trunk", c.b.trunk.Name)
	c.abandonAttempt()
	c.lastCode, c.lastRsn = 408, "Request Timeout"
	c.tryNext()
}

// abandonAttempt cancels the current B-leg INVITE; a 2xx that still arrives
// for it is ACKed and hung up (stale generation).
func (c *Call) abandonAttempt() {
	c.stopFailTimer()
	if c.bTx != nil && c.kind == "call" {
		_ = c.bTx.Cancel(nil)
	}
	c.b.pendingOut = nil
}

// onBResponse handles every response to the B-leg initial request.
// bInviteCallback is the response callback of a B-leg INVITE client
// transaction. It reaches the call through a callHandle, not c itself: the
// transaction keeps its callback until Timer M, 64*T1 after a 2xx (RFC 6026
// §7.2), so a callback holding the call would keep every ended call,
// dialogs, messages and all, in memory for 32 s after its BYE (about 0.5 GB
// at 3,500 calls/s). When the call ends (retire) the handle keeps only what
// answering a late 2xx needs.
func (c *Call) bInviteCallback(gen int) transaction.ResponseFunc {
	if c.handle == nil {
		c.handle = &callHandle{}
		c.handle.c.Store(c)
	}
	h := c.handle
	return func(tx *transaction.ClientTx, resp *sip.Message, err error) {
		if cc := h.c.Load(); cc != nil {
			cc.serial.do(func() { cc.onBResponse(gen, tx, resp, err) })
			return
		}
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			// A 2xx for an ended call: ACK and BYE it (onBResponse,
			// ackAndBye) from a stand-in with the B leg's addressing.
			late := &Call{s: h.s, log: h.s.log, kind: h.kind, state: stateEnded, gen: -1,
				b: callLeg{iface: h.iface, tr: h.tr, flow: h.flow, natted: h.natted, peer: h.peer}}
			late.onBResponse(gen, tx, resp, nil)
		}
	}
}

// callHandle is what B-leg INVITE transaction callbacks hold: the call
// while it is in progress, then (c nil) the B leg's addressing only. The
// fields are written before c is cleared and read after it was seen nil.
type callHandle struct {
	c      atomic.Pointer[Call]
	s      *Server
	kind   string
	iface  string
	tr     transport.Transport
	flow   transport.Flow
	natted bool
	peer   netip.AddrPort
}

// retire lets the rest of an ended call be collected while its B-leg INVITE
// transactions linger (see bInviteCallback).
func (c *Call) retire() {
	h := c.handle
	if h == nil {
		return
	}
	h.s, h.kind = c.s, c.kind
	h.iface, h.tr, h.flow, h.natted, h.peer = c.b.iface, c.b.tr, c.b.flow, c.b.natted, c.b.peer
	h.c.Store(nil)
}

func (c *Call) onBResponse(gen int, tx *transaction.ClientTx, resp *sip.Message, err error) {
	if gen != c.gen || c.state == stateEnded {
		// A late answer for an abandoned attempt or an ended call: a 2xx
		// establishes a dialog nobody wants; ACK and BYE it (RFC 3261
		// §15, the CANCEL/200 race).
		// A 2xx reaches the TU only in Calling, Proceeding or Accepted,
		// where the transaction keeps its INVITE (ClientTx.Request).
		if resp != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 && c.kind == "call" {
			c.ackAndBye(tx.Request(), resp)
		}
		return
	}
	if err != nil {
		c.stopFailTimer()
		c.b.pendingOut = nil
		if c.state >= stateAnswered {
			return
		}
		if errors.Is(err, transaction.ErrTimeout) {
			c.lastCode, c.lastRsn = 408, "Request Timeout"
		} else {
			c.lastCode, c.lastRsn = 503, "Service Unavailable"
		}
		c.log.Info("b-leg attempt failed", "trunk", c.b.trunk.Name, "err", err)
		c.s.dialogs.del(c.b.dlg.callID, c.b.dlg.localTag)
		c.tryNext()
		return
	}
	code := resp.StatusCode
	switch {
	case code == 100:
	case code < 200:
		c.onBProvisional(resp)
	case code < 300:
		c.onB2xx(resp)
	default:
		c.onBFailure(tx, resp)
	}
}

func (c *Call) onBProvisional(resp *sip.Message) {
	if c.state >= stateAnswered {
		return
	}
	c.stopFailTimer() // the trunk has the call; ringing may take long
	to, _ := resp.To()
	if to.Tag() != "" {
		if err := c.b.dlg.fromResponse(resp); err != nil {
			c.log.Info("bad provisional from b-leg", "err", err)
			return
		}
		c.setState(stateEarly)
	}
	r := c.aTx.NewResponse(resp.StatusCode, resp.Reason)
	if to.Tag() != "" {
		r.AddHeader("Contact", c.ourContact(&c.a))
	}
	copyHeaders(r, resp, c.b.trunk)
	if err := c.relayBody(&c.b, &c.a, resp, r, !c.bOffered); err != nil {
		c.log.Info("provisional SDP not relayable", "err", err)
		r.Body = nil
		r.DelHeader("Content-Type")
	}
	// RFC 3262: a reliable provisional from B is relayed reliably to a
	// caller that supports 100rel, and acknowledged by the SBC otherwise.
	if rs, ok := resp.GetHeader("RSeq"); ok && hasTag(tokens(resp.Require()), "100rel") {
		bRSeq, err := sip.ParseRSeq(rs)
		if err == nil {
			cs, _ := resp.CSeq()
			if c.callerSupports100rel() {
				c.sendReliable(r, rackRef{rseq: bRSeq, cseq: cs.Seq})
				return
			}
			c.prackLocally(bRSeq, cs.Seq)
		}
	}
	_ = c.aTx.Respond(r)
}

func (c *Call) callerSupports100rel() bool {
	return hasTag(tokens(c.aReq.Supported()), "100rel") || hasTag(tokens(c.aReq.Require()), "100rel")
}

// sendReliable sends a reliable provisional on the A leg (RFC 3262 §3) and
// retransmits it on unreliable transports at T1, doubling, until its PRACK
// arrives or 64*T1 pass.
func (c *Call) sendReliable(r *sip.Message, ref rackRef) {
	c.a.rseq++
	if c.a.rseq == 1 {
		c.a.rseq = uint32(time.Now().UnixNano()%1000000) + 1 // RFC 3262 §3: random start below 2^31
	}
	rseq := c.a.rseq
	r.SetHeader("Require", "100rel")
	r.SetHeader("RSeq", strconv.FormatUint(uint64(rseq), 10))
	if c.a.prack == nil {
		c.a.prack = make(map[uint32]rackRef)
		c.a.retx = make(map[uint32]*time.Timer)
	}
	c.a.prack[rseq] = ref
	_ = c.aTx.Respond(r)
	if c.a.flow.Reliable() {
		return
	}
	const t1 = 500 * time.Millisecond
	interval, total := t1, time.Duration(0)
	var fire func()
	fire = func() {
		c.serial.do(func() {
			if _, pending := c.a.prack[rseq]; !pending || c.state >= stateAnswered {
				return
			}
			total += interval
			if total >= 64*t1 {
				return
			}
			_ = c.aTx.Respond(r)
			interval *= 2
			c.a.retx[rseq] = time.AfterFunc(interval, fire)
		})
	}
	c.a.retx[rseq] = time.AfterFunc(interval, fire)
}

// prackLocally acknowledges a reliable provisional of the B leg that the
// caller cannot acknowledge itself (RFC 3262 §4).
func (c *Call) prackLocally(rseq, cseq uint32) {
	req := c.b.dlg.request("PRACK", 0)
	if err := c.stamp(&c.b, req, 70); err != nil {
		return
	}
	req.AddHeader("RAck", strconv.FormatUint(uint64(rseq), 10)+" "+strconv.FormatUint(uint64(cseq), 10)+" INVITE")
	_, _ = c.sendOn(&c.b, req, func(*transaction.ClientTx, *sip.Message, error) {})
}

func (c *Call) onB2xx(resp *sip.Message) {
	to, _ := resp.To()
	if c.state >= stateAnswered {
		if to.Tag() == c.b.dlg.remoteTag {
			// A retransmitted 2xx: our ACK was lost; send it again
			// (RFC 3261 §13.2.2.4). Before the caller's ACK arrived there is
			// nothing to send yet: it is relayed end to end.
			if cs, err := resp.CSeq(); err == nil && c.b.lastACK != nil && c.b.lastACKSeq == cs.Seq {
				_ = c.sendACK(&c.b, c.b.lastACK)
			}
			return
		}
		// A second fork answered (RFC 3261 §13.2.2.4): ACK and BYE it.
		c.ackAndBye(c.bReq, resp)
		return
	}
	c.stopFailTimer()
	c.b.pendingOut = nil
	if err := c.b.dlg.fromResponse(resp); err != nil {
		c.log.Info("bad 2xx from b-leg", "err", err)
		c.ackAndBye(c.bReq, resp)
		c.finishFailure(502, "Bad Gateway", "failed", "callee")
		return
	}
	c.setState(stateAnswered)
	now := c.s.now()
	c.cdr.AnswerTime = now.UTC()
	c.publishB()
	r := c.aTx.NewResponse(resp.StatusCode, resp.Reason)
	r.AddHeader("Contact", c.ourContact(&c.a))
	r.AddHeader("Allow", allowMethods)
	copyHeaders(r, resp, c.b.trunk)
	if err := c.relayBody(&c.b, &c.a, resp, r, !c.bOffered); err != nil {
		c.log.Warn("2xx SDP not relayable", "err", err)
	}
	c.cancelRetransmissions()
	// The caller's ACK is relayed end to end (onACK); until then the B
	// leg's 2xx retransmissions are absorbed.
	c.a.acks = map[uint32]uint32{c.aSeq: c.bSeq}
	if c.kind == "subscription" {
		c.setState(stateConfirmed)
		c.armSubscription(resp)
	}
	_ = c.aTx.Respond(r)
	if c.s.cfg.Observer != nil {
		c.s.cfg.Observer.CallAnswered(c.a.trunk.Name, now.Sub(c.cdr.SetupTime))
	}
	c.log.Info("call answered", "to_trunk", c.b.trunk.Name, "b_call_id", c.b.dlg.callID)
}

func (c *Call) cancelRetransmissions() {
	for k, t := range c.a.retx {
		t.Stop()
		delete(c.a.retx, k)
	}
}

func (c *Call) onBFailure(tx *transaction.ClientTx, resp *sip.Message) {
	if c.state >= stateAnswered {
		return // a late failure for an answered call changes nothing
	}
	c.stopFailTimer()
	c.b.pendingOut = nil
	code := resp.StatusCode
	c.s.dialogs.del(c.b.dlg.callID, c.b.dlg.localTag)
	// 401/407 with the trunk's own credentials: answer the challenge
	// (RFC 3261 §22.2, RFC 7616) once per attempt.
	if (code == 401 || code == 407) && c.b.trunk.Credentials != nil && !c.authTried {
		c.authTried = true
		if c.retryWithAuth(resp) == nil {
			return
		}
	}
	// 3xx: follow the first Contact's user through the same trunk
	// (number portability and re-routing redirects), at most MaxRedirects.
	if code >= 300 && code < 400 && c.redirects < c.s.cfg.MaxRedirects {
		if user := redirectUser(resp); user != "" {
			c.redirects++
			c.ruriUser = user
			c.next--
			c.log.Info("following redirect", "code", code, "user", user)
			c.tryNext()
			return
		}
	}
	c.lastCode, c.lastRsn = code, resp.Reason
	c.lastResp = resp
	fo := c.decision.FailoverOn
	if len(fo) == 0 {
		fo = defaultFailover
	}
	if containsInt(fo, code) && c.next < len(c.attempts) {
		c.log.Info("failover", "code", code, "trunk", c.b.trunk.Name)
		c.tryNext()
		return
	}
	c.finishFailure(code, resp.Reason, disposition(code), "callee")
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func redirectUser(resp *sip.Message) string {
	cts, err := resp.Contacts()
	if err != nil || len(cts) == 0 || cts[0].Star {
		return ""
	}
	return uriUser(cts[0].URI)
}

// retryWithAuth resends the B-leg INVITE with credentials for the challenge
// (same Call-ID and From tag, next CSeq, RFC 3261 §22.2).
func (c *Call) retryWithAuth(resp *sip.Message) error {
	creds := c.b.trunk.Credentials
	hdr, out := "WWW-Authenticate", "Authorization"
	if resp.StatusCode == 407 {
		hdr, out = "Proxy-Authenticate", "Proxy-Authorization"
	}
	v, ok := resp.GetHeader(hdr)
	if !ok {
		return errors.New("b2bua: challenge without header")
	}
	ch, err := sip.ParseAuth(v)
	if err != nil {
		return err
	}
	req := c.bReq.Clone()
	c.bSeq++
	req.SetHeader("CSeq", strconv.FormatUint(uint64(c.bSeq), 10)+" "+req.Method)
	req.DelHeader("Via")
	if err := c.stamp(&c.b, req, c.maxForwards()); err != nil {
		return err
	}
	cred, err := digestCredentials(ch, creds.Username, creds.Password, creds.Realm, req.Method, req.RequestURI)
	if err != nil {
		return err
	}
	req.AddHeader(out, cred)
	c.b.dlg.localSeq = c.bSeq
	c.b.dlg.remoteTag = ""
	c.gen++
	gen := c.gen
	at := c.attempts[c.next-1]
	target := transport.Target{Host: at.dest.Host, Port: at.dest.Port, Transport: c.b.tr, Interface: at.trunk.Interface}
	c.s.dialogs.put(c.b.dlg.callID, c.b.dlg.localTag, legRef{call: c, leg: mediarelay.LegB})
	tx, err := c.s.cfg.Tx.Request(context.Background(), req, target, c.bInviteCallback(gen))
	if err != nil {
		return err
	}
	c.bReq, c.bTx, c.b.pendingOut = req, tx, tx
	c.a.acks = nil
	return nil
}

// ackAndBye ACKs a 2xx nobody wants and ends that dialog with BYE.
func (c *Call) ackAndBye(req, resp *sip.Message) {
	d := uacDialog(mustHeader(req, "Call-ID"), fromTag(req), "", "", 0)
	from, _ := req.From()
	to, _ := resp.To()
	d.localURI, d.remoteURI = withoutTag(from), withoutTag(to)
	if err := d.fromResponse(resp); err != nil {
		return
	}
	cs, _ := resp.CSeq()
	d.localSeq = cs.Seq
	leg := c.b
	leg.dlg = d
	ack := d.request("ACK", cs.Seq)
	if c.stamp(&leg, ack, 70) == nil {
		_ = c.sendACK(&leg, ack)
	}
	bye := d.request("BYE", 0)
	if c.stamp(&leg, bye, 70) == nil {
		bye.AddHeader("Reason", `SIP;cause=200;text="Call completed elsewhere"`)
		_, _ = c.sendOn(&leg, bye, func(*transaction.ClientTx, *sip.Message, error) {})
	}
}

func mustHeader(m *sip.Message, name string) string { v, _ := m.GetHeader(name); return v }

func fromTag(m *sip.Message) string {
	na, err := m.From()
	if err != nil {
		return ""
	}
	return na.Tag()
}

// nextHop is where an in-dialog request on leg l goes: the first Route when
// it is a loose router, else the Request-URI (RFC 3261 §8.1.2, §12.2.1.1).
func (c *Call) nextHop(l *callLeg, req *sip.Message) (transport.Target, error) {
	uri := req.RequestURI
	if v, ok := req.GetHeader("Route"); ok {
		if u, err := routeURI(firstRoute(v)); err == nil {
			uri = u.String()
		}
	}
	u, err := sip.ParseURI(uri)
	if err != nil {
		return transport.Target{}, err
	}
	t := transport.Target{Host: u.Host, Port: uint16(u.Port), Transport: l.tr, Interface: l.iface, Secure: u.IsSIPS()}
	if tp, ok := u.Params.Get("transport"); ok {
		if tr, ok := transport.ParseTransport(tp); ok {
			t.Transport = tr
		}
	}
	if a, ok := u.HostAddr(); ok {
		t.Host = a.String()
	}
	return t, nil
}

// sendOn starts a client transaction for an in-dialog request on leg l:
// over the peer's own flow for a NATed leg, else to the dialog's next hop.
func (c *Call) sendOn(l *callLeg, req *sip.Message, onResp transaction.ResponseFunc) (*transaction.ClientTx, error) {
	if l.natted {
		if !l.flow.IsZero() {
			return c.s.cfg.Tx.RequestOn(l.flow, req, onResp)
		}
		if l.peer.IsValid() {
			return c.s.cfg.Tx.Request(context.Background(), req, c.peerTarget(l), onResp)
		}
	}
	t, err := c.nextHop(l, req)
	if err != nil {
		return nil, err
	}
	return c.s.cfg.Tx.Request(context.Background(), req, t, onResp)
}

// sendACK sends an ACK for a 2xx (not a transaction, RFC 3261 §17.1.1.3).
func (c *Call) sendACK(l *callLeg, ack *sip.Message) error {
	if l.natted {
		if !l.flow.IsZero() {
			return c.s.cfg.Tx.SendOn(l.flow, ack)
		}
		if l.peer.IsValid() {
			_, err := c.s.cfg.Tx.Send(context.Background(), ack, c.peerTarget(l))
			return err
		}
	}
	t, err := c.nextHop(l, ack)
	if err != nil {
		return err
	}
	_, err = c.s.cfg.Tx.Send(context.Background(), ack, t)
	return err
}

// peerTarget is the address a NATed leg's packets came from (RFC 3581).
func (c *Call) peerTarget(l *callLeg) transport.Target {
	return transport.Target{Host: l.peer.Addr().Unmap().String(), Port: l.peer.Port(), Transport: l.tr, Interface: l.iface}
}

// armSubscription bounds a subscription's dialog pair by its expiry (the
// 2xx's Expires, else the request's, else one hour; RFC 6665 §4.1.2.1),
// plus a grace for the notifier's final NOTIFY; every refresh re-arms it.
// Without it, a subscriber that vanished would hold the pair forever.
func (c *Call) armSubscription(m *sip.Message) {
	exp := uint32(3600)
	for _, src := range []*sip.Message{m, c.aReq} {
		if src == nil {
			continue
		}
		if v, ok := src.GetHeader("Expires"); ok {
			if e, err := sip.ParseExpires(v); err == nil {
				exp = e
				break
			}
		}
	}
	if c.lifeTimer != nil {
		c.lifeTimer.Stop()
	}
	c.lifeTimer = time.AfterFunc(time.Duration(exp)*time.Second+32*time.Second, func() {
		c.serial.do(func() {
			c.cdr.Disposition = "expired"
			c.finish(200, "", "sbc")
		})
	})
}
