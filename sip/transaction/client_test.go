package transaction

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

// Lost request, every retransmission lost too: Timer E doubles to T2, Timer
// F ends it with a timeout (RFC 3261 §17.1.2.2).
func TestNonInviteClientTimerEAndF(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, err := h.m.RequestOn(h.flow(), ourRequest(t, "OPTIONS"), h.clientCB())
	if err != nil {
		t.Fatal(err)
	}
	if tx.State() != Trying {
		t.Fatalf("state %v, want Trying", tx.State())
	}
	h.advance(31999 * time.Millisecond)
	got := times(h.wire.take())
	want := durations(0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500)
	if !equalDurations(got, want) {
		t.Fatalf("sent at %v, want %v", got, want)
	}
	if len(h.events()) != 0 || tx.State() != Trying {
		t.Fatal("transaction ended before Timer F")
	}
	h.advance(time.Millisecond)
	ev := h.events()
	if k := kinds(ev); !slices.Equal(k, []string{"response:transaction: timeout"}) {
		t.Fatalf("events %v", k)
	}
	if tx.State() != Terminated {
		t.Fatalf("state %v, want Terminated", tx.State())
	}
	h.assertIdle()
}

// A provisional response moves to Proceeding where E fires every T2; the
// final response moves to Completed, retransmitted finals are absorbed, and
// Timer K (T4) terminates.
func TestNonInviteClientProceedingCompletedK(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, err := h.m.RequestOn(h.flow(), ourRequest(t, "MESSAGE"), h.clientCB())
	if err != nil {
		t.Fatal(err)
	}
	req := h.wire.take()[0].msg
	h.advance(600 * time.Millisecond) // one retransmission (the first copy was lost)
	h.inject(reply(t, req, 100, ""))
	if tx.State() != Proceeding {
		t.Fatalf("state %v, want Proceeding", tx.State())
	}
	h.wire.take()
	h.advance(10 * time.Second) // E was armed for 1 s at 500 ms, then T2 from 1.5 s
	got := times(h.wire.take())
	want := durations(1500, 5500, 9500)
	if !equalDurations(got, want) {
		t.Fatalf("Proceeding retransmissions at %v, want %v", got, want)
	}
	h.inject(reply(t, req, 200, "peer"))
	if tx.State() != Completed {
		t.Fatalf("state %v, want Completed", tx.State())
	}
	h.inject(reply(t, req, 200, "peer")) // late retransmission: absorbed
	if k := kinds(h.events()); !slices.Equal(k, []string{"response:100", "response:200"}) {
		t.Fatalf("events %v", k)
	}
	h.advance(10 * time.Second)
	if len(h.wire.take()) != 0 {
		t.Fatal("retransmitted in Completed")
	}
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer K, want Terminated", tx.State())
	}
	h.assertIdle()
	h.inject(reply(t, req, 200, "peer")) // after K: stray
	if k := kinds(h.events()); !slices.Equal(k, []string{"stray:200"}) {
		t.Fatalf("events %v", k)
	}
}

func TestNonInviteClientKExact(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, _ := h.m.RequestOn(h.flow(), ourRequest(t, "OPTIONS"), h.clientCB())
	req := h.wire.take()[0].msg
	h.inject(reply(t, req, 404, "x"))
	h.advance(4999 * time.Millisecond)
	if tx.State() != Completed {
		t.Fatalf("state %v before T4, want Completed", tx.State())
	}
	h.advance(time.Millisecond)
	if tx.State() != Terminated {
		t.Fatalf("state %v at T4, want Terminated", tx.State())
	}
}

// On a reliable transport: no retransmission, and Completed lasts zero.
func TestNonInviteClientReliable(t *testing.T) {
	h := newHarness(t, transport.TCP)
	tx, _ := h.m.RequestOn(h.flow(), ourRequest(t, "OPTIONS"), h.clientCB())
	req := h.wire.take()[0].msg
	h.advance(20 * time.Second)
	if n := len(h.wire.take()); n != 0 {
		t.Fatalf("%d retransmissions over TCP", n)
	}
	h.inject(reply(t, req, 200, "x"))
	if tx.State() != Terminated {
		t.Fatalf("state %v, want Terminated (Timer K = 0)", tx.State())
	}
	h.assertIdle()
	// Timer F still applies over TCP.
	tx, _ = h.m.RequestOn(h.flow(), ourRequest(t, "OPTIONS"), h.clientCB())
	h.events()
	h.advance(32 * time.Second)
	if k := kinds(h.events()); !slices.Equal(k, []string{"response:transaction: timeout"}) {
		t.Fatalf("events %v", k)
	}
}

