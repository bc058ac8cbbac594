package transaction

import (
	"slices"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

func lastTx(t *testing.T, ev []event) *ServerTx {
	t.Helper()
	for i := len(ev) - 1; i >= 0; i-- {
		if ev[i].kind == "request" {
			return ev[i].tx
		}
	}
	t.Fatalf("no request event in %v", kinds(ev))
	return nil
}

// Non-INVITE server (§17.2.2): retransmissions absorbed in Trying, answered
// with the last response in Proceeding and Completed; Timer J; a late
// retransmission after J is a new transaction.
func TestNonInviteServer(t *testing.T) {
	h := newHarness(t, transport.UDP)
	req := peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKm1", "c1", 1, "")
	h.inject(req)
	ev := h.events()
	tx := lastTx(t, ev)
	if tx.State() != Trying || len(ev) != 1 {
		t.Fatalf("state %v, events %v", tx.State(), kinds(ev))
	}
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKm1", "c1", 1, ""))
	if n := len(h.wire.take()); n != 0 || len(h.events()) != 0 {
		t.Fatal("retransmission in Trying was not absorbed silently")
	}
	if err := tx.Respond(tx.NewResponse(180, "")); err != nil {
		t.Fatal(err)
	}
	if tx.State() != Proceeding {
		t.Fatalf("state %v", tx.State())
	}
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKm1", "c1", 1, ""))
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"180", "180"}) {
		t.Fatalf("sent %v", c)
	}
	if err := tx.Respond(tx.NewResponse(200, "")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Respond(tx.NewResponse(202, "")); err == nil {
		t.Fatal("second final response accepted")
	}
	h.advance(10 * time.Second) // lost response: the peer retransmits
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKm1", "c1", 1, ""))
	w := h.wire.take()
	if c := codes(w); !slices.Equal(c, []string{"200", "200"}) {
		t.Fatalf("sent %v", c)
	}
	if len(h.events()) != 0 {
		t.Fatal("TU saw a retransmission")
	}
	// The response carries the transaction's To tag, the same every time.
	to1, _ := w[0].msg.GetHeader("To")
	to2, _ := w[1].msg.GetHeader("To")
	if to1 != to2 || to1 == "<sip:bob@example.net>" {
		t.Fatalf("To %q then %q", to1, to2)
	}
	h.advance(22 * time.Second) // J = 32 s from Completed at 0
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer J", tx.State())
	}
	h.assertIdle()
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKm1", "c1", 1, ""))
	if k := kinds(h.events()); !slices.Equal(k, []string{"request"}) {
		t.Fatalf("late retransmission after J: events %v", k)
	}
}

func TestNonInviteServerReliable(t *testing.T) {
	h := newHarness(t, transport.TCP)
	h.respond = func(tx *ServerTx, _ *sip.Message) { tx.Respond(tx.NewResponse(200, "")) }
	h.inject(peerRequest(t, transport.TCP, "OPTIONS", "z9hG4bKo1", "c1", 1, ""))
	tx := lastTx(t, h.events())
	if tx.State() != Terminated {
		t.Fatalf("state %v, want Terminated (J = 0)", tx.State())
	}
	h.assertIdle()
}

// INVITE server rejected (§17.2.1): automatic 100, provisional resent on
// retransmission, G doubles to T2, ACK lost so H fires (ErrNoACK).
func TestInviteServerLostACKTimerH(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKi1", "c1", 1, ""))
	tx := lastTx(t, h.events())
	if tx.State() != Proceeding {
		t.Fatalf("state %v", tx.State())
	}
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"100"}) {
		t.Fatalf("sent %v, want 100", c)
	}
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKi1", "c1", 1, ""))
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"100"}) {
		t.Fatalf("retransmission answered with %v", c)
	}
	tx.Respond(tx.NewResponse(486, ""))
	if tx.State() != Completed {
		t.Fatalf("state %v", tx.State())
	}
	h.advance(31990 * time.Millisecond)
	w := h.wire.take()
	if got, want := times(w), durations(0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500); !equalDurations(got, want) {
		t.Fatalf("486 sent at %v, want %v", got, want)
	}
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKi1", "c1", 1, ""))
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"486"}) {
		t.Fatalf("retransmitted INVITE in Completed answered %v", c)
	}
	h.advance(10 * time.Millisecond)
	if k := kinds(h.events()); !slices.Equal(k, []string{"server-error:transaction: no ACK"}) {
		t.Fatalf("events %v", k)
	}
	h.assertIdle()
}

