package b2bua

import (
	"context"
	"net/netip"
	"strings"

	"github.com/sbc-project/sbc/mediarelay"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// outOfDialog handles requests outside any dialog other than INVITE:
// SUBSCRIBE and REFER create a dialog pair like a call (without media);
// MESSAGE, PUBLISH and OPTIONS with a user part are relayed as a single
// transaction, routed by policy; INFO and NOTIFY outside a dialog get 481
// (RFC 6086 §4.2, RFC 6665 §4.1.3); REGISTER is for the registration relay.
func (s *Server) outOfDialog(tx *transaction.ServerTx, req *sip.Message) {
	switch req.Method {
	case "SUBSCRIBE", "REFER":
		s.newDialogPair(tx, req, "subscription")
	case "INFO", "NOTIFY":
		s.respond(tx, 481, "")
	case "REGISTER":
		if s.cfg.Registrar != nil {
			s.cfg.Registrar.HandleRegister(tx, req)
			return
		}
		s.respond(tx, 403, "Forbidden (no registration relay)")
	default:
		s.relayTransaction(tx, req)
	}
}

// Registrar handles REGISTER (the NAT registration relay).
type Registrar interface {
	HandleRegister(tx *transaction.ServerTx, req *sip.Message)
}

// relayTransaction relays one out-of-dialog non-INVITE request to the
// route's first trunk (further trunks on failover codes) and its final
// response back, with the same building rules as a call.
func (s *Server) relayTransaction(tx *transaction.ServerTx, req *sip.Message) {
	if s.draining.Load() {
		s.respond(tx, 503, "")
		return
	}
	p := s.cfg.Policy()
	f := tx.Flow()
	if !p.ACLAllows(f.Interface(), f.Remote().Addr()) {
		s.respond(tx, 403, "Forbidden")
		return
	}
	src := f.Remote()
	srcTrunk, ok := p.MatchTrunk(netip4(src), strings.ToLower(f.Transport().String()), f.Interface())
	if !ok {
		s.respond(tx, 403, "Forbidden (unknown peer)")
		return
	}
	ruri, err := sip.ParseURI(req.RequestURI)
	if err != nil {
		s.respond(tx, 400, "")
		return
	}
	from, err1 := req.From()
	to, err2 := req.To()
	if err1 != nil || err2 != nil {
		s.respond(tx, 400, "")
		return
	}
	d := p.Route(policy.RouteRequest{SourceTrunk: srcTrunk.Name, RURIUser: uriUser(ruri),
		FromUser: uriUser(from.URI), ToUser: uriUser(to.URI), Header: req.GetHeader})
	if d.Rejected() {
		s.respond(tx, d.RejectCode, d.RejectReason)
		return
	}
	c := &Call{s: s, id: "tx", kind: "transaction", aReq: req, decision: d, ruriUser: d.RURIUser,
		a: callLeg{side: mediarelay.LegA, iface: f.Interface(), tr: f.Transport(), trunk: srcTrunk}}
	c.log = s.log
	for _, t := range d.Trunks {
		for _, dst := range t.Destinations {
			c.attempts = append(c.attempts, attempt{trunk: t, dest: dst})
		}
	}
	c.serial.do(func() { c.relayNext(tx) })
}

func netip4(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// relayNext sends the single-transaction request to the next attempt.
func (c *Call) relayNext(tx *transaction.ServerTx) {
	for c.next < len(c.attempts) {
		at := c.attempts[c.next]
		c.next++
		if err := c.sendRelayed(tx, at); err == nil {
			return
		}
	}
	code, reason := c.lastCode, c.lastRsn
	if code == 0 {
		code, reason = 480, "Temporarily Unavailable"
	}
	r := tx.NewResponse(code, reason)
	if c.lastResp != nil && c.lastResp.StatusCode == code {
		copyHeaders(r, c.lastResp, c.b.trunk)
	}
	_ = tx.Respond(r)
}

func (c *Call) sendRelayed(tx *transaction.ServerTx, at attempt) error {
	t := at.trunk
	c.b = callLeg{side: mediarelay.LegB, iface: t.Interface, tr: transportOf(at.dest.Transport), trunk: t}
	sb, err := c.s.sentBy(c.b.iface, c.b.tr)
	if err != nil {
		return err
	}
	req := c.aReq
	ruri := "sip:" + userAt(c.ruriUser) + hostPort(at.dest.Host, at.dest.Port) + transportParam(c.b.tr)
	out := sip.NewRequest(req.Method, ruri)
	if err := c.stamp(&c.b, out, c.maxForwards()); err != nil {
		return err
	}
	fromUser := c.decision.FromUser
	toUser := c.decision.ToUser
	if toUser == "" {
		toUser = c.ruriUser
	}
	out.AddHeader("From", "<sip:"+userAt(fromUser)+hostOnly(sb)+">;tag="+NewTag())
	out.AddHeader("To", "<sip:"+userAt(toUser)+hostPort(at.dest.Host, 0)+">")
	out.AddHeader("Call-ID", NewCallID())
	out.AddHeader("CSeq", "1 "+req.Method)
	if req.Method == "OPTIONS" || req.Method == "PUBLISH" {
		out.AddHeader("Allow", allowMethods)
	}
	pai, privacy := identityHeaders(req, c.a.trunk, t)
	for _, v := range pai {
		out.AddHeader("P-Asserted-Identity", v)
	}
	if privacy != "" {
		out.AddHeader("Privacy", privacy)
	}
	copyHeaders(out, req, c.a.trunk)
	applyHeaderOps(out, c.decision.Headers)
	if len(req.Body) > 0 {
		ct, _ := req.GetHeader("Content-Type")
		out.SetBody(ct, req.Body)
	}
	target := transport.Target{Host: at.dest.Host, Port: at.dest.Port, Transport: c.b.tr, Interface: t.Interface}
	_, err = c.s.cfg.Tx.Request(context.Background(), out, target, func(_ *transaction.ClientTx, resp *sip.Message, err error) {
		c.serial.do(func() { c.onRelayedTx(tx, resp, err) })
	})
	return err
}

func (c *Call) onRelayedTx(tx *transaction.ServerTx, resp *sip.Message, err error) {
	if err != nil {
		c.lastCode, c.lastRsn = 408, "Request Timeout"
		c.relayNext(tx)
		return
	}
	code := resp.StatusCode
	if code < 200 {
		return
	}
	fo := c.decision.FailoverOn
	if len(fo) == 0 {
		fo = defaultFailover
	}
	if code >= 300 && containsInt(fo, code) && c.next < len(c.attempts) {
		c.lastCode, c.lastRsn, c.lastResp = code, resp.Reason, resp
		c.relayNext(tx)
		return
	}
	r := tx.NewResponse(code, resp.Reason)
	if code == 401 || code == 407 {
		for _, h := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
			for v := range resp.HeaderLines(h) {
				r.AddHeader(h, v)
			}
		}
	}
	copyHeaders(r, resp, c.b.trunk)
	if len(resp.Body) > 0 {
		ct, _ := resp.GetHeader("Content-Type")
		r.SetBody(ct, resp.Body)
	}
	_ = tx.Respond(r)
}
