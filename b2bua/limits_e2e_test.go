package b2bua

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
)

// TestTrunkLimitAnswers503: with one concurrent call allowed from the
// trunk, a second call while the first is up is refused with 503 and
// Retry-After (RFC 3261 §21.5.4), and the first call is untouched.
func TestTrunkLimitAnswers503(t *testing.T) {
	calleePort := freePort(t, calleeIP)
	sb := startSBCWith(t, fmt.Sprintf(`
trunk "pbx" {
  interface = "inside"
  match { sources = ["127.0.0.10"] }
  limits { calls_in = 1 }
}
trunk "carrier" {
  interface = "outside"
  match { sources = ["127.0.0.20"] }
  destination {
    host = "127.0.0.20"
    port = %d
  }
}
route "all" {
  trunks = ["carrier"]
}
`, calleePort))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	uas, uac := sipptest.Config{Scenario: sipptest.Scenario(t, "uas-load"), Role: sipptest.UAS,
		Local: netip.AddrPortFrom(calleeIP, calleePort), Calls: 1},
		sipptest.Config{Scenario: sipptest.Scenario(t, "uac-load"), Role: sipptest.UAC,
			Local: netip.AddrPortFrom(callerIP, 0), Remote: sb.inside, Calls: 1, CallDuration: 2 * time.Second, Service: "4930"}
	callee, err := sipptest.Start(ctx, t, uas)
	if err != nil {
		t.Fatal(err)
	}
	caller, err := sipptest.Start(ctx, t, uac)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sb.srv.ActiveCalls() != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	resp := exchange(t, sb.inside, `INVITE sip:4930@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKlimit
Max-Forwards: 70
From: <sip:a@127.0.0.10>;tag=l1
To: <sip:4930@127.0.0.1>
Call-ID: limit-1
CSeq: 1 INVITE
Contact: <sip:a@LOCAL>
Content-Length: 0

`)
	if resp.StatusCode != 503 {
		t.Errorf("second call: %d %s, want 503", resp.StatusCode, resp.Reason)
	}
	if ra, ok := resp.GetHeader("Retry-After"); !ok || ra == "0" {
		t.Errorf("503 Retry-After = %q", ra)
	}
	for _, p := range []*sipptest.Process{caller, callee} {
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res.ExpectCalls(t, 1)
	}
	sb.waitIdle(t)
	if got := sb.srv.Limiter().Active("pbx", Inbound); got != 0 {
		t.Errorf("limiter still counts %d calls", got)
	}
}
