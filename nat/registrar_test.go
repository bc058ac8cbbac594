package nat

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

const aliceContact = "<sip:alice@10.0.0.5:5060>"

// registerAlice runs a first REGISTER through to the registrar's 200 and
// returns what the registrar saw.
func (h *harness) registerAlice(callID string) sent {
	h.t.Helper()
	h.register(uaPublic, transport.UDP, callID, 1, []string{aliceContact}, "Expires: 3600")
	up := h.upstream()
	h.echoOK(up, 3600)
	if r := h.response(); r.StatusCode != 200 {
		h.t.Fatalf("UA got %d, want 200", r.StatusCode)
	}
	return up
}

func TestRegisterRelayShortensExpiry(t *testing.T) {
	h := newHarness(t, testPolicy)
	h.register(uaPublic, transport.UDP, "ua-call-1", 1, []string{aliceContact}, "Expires: 3600")
	up := h.upstream()

	// Toward the registrar: the UA's R-URI and AOR, our Via, Call-ID and
	// Contact with the long expiry; nothing of the UA's private side.
	if up.req.RequestURI != "sip:example.com" {
		t.Errorf("R-URI = %q", up.req.RequestURI)
	}
	if up.target.Host != "192.0.2.10" || up.target.Port != 5060 || up.target.Interface != "inside" {
		t.Errorf("target = %+v", up.target)
	}
	via, _ := up.req.TopVia()
	if via.Host+":"+itoa(via.Port) != sbcInside.String() || up.req.HeaderCount("Via") != 1 {
		t.Errorf("Via = %v (%d lines)", via, up.req.HeaderCount("Via"))
	}
	if cid, _ := up.req.GetHeader("Call-ID"); cid == "ua-call-1" || cid == "" {
		t.Errorf("Call-ID %q: the UA's leaked or missing", cid)
	}
	if cs, _ := up.req.CSeq(); cs.Seq != 1 {
		t.Errorf("CSeq = %d", cs.Seq)
	}
	cts, err := up.req.Contacts()
	if err != nil || len(cts) != 1 {
		t.Fatalf("Contacts = %v, %v", cts, err)
	}
	ct := cts[0]
	if ct.URI.Host != "192.0.2.1" || ct.URI.Port != 5060 || !strings.HasPrefix(ct.URI.User, "r") {
		t.Errorf("our Contact = %s", ct)
	}
	if e, _ := ct.Expires(); e != 3600 {
		t.Errorf("registrar expiry = %d, want 3600", e)
	}
	if s := up.req.String(); strings.Contains(s, "10.0.0.5") || strings.Contains(s, "198.51.100.7") || strings.Contains(s, "TestPhone") {
		t.Errorf("UA topology leaked to the registrar:\n%s", s)
	}
	if to, _ := up.req.To(); to.URI.String() != "sip:alice@example.com" {
		t.Errorf("To = %s", to)
	}

	h.echoOK(up, 3600)
	r := h.response()
	if r.StatusCode != 200 {
		t.Fatalf("UA got %d", r.StatusCode)
	}
	rc, err := r.Contacts()
	if err != nil || len(rc) != 1 || rc[0].URI.String() != "sip:alice@10.0.0.5:5060" {
		t.Fatalf("UA's 200 Contacts = %v, %v", rc, err)
	}
	if e, _ := rc[0].Expires(); e != 60 {
		t.Errorf("UA expiry = %d, want 60 (ua_expires)", e)
	}
	if e, _ := r.GetHeader("Expires"); e != "60" {
		t.Errorf("Expires = %q, want 60", e)
	}
	if s := r.String(); strings.Contains(s, ct.URI.User) || strings.Contains(s, "192.0.2.") {
		t.Errorf("core topology leaked to the UA:\n%s", s)
	}

	// The binding, by token (a call from the core) and by AOR.
	b, ok := h.reg.Lookup(ct.URI.User)
	if !ok {
		t.Fatal("no binding by token")
	}
	if b.Source != uaPublic || b.Transport != transport.UDP || !b.NAT || b.Contact != "sip:alice@10.0.0.5:5060" ||
		b.AOR != "sip:alice@example.com" || b.Trunk != "ua" || b.UserAgent != "TestPhone/1.0" || b.Flow.Remote() != uaPublic {
		t.Errorf("binding = %+v", b)
	}
	if got := b.Expires.Sub(h.clock.Now()); got != 60*time.Second {
		t.Errorf("binding expires in %v", got)
	}
	if b2, ok := h.reg.Lookup("sip:Alice@EXAMPLE.com:5060;transport=udp"); ok {
		t.Errorf("AOR user part is case-sensitive (RFC 3261 §19.1.4) but found %+v", b2)
	}
	if b2, ok := h.reg.Lookup("sip:alice@EXAMPLE.com:5060"); !ok || b2.Token != b.Token {
		t.Errorf("Lookup by AOR = %+v, %v", b2, ok)
	}
	for _, ruri := range []string{"sip:" + ct.URI.User + "@192.0.2.1:5060", "sip:" + ct.URI.User + "@192.0.2.1;transport=udp", "sip:alice@example.com"} {
		if b2, ok := h.reg.LookupURI(ruri); !ok || b2.Token != b.Token {
			t.Errorf("LookupURI(%s) = %v, %v", ruri, b2.Token, ok)
		}
	}
	for _, ruri := range []string{"sip:rnotatoken@192.0.2.1", "tel:+4930123", "sip:bob@example.com"} {
		if _, ok := h.reg.LookupURI(ruri); ok {
			t.Errorf("LookupURI(%s) found a binding", ruri)
		}
	}
	list := h.reg.List()
	if len(list) != 1 || list[0].Source != "198.51.100.7:40000" || list[0].Transport != "udp" || !list[0].NAT ||
		list[0].Contact != "sip:alice@10.0.0.5:5060" || list[0].UserAgent != "TestPhone/1.0" {
		t.Errorf("List = %+v", list)
	}
}