// INVITE: Timer A doubles without cap, Timer B times out (§17.1.1.2).
func TestInviteClientTimerAAndB(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, _ := h.m.RequestOn(h.flow(), ourRequest(t, "INVITE"), h.clientCB())
	if tx.State() != Calling {
		t.Fatalf("state %v, want Calling", tx.State())
	}
	h.advance(31999 * time.Millisecond)
	got := times(h.wire.take())
	if want := durations(0, 500, 1500, 3500, 7500, 15500, 31500); !equalDurations(got, want) {
		t.Fatalf("sent at %v, want %v", got, want)
	}
	h.advance(time.Millisecond)
	if k := kinds(h.events()); !slices.Equal(k, []string{"response:transaction: timeout"}) {
		t.Fatalf("events %v", k)
	}
	h.assertIdle()
}

// INVITE rejected: Proceeding stops retransmission, the non-2xx final is
// ACKed by the transaction (§17.1.1.3), retransmitted finals are ACKed again
// and absorbed, Timer D terminates.
func TestInviteClientNon2xxACKAndTimerD(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, _ := h.m.RequestOn(h.flow(), ourRequest(t, "INVITE"), h.clientCB())
	req := h.wire.take()[0].msg
	h.inject(reply(t, req, 180, "callee"))
	if tx.State() != Proceeding {
		t.Fatalf("state %v", tx.State())
	}
	h.advance(5 * time.Second)
	if n := len(h.wire.take()); n != 0 {
		t.Fatalf("%d retransmissions in Proceeding", n)
	}
	h.inject(reply(t, req, 486, "callee"))
	if tx.State() != Completed {
		t.Fatalf("state %v, want Completed", tx.State())
	}
	w := h.wire.take()
	if len(w) != 1 || w[0].msg.Method != "ACK" {
		t.Fatalf("sent %v, want one ACK", codes(w))
	}
	ack := w[0].msg
	checkHeader(t, ack, "CSeq", "7 ACK")
	checkHeader(t, ack, "To", "<sip:bob@example.net>;tag=callee")
	checkHeader(t, ack, "Route", "<sip:proxy.example.net;lr>")
	if ack.RequestURI != req.RequestURI {
		t.Fatalf("ACK Request-URI %q", ack.RequestURI)
	}
	v1, _, _, _ := transport.TopVia(ack)
	v2, _, _, _ := transport.TopVia(req)
	if v1.Branch() != v2.Branch() || ack.HeaderCount("Via") != 1 {
		t.Fatalf("ACK Via %v, request Via %v", v1, v2)
	}
	h.inject(reply(t, req, 486, "callee")) // the ACK was lost: the final comes again
	if w := h.wire.take(); len(w) != 1 || w[0].msg.Method != "ACK" {
		t.Fatalf("sent %v on retransmitted final, want ACK", codes(w))
	}
	if k := kinds(h.events()); !slices.Equal(k, []string{"response:180", "response:486"}) {
		t.Fatalf("events %v", k)
	}
	h.advance(31990 * time.Millisecond)
	if tx.State() != Completed {
		t.Fatalf("state %v before Timer D", tx.State())
	}
	h.advance(10 * time.Millisecond)
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer D", tx.State())
	}
	h.assertIdle()
}

// INVITE accepted (RFC 6026 §7.2): Accepted passes every 2xx to the TU until
// Timer M; afterwards a 2xx is stray.
func TestInviteClientAcceptedTimerM(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, _ := h.m.RequestOn(h.flow(), ourRequest(t, "INVITE"), h.clientCB())
	req := h.wire.take()[0].msg
	h.inject(reply(t, req, 200, "a"))
	if tx.State() != Accepted {
		t.Fatalf("state %v, want Accepted", tx.State())
	}
	h.inject(reply(t, req, 200, "a")) // retransmission: to the TU, which ACKs
	h.inject(reply(t, req, 200, "b")) // another fork
	h.inject(reply(t, req, 180, "c")) // absorbed
	if k := kinds(h.events()); !slices.Equal(k, []string{"response:200", "response:200", "response:200"}) {
		t.Fatalf("events %v", k)
	}
	if n := len(h.wire.take()); n != 0 {
		t.Fatalf("transaction sent %d messages in Accepted (ACK for 2xx is the TU's)", n)
	}
	h.advance(32 * time.Second)
	if tx.State() != Terminated {
		t.Fatalf("state %v after Timer M", tx.State())
	}
	h.inject(reply(t, req, 200, "a"))
	if k := kinds(h.events()); !slices.Equal(k, []string{"stray:200"}) {
		t.Fatalf("events %v", k)
	}
	h.assertIdle()
}

