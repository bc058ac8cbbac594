package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/netnstest"
	"github.com/sbc-project/sbc/sdp"
	"github.com/sbc-project/sbc/sip"
)

// call sends an INVITE from p to sbc, waits for the 200, ACKs it, checks
// that RTP flows both ways through the relay with far, then hangs up. The
// NATed party sends first (farFirst when it is the callee): the relay learns
// its public address from its first packets (latching).
func call(t *testing.T, p *netnstest.Peer, sbc netip.AddrPort, ruri, callID string, far *netnstest.Peer, farFirst bool) {
	t.Helper()
	body := p.SDP()
	inv := fmt.Sprintf(`INVITE %s SIP/2.0
Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport
Max-Forwards: 70
From: <sip:%s@%s>;tag=%s
To: <%s>
Call-ID: %s
CSeq: 1 INVITE
Contact: <sip:%s@%s>
Content-Type: application/sdp
Content-Length: %d

%s`, ruri, p.Addr, callID, p.Name, p.Addr.Addr(), p.Name, ruri, callID, p.Name, p.Addr, len(body), strings.ReplaceAll(body, "\r\n", "\n"))
	p.Send(t, inv, sbc)
	ok, _ := p.Wait(t, "200 to INVITE "+callID, func(m *sip.Message) bool {
		c, _ := m.GetHeader("Call-ID")
		return c == callID && m.StatusCode == 200
	})
	to, _ := ok.GetHeader("To")
	ct, _ := ok.Contacts()
	if len(ct) != 1 {
		t.Fatalf("200 without Contact")
	}
	inDialog := func(method string, cseq int) string {
		return fmt.Sprintf(`%s %s SIP/2.0
Via: SIP/2.0/UDP %s;branch=z9hG4bK%s%s;rport
Max-Forwards: 70
From: <sip:%s@%s>;tag=%s
To: %s
Call-ID: %s
CSeq: %d %s
Content-Length: 0

`, method, ct[0].URI.String(), p.Addr, callID, method, p.Name, p.Addr.Addr(), p.Name, to, callID, cseq, method)
	}
	p.Send(t, inDialog("ACK", 1), sbc)
	// The callee got the INVITE: its SDP and ours name the relay.
	inFar, _ := far.Wait(t, "INVITE "+callID+" at the far end", func(m *sip.Message) bool { return m.Method == "INVITE" })
	mediaTo := func(m *sip.Message) netip.AddrPort {
		s, err := sdp.Parse(m.Body)
		if err != nil {
			t.Fatalf("SDP: %v", err)
		}
		return sdp.Remote(s)[0].Addr
	}
	nearRelay, farRelay := mediaTo(ok), mediaTo(inFar)
	if farFirst {
		rtpFlows(t, far, farRelay, p, nearRelay)
	} else {
		rtpFlows(t, p, nearRelay, far, farRelay)
	}
	p.Send(t, inDialog("BYE", 2), sbc)
	p.Wait(t, "200 to BYE "+callID, func(m *sip.Message) bool {
		c, _ := m.GetHeader("Call-ID")
		cs, _ := m.CSeq()
		return c == callID && m.StatusCode == 200 && cs.Method == "BYE"
	})
}

// rtpFlows sends RTP from a to the relay port its SDP named and from b to
// its own, and checks that each side receives the other's packets. a sends
// first, as a NATed UA must for the relay to latch (learn mode).
func rtpFlows(t *testing.T, a *netnstest.Peer, aRelay netip.AddrPort, b *netnstest.Peer, bRelay netip.AddrPort) {
	t.Helper()
	pkt := func(seq int) []byte {
		h := []byte{0x80, 0, byte(seq >> 8), byte(seq), 0, 0, 0, byte(seq), 0xca, 0xfe, 0xba, 0xbe}
		return append(h, make([]byte, 160)...)
	}
	recv := func(c *net.UDPConn, n int) int {
		got := 0
		buf := make([]byte, 2048)
		for got < n {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
				break
			}
			got++
		}
		return got
	}
	const n = 20
	for i := 0; i < n; i++ {
		_, _ = a.Media.WriteToUDPAddrPort(pkt(i), aRelay)
		time.Sleep(2 * time.Millisecond)
	}
	if got := recv(b.Media, n); got < n-2 {
		t.Errorf("%s → %s: %d of %d RTP packets arrived", a.Name, b.Name, got, n)
	}
	for i := 0; i < n; i++ {
		_, _ = b.Media.WriteToUDPAddrPort(pkt(100+i), bRelay)
		time.Sleep(2 * time.Millisecond)
	}
	if got := recv(a.Media, n); got < n-2 {
		t.Errorf("%s → %s: %d of %d RTP packets arrived (symmetric RTP back through the NAT)", b.Name, a.Name, got, n)
	}
}

// TestNATEndToEnd: a UA behind a masquerading NAT registers through the
// real sbc (in its own network namespace) and calls a carrier; the carrier
// calls it back through the registration cache; media flows both ways; and
// with the NAT's UDP timeout cut to 3 s, keepalives keep the binding open
// so an inbound call still arrives. Once with port-preserving masquerade,
// once with fully-random (symmetric NAT).
func TestNATEndToEnd(t *testing.T) {
	bin := sbcBin(t)
	for _, random := range []bool{false, true} {
		t.Run(map[bool]string{false: "masquerade", true: "fully-random"}[random], func(t *testing.T) {
			natEndToEnd(t, bin, random)
		})
	}
}

