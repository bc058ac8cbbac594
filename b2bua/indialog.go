package b2bua

import (
	"errors"
	"slices"
	"strconv"

	"github.com/sbc-project/sbc/mediarelay"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
)

func (c *Call) leg(side mediarelay.Leg) (from, to *callLeg) {
	if side == mediarelay.LegA {
		return &c.a, &c.b
	}
	return &c.b, &c.a
}

// onCancel: the caller cancelled the pending INVITE (RFC 3261 §9.2): 487 on
// the A leg, CANCEL on the B leg. A 2xx that crosses the CANCEL is ACKed
// and hung up (onBResponse, stale state).
func (c *Call) onCancel(invite *transaction.ServerTx, _ *sip.Message) {
	if c.state >= stateAnswered || invite != c.aTx {
		return
	}
	c.abandonAttempt()
	c.cancelRetransmissions()
	_ = c.aTx.Respond(c.aTx.NewResponse(487, ""))
	c.cdr.Disposition = "cancelled"
	c.finish(487, "Request Terminated", "caller")
}

// onACK relays the ACK for a 2xx end to end (RFC 3261 §13.2.2.4): the
// caller's ACK for the answer becomes the SBC's ACK on the B leg, carrying
// the answer when the B leg made a late offer in its 2xx.
func (c *Call) onACK(side mediarelay.Leg, ack *sip.Message) {
	from, to := c.leg(side)
	cs, err := ack.CSeq()
	if err != nil || c.state == stateEnded {
		return
	}
	seq, ok := from.acks[cs.Seq]
	if !ok {
		return // a retransmitted ACK, already relayed
	}
	delete(from.acks, cs.Seq)
	out := to.dlg.request("ACK", seq)
	if err := c.stamp(to, out, 70); err != nil {
		return
	}
	if len(ack.Body) > 0 {
		if err := c.relayBody(from, to, ack, out, false); err != nil {
			c.log.Info("ACK SDP not relayable", "err", err)
		}
	}
	to.lastACK, to.lastACKSeq = out, seq
	if err := c.sendACK(to, out); err != nil {
		c.log.Info("ACK not sent", "err", err)
	}
	if c.state == stateAnswered && side == mediarelay.LegA && cs.Seq == c.aSeq {
		c.setState(stateConfirmed)
		c.compact()
	}
	if from.pendingIn != nil && cs.Seq != c.aSeq {
		from.pendingIn = nil
	}
}

// onStray2xx: a 2xx to INVITE retransmitted after its transaction ended:
// re-send the ACK we sent for it, if any (RFC 3261 §13.2.2.4).
func (c *Call) onStray2xx(side mediarelay.Leg, _ *sip.Message, seq uint32) {
	l, _ := c.leg(side)
	if l.lastACK != nil && l.lastACKSeq == seq {
		_ = c.sendACK(l, l.lastACK)
	}
}

// onServerError: our 2xx to the caller got no ACK (RFC 3261 §13.3.1.4) or
// could not be sent: the call is torn down on both legs.
func (c *Call) onServerError(side mediarelay.Leg, tx *transaction.ServerTx, err error) {
	if c.state == stateEnded {
		return
	}
	if tx == c.aTx || errors.Is(err, transaction.ErrNoACK) {
		c.log.Info("a-leg transaction failed", "err", err)
		c.cdr.Disposition = "failed"
		c.hangup("sbc", 0, "No ACK")
	}
}

// targetRefresh lists the methods whose Contact refreshes the remote target
// (RFC 3261 §12.2, RFC 3311 §5.1, RFC 6665 §4.1.2.1, RFC 3515 §2.4.1).
func targetRefresh(method string) bool {
	switch method {
	case "INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER":
		return true
	}
	return false
}