func TestRefreshAnsweredLocallyThenForwarded(t *testing.T) {
	h := newHarness(t, testPolicy)
	first := h.registerAlice("ua-call-1")
	cid1, _ := first.req.GetHeader("Call-ID")
	tok := mustContacts(t, first.req)[0].URI.User

	// Refreshes every 50 s: answered from the cache while the registrar's
	// binding has more than half its 3600 s left.
	cseq := 2
	for range 30 {
		h.clock.Advance(50 * time.Second)
		h.register(uaPublic, transport.UDP, "ua-call-1", cseq, []string{aliceContact}, "Expires: 3600")
		cseq++
		if rs := h.tx.take(); len(rs) != 0 {
			t.Fatalf("refresh at %d forwarded, want a local answer", cseq)
		}
		r := h.response()
		if e, _ := mustContacts(t, r)[0].Expires(); r.StatusCode != 200 || e != 60 {
			t.Fatalf("local answer %d, expires %d", r.StatusCode, e)
		}
	}
	if b, ok := h.reg.Lookup(tok); !ok || b.Expires.Sub(h.clock.Now()) != 60*time.Second {
		t.Fatalf("binding not refreshed: %+v %v", b, ok)
	}
	// 1550 s passed; at 1850 s less than half is left: forwarded, same
	// Call-ID and token, next CSeq (RFC 3261 §10.2.4).
	for range 6 {
		h.clock.Advance(50 * time.Second)
		h.register(uaPublic, transport.UDP, "ua-call-1", cseq, []string{aliceContact}, "Expires: 3600")
		cseq++
		if rs := h.tx.take(); len(rs) == 1 {
			up := rs[0]
			if cid, _ := up.req.GetHeader("Call-ID"); cid != cid1 {
				t.Errorf("Call-ID changed: %q, want %q", cid, cid1)
			}
			if cs, _ := up.req.CSeq(); cs.Seq != 2 {
				t.Errorf("CSeq = %d, want 2", cs.Seq)
			}
			if got := mustContacts(t, up.req)[0].URI.User; got != tok {
				t.Errorf("token changed: %q, want %q", got, tok)
			}
			h.echoOK(up, 3600)
			if r := h.response(); r.StatusCode != 200 {
				t.Fatalf("UA got %d", r.StatusCode)
			}
			if elapsed := h.clock.Now().Sub(transactiontestEpoch); elapsed < 1800*time.Second {
				t.Errorf("forwarded at %v, before half the registrar period", elapsed)
			}
			return
		}
		h.response()
	}
	t.Fatal("no refresh reached the registrar")
}

var transactiontestEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustContacts(t *testing.T, m *sip.Message) []sip.Contact {
	t.Helper()
	cts, err := m.Contacts()
	if err != nil || len(cts) == 0 {
		t.Fatalf("Contacts = %v, %v in\n%s", cts, err, m)
	}
	return cts
}

func TestRefreshFromNewSourceIsForwarded(t *testing.T) {
	h := newHarness(t, testPolicy)
	h.registerAlice("ua-call-1")
	h.clock.Advance(30 * time.Second)
	moved := netipPort(uaPublic, 40001) // the NAT rebound the UA to a new port
	h.register(moved, transport.UDP, "ua-call-1", 2, []string{aliceContact}, "Expires: 3600")
	up := h.upstream()
	h.echoOK(up, 3600)
	h.response()
	b, ok := h.reg.Lookup("sip:alice@example.com")
	if !ok || b.Source != moved {
		t.Errorf("binding source = %v, want %v", b.Source, moved)
	}
	if n := h.reg.Cache().Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}

func TestChallengeRelayed(t *testing.T) {
	h := newHarness(t, testPolicy)
	h.register(uaPublic, transport.UDP, "ua-call-1", 1, []string{aliceContact}, "Expires: 3600")
	up1 := h.upstream()
	chal := `Digest realm="example.com", nonce="abc123", qop="auth", algorithm=MD5`
	h.answer(up1, 401, "WWW-Authenticate: "+chal)
	r := h.response()
	if r.StatusCode != 401 {
		t.Fatalf("UA got %d, want 401", r.StatusCode)
	}
	if v, _ := r.GetHeader("WWW-Authenticate"); v != chal {
		t.Errorf("WWW-Authenticate = %q", v)
	}
	if h.reg.Cache().Len() != 0 {
		t.Error("a challenged REGISTER made a binding")
	}

	auth := `Digest username="alice", realm="example.com", nonce="abc123", uri="sip:example.com", response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="x"`
	h.register(uaPublic, transport.UDP, "ua-call-1", 2, []string{aliceContact}, "Expires: 3600", "Authorization: "+auth)
	up2 := h.upstream()
	if v, _ := up2.req.GetHeader("Authorization"); v != auth {
		t.Errorf("Authorization = %q", v)
	}
	c1, _ := up1.req.GetHeader("Call-ID")
	c2, _ := up2.req.GetHeader("Call-ID")
	s1, _ := up1.req.CSeq()
	s2, _ := up2.req.CSeq()
	if c1 != c2 || s2.Seq != s1.Seq+1 {
		t.Errorf("Call-ID/CSeq %s/%d then %s/%d: want same Call-ID, CSeq+1 (RFC 3261 §10.2.4)", c1, s1.Seq, c2, s2.Seq)
	}
	if up2.req.RequestURI != "sip:example.com" {
		t.Errorf("R-URI changed (the digest covers it): %q", up2.req.RequestURI)
	}
	t1 := mustContacts(t, up1.req)[0].URI.User
	t2 := mustContacts(t, up2.req)[0].URI.User
	if t1 == "" || t2 == "" {
		t.Fatal("no token")
	}
	h.echoOK(up2, 3600)
	if r := h.response(); r.StatusCode != 200 {
		t.Fatalf("UA got %d", r.StatusCode)
	}
	if _, ok := h.reg.Lookup(t2); !ok {
		t.Error("no binding after the authenticated REGISTER")
	}

	// 407 from a proxy in front of the registrar is relayed the same way.
	h.register(uaPublic, transport.UDP, "ua-call-2", 1, []string{"<sip:alice@10.0.0.6:5060>"})
	up3 := h.upstream()
	h.answer(up3, 407, `Proxy-Authenticate: Digest realm="proxy", nonce="n2"`)
	r = h.response()
	if v, _ := r.GetHeader("Proxy-Authenticate"); r.StatusCode != 407 || v != `Digest realm="proxy", nonce="n2"` {
		t.Errorf("407 relayed as %d %q", r.StatusCode, v)
	}
}

