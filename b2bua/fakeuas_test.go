package b2bua

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// fakeCarrier is a scripted UAS built on our own transaction layer: it
// challenges INVITEs to "auth" (RFC 3261 §22.2) and checks the digest,
// redirects "moved" to "4930999" with 302, and answers everything else 200.
type fakeCarrier struct {
	addr       netip.AddrPort
	challenged atomic.Int32
	authorized atomic.Int32
	redirected atomic.Int32
	answered   atomic.Int32
}

const carrierRealm, carrierNonce = "carrier.example", "8a3f0c"

func startFakeCarrier(t *testing.T) *fakeCarrier {
	t.Helper()
	fc := &fakeCarrier{addr: netip.AddrPortFrom(calleeIP, freePort(t, calleeIP))}
	var mgr *transaction.Manager
	handler := transaction.HandlerFunc(func(tx *transaction.ServerTx, req *sip.Message) {
		switch req.Method {
		case "INVITE":
			fc.invite(tx, req)
		default:
			_ = tx.Respond(tx.NewResponse(200, ""))
		}
	})
	mgr, layer, err := transaction.New(transaction.Config{Handler: handler, Logger: slog.New(slog.DiscardHandler)},
		transport.Config{Listeners: []transport.ListenerConfig{{Interface: "carrier", Transport: transport.UDP, Addr: fc.addr}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close(); layer.Close() })
	return fc
}

func (fc *fakeCarrier) invite(tx *transaction.ServerTx, req *sip.Message) {
	u, _ := sip.ParseURI(req.RequestURI)
	switch u.User {
	case "auth":
		v, ok := req.GetHeader("Authorization")
		if !ok {
			fc.challenged.Add(1)
			r := tx.NewResponse(401, "")
			r.AddHeader("WWW-Authenticate", `Digest realm="`+carrierRealm+`", nonce="`+carrierNonce+`", algorithm=MD5, qop="auth"`)
			_ = tx.Respond(r)
			return
		}
		a, err := sip.ParseAuth(v)
		if err != nil || !digestOK(a, "sbc1", "s3cret", req.Method) {
			_ = tx.Respond(tx.NewResponse(403, "Bad Credentials"))
			return
		}
		fc.authorized.Add(1)
	case "moved":
		fc.redirected.Add(1)
		r := tx.NewResponse(302, "")
		r.AddHeader("Contact", "<sip:4930999@"+fc.addr.String()+">")
		_ = tx.Respond(r)
		return
	}
	fc.answered.Add(1)
	r := tx.NewResponse(200, "")
	r.AddHeader("Contact", "<sip:carrier@"+fc.addr.String()+">")
	r.SetBody("application/sdp", []byte("v=0\r\no=carrier 1 1 IN IP4 127.0.0.20\r\ns=-\r\nc=IN IP4 127.0.0.20\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"))
	_ = tx.Respond(r)
}

// digestOK verifies RFC 2617 qop=auth credentials.
func digestOK(a sip.Auth, user, pass, method string) bool {
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	uri, _ := a.Param("uri")
	nc, _ := a.Param("nc")
	cnonce, _ := a.Param("cnonce")
	resp, _ := a.Param("response")
	want := h(h(user+":"+carrierRealm+":"+pass) + ":" + carrierNonce + ":" + nc + ":" + cnonce + ":auth:" + h(method+":"+uri))
	return a.Username() == user && a.Realm() == carrierRealm && resp == want
}

// TestTrunkAuthAndRedirect: a challenge from the carrier is answered with
// the trunk's credentials, and a 302 is followed through the same trunk;
// the caller only ever sees the 200.
func TestTrunkAuthAndRedirect(t *testing.T) {
	fc := startFakeCarrier(t)
	sb := startSBCWith(t, fmt.Sprintf(`
trunk "pbx" {
  interface = "inside"
  match { sources = ["127.0.0.10"] }
}
trunk "carrier" {
  interface = "outside"
  match { sources = ["127.0.0.20"] }
  destination {
    host = "127.0.0.20"
    port = %d
  }
  credentials {
    username = "sbc1"
    password = "s3cret"
    realm    = "carrier.example"
  }
}
route "all" {
  trunks = ["carrier"]
}
`, fc.addr.Port()))
	for _, service := range []string{"auth", "moved"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		p, err := sipptest.Start(ctx, t, sipptest.Config{Scenario: sipptest.Scenario(t, "uac-load"), Role: sipptest.UAC,
			Local: netip.AddrPortFrom(callerIP, 0), Remote: sb.inside, Calls: 2, Rate: 10,
			CallDuration: 100 * time.Millisecond, Service: service})
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Wait(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		res.ExpectCalls(t, 2)
	}
	if fc.challenged.Load() != 2 || fc.authorized.Load() != 2 {
		t.Errorf("challenged %d, authorized %d; want 2 and 2", fc.challenged.Load(), fc.authorized.Load())
	}
	if fc.redirected.Load() != 2 || fc.answered.Load() != 4 {
		t.Errorf("redirected %d, answered %d; want 2 and 4", fc.redirected.Load(), fc.answered.Load())
	}
	// Nothing of the carrier's challenge or redirect reached the caller.
	for _, m := range sb.cap.all("inside") {
		if strings.Contains(m, "WWW-Authenticate") || strings.HasPrefix(m, "SIP/2.0 302") ||
			strings.HasPrefix(m, "SIP/2.0 401") || strings.Contains(m, carrierRealm) {
			t.Errorf("inside leg saw the carrier's auth/redirect:\n%s", m)
		}
	}
	sb.checkNoLeaks(t)
}

// TestChallengeRelayedToCaller: a trunk without credentials in policy: the
// carrier's 401 reaches the caller, whose retry with credentials reaches the
// carrier and is answered.
func TestChallengeRelayedToCaller(t *testing.T) {
	fc := startFakeCarrier(t)
	caller := startGoUA(t, callerIP, 0)
	sb := startSBC(t, fc.addr.Port(), 1, 1)
	inv := func(cseq int, auth string) *sip.Message {
		m := sip.NewRequest("INVITE", "sip:auth@"+sb.inside.String())
		m.AddHeader("Max-Forwards", "70")
		m.AddHeader("From", "<sip:caller@127.0.0.10>;tag=a1")
		m.AddHeader("To", "<sip:auth@127.0.0.1>")
		m.AddHeader("Call-ID", "challenge-1")
		m.AddHeader("CSeq", fmt.Sprintf("%d INVITE", cseq))
		m.AddHeader("Contact", "<sip:caller@"+caller.addr.String()+">")
		if auth != "" {
			m.AddHeader("Authorization", auth)
		}
		m.SetBody("application/sdp", []byte(sdpOffer))
		return m
	}
	r := caller.request(t, sb.inside, inv(1, ""))
	if r.StatusCode != 401 {
		t.Fatalf("first INVITE: %d, want the relayed 401", r.StatusCode)
	}
	v, ok := r.GetHeader("WWW-Authenticate")
	if !ok {
		t.Fatal("401 without WWW-Authenticate")
	}
	ch, err := sip.ParseAuth(v)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digestCredentials(ch, "sbc1", "s3cret", "", "INVITE", "sip:auth@"+sb.inside.String())
	if err != nil {
		t.Fatal(err)
	}
	if r := caller.request(t, sb.inside, inv(2, cred)); r.StatusCode != 200 {
		t.Fatalf("INVITE with credentials: %d, want 200", r.StatusCode)
	}
	if fc.challenged.Load() != 1 || fc.authorized.Load() != 1 {
		t.Errorf("carrier challenged %d, authorized %d; want 1 and 1", fc.challenged.Load(), fc.authorized.Load())
	}
}