// onRequest relays a request received within the call's dialog on leg side
// to the other leg, and the other leg's final response back.
func (c *Call) onRequest(side mediarelay.Leg, tx *transaction.ServerTx, req *sip.Message) {
	from, to := c.leg(side)
	if c.state == stateEnded {
		_ = tx.Respond(tx.NewResponse(481, ""))
		return
	}
	if !from.dlg.checkRemoteSeq(req) {
		_ = tx.Respond(tx.NewResponse(500, "Server Internal Error (CSeq out of order)")) // RFC 3261 §12.2.2
		return
	}
	if from.dlg.remoteTag == "" {
		// A NOTIFY may arrive before the 2xx of its SUBSCRIBE (RFC 6665
		// §4.1.2.4): it creates the dialog on this leg.
		if f, err := req.From(); err == nil {
			from.dlg.remoteTag = f.Tag()
		}
	}
	switch req.Method {
	case "BYE":
		c.onBye(side, tx, req)
		return
	case "INVITE":
		// RFC 3261 §14.2: a re-INVITE while one is pending on this leg in
		// either direction is answered 491.
		if from.pendingOut != nil || from.pendingIn != nil {
			r := tx.NewResponse(491, "")
			_ = tx.Respond(r)
			return
		}
	case "PRACK":
		c.onPrack(side, tx, req)
		return
	}
	if to.dlg == nil || (to.dlg.remoteTag == "" && c.kind == "call") {
		_ = tx.Respond(tx.NewResponse(481, ""))
		return
	}
	if targetRefresh(req.Method) {
		_ = from.dlg.refreshTarget(req)
	}
	out := to.dlg.request(req.Method, 0)
	mf := 70
	if v, ok := req.GetHeader("Max-Forwards"); ok {
		if n, err := sip.ParseMaxForwards(v); err == nil && n > 0 {
			mf = n - 1
		}
	}
	if err := c.stamp(to, out, mf); err != nil {
		_ = tx.Respond(tx.NewResponse(500, ""))
		return
	}
	if targetRefresh(req.Method) {
		out.AddHeader("Contact", c.ourContact(to))
	}
	if req.Method == "INVITE" || req.Method == "UPDATE" {
		out.AddHeader("Allow", allowMethods)
	}
	if req.Method == "REFER" {
		if rt, ok := req.GetHeader("Refer-To"); ok {
			v, err := c.mapReferTo(to, rt)
			if err != nil {
				_ = tx.Respond(tx.NewResponse(400, "Bad Request (Refer-To)"))
				return
			}
			out.AddHeader("Refer-To", v)
		}
	}
	copyHeaders(out, req, from.trunk)
	hasSDPOffer := false
	if len(req.Body) > 0 {
		ct, _ := req.GetHeader("Content-Type")
		hasSDPOffer = isSDP(ct)
		if err := c.relayBody(from, to, req, out, true); err != nil {
			code := 488 // RFC 3261 §13.3.1.4, RFC 3311 §5.2
			if !errors.Is(err, errNoMedia) {
				code = 500
			}
			_ = tx.Respond(tx.NewResponse(code, ""))
			return
		}
	}
	if req.Method == "INVITE" {
		from.pendingIn = tx
	}
	outSeq := to.dlg.localSeq
	ctx, err := c.sendOn(to, out, func(ctx *transaction.ClientTx, resp *sip.Message, err error) {
		c.serial.do(func() { c.onRelayedResponse(side, tx, req, outSeq, hasSDPOffer, resp, err) })
	})
	if err != nil {
		from.pendingIn = nil
		_ = tx.Respond(tx.NewResponse(503, ""))
		return
	}
	if req.Method == "INVITE" {
		to.pendingOut = ctx
	}
}

// onRelayedResponse maps a response of the other leg back to the server
// transaction of the request it answers.
func (c *Call) onRelayedResponse(side mediarelay.Leg, tx *transaction.ServerTx, req *sip.Message, outSeq uint32, offered bool, resp *sip.Message, err error) {
	from, to := c.leg(side)
	final := err != nil || resp.StatusCode >= 200
	if final && req.Method == "INVITE" {
		to.pendingOut = nil
		if err != nil || resp.StatusCode >= 300 {
			from.pendingIn = nil
		}
	}
	if err != nil {
		code := 408
		if !errors.Is(err, transaction.ErrTimeout) {
			code = 503
		}
		_ = tx.Respond(tx.NewResponse(code, ""))
		return
	}
	if resp.StatusCode == 100 {
		return
	}
	r := tx.NewResponse(resp.StatusCode, resp.Reason)
	code := resp.StatusCode
	if code < 300 && targetRefresh(req.Method) {
		_ = to.dlg.refreshTarget(resp)
		r.AddHeader("Contact", c.ourContact(from))
	}
	if code == 401 || code == 407 {
		// In-dialog challenges are relayed so the peer can authenticate.
		for _, h := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
			for v := range resp.HeaderLines(h) {
				r.AddHeader(h, v)
			}
		}
	}
	copyHeaders(r, resp, to.trunk)
	if err := c.relayBody(to, from, resp, r, !offered); err != nil {
		c.log.Info("response SDP not relayable", "err", err)
	}
	if code >= 200 && code < 300 && req.Method == "INVITE" {
		cs, _ := req.CSeq()
		if from.acks == nil {
			from.acks = make(map[uint32]uint32)
		}
		from.acks[cs.Seq] = outSeq
	}
	_ = tx.Respond(r)
	if c.kind == "subscription" && req.Method == "SUBSCRIBE" && code < 300 {
		c.armSubscription(resp) // a refresh (RFC 6665 §4.1.2.1)
	}
	if c.kind == "subscription" && req.Method == "NOTIFY" && code < 300 {
		if st, ok := req.GetHeader("Subscription-State"); ok {
			if ss, err := sip.ParseSubscriptionState(st); err == nil && ss.State == "terminated" {
				c.cdr.Disposition = "answered"
				c.finish(200, "", sideName(side))
			}
		}
	}
}