// ACK arrives: Confirmed absorbs further ACKs, Timer I terminates.
func TestInviteServerConfirmedTimerI(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKi2", "c2", 1, ""))
	tx := lastTx(t, h.events())
	tx.Respond(tx.NewResponse(404, ""))
	h.advance(600 * time.Millisecond) // the first 404 was lost; G resent it
	h.wire.take()
	ack := peerRequest(t, transport.UDP, "ACK", "z9hG4bKi2", "c2", 1, tx.ToTag())
	h.inject(ack)
	if tx.State() != Confirmed || !tx.Acked() {
		t.Fatalf("state %v", tx.State())
	}
	h.inject(peerRequest(t, transport.UDP, "ACK", "z9hG4bKi2", "c2", 1, tx.ToTag()))
	h.advance(4990 * time.Millisecond)
	if n := len(h.wire.take()); n != 0 {
		t.Fatalf("%d messages sent in Confirmed", n)
	}
	if tx.State() != Confirmed {
		t.Fatalf("state %v before Timer I", tx.State())
	}
	h.advance(10 * time.Millisecond)
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer I", tx.State())
	}
	if len(h.events()) != 0 {
		t.Fatal("ACK for a non-2xx reached the TU")
	}
	h.assertIdle()
}

func TestInviteServerReliableACK(t *testing.T) {
	h := newHarness(t, transport.TCP)
	h.inject(peerRequest(t, transport.TCP, "INVITE", "z9hG4bKi3", "c3", 1, ""))
	tx := lastTx(t, h.events())
	tx.Respond(tx.NewResponse(603, ""))
	h.advance(10 * time.Second)
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"100", "603"}) {
		t.Fatalf("sent %v (no G over TCP)", c)
	}
	h.inject(peerRequest(t, transport.TCP, "ACK", "z9hG4bKi3", "c3", 1, tx.ToTag()))
	h.advance(10 * time.Millisecond) // I = 0
	if tx.State() != Terminated {
		t.Fatalf("state %v", tx.State())
	}
	h.assertIdle()
}

// 2xx (RFC 6026 §7.1): Accepted absorbs INVITE retransmissions, passes
// further 2xx from the TU, retransmits the 2xx (§13.3.1.4) until the ACK,
// which goes to the TU with the transaction; Timer L terminates.
func TestInviteServerAcceptedTimerL(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKi4", "c4", 1, ""))
	tx := lastTx(t, h.events())
	h.wire.take()
	tx.Respond(tx.NewResponse(200, ""))
	if tx.State() != Accepted {
		t.Fatalf("state %v", tx.State())
	}
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKi4", "c4", 1, ""))
	h.advance(1600 * time.Millisecond) // 200 lost twice: resent at 0.5 s, 1.5 s
	if got := times(h.wire.take()); !equalDurations(got, durations(0, 500, 1500)) {
		t.Fatalf("2xx sent at %v", got)
	}
	// The ACK for 2xx has its own branch.
	h.inject(peerRequest(t, transport.UDP, "ACK", "z9hG4bKack4", "c4", 1, tx.ToTag()))
	ev := h.events()
	if len(ev) != 1 || ev[0].kind != "ack" || ev[0].tx != tx {
		t.Fatalf("events %v, want ack with its transaction", kinds(ev))
	}
	h.advance(10 * time.Second)
	if n := len(h.wire.take()); n != 0 {
		t.Fatalf("%d 2xx retransmissions after ACK", n)
	}
	if err := tx.Respond(tx.NewResponse(200, "")); err != nil || len(h.wire.take()) != 1 {
		t.Fatalf("2xx from TU in Accepted: %v", err)
	}
	h.advance(20400 * time.Millisecond)
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer L", tx.State())
	}
	if len(h.events()) != 0 {
		t.Fatal("Timer L after ACK reported an error")
	}
	h.assertIdle()
	// An ACK matching nothing still reaches the TU.
	h.inject(peerRequest(t, transport.UDP, "ACK", "z9hG4bKack9", "c9", 1, "t"))
	ev = h.events()
	if len(ev) != 1 || ev[0].kind != "ack" || ev[0].tx != nil {
		t.Fatalf("events %v", kinds(ev))
	}
}

