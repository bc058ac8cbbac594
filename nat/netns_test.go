package nat_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/netnstest"
	"github.com/sbc-project/sbc/nat"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// TestRegisterThroughNAT runs the registration relay over real sockets
// through a masquerading NAT in network namespaces: the REGISTER reaches
// the registrar with the SBC's Contact, the binding records the NAT's
// public address, OPTIONS keepalives hold the NAT mapping open past a
// shortened conntrack timeout, and a request from the SBC still reaches the
// UA through the cached flow.
func TestRegisterThroughNAT(t *testing.T) {
	t.Run("keepalives", func(t *testing.T) { registerThroughNAT(t, true) })
	// The control: without keepalives the 2 s mapping lapses and nothing
	// from the SBC reaches the UA any more.
	t.Run("none", func(t *testing.T) { registerThroughNAT(t, false) })
}

func registerThroughNAT(t *testing.T, keepalive bool) {
	tp := netnstest.New(t, netnstest.Options{FullyRandom: true})
	if err := tp.SetUDPTimeout(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	outside := netip.AddrPortFrom(netnstest.SBCOutsideAddr, 5060)
	inside := netip.AddrPortFrom(netnstest.SBCInsideAddr, 5060)
	regAddr := netip.AddrPortFrom(netnstest.CarrierAddr, 5060)
	uaAddr := netip.AddrPortFrom(netnstest.UAAddr, 5070)

	pol, err := policy.LoadSources([]policy.Source{{Name: "nat.hcl", Data: []byte(`
trunk "phones" {
  kind      = "access"
  interface = "outside"
  match { sources = ["` + netnstest.NATPublicAddr.String() + `"] }
  registrar {
    host              = "` + netnstest.CarrierAddr.String() + `"
    port              = 5060
    ua_expires        = 30
    registrar_expires = 600
  }
` + kaBlock(keepalive) + `
}`)}}, policy.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The wiring order of the daemon: Registrar first (the B2BUA's Config
	// needs it), then the transaction layer, then SetTx.
	reg, err := nat.New(nat.Config{
		Policy: func() *policy.Policy { return pol },
		SentBy: func(iface string, _ transport.Transport) (string, error) {
			switch iface {
			case "outside":
				return outside.String(), nil
			case "inside":
				return inside.String(), nil
			}
			return "", errors.New("no interface " + iface)
		},
		RegistrarInterface: "inside",
		Resolution:         100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	var m *transaction.Manager
	var layer *transport.Layer
	err = tp.Do(netnstest.SBC, func() error {
		var err error
		m, layer, err = transaction.New(transaction.Config{
			Handler: transaction.HandlerFunc(func(tx *transaction.ServerTx, req *sip.Message) {
				if req.Method == "REGISTER" {
					reg.HandleRegister(tx, req)
					return
				}
				_ = tx.Respond(tx.NewResponse(405, ""))
			}),
		}, transport.Config{Listeners: []transport.ListenerConfig{
			{Interface: "outside", Transport: transport.UDP, Addr: outside},
			{Interface: "inside", Transport: transport.UDP, Addr: inside},
		}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); layer.Close() })
	reg.SetTx(m, layer)

	registrar := tp.NewPeer(t, netnstest.Carrier, "registrar", regAddr)
	ua := tp.NewPeer(t, netnstest.UA, "ua", uaAddr)

	register := "REGISTER sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + uaAddr.String() + ";branch=z9hG4bKnat1;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:alice@example.com>\r\n" +
		"Call-ID: nat-test-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@" + uaAddr.String() + ">\r\n" +
		"Expires: 3600\r\nContent-Length: 0\r\n\r\n"
	if _, err := ua.Conn.WriteToUDPAddrPort([]byte(register), outside); err != nil {
		t.Fatal(err)
	}
	up, from := registrar.Wait(t, "a message", func(m *sip.Message) bool { return m.Method == "REGISTER" })
	if from.Addr() != netnstest.SBCInsideAddr {
		t.Errorf("registrar saw the REGISTER from %v", from)
	}
	ct, err := up.Contacts()
	if err != nil || len(ct) != 1 || ct[0].URI.Host != netnstest.SBCInsideAddr.String() {
		t.Fatalf("registrar got Contact %v, %v", ct, err)
	}
	if e, _ := ct[0].Expires(); e != 600 {
		t.Errorf("registrar expiry %d, want 600", e)
	}
	ok, _ := ua.Wait(t, "a message", func(m *sip.Message) bool { return m.StatusCode == 200 })
	cts, _ := ok.Contacts()
	if len(cts) != 1 {
		t.Fatalf("UA's 200 Contacts %v", cts)
	}
	if e, _ := cts[0].Expires(); e != 30 {
		t.Errorf("UA expiry %d, want 30", e)
	}

	b, found := reg.Lookup(ct[0].URI.User)
	if !found {
		t.Fatal("no binding for the token")
	}
	if b.Source.Addr() != netnstest.NATPublicAddr || !b.NAT {
		t.Errorf("binding source %v NAT %v, want the NAT's public address, NATed", b.Source, b.NAT)
	}
	if b.Source.Port() == uaAddr.Port() {
		t.Logf("fully-random kept port %d (1 in 64k)", b.Source.Port())
	}

	// Keepalives every second hold the 2 s conntrack mapping open for 5 s.
	time.Sleep(5 * time.Second)
	// The same bytes on the cached flow: delivered through an open mapping,
	// dropped by the NAT once it lapsed.
	raw := []byte("MESSAGE " + b.Contact + " SIP/2.0\r\nVia: SIP/2.0/UDP " + outside.String() +
		";branch=z9hG4bKctl\r\nMax-Forwards: 70\r\nFrom: <sip:core@example.net>;tag=c\r\nTo: <" + b.AOR +
		">\r\nCall-ID: ctl\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n")
	if _, err := sip.Parse(raw); err != nil {
		t.Fatal(err)
	}
	if err := layer.Write(b.Flow, raw, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if n := ua.Count("MESSAGE"); keepalive && n != 1 || !keepalive && n != 0 {
		t.Errorf("keepalives %v: the UA got %d requests from the SBC", keepalive, n)
	}
	if !keepalive {
		if n := ua.Count("OPTIONS"); n != 0 {
			t.Errorf("%d keepalives without a keepalive block", n)
		}
		return
	}
	ua.Wait(t, "a message", func(m *sip.Message) bool { return m.Method == "MESSAGE" })
	if n := ua.Count("OPTIONS"); n < 3 {
		t.Errorf("UA got %d keepalives in 5 s, want about 5", n)
	}
	// A request from the SBC on the cached flow still reaches the UA (with
	// fully-random, only the open mapping leads to it).
	req := sip.NewRequest("MESSAGE", b.Contact)
	req.AddHeader("Max-Forwards", "70")
	req.AddHeader("From", "<sip:core@example.net>;tag=c1")
	req.AddHeader("To", "<"+b.AOR+">")
	req.AddHeader("Call-ID", "nat-inbound-1")
	req.AddHeader("CSeq", "1 MESSAGE")
	got := make(chan int, 1)
	if _, err := m.RequestOn(b.Flow, req, func(_ *transaction.ClientTx, resp *sip.Message, err error) {
		if err != nil {
			got <- 0
		} else if resp.StatusCode >= 200 {
			got <- resp.StatusCode
		}
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-got:
		if code != 200 {
			t.Errorf("inbound request through the NAT ended with %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to the inbound request")
	}
	if st := reg.Stats(); st.KeepalivesSent < 3 || st.KeepalivesFailed != 0 || st.Bindings != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func kaBlock(on bool) string {
	if !on {
		return ""
	}
	return `  keepalive {
    method   = "options"
    interval = "1s"
  }`
}