// onBye ends the call: the BYE is answered at once (the dialog is over for
// its sender whatever the other side says, RFC 3261 §15.1.2) and a BYE is
// sent on the other leg.
func (c *Call) onBye(side mediarelay.Leg, tx *transaction.ServerTx, req *sip.Message) {
	_ = tx.Respond(tx.NewResponse(200, ""))
	_, to := c.leg(side)
	if c.state < stateAnswered {
		// A BYE on an early dialog (RFC 3261 §15): the B leg ended it, or the
		// caller gave up: cancel whatever is pending.
		if side == mediarelay.LegB {
			_ = c.aTx.Respond(c.aTx.NewResponse(487, ""))
		} else {
			c.abandonAttempt()
			_ = c.aTx.Respond(c.aTx.NewResponse(487, ""))
		}
		c.finish(487, "Request Terminated", sideName(side))
		return
	}
	c.sendBye(to, slices.Collect(req.HeaderLines("Reason"))...)
	c.cdr.Disposition = "answered"
	c.finish(200, "", sideName(side))
}

func sideName(side mediarelay.Leg) string {
	if side == mediarelay.LegA {
		return "caller"
	}
	return "callee"
}

// sendBye sends a BYE on leg l carrying the given Reason values (RFC 3326):
// those of the BYE that caused it, or the SBC's own.
func (c *Call) sendBye(l *callLeg, reasons ...string) {
	if l.dlg == nil || l.dlg.remoteTag == "" {
		return
	}
	bye := l.dlg.request("BYE", 0)
	if c.stamp(l, bye, 70) != nil {
		return
	}
	for _, v := range reasons {
		bye.AddHeader("Reason", v)
	}
	_, _ = c.sendOn(l, bye, func(*transaction.ClientTx, *sip.Message, error) {})
}

// onPrack maps a PRACK of the caller to the B leg (RFC 3262 §7.2: RAck
// carries the B leg's RSeq and CSeq) and relays its response.
func (c *Call) onPrack(side mediarelay.Leg, tx *transaction.ServerTx, req *sip.Message) {
	from, to := c.leg(side)
	v, ok := req.GetHeader("RAck")
	rack, err := sip.ParseRAck(v)
	if !ok || err != nil {
		_ = tx.Respond(tx.NewResponse(400, "Bad Request (RAck)"))
		return
	}
	ref, ok := from.prack[rack.RSeq]
	if !ok {
		// RFC 3262 §3: a PRACK matching no unacknowledged reliable
		// provisional gets 481.
		_ = tx.Respond(tx.NewResponse(481, ""))
		return
	}
	delete(from.prack, rack.RSeq)
	if t := from.retx[rack.RSeq]; t != nil {
		t.Stop()
		delete(from.retx, rack.RSeq)
	}
	out := to.dlg.request("PRACK", 0)
	if err := c.stamp(to, out, 70); err != nil {
		_ = tx.Respond(tx.NewResponse(500, ""))
		return
	}
	out.AddHeader("RAck", strconv.FormatUint(uint64(ref.rseq), 10)+" "+strconv.FormatUint(uint64(ref.cseq), 10)+" INVITE")
	offered := false
	if len(req.Body) > 0 {
		ct, _ := req.GetHeader("Content-Type")
		offered = isSDP(ct)
		// The PRACK carries the answer to an offer in the reliable
		// provisional (RFC 3262 §5).
		if err := c.relayBody(from, to, req, out, false); err != nil {
			_ = tx.Respond(tx.NewResponse(488, ""))
			return
		}
	}
	_, err = c.sendOn(to, out, func(_ *transaction.ClientTx, resp *sip.Message, err error) {
		c.serial.do(func() { c.onRelayedResponse(side, tx, req, 0, offered, resp, err) })
	})
	if err != nil {
		_ = tx.Respond(tx.NewResponse(503, ""))
	}
}

// mapReferTo rewrites a Refer-To so it names the SBC on the leg the REFER is
// sent to: the user part (the transfer target) is kept and the host becomes
// ours, so the transferee's INVITE comes back through the SBC and is routed
// by policy; nothing of the referrer's network crosses (RFC 3515 §2.1).
func (c *Call) mapReferTo(to *callLeg, v string) (string, error) {
	na, err := sip.ParseNameAddr(v)
	if err != nil {
		return "", err
	}
	sb, err := c.s.sentBy(to.iface, to.tr)
	if err != nil {
		return "", err
	}
	return "<sip:" + userAt(uriUser(na.URI)) + sb + transportParam(to.tr) + ">", nil
}