// INVITE over TCP: no Timer A; a non-2xx final terminates at once (D = 0).
func TestInviteClientReliable(t *testing.T) {
	h := newHarness(t, transport.TCP)
	tx, _ := h.m.RequestOn(h.flow(), ourRequest(t, "INVITE"), h.clientCB())
	req := h.wire.take()[0].msg
	h.advance(10 * time.Second)
	if n := len(h.wire.take()); n != 0 {
		t.Fatalf("%d retransmissions over TCP", n)
	}
	h.inject(reply(t, req, 503, "x"))
	if w := h.wire.take(); len(w) != 1 || w[0].msg.Method != "ACK" {
		t.Fatalf("sent %v, want ACK", codes(w))
	}
	if tx.State() != Terminated {
		t.Fatalf("state %v, want Terminated", tx.State())
	}
	h.assertIdle()
}

// A transport error reported after the write (failed dial) terminates the
// transaction and informs the TU.
func TestClientTransportError(t *testing.T) {
	h := newHarness(t, transport.TCP)
	tx, _ := h.m.RequestOn(h.flow(), ourRequest(t, "OPTIONS"), h.clientCB())
	w := h.wire.take()
	w[0].sink.TransportError(w[0].flow, errInjected)
	if tx.State() != Terminated {
		t.Fatalf("state %v", tx.State())
	}
	ev := h.events()
	if len(ev) != 1 || ev[0].err == nil {
		t.Fatalf("events %v", kinds(ev))
	}
	h.assertIdle()
	// A synchronous write failure fails Request itself.
	h.wire.err = errInjected
	if _, err := h.m.RequestOn(h.flow(), ourRequest(t, "OPTIONS"), h.clientCB()); err == nil {
		t.Fatal("RequestOn succeeded on a failing wire")
	}
	h.assertIdle()
}

// Timer C caps Proceeding.
func TestInviteClientTimerC(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, _ := h.m.RequestOn(h.flow(), ourRequest(t, "INVITE"), h.clientCB())
	req := h.wire.take()[0].msg
	h.inject(reply(t, req, 180, "a"))
	h.advance(3*time.Minute - 10*time.Millisecond)
	if tx.State() != Proceeding {
		t.Fatalf("state %v", tx.State())
	}
	h.advance(10 * time.Millisecond)
	if k := kinds(h.events()); !slices.Equal(k, []string{"response:180", "response:transaction: timeout"}) {
		t.Fatalf("events %v", k)
	}
	h.assertIdle()
}

// CANCEL before any provisional response waits for one (§9.1); its
// request copies the INVITE's branch, Call-ID, tags and CSeq number.
func TestClientCancel(t *testing.T) {
	h := newHarness(t, transport.UDP)
	inv, _ := h.m.RequestOn(h.flow(), ourRequest(t, "INVITE"), h.clientCB())
	req := h.wire.take()[0].msg
	if err := inv.Cancel(h.clientCB()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.wire.take()); n != 0 {
		t.Fatal("CANCEL sent before a provisional response")
	}
	h.inject(reply(t, req, 183, "a"))
	w := h.wire.take()
	if len(w) != 1 || w[0].msg.Method != "CANCEL" {
		t.Fatalf("sent %v, want CANCEL", codes(w))
	}
	c := w[0].msg
	checkHeader(t, c, "CSeq", "7 CANCEL")
	checkHeader(t, c, "To", "<sip:bob@example.net>")
	vc, _, _, _ := transport.TopVia(c)
	vi, _, _, _ := transport.TopVia(req)
	if vc.Branch() != vi.Branch() {
		t.Fatal("CANCEL branch differs from INVITE's")
	}
	h.inject(reply(t, c, 200, "a"))
	h.inject(reply(t, req, 487, "a"))
	if k := kinds(h.events()); !slices.Equal(k, []string{"response:183", "response:200", "response:487"}) {
		t.Fatalf("events %v", k)
	}
	// After the final response CANCEL is refused.
	if err := inv.Cancel(nil); err == nil {
		t.Fatal("CANCEL accepted after final response")
	}
}

