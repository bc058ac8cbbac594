package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/netnstest"
	"github.com/sbc-project/sbc/sdp"
	"github.com/sbc-project/sbc/sip"
)

// nsPeer is a SIP endpoint on a plain UDP socket inside a namespace (the UA
// behind the NAT, or the carrier and its registrar). It answers requests
// itself: REGISTER with the Contacts and their expiry, INVITE with 200 and an
// SDP naming its media socket, anything else with 200; and it keeps every
// message with its source.
type nsPeer struct {
	name  string
	c     *net.UDPConn
	media *net.UDPConn // RTP socket named in its SDP
	addr  netip.AddrPort
	mu    sync.Mutex
	got   []*sip.Message
	from  []netip.AddrPort
	done  chan struct{}
}

func newNSPeer(t *testing.T, tp *netnstest.Topology, role, name string, addr netip.AddrPort) *nsPeer {
	t.Helper()
	p := &nsPeer{name: name, addr: addr, done: make(chan struct{})}
	err := tp.Do(role, func() error {
		var err error
		if p.c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr)); err != nil {
			return err
		}
		p.media, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Addr(), 40000)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	go p.loop() // owner: the test; exit: Close in Cleanup
	t.Cleanup(func() { p.c.Close(); p.media.Close(); <-p.done })
	return p
}

func (p *nsPeer) sdp() string {
	a := p.addr.Addr().String()
	return "v=0\r\no=" + p.name + " 1 1 IN IP4 " + a + "\r\ns=-\r\nc=IN IP4 " + a + "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
}

func (p *nsPeer) loop() {
	defer close(p.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := p.c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		m, err := sip.Parse(buf[:n])
		if err != nil {
			continue
		}
		p.mu.Lock()
		p.got = append(p.got, m)
		p.from = append(p.from, from)
		p.mu.Unlock()
		if !m.IsRequest() || m.Method == "ACK" {
			continue
		}
		r := sip.NewResponse(m, 200, "")
		if to, ok := m.GetHeader("To"); ok && !strings.Contains(to, "tag=") {
			r.SetHeader("To", to+";tag="+p.name)
		}
		switch m.Method {
		case "REGISTER":
			cts, _ := m.Contacts()
			for _, c := range cts {
				e, _ := c.Expires()
				if e == 0 {
					e = 3600
				}
				r.AddHeader("Contact", "<"+c.URI.String()+">;expires="+strconv.Itoa(int(e)))
			}
		case "INVITE":
			r.AddHeader("Contact", "<sip:"+p.name+"@"+p.addr.String()+">")
			r.SetBody("application/sdp", []byte(p.sdp()))
		}
		p.c.WriteToUDPAddrPort(r.AppendTo(nil), from) // RFC 3581: back where it came from
	}
}

func (p *nsPeer) wait(t *testing.T, what string, ok func(*sip.Message) bool) (*sip.Message, netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for i, m := range p.got {
			if ok(m) {
				from := p.from[i]
				p.got = append(p.got[:i:i], p.got[i+1:]...)
				p.from = append(p.from[:i:i], p.from[i+1:]...)
				p.mu.Unlock()
				return m, from
			}
		}
		p.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: timed out waiting for %s", p.name, what)
	return nil, netip.AddrPort{}
}

func (p *nsPeer) count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.got {
		if m.Method == method {
			n++
		}
	}
	return n
}

func (p *nsPeer) send(t *testing.T, msg string, to netip.AddrPort) {
	t.Helper()
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	if _, err := sip.Parse([]byte(msg)); err != nil {
		t.Fatalf("bad test message: %v\n%s", err, msg)
	}
	if _, err := p.c.WriteToUDPAddrPort([]byte(msg), to); err != nil {
		t.Fatal(err)
	}
}

