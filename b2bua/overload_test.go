package b2bua

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// TestOverloadRefusesStaleRequests: an out-of-dialog request that waited in
// the receive queue longer than MaxQueueDelay gets 503 with Retry-After and
// nothing else is done for it; the same request served in time is answered
// normally, and an in-dialog request is never refused for its age.
func TestOverloadRefusesStaleRequests(t *testing.T) {
	pol, err := policy.LoadSources([]policy.Source{{Name: "p.hcl", Data: []byte(fmt.Sprintf(testPolicy, 5, 7, 9))}},
		policy.LoadOptions{Interfaces: []string{"inside", "outside"}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv, err := New(Config{Tx: placeholderTx{}, Policy: func() *policy.Policy { return pol }, Logger: log,
		MaxQueueDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	inside := netip.AddrPortFrom(sbcInsideIP, freePort(t, sbcInsideIP))
	mgr, layer, err := transaction.New(transaction.Config{Handler: srv, Hooks: srv.Hooks(), Logger: log},
		transport.Config{Listeners: []transport.ListenerConfig{{Interface: "inside", Transport: transport.UDP, Addr: inside}}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { mgr.Close(); layer.Close() }()
	srv.SetTx(mgr)
	srv.AddListeners(layer.Listeners())

	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	src := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	flow, err := layer.RequestFlow(transport.Dest{Transport: transport.UDP, Addr: src, Interface: "inside"})
	if err != nil {
		t.Fatal(err)
	}
	// deliver hands the transaction layer a request as the UDP reader
	// would, with the arrival time it had in the socket queue.
	deliver := func(method, toTag, branch string, age time.Duration) *sip.Message {
		t.Helper()
		to := "<sip:" + sbcInsideIP.String() + ">"
		if toTag != "" {
			to += ";tag=" + toTag
		}
		text := method + " sip:" + sbcInsideIP.String() + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + src.String() + ";branch=z9hG4bK" + branch + ";rport=" + strconv.Itoa(int(src.Port())) + ";received=127.0.0.1\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=p1\r\nTo: " + to + "\r\n" +
			"Call-ID: " + branch + "@example.com\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n"
		msg, err := sip.Parse([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		mgr.HandleMessage(transport.Inbound{Msg: msg, Source: src, Interface: "inside", Transport: transport.UDP,
			Flow: flow, Received: time.Now().Add(-age)})
		buf := make([]byte, 4096)
		peer.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("%s: no answer: %v", method, err)
		}
		resp, err := sip.Parse(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	r := deliver("OPTIONS", "", "stale1", 2*time.Second)
	if r.StatusCode != 503 {
		t.Fatalf("stale OPTIONS: %d %s, want 503", r.StatusCode, r.Reason)
	}
	ra, _ := r.GetHeader("Retry-After")
	if n, err := strconv.Atoi(ra); err != nil || n < 2 || n > 3 {
		t.Fatalf("Retry-After %q: want the queue's wait in whole seconds (2 or 3)", ra)
	}
	if got := srv.OverloadRefused(); got != 1 {
		t.Fatalf("OverloadRefused %d, want 1", got)
	}
	if r := deliver("OPTIONS", "", "fresh1", 0); r.StatusCode != 200 {
		t.Fatalf("fresh OPTIONS: %d %s, want 200", r.StatusCode, r.Reason)
	}
	// In dialog: served whatever its age (here: no such dialog, 481).
	if r := deliver("BYE", "x9", "stale2", 2*time.Second); r.StatusCode != 481 {
		t.Fatalf("stale in-dialog BYE: %d %s, want 481 (never refused for overload)", r.StatusCode, r.Reason)
	}
	if got := srv.OverloadRefused(); got != 1 {
		t.Fatalf("OverloadRefused %d after in-dialog request, want still 1", got)
	}
}