func TestInviteServer2xxNoACK(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKi5", "c5", 1, ""))
	tx := lastTx(t, h.events())
	tx.Respond(tx.NewResponse(200, ""))
	h.advance(32 * time.Second)
	if k := kinds(h.events()); !slices.Equal(k, []string{"server-error:transaction: no ACK"}) {
		t.Fatalf("events %v", k)
	}
	// 2xx resent at T1, 2T1, 4T1 capped at T2 (RFC 3261 §13.3.1.4).
	got := times(h.wire.take())
	want := durations(0, 0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500)
	if !equalDurations(got, want) {
		t.Fatalf("sent at %v, want %v (100 then 2xx)", got, want)
	}
	h.assertIdle()
}

// CANCEL (§9.2): 200 to the CANCEL with the INVITE's To tag, 487 to the
// INVITE when the TU has no Cancel hook; unmatched CANCEL gets 481.
func TestServerCancel(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKi6", "c6", 1, ""))
	tx := lastTx(t, h.events())
	tx.Respond(tx.NewResponse(180, ""))
	h.wire.take()
	h.inject(peerRequest(t, transport.UDP, "CANCEL", "z9hG4bKi6", "c6", 1, ""))
	w := h.wire.take()
	if c := codes(w); !slices.Equal(c, []string{"200", "487"}) {
		t.Fatalf("sent %v", c)
	}
	checkHeader(t, w[0].msg, "CSeq", "1 CANCEL")
	checkHeader(t, w[1].msg, "CSeq", "1 INVITE")
	to200, _ := w[0].msg.GetHeader("To")
	to487, _ := w[1].msg.GetHeader("To")
	if to200 != to487 {
		t.Fatalf("To of 200/CANCEL %q differs from 487 %q", to200, to487)
	}
	if !tx.Canceled() || tx.State() != Completed {
		t.Fatalf("canceled %v, state %v", tx.Canceled(), tx.State())
	}
	// A retransmitted CANCEL is absorbed by its own transaction: 200 again.
	h.inject(peerRequest(t, transport.UDP, "CANCEL", "z9hG4bKi6", "c6", 1, ""))
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"200"}) {
		t.Fatalf("sent %v", c)
	}
	h.inject(peerRequest(t, transport.UDP, "CANCEL", "z9hG4bKnone", "c7", 1, ""))
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"481"}) {
		t.Fatalf("sent %v", c)
	}
	if len(h.events()) != 0 {
		t.Fatal("CANCEL reached the request handler")
	}
}

// A forked request arriving twice by different paths (§8.2.2.2): 482.
func TestServerMergedRequest(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKpath1", "c8", 1, ""))
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKpath2", "c8", 1, ""))
	if k := kinds(h.events()); !slices.Equal(k, []string{"request"}) {
		t.Fatalf("events %v", k)
	}
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"100", "482"}) {
		t.Fatalf("sent %v", c)
	}
	if h.m.Stats().Merged != 1 {
		t.Fatal("merge not counted")
	}
	// With a To tag (in-dialog) the same identifiers are not a merge.
	h.inject(peerRequest(t, transport.UDP, "INFO", "z9hG4bKd1", "c9", 2, "x"))
	h.inject(peerRequest(t, transport.UDP, "INFO", "z9hG4bKd2", "c9", 2, "x"))
	if k := kinds(h.events()); !slices.Equal(k, []string{"request", "request"}) {
		t.Fatalf("events %v", k)
	}
}

