package transaction

import (
	"bytes"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

// watch reports, through the returned flag, when p becomes unreachable.
// A parsed message is one allocation with its input copy, and every header
// string views that copy: p is collected only when no string of the
// message survives anywhere either.
func watch[T any](p *T) *atomic.Bool {
	var gone atomic.Bool
	runtime.AddCleanup(p, func(g *atomic.Bool) { g.Store(true) }, &gone)
	return &gone
}

// collected runs the collector until the watched object is gone, at most
// 50 times (cleanups run on their own goroutine, so it yields between
// rounds).
func collected(gone *atomic.Bool) bool {
	for range 50 {
		runtime.GC()
		if gone.Load() {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// injectWatched injects a peer request and returns its server transaction
// and a watch on the request; the test keeps no reference to the request.
func injectWatched(t *testing.T, h *harness, method, branch string) (*ServerTx, *atomic.Bool) {
	t.Helper()
	req := peerRequest(t, h.tr, method, branch, "call-release", 1, "")
	gone := watch(req)
	h.inject(req)
	return lastTx(t, h.events()), gone
}

// sameHeaders checks that b carries a's Via, From, To, Call-ID and CSeq.
func sameHeaders(t *testing.T, a, b *sip.Message) {
	t.Helper()
	for _, name := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		if x, y := slices.Collect(a.HeaderLines(name)), slices.Collect(b.HeaderLines(name)); !slices.Equal(x, y) {
			t.Errorf("%s: %q, want %q", name, y, x)
		}
	}
}

// Non-INVITE server Completed (RFC 3261 §17.2.2): the request and its
// buffer are released; retransmissions are answered with the same bytes
// until Timer J; Method, CallID, ToTag and NewResponse keep working.
func TestReleaseNonInviteServerCompleted(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, gone := injectWatched(t, h, "MESSAGE", "z9hG4bKrel1")
	if tx.Request() == nil {
		t.Fatal("request released in Trying")
	}
	tag := tx.ToTag()
	if err := tx.Respond(tx.NewResponse(200, "")); err != nil {
		t.Fatal(err)
	}
	first := h.wire.take()
	if tx.State() != Completed || tx.Request() != nil {
		t.Fatalf("state %v, request %v: want Completed and released", tx.State(), tx.Request())
	}
	if !collected(gone) {
		t.Fatal("the request is still reachable from the Completed transaction")
	}
	if tx.Method() != "MESSAGE" || tx.CallID() != "call-release" || tx.ToTag() != tag {
		t.Fatalf("method %q, Call-ID %q, To tag %q (want %q)", tx.Method(), tx.CallID(), tx.ToTag(), tag)
	}
	for i := range 3 {
		h.advance(5 * time.Second)
		h.inject(peerRequest(t, transport.UDP, "MESSAGE", "z9hG4bKrel1", "call-release", 1, ""))
		w := h.wire.take()
		if len(w) != 1 || w[0].msg.String() != first[0].msg.String() || w[0].sink != first[0].sink {
			t.Fatalf("retransmission %d answered with %v, want the 200 again", i, codes(w))
		}
	}
	if len(h.events()) != 0 {
		t.Fatal("the TU saw a retransmission")
	}
	// A response built after the release has the request's identity, and
	// Completed refuses it as before.
	sameHeaders(t, first[0].msg, tx.NewResponse(202, ""))
	if err := tx.Respond(tx.NewResponse(202, "")); err != ErrState {
		t.Fatalf("second final response: %v, want ErrState", err)
	}
	h.advance(17 * time.Second) // J = 64*T1 from Completed at 0
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer J", tx.State())
	}
	h.assertIdle()
}

// INVITE server Completed and Confirmed (RFC 3261 §17.2.1): released on the
// non-2xx final; Timer G retransmits the same bytes, a retransmitted
// INVITE gets them too, the ACK confirms, a retransmitted ACK is absorbed,
// Timer I ends it.
func TestReleaseInviteServerCompletedConfirmed(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, gone := injectWatched(t, h, "INVITE", "z9hG4bKrel2")
	h.wire.take() // 100 Trying
	tx.Respond(tx.NewResponse(486, ""))
	first := h.wire.take()
	if tx.State() != Completed || tx.Request() != nil {
		t.Fatalf("state %v, request %v: want Completed and released", tx.State(), tx.Request())
	}
	if !collected(gone) {
		t.Fatal("the request is still reachable from the Completed transaction")
	}
	h.advance(1600 * time.Millisecond) // G at 500 and 1500 ms
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKrel2", "call-release", 1, ""))
	w := h.wire.take()
	if got, want := times(w), durations(500, 1500, 1600); !equalDurations(got, want) {
		t.Fatalf("486 sent at %v, want %v", got, want)
	}
	for _, x := range w {
		if x.msg.String() != first[0].msg.String() {
			t.Fatalf("resent\n%s\nwant\n%s", x.msg, first[0].msg)
		}
	}
	ack := peerRequest(t, transport.UDP, "ACK", "z9hG4bKrel2", "call-release", 1, tx.ToTag())
	h.inject(ack)
	h.inject(ack)
	if tx.State() != Confirmed || len(h.events()) != 0 {
		t.Fatalf("state %v after ACK, want Confirmed with nothing for the TU", tx.State())
	}
	h.advance(10 * time.Second)
	if len(h.wire.take()) != 0 || tx.State() != Terminated {
		t.Fatalf("state %v after Timer I, or G still running", tx.State())
	}
	if st := h.m.Stats(); st.Absorbed != 2 {
		t.Fatalf("%d absorbed, want 2 (INVITE and ACK retransmissions)", st.Absorbed)
	}
	h.assertIdle()
}

// INVITE server Accepted (RFC 6026 §7.1): released on the 2xx; the 2xx is
// retransmitted with the same bytes until the ACK (RFC 3261 §13.3.1.4), a
// retransmitted INVITE is absorbed, a further 2xx from the TU is built and
// sent as before, the ACK goes to the TU with the transaction, and Timer L
// ends it. Without the ACK, Hooks.ServerError still gets Method and CallID.
func TestReleaseInviteServerAccepted(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, gone := injectWatched(t, h, "INVITE", "z9hG4bKrel3")
	h.wire.take()
	r := tx.NewResponse(200, "")
	r.AddHeader("Contact", "<sip:bob@192.0.2.1>")
	r.SetBody("application/sdp", []byte(lingerSDP))
	tx.Respond(r)
	first := h.wire.take()
	if tx.State() != Accepted || tx.Request() != nil {
		t.Fatalf("state %v, request %v: want Accepted and released", tx.State(), tx.Request())
	}
	if !collected(gone) {
		t.Fatal("the request is still reachable from the Accepted transaction")
	}
	h.advance(1600 * time.Millisecond)
	h.inject(peerRequest(t, transport.UDP, "INVITE", "z9hG4bKrel3", "call-release", 1, ""))
	w := h.wire.take()
	if got, want := times(w), durations(500, 1500); !equalDurations(got, want) {
		t.Fatalf("2xx sent at %v, want %v (the retransmitted INVITE absorbed)", got, want)
	}
	for _, x := range w {
		if x.msg.String() != first[0].msg.String() {
			t.Fatalf("resent\n%s\nwant\n%s", x.msg, first[0].msg)
		}
	}
	// RFC 6026 §7.1: a further 2xx from the TU, built after the release.
	again := tx.NewResponse(200, "")
	sameHeaders(t, first[0].msg, again)
	if err := tx.Respond(again); err != nil {
		t.Fatal(err)
	}
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"200"}) {
		t.Fatalf("further 2xx: sent %v", c)
	}
	h.inject(peerRequest(t, transport.UDP, "ACK", "z9hG4bKrel3-ack", "call-release", 1, tx.ToTag()))
	ev := h.events()
	if k := kinds(ev); !slices.Equal(k, []string{"ack"}) || ev[0].tx != tx {
		t.Fatalf("events %v, want the ACK for the TU with its transaction", k)
	}
	if !tx.Acked() {
		t.Fatal("ACK not matched")
	}
	h.advance(40 * time.Second)
	if len(h.wire.take()) != 0 || tx.State() != Terminated || len(h.events()) != 0 {
		t.Fatalf("after Timer L: state %v", tx.State())
	}
	h.assertIdle()

	// No ACK: Timer L reports ErrNoACK on the released transaction.
	tx, _ = injectWatched(t, h, "INVITE", "z9hG4bKrel4")
	tx.Respond(tx.NewResponse(200, ""))
	h.advance(33 * time.Second)
	ev = h.events()
	if k := kinds(ev); !slices.Equal(k, []string{"server-error:" + ErrNoACK.Error()}) {
		t.Fatalf("events %v", k)
	}
	if e := ev[0].tx; e.Method() != "INVITE" || e.CallID() != "call-release" || e.ToTag() == "" || e.Request() != nil {
		t.Fatalf("ServerError got method %q, Call-ID %q, To tag %q", e.Method(), e.CallID(), e.ToTag())
	}
}