// call sends an INVITE from p to sbc, waits for the 200, ACKs it, checks
// that RTP flows both ways through the relay with far, then hangs up. The
// NATed party sends first (farFirst when it is the callee): the relay learns
// its public address from its first packets (latching).
func (p *nsPeer) call(t *testing.T, sbc netip.AddrPort, ruri, callID string, far *nsPeer, farFirst bool) {
	t.Helper()
	body := p.sdp()
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

%s`, ruri, p.addr, callID, p.name, p.addr.Addr(), p.name, ruri, callID, p.name, p.addr, len(body), strings.ReplaceAll(body, "\r\n", "\n"))
	p.send(t, inv, sbc)
	ok, _ := p.wait(t, "200 to INVITE "+callID, func(m *sip.Message) bool {
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

`, method, ct[0].URI.String(), p.addr, callID, method, p.name, p.addr.Addr(), p.name, to, callID, cseq, method)
	}
	p.send(t, inDialog("ACK", 1), sbc)
	// The callee got the INVITE: its SDP and ours name the relay.
	inFar, _ := far.wait(t, "INVITE "+callID+" at the far end", func(m *sip.Message) bool { return m.Method == "INVITE" })
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
	p.send(t, inDialog("BYE", 2), sbc)
	p.wait(t, "200 to BYE "+callID, func(m *sip.Message) bool {
		c, _ := m.GetHeader("Call-ID")
		cs, _ := m.CSeq()
		return c == callID && m.StatusCode == 200 && cs.Method == "BYE"
	})
}

// rtpFlows sends RTP from a to the relay port its SDP named and from b to
// its own, and checks that each side receives the other's packets. a sends
// first, as a NATed UA must for the relay to latch (learn mode).
func rtpFlows(t *testing.T, a *nsPeer, aRelay netip.AddrPort, b *nsPeer, bRelay netip.AddrPort) {
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
		_, _ = a.media.WriteToUDPAddrPort(pkt(i), aRelay)
		time.Sleep(2 * time.Millisecond)
	}
	if got := recv(b.media, n); got < n-2 {
		t.Errorf("%s → %s: %d of %d RTP packets arrived", a.name, b.name, got, n)
	}
	for i := 0; i < n; i++ {
		_, _ = b.media.WriteToUDPAddrPort(pkt(100+i), bRelay)
		time.Sleep(2 * time.Millisecond)
	}
	if got := recv(a.media, n); got < n-2 {
		t.Errorf("%s → %s: %d of %d RTP packets arrived (symmetric RTP back through the NAT)", b.name, a.name, got, n)
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

	carrier := newNSPeer(t, tp, netnstest.Carrier, "carrier", netip.AddrPortFrom(netnstest.CarrierAddr, 5060))
	ua := newNSPeer(t, tp, netnstest.UA, "alice", netip.AddrPortFrom(netnstest.UAAddr, 5070))

	// REGISTER and re-REGISTER through the NAT.
	register := func(cseq int) {
		ua.send(t, fmt.Sprintf(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP %s;branch=z9hG4bKreg%d;rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=r1
To: <sip:alice@example.com>
Call-ID: reg-1
CSeq: %d REGISTER
Contact: <sip:alice@%s>
Expires: 3600
Content-Length: 0

`, ua.addr, cseq, cseq, ua.addr), outside)
		ok, _ := ua.wait(t, "200 to REGISTER", func(m *sip.Message) bool { return m.StatusCode == 200 })
		cts, _ := ok.Contacts()
		if len(cts) != 1 {
			t.Fatalf("REGISTER 200 Contacts %v", cts)
		}
		if e, _ := cts[0].Expires(); e != 30 {
			t.Errorf("expiry to the UA %d, want 30 (shortened)", e)
		}
	}
	register(1)
	up, from := carrier.wait(t, "REGISTER at the registrar", func(m *sip.Message) bool { return m.Method == "REGISTER" })
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
	ua.call(t, outside, "sip:+4930123@"+outside.Addr().String(), "out-1", carrier, false)

	// The NAT forgets idle UDP mappings after 3 s; the 1 s keepalives keep
	// the UA's open, so a call from the core still gets through.
	time.Sleep(4 * time.Second)
	if n := ua.count("OPTIONS"); n < 2 {
		t.Errorf("UA got %d keepalives", n)
	}
	carrier.call(t, inside, registeredAs, "in-1", ua, true)
}