// hangup ends the call from the SBC's side: BYE on the legs that have a
// confirmed dialog, CANCEL and a final answer where it is still pending.
func (c *Call) hangup(by string, code int, reason string) {
	if c.state == stateEnded {
		return
	}
	cause := `SIP;cause=` + strconv.Itoa(max(code, 200)) + `;text=` + sip.Quote(reason)
	if c.state >= stateAnswered {
		c.sendBye(&c.a, cause)
		c.sendBye(&c.b, cause)
		if c.cdr.Disposition == "" {
			c.cdr.Disposition = "answered"
		}
		c.finish(200, "", by)
		return
	}
	if code == 0 {
		code = 503
	}
	c.abandonAttempt()
	c.finishFailure(code, reason, "failed", by)
}

// finishFailure answers the caller with a final failure and ends the call.
func (c *Call) finishFailure(code int, reason, disp, by string) {
	if c.state == stateEnded {
		return
	}
	c.cancelRetransmissions()
	r := c.aTx.NewResponse(code, reason)
	if c.lastResp != nil && c.lastResp.StatusCode == code {
		if code == 401 || code == 407 {
			// Relayed so the caller can authenticate (no trunk
			// credentials held by policy).
			for _, h := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
				for v := range c.lastResp.HeaderLines(h) {
					r.AddHeader(h, v)
				}
			}
		}
		copyHeaders(r, c.lastResp, c.b.trunk)
	}
	if code == 503 && r.HeaderCount("Retry-After") == 0 && c.s.draining.Load() {
		r.AddHeader("Retry-After", "30")
	}
	_ = c.aTx.Respond(r)
	if c.cdr.Disposition == "" {
		c.cdr.Disposition = disp
	}
	c.finish(code, reason, by)
}

// finish releases everything the call holds and writes its CDR.
func (c *Call) finish(code int, reason, by string) {
	if c.state == stateEnded {
		return
	}
	c.setState(stateEnded)
	c.stopFailTimer()
	c.cancelRetransmissions()
	if c.lifeTimer != nil {
		c.lifeTimer.Stop()
	}
	c.cdr.Media = c.mediaCounters()
	c.closeMedia()
	if c.releaseIn != nil {
		c.releaseIn()
	}
	if c.releaseOut != nil {
		c.releaseOut()
	}
	// The dialogs go at once: a retransmitted BYE is absorbed by its server
	// transaction (RFC 3261 §17.2.2), and a request crossing the BYE gets
	// 481 as RFC 3261 §12.2.2 says.
	if c.a.dlg != nil {
		c.s.dialogs.del(c.a.dlg.callID, c.a.dlg.localTag)
	}
	if c.b.dlg != nil {
		c.s.dialogs.del(c.b.dlg.callID, c.b.dlg.localTag)
	}
	c.s.calls.Delete(c.id)
	now := c.s.now()
	c.cdr.EndTime = now.UTC()
	if !c.cdr.AnswerTime.IsZero() {
		c.cdr.Duration = now.Sub(c.cdr.AnswerTime).Seconds()
	}
	c.cdr.SIPCode = code
	if code >= 300 {
		c.cdr.Reason = reason
	}
	c.cdr.HangupBy = by
	if c.s.cfg.CDR != nil {
		if err := c.s.cfg.CDR.WriteCDR(&c.cdr); err != nil {
			c.log.Error("cdr not written", "err", err)
		}
	}
	if obs := c.s.cfg.Observer; obs != nil {
		// Exactly one of CallFailed or CallEnded per attempted call.
		if c.cdr.AnswerTime.IsZero() {
			obs.CallFailed(c.a.trunk.Name, code)
		} else {
			obs.CallEnded(&c.cdr)
		}
	}
	c.log.Info("call ended", "disposition", c.cdr.Disposition, "code", code, "hangup_by", by)
	c.retire()
	if c.s.nCalls.Add(-1) == 0 && c.s.draining.Load() {
		c.s.idleOnce.Do(func() { close(c.s.idle) })
	}
}

// compact drops what only the call's setup needed once both legs are
// confirmed: the initial requests and their transactions (which hold their
// messages and last responses), the offer, the route's attempts. A held call
// then costs its two dialogs, its media sessions and its CDR.
func (c *Call) compact() {
	c.aTx, c.aReq, c.aOffer = nil, nil, nil
	c.bTx, c.lastResp = nil, nil
	c.attempts = nil
	c.decision.Headers = nil
	c.cancelRetransmissions()
	c.a.prack, c.a.retx, c.b.prack, c.b.retx = nil, nil, nil, nil
}
