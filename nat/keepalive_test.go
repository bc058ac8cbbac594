package nat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

func TestKeepaliveOptionsScheduleAndDrop(t *testing.T) {
	h := newHarness(t, testPolicy)
	up := h.registerAlice("ua-call-1")
	tok := mustContacts(t, up.req)[0].URI.User

	h.clock.Advance(19 * time.Second)
	if n := len(h.tx.takeKA()); n != 0 {
		t.Fatalf("%d keepalives before the 20 s interval", n)
	}
	h.clock.Advance(time.Second)
	ka := h.tx.takeKA()
	if len(ka) != 1 {
		t.Fatalf("%d keepalives at 20 s, want 1", len(ka))
	}
	k := ka[0]
	if k.req.Method != "OPTIONS" || k.req.RequestURI != "sip:alice@10.0.0.5:5060" {
		t.Errorf("keepalive %s %s", k.req.Method, k.req.RequestURI)
	}
	if k.flow.Remote() != uaPublic || k.flow.Transport() != transport.UDP {
		t.Errorf("keepalive flow %v, want the binding's (to %v)", k.flow, uaPublic)
	}
	if via, _ := k.req.TopVia(); via.Host != "203.0.113.1" {
		t.Errorf("keepalive Via %v, want the outside sent-by", via)
	}
	// Any final response is life (RFC 3261 §11.2), even 405.
	h.answer(k, 405)

	// Three failures in a row drop the binding: at 40, 60 s (timeouts)
	// and 80 s... but the binding expires at 70 s without refresh, so
	// refresh it to isolate the keepalive rule.
	for i := 0; i < 3; i++ {
		h.clock.Advance(20 * time.Second)
		ka := h.tx.takeKA()
		if len(ka) != 1 {
			t.Fatalf("round %d: %d keepalives", i, len(ka))
		}
		h.register(uaPublic, transport.UDP, "ua-call-1", 10+i, []string{aliceContact}, "Expires: 3600")
		if r := h.response(); r.StatusCode != 200 {
			t.Fatalf("refresh answered %d", r.StatusCode)
		}
		if _, ok := h.reg.Lookup(tok); !ok {
			t.Fatalf("binding dropped after %d failures", i)
		}
		ka[0].onResp(nil, nil, transaction.ErrTimeout)
	}
	if _, ok := h.reg.Lookup(tok); ok {
		t.Fatal("binding kept after 3 failed keepalives")
	}
	if st := h.reg.Stats(); st.DroppedByKeepalive != 1 || st.KeepalivesFailed != 3 || st.KeepalivesSent != 4 || st.AnsweredLocally != 3 {
		t.Errorf("Stats = %+v", st)
	}
	h.clock.Advance(time.Minute)
	if n := len(h.tx.takeKA()); n != 0 {
		t.Errorf("%d keepalives to a dropped binding", n)
	}
}

func TestKeepaliveFailureCountResets(t *testing.T) {
	h := newHarness(t, testPolicy)
	h.registerAlice("ua-call-1")
	fail := func() {
		h.clock.Advance(20 * time.Second)
		ka := h.tx.takeKA()
		if len(ka) != 1 {
			t.Fatalf("%d keepalives", len(ka))
		}
		ka[0].onResp(nil, nil, errors.New("transport: write failed"))
	}
	ok := func() {
		h.clock.Advance(20 * time.Second)
		ka := h.tx.takeKA()
		if len(ka) != 1 {
			t.Fatalf("%d keepalives", len(ka))
		}
		h.answer(ka[0], 200)
	}
	refresh := func(seq int) {
		h.register(uaPublic, transport.UDP, "ua-call-1", seq, []string{aliceContact})
		h.response()
	}
	fail()
	fail()
	refresh(2)
	ok() // resets the count
	fail()
	refresh(3)
	fail()
	if _, found := h.reg.Lookup("sip:alice@example.com"); !found {
		t.Fatal("binding dropped although failures were not consecutive")
	}
	refresh(4)
	fail()
	if _, found := h.reg.Lookup("sip:alice@example.com"); found {
		t.Fatal("binding kept after 3 consecutive failures")
	}
}

func TestNoKeepaliveWithoutNAT(t *testing.T) {
	h := newHarness(t, testPolicy)
	// Via and Contact agree with the source: not NATed, no keepalives.
	h.via = uaPublic.String()
	h.register(uaPublic, transport.UDP, "c", 1, []string{"<sip:alice@198.51.100.7:40000>"})
	h.echoOK(h.upstream(), 3600)
	h.response()
	b, ok := h.reg.Lookup("sip:alice@example.com")
	if !ok || b.NAT {
		t.Fatalf("binding %+v %v, want a non-NATed one", b, ok)
	}
	h.clock.Advance(50 * time.Second)
	if n := len(h.tx.takeKA()); n != 0 {
		t.Errorf("%d keepalives to a binding not behind NAT", n)
	}
	// The same UA now behind NAT (re-REGISTER from a private Via):
	// keepalives start.
	h.via = "10.0.0.5:5060"
	h.register(uaPublic, transport.UDP, "c", 2, []string{"<sip:alice@198.51.100.7:40000>"})
	h.response()
	h.clock.Advance(20 * time.Second)
	if n := len(h.tx.takeKA()); n != 1 {
		t.Errorf("%d keepalives after the UA went behind NAT, want 1", n)
	}
}

func TestKeepaliveCRLFOnStreams(t *testing.T) {
	pol := strings.Replace(testPolicy, `method   = "options"`, `method   = "crlf"`, 1)
	h := newHarness(t, pol)
	h.register(uaPublic, transport.TCP, "ua-call-1", 1, []string{"<sip:alice@10.0.0.5:5060;transport=tcp>"})
	h.echoOK(h.upstream(), 3600)
	if r := h.response(); r.StatusCode != 200 {
		t.Fatalf("UA got %d", r.StatusCode)
	}
	h.wire.mu.Lock()
	h.wire.raw = nil
	h.wire.mu.Unlock()
	h.clock.Advance(20 * time.Second)
	if n := len(h.tx.takeKA()); n != 0 {
		t.Errorf("%d OPTIONS on a stream with crlf keepalives", n)
	}
	h.wire.mu.Lock()
	raw := h.wire.raw
	h.wire.raw = nil
	h.wire.mu.Unlock()
	if len(raw) != 1 || string(raw[0]) != "\r\n\r\n" {
		t.Fatalf("wrote %q, want one RFC 5626 double-CRLF", raw)
	}
	// The connection is gone: writes fail, the binding is dropped after 3.
	h.wire.mu.Lock()
	h.wire.err = errors.New("transport: connection closed")
	h.wire.mu.Unlock()
	for i := 0; i < 3; i++ {
		if _, ok := h.reg.Lookup("sip:alice@example.com"); !ok {
			t.Fatalf("dropped after %d failures", i)
		}
		h.clock.Advance(20 * time.Second)
	}
	if _, ok := h.reg.Lookup("sip:alice@example.com"); ok {
		t.Fatal("binding kept on a dead connection")
	}
}

func TestKeepaliveCRLFOnUDPUsesOptions(t *testing.T) {
	pol := strings.Replace(testPolicy, `method   = "options"`, `method   = "crlf"`, 1)
	h := newHarness(t, pol)
	h.registerAlice("ua-call-1")
	h.clock.Advance(20 * time.Second)
	ka := h.tx.takeKA()
	if len(ka) != 1 || ka[0].req.Method != "OPTIONS" {
		t.Fatalf("UDP crlf keepalive: %d requests", len(ka))
	}
}