// ourWatched starts a client transaction for a request the test drops; it
// returns the transaction, the request as sent (parsed back from the
// wire) and watches on the request and on what the callback captures.
func ourWatched(t *testing.T, h *harness, method string) (*ClientTx, *sip.Message, *atomic.Bool, *atomic.Bool) {
	t.Helper()
	req := ourRequest(t, method)
	tuState := new([256]byte) // what a TU's callback captures (its call)
	gone, tuGone := watch(req), watch(tuState)
	cb := h.clientCB()
	tx, err := h.m.RequestOn(h.flow(), req, func(tx *ClientTx, resp *sip.Message, err error) {
		tuState[0]++
		cb(tx, resp, err)
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx, h.wire.take()[0].msg, gone, tuGone
}

// Non-INVITE client Completed (RFC 3261 §17.1.2.2): the final response
// reaches the TU, then the request, its bytes and the callback are
// released; retransmitted responses are absorbed until Timer K.
func TestReleaseNonInviteClientCompleted(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, sent, gone, tuGone := ourWatched(t, h, "BYE")
	h.inject(reply(t, sent, 200, "t1"))
	ev := h.events()
	if k := kinds(ev); !slices.Equal(k, []string{"response:200"}) || ev[0].ctx != tx {
		t.Fatalf("events %v", k)
	}
	if tx.State() != Completed || tx.Request() != nil {
		t.Fatalf("state %v, request %v: want Completed and released", tx.State(), tx.Request())
	}
	if !collected(gone) || !collected(tuGone) {
		t.Fatalf("still reachable: request %v, callback %v", !gone.Load(), !tuGone.Load())
	}
	for range 3 {
		h.inject(reply(t, sent, 200, "t1"))
	}
	if len(h.events()) != 0 || len(h.wire.take()) != 0 {
		t.Fatal("a retransmitted response was not absorbed")
	}
	h.advance(5 * time.Second) // K = T4
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer K", tx.State())
	}
	h.assertIdle()
}

// INVITE client Completed (RFC 3261 §17.1.1.2): released on the non-2xx
// final after the ACK is built; each retransmitted final gets the same ACK
// bytes, nothing reaches the TU, Timer D ends it.
func TestReleaseInviteClientCompleted(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, sent, gone, tuGone := ourWatched(t, h, "INVITE")
	h.inject(reply(t, sent, 486, "t2"))
	ack := h.wire.take()
	if c := codes(ack); !slices.Equal(c, []string{"ACK"}) {
		t.Fatalf("sent %v, want ACK", c)
	}
	if k := kinds(h.events()); !slices.Equal(k, []string{"response:486"}) {
		t.Fatalf("events %v", k)
	}
	if tx.State() != Completed || tx.Request() != nil {
		t.Fatalf("state %v, request %v: want Completed and released", tx.State(), tx.Request())
	}
	if !collected(gone) || !collected(tuGone) {
		t.Fatalf("still reachable: request %v, callback %v", !gone.Load(), !tuGone.Load())
	}
	// RFC 3261 §17.1.1.3: the ACK carries the request's Route and top Via.
	if v, _ := ack[0].msg.GetHeader("Route"); v != "<sip:proxy.example.net;lr>" {
		t.Fatalf("ACK Route %q", v)
	}
	for range 3 {
		h.inject(reply(t, sent, 486, "t2"))
		w := h.wire.take()
		if len(w) != 1 || !bytes.Equal(w[0].msg.AppendTo(nil), ack[0].msg.AppendTo(nil)) || w[0].flow != ack[0].flow {
			t.Fatalf("retransmitted 486 answered with %v, want the same ACK", codes(w))
		}
	}
	if len(h.events()) != 0 {
		t.Fatal("the TU saw a retransmitted final response")
	}
	if err := tx.Cancel(nil); err != ErrNotCanceled {
		t.Fatalf("Cancel in Completed: %v", err)
	}
	h.advance(32 * time.Second) // Timer D
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer D", tx.State())
	}
	h.assertIdle()
}