func natEndToEnd(t *testing.T, bin string, fullyRandom bool) {
	tp := netnstest.New(t, netnstest.Options{FullyRandom: fullyRandom})
	if err := tp.SetUDPTimeout(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outside := netip.AddrPortFrom(netnstest.SBCOutsideAddr, 5060)
	inside := netip.AddrPortFrom(netnstest.SBCInsideAddr, 5060)
	cfg := fmt.Sprintf(`
interface "access" {
  listen {
    transport = "udp"
    address   = "%s"
  }
  media {
    address = "%s"
    ports   = "30000-30999"
  }
}
interface "core" {
  listen {
    transport = "udp"
    address   = "%s"
  }
  media {
    address = "%s"
    ports   = "31000-31999"
  }
}
admin {
  listen = ""
}
policy {
  files = ["policy.hcl"]
}
registrar_interface = "core"
drain_timeout = "2s"
`, outside, outside.Addr(), inside, inside.Addr())
	pol := fmt.Sprintf(`
trunk "phones" {
  kind      = "access"
  interface = "access"
  match { sources = ["0.0.0.0/0"] }
  registrar {
    host              = "%s"
    port              = 5060
    ua_expires        = 30
    registrar_expires = 600
  }
  keepalive {
    method   = "options"
    interval = "1s"
  }
  media { latching = "learn" }
}
trunk "carrier" {
  interface = "core"
  match { sources = ["%s"] }
  destination {
    host = "%s"
    port = 5060
  }
}
route "out" {
  match { from_trunk = ["phones"] }
  trunks = ["carrier"]
}
`, netnstest.CarrierAddr, netnstest.CarrierAddr, netnstest.CarrierAddr)
	for name, text := range map[string]string{"sbc.hcl": cfg, "policy.hcl": pol} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncWriter{}
	cmd := tp.Command(netnstest.SBC, bin, "run", "-config", filepath.Join(dir, "sbc.hcl"), "-log-level", "debug")
	cmd.Stderr = logs
	if err := tp.StartCmd(cmd); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "sbc started")
	defer func() {
		if t.Failed() {
			t.Logf("sbc log:\n%s", logs.String())
		}
	}()

	carrier := tp.NewPeer(t, netnstest.Carrier, "carrier", netip.AddrPortFrom(netnstest.CarrierAddr, 5060))
	ua := tp.NewPeer(t, netnstest.UA, "alice", netip.AddrPortFrom(netnstest.UAAddr, 5070))

	// REGISTER and re-REGISTER through the NAT.
	register := func(cseq int) {
		ua.Send(t, fmt.Sprintf(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP %s;branch=z9hG4bKreg%d;rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=r1
To: <sip:alice@example.com>
Call-ID: reg-1
CSeq: %d REGISTER
Contact: <sip:alice@%s>
Expires: 3600
Content-Length: 0

`, ua.Addr, cseq, cseq, ua.Addr), outside)
		ok, _ := ua.Wait(t, "200 to REGISTER", func(m *sip.Message) bool { return m.StatusCode == 200 })
		cts, _ := ok.Contacts()
		if len(cts) != 1 {
			t.Fatalf("REGISTER 200 Contacts %v", cts)
		}
		if e, _ := cts[0].Expires(); e != 30 {
			t.Errorf("expiry to the UA %d, want 30 (shortened)", e)
		}
	}
	register(1)
	up, from := carrier.Wait(t, "REGISTER at the registrar", func(m *sip.Message) bool { return m.Method == "REGISTER" })
	if from.Addr() != netnstest.SBCInsideAddr {
		t.Errorf("registrar saw the REGISTER from %v", from)
	}
	cts, _ := up.Contacts()
	if len(cts) != 1 || cts[0].URI.Host != netnstest.SBCInsideAddr.String() {
		t.Fatalf("registrar got Contact %v: want the SBC's own", cts)
	}
	if e, _ := cts[0].Expires(); e != 600 {
		t.Errorf("registrar expiry %d, want 600", e)
	}
	if strings.Contains(up.String(), netnstest.UAAddr.String()) || strings.Contains(up.String(), netnstest.NATPublicAddr.String()) {
		t.Errorf("the UA's addresses leaked to the registrar:\n%s", up)
	}
	registeredAs := cts[0].URI.String()
	register(2)

	// UA → carrier, media both ways.
	call(t, ua, outside, "sip:+4930123@"+outside.Addr().String(), "out-1", carrier, false)

	// The NAT forgets idle UDP mappings after 3 s; the 1 s keepalives keep
	// the UA's open, so a call from the core still gets through.
	time.Sleep(4 * time.Second)
	if n := ua.Count("OPTIONS"); n < 2 {
		t.Errorf("UA got %d keepalives", n)
	}
	call(t, carrier, inside, registeredAs, "in-1", ua, true)
}
