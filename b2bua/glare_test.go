package b2bua

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// goUA is a minimal user agent on our own transaction layer for tests that
// need exact control of timing: it answers INVITEs (and re-INVITEs, after
// reinviteDelay) with 200 and SDP, other requests with 200, and records
// what it received.
type goUA struct {
	addr          netip.AddrPort
	mgr           *transaction.Manager
	reinviteDelay time.Duration

	mu       sync.Mutex
	dlg      *dialog      // the dialog of the call it answered (UAS side)
	inv      *sip.Message // the INVITE that created it
	received []string
}

func startGoUA(t *testing.T, ip netip.Addr, delay time.Duration) *goUA {
	t.Helper()
	ua := &goUA{addr: netip.AddrPortFrom(ip, freePort(t, ip)), reinviteDelay: delay}
	handler := transaction.HandlerFunc(func(tx *transaction.ServerTx, req *sip.Message) {
		ua.mu.Lock()
		ua.received = append(ua.received, req.Method)
		first := (req.Method == "INVITE" || req.Method == "SUBSCRIBE") && ua.dlg == nil
		if first {
			ua.dlg, _ = uasDialog(req, tx.ToTag())
			ua.inv = req
		}
		ua.mu.Unlock()
		answer := func() {
			r := tx.NewResponse(200, "")
			if req.Method == "INVITE" {
				r.AddHeader("Contact", "<sip:ua@"+ua.addr.String()+">")
				r.SetBody("application/sdp", []byte(fmt.Sprintf("v=0\r\no=ua 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n",
					ua.addr.Addr(), ua.addr.Addr())))
			}
			_ = tx.Respond(r)
		}
		if req.Method == "INVITE" && !first && ua.reinviteDelay > 0 {
			time.AfterFunc(ua.reinviteDelay, answer)
			return
		}
		answer()
	})
	mgr, layer, err := transaction.New(transaction.Config{Handler: handler, Logger: slog.New(slog.DiscardHandler)},
		transport.Config{Listeners: []transport.ListenerConfig{{Interface: "ua", Transport: transport.UDP, Addr: ua.addr}}})
	if err != nil {
		t.Fatal(err)
	}
	ua.mgr = mgr
	t.Cleanup(func() { mgr.Close(); layer.Close() })
	return ua
}

func (ua *goUA) got(method string) int {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	n := 0
	for _, m := range ua.received {
		if m == method {
			n++
		}
	}
	return n
}

const sdpOffer = "v=0\r\no=caller 1 1 IN IP4 127.0.0.10\r\ns=-\r\nc=IN IP4 127.0.0.10\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n"