func TestUnregister(t *testing.T) {
	h := newHarness(t, testPolicy)
	up := h.registerAlice("ua-call-1")
	tok := mustContacts(t, up.req)[0].URI.User

	h.register(uaPublic, transport.UDP, "ua-call-1", 2, []string{aliceContact + ";expires=0"})
	un := h.upstream()
	ct := mustContacts(t, un.req)
	if e, _ := ct[0].Expires(); len(ct) != 1 || ct[0].URI.User != tok || e != 0 {
		t.Errorf("un-REGISTER forwarded with %v", ct)
	}
	if _, ok := h.reg.Lookup(tok); !ok {
		t.Error("binding removed before the registrar agreed")
	}
	h.answer(un, 200)
	if r := h.response(); r.StatusCode != 200 || r.HeaderCount("Contact") != 0 {
		t.Errorf("UA got %d with %d contacts", r.StatusCode, r.HeaderCount("Contact"))
	}
	if _, ok := h.reg.Lookup(tok); ok {
		t.Error("binding still there after un-REGISTER")
	}
	if h.reg.Cache().Len() != 0 || len(h.reg.Cache().byAOR) != 0 {
		t.Errorf("cache not empty: %d bindings, %d AORs", h.reg.Cache().Len(), len(h.reg.Cache().byAOR))
	}
}

func TestUnregisterStarAndManyContacts(t *testing.T) {
	h := newHarness(t, testPolicy)
	// One REGISTER with two contacts, then a second device.
	h.register(uaPublic, transport.UDP, "dev-1", 1, []string{"<sip:alice@10.0.0.5:5060>", "<sip:alice@10.0.0.5:5062>;q=0.5"})
	up := h.upstream()
	cts := mustContacts(t, up.req)
	if len(cts) != 2 || cts[0].URI.User == cts[1].URI.User {
		t.Fatalf("two contacts, two tokens: %v", cts)
	}
	if q, _ := cts[1].Q(); q != 500 {
		t.Errorf("q not kept: %v", cts[1])
	}
	h.echoOK(up, 3600)
	if n := h.response().HeaderCount("Contact"); n != 2 {
		t.Errorf("200 lists %d contacts, want 2", n)
	}
	other := netipPort(uaPublic, 41000)
	h.register(other, transport.UDP, "dev-2", 1, []string{"<sip:alice@10.0.0.9:5060>"})
	up = h.upstream()
	h.echoOK(up, 3600)
	if n := h.response().HeaderCount("Contact"); n != 3 {
		t.Errorf("200 lists %d contacts, want all 3 bindings (RFC 3261 §10.3 step 8)", n)
	}
	if bs := h.reg.Cache().Bindings("sip:alice@example.com"); len(bs) != 3 {
		t.Fatalf("Bindings = %d, want 3", len(bs))
	}

	// "*" without Expires: 0 is refused (RFC 3261 §10.3 step 6).
	h.register(uaPublic, transport.UDP, "dev-1", 2, []string{"*"})
	if r := h.response(); r.StatusCode != 400 {
		t.Errorf("star without Expires: 0 answered %d", r.StatusCode)
	}
	if len(h.tx.take()) != 0 {
		t.Error("bad star forwarded")
	}
	h.register(uaPublic, transport.UDP, "dev-1", 3, []string{"*"}, "Expires: 0")
	up = h.upstream()
	if v, _ := up.req.GetHeader("Contact"); v != "*" {
		t.Errorf("Contact = %q, want *", v)
	}
	if v, _ := up.req.GetHeader("Expires"); v != "0" {
		t.Errorf("Expires = %q, want 0", v)
	}
	h.answer(up, 200)
	if r := h.response(); r.StatusCode != 200 {
		t.Errorf("UA got %d", r.StatusCode)
	}
	if n := h.reg.Cache().Len(); n != 0 {
		t.Errorf("%d bindings after *", n)
	}
	if _, ok := h.reg.Lookup("sip:alice@example.com"); ok {
		t.Error("AOR still found")
	}
}

