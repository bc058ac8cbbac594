package b2bua

import (
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

// TestEndedCallCollectedAndLate2xxAnswered: once a call has ended its
// memory goes, although the B-leg INVITE client transaction lingers in
// Accepted until Timer M (64*T1, RFC 6026 §7.2) with its callback; and a
// 2xx retransmission arriving in that time is still ACKed and the dialog
// it would re-create is ended with BYE (RFC 3261 §13.2.2.4, §15).
func TestEndedCallCollectedAndLate2xxAnswered(t *testing.T) {
	caller, callee, sb, aDlg := setupGoCall(t, 0)
	var w weak.Pointer[Call]
	sb.srv.calls.Range(func(_, v any) bool { w = weak.Make(v.(*Call)); return false })
	if w.Value() == nil {
		t.Fatal("no call in progress")
	}
	bye := aDlg.request("BYE", 0)
	bye.AddHeader("Max-Forwards", "70")
	if r := caller.request(t, sb.inside, bye); r.StatusCode != 200 {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for (sb.srv.ActiveCalls() != 0 || callee.got("BYE") != 1) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := callee.got("BYE"); n != 1 || sb.srv.ActiveCalls() != 0 {
		t.Fatalf("after BYE: callee got %d BYEs, %d calls active", n, sb.srv.ActiveCalls())
	}
	for i := 0; i < 5 && w.Value() != nil; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if w.Value() != nil {
		t.Fatal("the ended call is still in memory (held by its B-leg INVITE transaction's callback?)")
	}

	// The callee's 2xx again, as a retransmission would bring it.
	callee.mu.Lock()
	inv, tag := callee.inv, callee.dlg.localTag
	callee.mu.Unlock()
	ok := sip.NewResponse(inv, 200, "")
	transport.AddToTag(ok, tag)
	ok.AddHeader("Contact", "<sip:ua@"+callee.addr.String()+">")
	ok.SetBody("application/sdp", []byte(fmt.Sprintf("v=0\r\no=ua 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n",
		callee.addr.Addr(), callee.addr.Addr())))
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(sb.outside))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(ok.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for callee.got("BYE") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := callee.got("BYE"); n != 2 {
		t.Fatalf("late 2xx: callee got %d BYEs, want a second one from the SBC", n)
	}
}