// request sends req from ua to dest and waits for the final response.
func (ua *goUA) request(t *testing.T, dest netip.AddrPort, req *sip.Message) *sip.Message {
	t.Helper()
	done := make(chan *sip.Message, 1)
	_, err := ua.mgr.Request(context.Background(), req, transport.Target{Host: dest.Addr().String(), Port: dest.Port(), Transport: transport.UDP},
		func(_ *transaction.ClientTx, resp *sip.Message, err error) {
			if err != nil {
				done <- nil
				return
			}
			if resp.StatusCode >= 200 {
				select {
				case done <- resp:
				default:
				}
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r == nil {
			t.Fatalf("%s: transaction failed", req.Method)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no final response", req.Method)
		return nil
	}
}

// TestReinviteGlare: both sides send a re-INVITE at once. The SBC relays the
// caller's to the callee and, while that one is pending toward the callee,
// answers the callee's own re-INVITE with 491 (RFC 3261 §14.2); the
// caller's re-INVITE then completes.
func TestReinviteGlare(t *testing.T) {
	caller, callee, sb, aDlg := setupGoCall(t, 500*time.Millisecond)
	// Caller's re-INVITE (the callee holds its answer for 500 ms)...
	reinv := aDlg.request("INVITE", 0)
	reinv.AddHeader("Max-Forwards", "70")
	reinv.AddHeader("Contact", "<sip:caller@"+caller.addr.String()+">")
	reinv.SetBody("application/sdp", []byte(sdpOffer))
	callerDone := make(chan *sip.Message, 1)
	go func() { callerDone <- caller.request(t, sb.inside, reinv) }()
	deadline := time.Now().Add(5 * time.Second)
	for callee.got("INVITE") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// ...and meanwhile the callee's own re-INVITE toward the caller.
	callee.mu.Lock()
	bDlg := callee.dlg
	callee.mu.Unlock()
	if bDlg == nil {
		t.Fatal("callee has no dialog")
	}
	breinv := bDlg.request("INVITE", 0)
	breinv.AddHeader("Max-Forwards", "70")
	breinv.AddHeader("Contact", "<sip:ua@"+callee.addr.String()+">")
	breinv.SetBody("application/sdp", []byte(sdpOffer))
	if r := callee.request(t, sb.outside, breinv); r.StatusCode != 491 {
		t.Errorf("callee's glaring re-INVITE: %d, want 491", r.StatusCode)
	}
	if r := <-callerDone; r.StatusCode != 200 {
		t.Errorf("caller's re-INVITE: %d, want 200", r.StatusCode)
	}
	if n := caller.got("INVITE"); n != 0 {
		t.Errorf("the caller received %d INVITEs; the glaring one must not cross", n)
	}
}

// setupGoCall makes a call from a Go caller through the SBC to a Go callee
// and returns the caller's dialog.
func setupGoCall(t *testing.T, calleeDelay time.Duration) (caller, callee *goUA, sb *testSBC, aDlg *dialog) {
	t.Helper()
	callee = startGoUA(t, calleeIP, calleeDelay)
	caller = startGoUA(t, callerIP, 0)
	sb = startSBC(t, callee.addr.Port(), 1, 1)
	inv := sip.NewRequest("INVITE", "sip:4930111@"+sb.inside.String())
	inv.AddHeader("Max-Forwards", "70")
	inv.AddHeader("From", "<sip:caller@127.0.0.10>;tag=c1")
	inv.AddHeader("To", "<sip:4930111@127.0.0.1>")
	inv.AddHeader("Call-ID", "glare-1")
	inv.AddHeader("CSeq", "1 INVITE")
	inv.AddHeader("Contact", "<sip:caller@"+caller.addr.String()+">")
	inv.SetBody("application/sdp", []byte(sdpOffer))
	resp := caller.request(t, sb.inside, inv.Clone())
	if resp.StatusCode != 200 {
		t.Fatalf("call: %d", resp.StatusCode)
	}
	aDlg = uacDialog("glare-1", "c1", "<sip:caller@127.0.0.10>", "<sip:4930111@127.0.0.1>", 1)
	if err := aDlg.fromResponse(resp); err != nil {
		t.Fatal(err)
	}
	ack := aDlg.request("ACK", 1)
	ack.PrependHeader("Via", "SIP/2.0/UDP "+caller.addr.String()+";branch="+NewBranch())
	ack.AddHeader("Max-Forwards", "70")
	if _, err := caller.mgr.Send(context.Background(), ack, transport.Target{Host: "127.0.0.1", Port: sb.inside.Port(), Transport: transport.UDP}); err != nil {
		t.Fatal(err)
	}
	return caller, callee, sb, aDlg
}

// TestInDialogReferNotifySubscribe: REFER, NOTIFY and SUBSCRIBE inside a
// call cross the SBC in both directions; REFER's Refer-To names the SBC
// (the transfer comes back through it), never the referrer's network.
func TestInDialogReferNotifySubscribe(t *testing.T) {
	caller, callee, sb, aDlg := setupGoCall(t, 0)
	refer := aDlg.request("REFER", 0)
	refer.AddHeader("Max-Forwards", "70")
	refer.AddHeader("Contact", "<sip:caller@"+caller.addr.String()+">")
	refer.AddHeader("Refer-To", "<sip:+4940999@pbx.inside.example;user=phone>")
	refer.AddHeader("Referred-By", "<sip:caller@pbx.inside.example>")
	if r := caller.request(t, sb.inside, refer); r.StatusCode != 200 {
		t.Fatalf("REFER: %d", r.StatusCode)
	}
	sub := aDlg.request("SUBSCRIBE", 0)
	sub.AddHeader("Max-Forwards", "70")
	sub.AddHeader("Contact", "<sip:caller@"+caller.addr.String()+">")
	sub.AddHeader("Event", "dialog")
	sub.AddHeader("Expires", "60")
	if r := caller.request(t, sb.inside, sub); r.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", r.StatusCode)
	}
	callee.mu.Lock()
	bDlg := callee.dlg
	callee.mu.Unlock()
	notify := bDlg.request("NOTIFY", 0)
	notify.AddHeader("Max-Forwards", "70")
	notify.AddHeader("Contact", "<sip:ua@"+callee.addr.String()+">")
	notify.AddHeader("Event", "refer")
	notify.AddHeader("Subscription-State", "active;expires=60")
	notify.SetBody("message/sipfrag", []byte("SIP/2.0 200 OK\r\n"))
	if r := callee.request(t, sb.outside, notify); r.StatusCode != 200 {
		t.Fatalf("NOTIFY: %d", r.StatusCode)
	}
	if callee.got("REFER") != 1 || callee.got("SUBSCRIBE") != 1 || caller.got("NOTIFY") != 1 {
		t.Errorf("relayed: REFER %d, SUBSCRIBE %d to the callee; NOTIFY %d to the caller; want 1 each",
			callee.got("REFER"), callee.got("SUBSCRIBE"), caller.got("NOTIFY"))
	}
	for _, m := range sb.cap.all("outside") {
		if strings.HasPrefix(m, "REFER ") {
			if !strings.Contains(m, "Refer-To: <sip:+4940999@127.0.0.2:") || strings.Contains(m, "pbx.inside.example") {
				t.Errorf("REFER on the outside leaks or misses the SBC's Refer-To:\n%s", m)
			}
		}
	}
	sb.checkNoLeaks(t)
}

// TestOutOfDialogSubscribeAndMessage: an out-of-dialog SUBSCRIBE creates a
// dialog pair (without media) through which the callee's NOTIFY reaches the
// subscriber; an out-of-dialog MESSAGE is relayed as a single transaction.
// Both are routed by policy like a call.
func TestOutOfDialogSubscribeAndMessage(t *testing.T) {
	callee := startGoUA(t, calleeIP, 0)
	caller := startGoUA(t, callerIP, 0)
	sb := startSBC(t, callee.addr.Port(), 1, 1)

	sub := sip.NewRequest("SUBSCRIBE", "sip:4930111@"+sb.inside.String())
	sub.AddHeader("Max-Forwards", "70")
	sub.AddHeader("From", "<sip:watcher@127.0.0.10>;tag=w1")
	sub.AddHeader("To", "<sip:4930111@127.0.0.1>")
	sub.AddHeader("Call-ID", "sub-1")
	sub.AddHeader("CSeq", "1 SUBSCRIBE")
	sub.AddHeader("Contact", "<sip:watcher@"+caller.addr.String()+">")
	sub.AddHeader("Event", "presence")
	sub.AddHeader("Expires", "60")
	if r := caller.request(t, sb.inside, sub); r.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", r.StatusCode)
	}
	if n := callee.got("SUBSCRIBE"); n != 1 {
		t.Fatalf("callee got %d SUBSCRIBEs", n)
	}
	// The notifier's NOTIFY in the subscription's dialog (RFC 6665 §4.2.1).
	callee.mu.Lock()
	bDlg := callee.dlg
	callee.mu.Unlock()
	if bDlg == nil {
		t.Fatal("callee recorded no dialog for the SUBSCRIBE")
	}
	notify := bDlg.request("NOTIFY", 0)
	notify.AddHeader("Max-Forwards", "70")
	notify.AddHeader("Contact", "<sip:ua@"+callee.addr.String()+">")
	notify.AddHeader("Event", "presence")
	notify.AddHeader("Subscription-State", "active;expires=60")
	notify.SetBody("application/pidf+xml", []byte("<presence/>"))
	if r := callee.request(t, sb.outside, notify); r.StatusCode != 200 {
		t.Fatalf("NOTIFY: %d", r.StatusCode)
	}
	if n := caller.got("NOTIFY"); n != 1 {
		t.Errorf("subscriber got %d NOTIFYs, want 1", n)
	}
	// A final NOTIFY (terminated) ends the dialog pair.
	final := bDlg.request("NOTIFY", 0)
	final.AddHeader("Max-Forwards", "70")
	final.AddHeader("Event", "presence")
	final.AddHeader("Subscription-State", "terminated;reason=timeout")
	if r := callee.request(t, sb.outside, final); r.StatusCode != 200 {
		t.Fatalf("final NOTIFY: %d", r.StatusCode)
	}
	deadline := time.Now().Add(3 * time.Second)
	for sb.srv.Dialogs() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := sb.srv.Dialogs(); n != 0 {
		t.Errorf("%d dialogs left after the subscription terminated", n)
	}

	msg := sip.NewRequest("MESSAGE", "sip:4930111@"+sb.inside.String())
	msg.AddHeader("Max-Forwards", "70")
	msg.AddHeader("From", "<sip:watcher@127.0.0.10>;tag=m1")
	msg.AddHeader("To", "<sip:4930111@127.0.0.1>")
	msg.AddHeader("Call-ID", "msg-1")
	msg.AddHeader("CSeq", "1 MESSAGE")
	msg.SetBody("text/plain", []byte("hello"))
	if r := caller.request(t, sb.inside, msg); r.StatusCode != 200 {
		t.Fatalf("MESSAGE: %d", r.StatusCode)
	}
	if n := callee.got("MESSAGE"); n != 1 {
		t.Errorf("callee got %d MESSAGEs", n)
	}
	sb.checkNoLeaks(t)
}