func TestExpiryRemovesBinding(t *testing.T) {
	h := newHarness(t, testPolicy)
	up := h.registerAlice("ua-call-1")
	tok := mustContacts(t, up.req)[0].URI.User
	// Keepalives are answered so only expiry can remove the binding.
	h.clock.Advance(69 * time.Second)
	for _, s := range h.tx.takeKA() {
		h.answer(s, 200)
	}
	if _, ok := h.reg.Lookup(tok); !ok {
		t.Fatal("binding gone within ua_expires + grace")
	}
	h.clock.Advance(2 * time.Second)
	if _, ok := h.reg.Lookup(tok); ok {
		t.Fatal("binding outlived ua_expires + grace")
	}
	if h.reg.Cache().Len() != 0 || len(h.reg.Cache().events) != 0 {
		t.Errorf("cache not empty: %d bindings, %d events", h.reg.Cache().Len(), len(h.reg.Cache().events))
	}
}

func TestRegisterRefusals(t *testing.T) {
	h := newHarness(t, testPolicy)
	// From the core trunk (a peer): not an access trunk.
	h.register(netip.MustParseAddrPort("192.0.2.10:5060"), transport.UDP, "x", 1, []string{aliceContact})
	if r := h.response(); r.StatusCode != 403 {
		t.Errorf("peer trunk REGISTER answered %d, want 403", r.StatusCode)
	}
	// Unknown source.
	h.register(netip.MustParseAddrPort("203.0.113.50:5060"), transport.UDP, "x2", 1, []string{aliceContact})
	if r := h.response(); r.StatusCode != 403 {
		t.Errorf("unknown source answered %d, want 403", r.StatusCode)
	}
	// Registrar unreachable.
	h.tx.err = transaction.ErrClosed
	h.register(uaPublic, transport.UDP, "x3", 1, []string{aliceContact})
	if r := h.response(); r.StatusCode != 503 {
		t.Errorf("unreachable registrar answered %d, want 503", r.StatusCode)
	}
	h.tx.err = nil
	// Registrar timeout.
	h.register(uaPublic, transport.UDP, "y", 1, []string{aliceContact})
	up := h.upstream()
	up.onResp(nil, nil, transaction.ErrTimeout)
	if r := h.response(); r.StatusCode != 408 {
		t.Errorf("timeout answered %d, want 408", r.StatusCode)
	}
	if h.reg.Cache().Len() != 0 {
		t.Error("failed REGISTERs made bindings")
	}
}

func TestCacheBounds(t *testing.T) {
	h := newHarness(t, testPolicy)
	h.reg.cache.maxPer = 2
	h.register(uaPublic, transport.UDP, "c", 1, []string{"<sip:alice@10.0.0.5:1>", "<sip:alice@10.0.0.5:2>", "<sip:alice@10.0.0.5:3>"})
	if r := h.response(); r.StatusCode != 503 {
		t.Errorf("over MaxContactsPerAOR answered %d, want 503", r.StatusCode)
	}
	if len(h.tx.take()) != 0 {
		t.Error("forwarded beyond the bound")
	}
}

