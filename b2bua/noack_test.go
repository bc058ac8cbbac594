package b2bua

import (
	"fmt"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
)

// TestCallerNeverACKs: the caller never ACKs the SBC's 2xx. Timer L
// (RFC 6026 §7.1, 64*T1) reports ErrNoACK on the A-leg INVITE transaction,
// which released its request when it sent the 2xx; the hook finds the call
// by the kept Call-ID and To tag and tears it down with a BYE to the callee
// (RFC 3261 §13.3.1.4).
func TestCallerNeverACKs(t *testing.T) {
	callee := startGoUA(t, calleeIP, 0)
	caller := startGoUA(t, callerIP, 0)
	const t1 = 20 * time.Millisecond // Timer L = 1.28 s
	sb := startSBCTx(t, fmt.Sprintf(testPolicy, callee.addr.Port(), 1, 1), func(c *transaction.Config) {
		c.T1, c.T2 = t1, 4*t1
	})
	inv := sip.NewRequest("INVITE", "sip:4930111@"+sb.inside.String())
	inv.AddHeader("Max-Forwards", "70")
	inv.AddHeader("From", "<sip:caller@127.0.0.10>;tag=c1")
	inv.AddHeader("To", "<sip:4930111@127.0.0.1>")
	inv.AddHeader("Call-ID", "noack-1")
	inv.AddHeader("CSeq", "1 INVITE")
	inv.AddHeader("Contact", "<sip:caller@"+caller.addr.String()+">")
	inv.SetBody("application/sdp", []byte(sdpOffer))
	if resp := caller.request(t, sb.inside, inv); resp.StatusCode != 200 {
		t.Fatalf("call: %d", resp.StatusCode)
	}
	if n := sb.srv.ActiveCalls(); n != 1 {
		t.Fatalf("%d active calls after the 2xx, want 1", n)
	}
	// No ACK. Bounded wait: Timer L plus the BYE's round trip.
	deadline := time.Now().Add(64*t1 + 5*time.Second)
	for callee.got("BYE") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if callee.got("BYE") != 1 {
		t.Fatalf("callee got %d BYE, want 1 after Timer L", callee.got("BYE"))
	}
	sb.waitIdle(t)
	cdrs := sb.cdr.list()
	if len(cdrs) != 1 || cdrs[0].Disposition != "failed" {
		t.Fatalf("CDRs %+v, want one failed call", cdrs)
	}
}