// RFC 2543 peers (branch without magic cookie, §17.2.3): matching falls
// back to Request-URI, tags, Call-ID, CSeq and top Via.
func TestServerRFC2543Matching(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.inject(peerRequest(t, transport.UDP, "INVITE", "old1", "c10", 1, ""))
	tx := lastTx(t, h.events())
	h.inject(peerRequest(t, transport.UDP, "INVITE", "old1", "c10", 1, ""))
	if len(h.events()) != 0 {
		t.Fatal("RFC 2543 retransmission reached the TU")
	}
	tx.Respond(tx.NewResponse(480, ""))
	h.inject(peerRequest(t, transport.UDP, "ACK", "old1", "c10", 1, tx.ToTag()))
	if tx.State() != Confirmed {
		t.Fatalf("state %v, want Confirmed", tx.State())
	}
	// A different CSeq is a different transaction.
	h.inject(peerRequest(t, transport.UDP, "INVITE", "old1", "c10", 2, ""))
	if k := kinds(h.events()); !slices.Equal(k, []string{"request"}) {
		t.Fatalf("events %v", k)
	}
}

// A response that cannot be written terminates the server transaction and
// tells the TU.
func TestServerTransportError(t *testing.T) {
	h := newHarness(t, transport.TCP)
	h.inject(peerRequest(t, transport.TCP, "OPTIONS", "z9hG4bKe1", "c11", 1, ""))
	tx := lastTx(t, h.events())
	h.wire.err = errInjected
	if err := tx.Respond(tx.NewResponse(200, "")); err == nil {
		t.Fatal("Respond succeeded on a failing wire")
	}
	if tx.State() != Terminated {
		t.Fatalf("state %v", tx.State())
	}
	if k := kinds(h.events()); len(k) != 1 || k[0] != "server-error:"+errInjected.Error() {
		t.Fatalf("events %v", k)
	}
	h.assertIdle()
}

// A TU that never answers: the non-INVITE transaction ends after 64*T1
// without a late 408 (RFC 4320); the INVITE gets 408 after Timer C + 64*T1.
func TestServerGuard(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKg1", "g1", 1, ""))
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKg2", "g2", 1, ""))
	h.events()
	h.wire.take()
	h.advance(32 * time.Second)
	if k := kinds(h.events()); !slices.Equal(k, []string{"server-error:transaction: timeout"}) {
		t.Fatalf("events %v", k)
	}
	if n := len(h.wire.take()); n != 0 {
		t.Fatalf("%d messages sent for an unanswered non-INVITE", n)
	}
	h.advance(3 * time.Minute)
	if k := kinds(h.events()); !slices.Equal(k, []string{"server-error:transaction: timeout"}) {
		t.Fatalf("events %v", k)
	}
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"408"}) {
		t.Fatalf("sent %v, want 408", c)
	}
	h.inject(peerRequest(t, transport.UDP, "ACK", "z9hG4bKg2", "g2", 1, "x"))
	h.advance(10 * time.Second)
	h.assertIdle()
}

// With a Cancel hook the TU answers the INVITE itself.
func TestServerCancelHook(t *testing.T) {
	h := newHarness(t, transport.UDP)
	var got *ServerTx
	h.m.cfg.Hooks.Cancel = func(inv *ServerTx, c *sip.Message) {
		got = inv
		inv.Respond(inv.NewResponse(487, ""))
	}
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKch", "ch", 1, ""))
	tx := lastTx(t, h.events())
	h.wire.take()
	h.inject(peerRequest(t, transport.UDP, "CANCEL", "z9hG4bKch", "ch", 1, ""))
	if got != tx {
		t.Fatal("Cancel hook not called with the INVITE transaction")
	}
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"200", "487"}) {
		t.Fatalf("sent %v", c)
	}
	// A CANCEL after the final response gets 200 but changes nothing.
	got = nil
	h.inject(peerRequest(t, transport.UDP, "CANCEL", "z9hG4bKch", "ch", 1, ""))
	if got != nil {
		t.Fatal("Cancel hook called after the final response")
	}
}

