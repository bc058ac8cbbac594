package netnstest

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
)

// Peer is a SIP endpoint on a plain UDP socket inside a namespace: a UA
// behind the NAT, or a carrier and its registrar. It answers requests
// itself: REGISTER with its Contacts and their expiry, INVITE with 200, a
// Contact and an SDP naming its media socket (port 40000), anything else but
// ACK with 200; responses go back where the request came from (RFC 3581).
// It keeps every message it received, with its source.
type Peer struct {
	Name  string
	Addr  netip.AddrPort
	Conn  *net.UDPConn // its SIP socket, for raw sends
	Media *net.UDPConn // the RTP socket its SDP names

	mu   sync.Mutex
	got  []*sip.Message
	from []netip.AddrPort
	done chan struct{}
}

// NewPeer opens a Peer on addr inside the namespace of role; the test's
// cleanup closes it.
func (tp *Topology) NewPeer(t testing.TB, role, name string, addr netip.AddrPort) *Peer {
	t.Helper()
	p := &Peer{Name: name, Addr: addr, done: make(chan struct{})}
	err := tp.Do(role, func() error {
		var err error
		if p.Conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr)); err != nil {
			return err
		}
		p.Media, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Addr(), 40000)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	go p.loop() // owner: the test; exit: Close in Cleanup
	t.Cleanup(func() { p.Conn.Close(); p.Media.Close(); <-p.done })
	return p
}

// SDP is the offer or answer the Peer sends: PCMU on its media socket.
func (p *Peer) SDP() string {
	a := p.Addr.Addr().String()
	return "v=0\r\no=" + p.Name + " 1 1 IN IP4 " + a + "\r\ns=-\r\nc=IN IP4 " + a + "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
}

func (p *Peer) loop() {
	defer close(p.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := p.Conn.ReadFromUDPAddrPort(buf)
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
			r.SetHeader("To", to+";tag="+p.Name)
		}
		switch m.Method {
		case "REGISTER":
			cts, _ := m.Contacts()
			for _, c := range cts {
				e, ok := c.Expires()
				if !ok {
					e = 3600
					if v, err := m.Expires(); err == nil {
						e = v
					}
				}
				r.AddHeader("Contact", "<"+c.URI.String()+">;expires="+strconv.Itoa(int(e)))
			}
		case "INVITE":
			r.AddHeader("Contact", "<sip:"+p.Name+"@"+p.Addr.String()+">")
			r.SetBody("application/sdp", []byte(p.SDP()))
		}
		p.Conn.WriteToUDPAddrPort(r.AppendTo(nil), from)
	}
}

// Wait returns (and forgets) the first message received that satisfies ok,
// with its source; it fails the test after 8 s.
func (p *Peer) Wait(t testing.TB, what string, ok func(*sip.Message) bool) (*sip.Message, netip.AddrPort) {
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
	t.Fatalf("%s: timed out waiting for %s", p.Name, what)
	return nil, netip.AddrPort{}
}

// Count is the number of received requests of a method not yet taken by
// Wait.
func (p *Peer) Count(method string) int {
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

// Send writes a SIP message (LF line ends become CRLF) to to; the message
// must parse.
func (p *Peer) Send(t testing.TB, msg string, to netip.AddrPort) {
	t.Helper()
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\n", "\r\n")
	if _, err := sip.Parse([]byte(msg)); err != nil {
		t.Fatalf("bad test message: %v\n%s", err, msg)
	}
	if _, err := p.Conn.WriteToUDPAddrPort([]byte(msg), to); err != nil {
		t.Fatal(err)
	}
}