// INVITE client Accepted (RFC 6026 §7.2): the request stays (the TU ACKs
// every 2xx retransmission with it, RFC 3261 §13.2.2.4) but its bytes go;
// every 2xx reaches the TU until Timer M.
func TestReleaseInviteClientAccepted(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, sent, _, _ := ourWatched(t, h, "INVITE")
	h.inject(reply(t, sent, 180, "t3"))
	tx.mu.Lock()
	wire := tx.wire
	tx.mu.Unlock()
	if wire != nil {
		t.Fatal("request bytes kept in Proceeding, where Timer A no longer runs")
	}
	h.inject(reply(t, sent, 200, "t3"))
	h.advance(10 * time.Second)
	h.inject(reply(t, sent, 200, "t3"))
	ev := h.events()
	if k := kinds(ev); !slices.Equal(k, []string{"response:180", "response:200", "response:200"}) {
		t.Fatalf("events %v", k)
	}
	if tx.State() != Accepted {
		t.Fatalf("state %v", tx.State())
	}
	req := tx.Request()
	if req == nil {
		t.Fatal("request released in Accepted: the TU cannot ACK a 2xx retransmission")
	}
	if cid, _ := req.GetHeader("Call-ID"); cid != "call-INVITE@sbc" {
		t.Fatalf("Request() Call-ID %q", cid)
	}
	if len(h.wire.take()) != 0 {
		t.Fatal("the transaction sent something for a 2xx (the ACK for a 2xx is the TU's)")
	}
	h.advance(22 * time.Second) // M = 64*T1 from Accepted at 0
	if tx.State() != Terminated || tx.Request() == nil {
		t.Fatalf("state %v after Timer M, request %v", tx.State(), tx.Request())
	}
	h.inject(reply(t, sent, 200, "t3"))
	if k := kinds(h.events()); !slices.Equal(k, []string{"stray:200"}) {
		t.Fatalf("2xx after Timer M: events %v", k)
	}
	h.assertIdle()
}