// Beyond MaxServerTransactions new requests get a stateless 503 (RFC 3261
// §21.5.4); retransmissions of live ones are still absorbed.
func TestServerOverload(t *testing.T) {
	h := newHarness(t, transport.UDP)
	h.m.cfg.MaxServerTransactions = 2
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKo1", "o1", 1, ""))
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKo2", "o2", 1, ""))
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKo3", "o3", 1, ""))
	h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKo1", "o1", 1, ""))
	if k := kinds(h.events()); !slices.Equal(k, []string{"request", "request"}) {
		t.Fatalf("events %v", k)
	}
	w := h.wire.take()
	if c := codes(w); !slices.Equal(c, []string{"503"}) {
		t.Fatalf("sent %v", c)
	}
	checkHeader(t, w[0].msg, "Retry-After", "5")
	if h.m.Stats().Overload != 1 {
		t.Fatal("overload not counted")
	}
}

// TestTryingDelay: with Config.TryingDelay the INVITE server transaction
// sends 100 Trying only when the TU has said nothing by then (RFC 3261
// §17.2.1 lets it skip the 100 when the TU answers within 200 ms), and at
// once when the INVITE is retransmitted first.
func TestTryingDelay(t *testing.T) {
	codes := func(ws []wrote) []int {
		var c []int
		for _, w := range ws {
			c = append(c, w.msg.StatusCode)
		}
		return c
	}
	delay := func(c *Config) { c.TryingDelay = 200 * time.Millisecond }

	t.Run("answered in time: no 100", func(t *testing.T) {
		h := newHarness(t, transport.UDP, delay)
		h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKtd1", "td1", 1, ""))
		if got := h.wire.take(); len(got) != 0 {
			t.Fatalf("sent %v at once, want nothing before the delay", codes(got))
		}
		tx := h.events()[0].tx
		h.advance(50 * time.Millisecond)
		if err := tx.Respond(tx.NewResponse(180, "")); err != nil {
			t.Fatal(err)
		}
		h.advance(time.Second)
		if got := codes(h.wire.take()); len(got) != 1 || got[0] != 180 {
			t.Fatalf("sent %v, want only the TU's 180", got)
		}
		if n := h.m.Stats().TryingSent; n != 0 {
			t.Fatalf("TryingSent %d", n)
		}
	})
	t.Run("TU silent: 100 after the delay", func(t *testing.T) {
		h := newHarness(t, transport.UDP, delay)
		h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKtd2", "td2", 1, ""))
		h.advance(150 * time.Millisecond)
		if got := h.wire.take(); len(got) != 0 {
			t.Fatalf("sent %v before the delay", codes(got))
		}
		h.advance(100 * time.Millisecond)
		got := h.wire.take()
		if c := codes(got); len(c) != 1 || c[0] != 100 {
			t.Fatalf("sent %v, want one 100", c)
		}
		if got[0].at < 200*time.Millisecond {
			t.Fatalf("100 at %v, want at the delay", got[0].at)
		}
		// The 100 is what a retransmission now gets again.
		h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKtd2", "td2", 1, ""))
		if c := codes(h.wire.take()); len(c) != 1 || c[0] != 100 {
			t.Fatalf("retransmission answered %v, want the 100 again", c)
		}
	})
	t.Run("retransmitted first: 100 at once, once", func(t *testing.T) {
		h := newHarness(t, transport.UDP, delay)
		h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKtd3", "td3", 1, ""))
		h.advance(50 * time.Millisecond)
		h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKtd3", "td3", 1, ""))
		if c := codes(h.wire.take()); len(c) != 1 || c[0] != 100 {
			t.Fatalf("retransmission answered %v, want 100 at once", c)
		}
		h.advance(time.Second)
		if c := codes(h.wire.take()); len(c) != 0 {
			t.Fatalf("then sent %v, want nothing more", c)
		}
		if n := h.m.Stats().TryingSent; n != 1 {
			t.Fatalf("TryingSent %d, want 1", n)
		}
	})
}