// Request resolves the target and fills in a Via with a magic-cookie branch
// and rport (RFC 3261 §8.1.1.7, RFC 3581 §3); ACK is refused.
func TestRequestResolvesAndFillsVia(t *testing.T) {
	h := newHarness(t, transport.UDP)
	tx, err := h.m.Request(context.Background(), ourRequest(t, "OPTIONS"), transport.Target{Host: "198.51.100.7", Port: 5070}, h.clientCB())
	if err != nil {
		t.Fatal(err)
	}
	w := h.wire.take()
	if len(w) != 1 || w[0].flow.Remote().String() != "198.51.100.7:5070" {
		t.Fatalf("sent %v", w)
	}
	via, _ := w[0].msg.GetHeader("Via")
	if !strings.HasPrefix(via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK") || !strings.HasSuffix(via, ";rport") {
		t.Fatalf("Via %q", via)
	}
	if tx.Flow() != w[0].flow {
		t.Fatal("Flow differs from the one written")
	}
	if _, err := h.m.RequestOn(h.flow(), ourRequest(t, "ACK"), nil); !errors.Is(err, ErrACK) {
		t.Fatalf("ACK: %v", err)
	}
	// A request with its own Via keeps it; reusing its branch is refused.
	r := ourRequest(t, "OPTIONS")
	r.PrependHeader("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKmine")
	if _, err := h.m.RequestOn(h.flow(), r, nil); err != nil {
		t.Fatal(err)
	}
	r2 := ourRequest(t, "OPTIONS")
	r2.PrependHeader("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKmine")
	if _, err := h.m.RequestOn(h.flow(), r2, nil); err == nil {
		t.Fatal("duplicate branch accepted")
	}
}

// CANCEL in Proceeding goes out at once; a final response before a pending
// CANCEL reports ErrNotCanceled.
func TestClientCancelProceedingAndTooLate(t *testing.T) {
	h := newHarness(t, transport.UDP)
	inv, _ := h.m.RequestOn(h.flow(), ourRequest(t, "INVITE"), h.clientCB())
	req := h.wire.take()[0].msg
	h.inject(reply(t, req, 180, "a"))
	if err := inv.Cancel(h.clientCB()); err != nil {
		t.Fatal(err)
	}
	if c := codes(h.wire.take()); !slices.Equal(c, []string{"CANCEL"}) {
		t.Fatalf("sent %v", c)
	}
	h2 := newHarness(t, transport.UDP)
	inv2, _ := h2.m.RequestOn(h2.flow(), ourRequest(t, "INVITE"), h2.clientCB())
	req2 := h2.wire.take()[0].msg
	inv2.Cancel(h2.clientCB())
	h2.inject(reply(t, req2, 200, "b"))
	if k := kinds(h2.events()); !slices.Equal(k, []string{"response:200", "response:" + ErrNotCanceled.Error()}) {
		t.Fatalf("events %v", k)
	}
	if c := codes(h2.wire.take()); len(c) != 0 {
		t.Fatalf("sent %v", c)
	}
}

// TestInviteRequestDetached: an INVITE client transaction, which keeps its
// request through Accepted (RFC 6026 §7.2), owns the request's bytes: a
// message the TU took header values from is not kept alive by it.
func TestInviteRequestDetached(t *testing.T) {
	h := newHarness(t, transport.UDP)
	src := ourRequest(t, "INVITE")
	req := sip.NewRequest(src.Method, src.RequestURI)
	for _, hd := range src.Headers {
		req.AddHeader(hd.Name, hd.Value)
	}
	w := weak.Make(src)
	src = nil
	tx, err := h.m.RequestOn(h.flow(), req, h.clientCB())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5 && w.Value() != nil; i++ {
		runtime.GC()
	}
	if w.Value() != nil {
		t.Fatal("the INVITE transaction keeps alive the message its request's values came from")
	}
	if tx.Request() == nil {
		t.Fatal("request dropped")
	}
}