func TestPendingSessionsForgotten(t *testing.T) {
	h := newHarness(t, testPolicy)
	// Challenged, never answered: the session is forgotten after PendingTTL.
	h.register(uaPublic, transport.UDP, "lost", 1, []string{aliceContact})
	h.answer(h.upstream(), 401, `WWW-Authenticate: Digest realm="r", nonce="n"`)
	h.response()
	if len(h.reg.cache.byAOR) != 1 {
		t.Fatal("no pending session")
	}
	h.clock.Advance(2*time.Minute + time.Second)
	if len(h.reg.cache.byAOR) != 0 || len(h.reg.pending) != 0 {
		t.Errorf("pending session kept: %d AORs, %d pending", len(h.reg.cache.byAOR), len(h.reg.pending))
	}
}

func TestPolicyReloadKeepsCache(t *testing.T) {
	h := newHarness(t, testPolicy)
	up := h.registerAlice("ua-call-1")
	tok := mustContacts(t, up.req)[0].URI.User
	// A reload with a different keepalive interval: the binding stays and
	// the next keepalive uses the new policy.
	h.pol.Store(loadPolicy(t, strings.Replace(testPolicy, `interval = "20s"`, `interval = "5s"`, 1)))
	if _, ok := h.reg.Lookup(tok); !ok {
		t.Fatal("binding lost in reload")
	}
	h.clock.Advance(20 * time.Second) // the keepalive armed under the old policy
	ka := h.tx.takeKA()
	if len(ka) != 1 {
		t.Fatalf("%d keepalives, want 1", len(ka))
	}
	h.answer(ka[0], 200)
	h.clock.Advance(5 * time.Second)
	if n := len(h.tx.takeKA()); n != 1 {
		t.Errorf("%d keepalives 5 s later, want 1 (new interval)", n)
	}
}

func netipPort(a netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr(), port)
}

func TestIntervalTooBriefRetried(t *testing.T) {
	h := newHarness(t, testPolicy)
	h.register(uaPublic, transport.UDP, "c", 1, []string{aliceContact})
	up := h.upstream()
	h.answer(up, 423, "Min-Expires: 7200")
	// RFC 3261 §10.2.8: the SBC retries with the registrar's minimum; the
	// UA never sees the 423 and keeps its short expiry.
	if n := len(h.wire.take()); n != 0 {
		t.Fatalf("UA got %d responses before the retry", n)
	}
	re := h.upstream()
	if e, _ := mustContacts(t, re.req)[0].Expires(); e != 7200 {
		t.Errorf("retry asks %d, want 7200", e)
	}
	if a, b := cseqOf(t, up), cseqOf(t, re); b != a+1 {
		t.Errorf("retry CSeq %d after %d", b, a)
	}
	h.echoOK(re, 7200)
	r := h.response()
	if e, _ := mustContacts(t, r)[0].Expires(); r.StatusCode != 200 || e != 60 {
		t.Errorf("UA got %d expires %d", r.StatusCode, e)
	}
	// A second 423 is not retried again.
	h.register(uaPublic, transport.UDP, "d", 1, []string{"<sip:alice@10.0.0.6>"})
	up = h.upstream()
	h.answer(up, 423, "Min-Expires: 7200")
	re = h.upstream()
	h.answer(re, 423, "Min-Expires: 9000")
	if r := h.response(); r.StatusCode != 423 {
		t.Errorf("UA got %d, want the 423 relayed", r.StatusCode)
	} else if v, _ := r.GetHeader("Min-Expires"); v != "9000" {
		t.Errorf("Min-Expires %q", v)
	}
	st := h.reg.Stats()
	if st.Bindings != 1 || st.Forwarded != 4 || st.Failed != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func cseqOf(t *testing.T, s sent) uint32 {
	t.Helper()
	cs, err := s.req.CSeq()
	if err != nil {
		t.Fatal(err)
	}
	return cs.Seq
}
