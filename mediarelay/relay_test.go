package mediarelay

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/stun/v3"
)

var (
	inside  = netip.MustParseAddr("127.0.0.1")
	outside = netip.MustParseAddr("127.0.0.2")
)

// variant is one engine configuration every relay test runs against.
type variant struct {
	name       string
	engine     Engine
	socketSend bool
}

func (v variant) String() string { return v.name }

func variants() []variant {
	if runtime.GOOS == "linux" {
		return []variant{{"epoll", EngineEpoll, false}, {"epoll-socketsend", EngineEpoll, true}, {"goroutine", EngineGoroutine, false}}
	}
	return []variant{{"goroutine", EngineGoroutine, false}}
}

func forEngine(t *testing.T, f func(t *testing.T, e variant)) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) { f(t, v) })
	}
}

func newRelay(t testing.TB, v variant, mod func(*Config)) *Relay {
	t.Helper()
	cfg := Config{
		Engine:     v.engine,
		SocketSend: v.socketSend,
		Interfaces: []InterfaceConfig{
			{Name: "inside", Addr: inside, PortMin: 41000, PortMax: 41999},
			{Name: "outside", Addr: outside, PortMin: 41000, PortMax: 41999},
		},
		Workers: 2,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// peer is a test endpoint: a real UDP socket on loopback.
type peer struct {
	t    testing.TB
	conn *net.UDPConn
}

func newPeer(t testing.TB, a netip.Addr) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *peer) send(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// recv waits up to d for one datagram; ok is false on timeout.
func (p *peer) recv(d time.Duration) (b []byte, from netip.AddrPort, ok bool) {
	buf := make([]byte, 2048)
	p.conn.SetReadDeadline(time.Now().Add(d))
	n, from, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, from, false
	}
	return buf[:n], from, true
}

func (p *peer) expect(d time.Duration, wantFrom netip.AddrPort, want []byte) {
	p.t.Helper()
	b, from, ok := p.recv(d)
	if !ok {
		p.t.Fatalf("peer %v: nothing received (want %d bytes from %v)", p.addr(), len(want), wantFrom)
	}
	if from != wantFrom {
		p.t.Fatalf("peer %v: received from %v, want %v", p.addr(), from, wantFrom)
	}
	if want != nil && string(b) != string(want) {
		p.t.Fatalf("peer %v: payload differs: got %x want %x", p.addr(), b, want)
	}
}

func (p *peer) expectNothing(d time.Duration) {
	p.t.Helper()
	if b, from, ok := p.recv(d); ok {
		p.t.Fatalf("peer %v: unexpected %d bytes from %v", p.addr(), len(b), from)
	}
}

func rtpPacket(ssrc uint32, seq uint16, ts uint32, payload int) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: make([]byte, payload)}
	for i := range p.Payload {
		p.Payload[i] = byte(seq) + byte(i)
	}
	b, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// call sets up a session between peer a (inside) and peer b (outside) with
// both remotes signalled as the peers' real addresses.
type call struct {
	s      *Session
	a, b   *peer
	la, lb Local
}

func newCall(t testing.TB, r *Relay, cfg SessionConfig) *call {
	t.Helper()
	if cfg.ALeg.Interface == "" {
		cfg.ALeg.Interface = "inside"
	}
	if cfg.BLeg.Interface == "" {
		cfg.BLeg.Interface = "outside"
	}
	s, err := r.NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &call{s: s, a: newPeer(t, inside), b: newPeer(t, outside), la: s.Local(LegA), lb: s.Local(LegB)}
	if err := s.SetRemote(LegA, c.a.addr(), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRemote(LegB, c.b.addr(), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	return c
}

const wait = 2 * time.Second
const quiet = 150 * time.Millisecond

func TestTwoWayRelay(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		c := newCall(t, r, SessionConfig{})
		if c.la.Addr != inside || c.lb.Addr != outside || c.la.RTPPort%2 != 0 || c.la.RTCPPort != c.la.RTPPort+1 {
			t.Fatalf("locals %+v %+v", c.la, c.lb)
		}
		for i := 0; i < 20; i++ {
			pa := rtpPacket(0xa, uint16(100+i), uint32(160*i), 160)
			c.a.send(c.la.RTP(), pa)
			c.b.expect(wait, c.lb.RTP(), pa)
			pb := rtpPacket(0xb, uint16(7+i), uint32(160*i), 160)
			c.b.send(c.lb.RTP(), pb)
			c.a.expect(wait, c.la.RTP(), pb)
		}
		st := c.s.Stats()
		if st.A.RTP != 20 || st.B.RTP != 20 || st.A.Forwarded != 20 || st.B.Forwarded != 20 || st.A.Bytes != 20*172 {
			t.Fatalf("stats %+v", st)
		}
		if st.A.Lost != 0 || st.A.Gaps != 0 || st.A.SSRC != 0xa || st.A.LastPacket.IsZero() || st.A.Latched != c.a.addr() {
			t.Fatalf("leg A stats %+v", st.A)
		}
	})
}

func TestNoForwardBeforeSignalling(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
		if err != nil {
			t.Fatal(err)
		}
		a, b := newPeer(t, inside), newPeer(t, outside)
		la, lb := s.Local(LegA), s.Local(LegB)
		if err := s.SetRemote(LegA, a.addr(), netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		// B has no remote yet: A's media has nowhere to go, and B's is dropped.
		a.send(la.RTP(), rtpPacket(1, 1, 0, 160))
		b.send(lb.RTP(), rtpPacket(2, 1, 0, 160))
		a.expectNothing(quiet)
		b.expectNothing(quiet)
		if err := s.SetRemote(LegB, b.addr(), netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		p := rtpPacket(1, 2, 160, 160)
		a.send(la.RTP(), p)
		b.expect(wait, lb.RTP(), p)
		if st := s.Stats(); st.A.Dropped != 1 || st.B.Dropped != 1 {
			t.Fatalf("dropped A=%d B=%d, want 1 and 1", st.A.Dropped, st.B.Dropped)
		}
	})
}

func TestLatchLearnNATedSource(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, func(c *Config) { c.RelatchIdle = 200 * time.Millisecond })
		s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside", Latch: LatchLearn}, BLeg: LegConfig{Interface: "outside", Latch: LatchStrict}})
		if err != nil {
			t.Fatal(err)
		}
		nat, b := newPeer(t, inside), newPeer(t, outside)
		la, lb := s.Local(LegA), s.Local(LegB)
		// The SDP of A names its private address (an unused loopback
		// address here); its packets arrive from the NAT's mapping.
		private := netip.MustParseAddrPort("127.0.0.9:4000")
		if err := s.SetRemote(LegA, private, netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRemote(LegB, b.addr(), netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		p := rtpPacket(1, 1, 0, 160)
		nat.send(la.RTP(), p)
		b.expect(wait, lb.RTP(), p)
		// B's media now goes to the learned NAT mapping, not the SDP address.
		q := rtpPacket(2, 1, 0, 160)
		b.send(lb.RTP(), q)
		nat.expect(wait, la.RTP(), q)
		if st := s.Stats(); st.A.Latched != nat.addr() || st.A.Remote != private {
			t.Fatalf("latched %v remote %v", st.A.Latched, st.A.Remote)
		}
		// A second source is refused while the latched one is live ...
		other := newPeer(t, inside)
		other.send(la.RTP(), rtpPacket(9, 1, 0, 160))
		b.expectNothing(quiet)
		// ... and takes over once it has been silent for RelatchIdle (NAT rebinding).
		time.Sleep(250 * time.Millisecond)
		p2 := rtpPacket(1, 2, 160, 160)
		other.send(la.RTP(), p2)
		b.expect(wait, lb.RTP(), p2)
		b.send(lb.RTP(), q)
		other.expect(wait, la.RTP(), q)
	})
}

func TestStrictDropsForeignSource(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		c := newCall(t, r, SessionConfig{ALeg: LegConfig{Latch: LatchStrict}, BLeg: LegConfig{Latch: LatchStrict}})
		foreign := newPeer(t, inside)
		foreign.send(c.la.RTP(), rtpPacket(66, 1, 0, 160))
		c.b.expectNothing(quiet)
		p := rtpPacket(1, 1, 0, 160)
		c.a.send(c.la.RTP(), p)
		c.b.expect(wait, c.lb.RTP(), p)
		if st := c.s.Stats(); st.A.Dropped != 1 || st.A.RTP != 1 || st.A.Latched.IsValid() {
			t.Fatalf("stats %+v", st.A)
		}
	})
}

func TestLatchOnceRefusesInjection(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		c := newCall(t, r, SessionConfig{ALeg: LegConfig{Latch: LatchOnce}, BLeg: LegConfig{Latch: LatchOnce}})
		p := rtpPacket(1, 1, 0, 160)
		c.a.send(c.la.RTP(), p)
		c.b.expect(wait, c.lb.RTP(), p)
		// RTP bleed / injection: another source on A's port after latching.
		attacker := newPeer(t, inside)
		for i := 0; i < 5; i++ {
			attacker.send(c.la.RTP(), rtpPacket(66, uint16(i), 0, 160))
		}
		c.b.expectNothing(quiet)
		// B's media still goes only to the latched A, not to the attacker.
		q := rtpPacket(2, 1, 0, 160)
		c.b.send(c.lb.RTP(), q)
		c.a.expect(wait, c.la.RTP(), q)
		attacker.expectNothing(quiet)
		if st := c.s.Stats(); st.A.Dropped != 5 {
			t.Fatalf("A dropped %d, want 5", st.A.Dropped)
		}
		// Re-signalling the same remote keeps the latch ...
		if err := c.s.SetRemote(LegA, c.a.addr(), netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		attacker.send(c.la.RTP(), rtpPacket(66, 9, 0, 160))
		c.b.expectNothing(quiet)
		// ... a re-INVITE moving A to a new address re-learns, on the same ports.
		moved := newPeer(t, inside)
		if err := c.s.SetRemote(LegA, moved.addr(), netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		if got := c.s.Local(LegA); got != c.la {
			t.Fatalf("local changed across re-INVITE: %+v -> %+v", c.la, got)
		}
		p2 := rtpPacket(1, 2, 160, 160)
		moved.send(c.la.RTP(), p2)
		c.b.expect(wait, c.lb.RTP(), p2)
		c.b.send(c.lb.RTP(), q)
		moved.expect(wait, c.la.RTP(), q)
	})
}

func stunRequest(t testing.TB) *stun.Message {
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUnallocatedPortNotAnswered(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		c := newCall(t, r, SessionConfig{})
		probe := newPeer(t, inside)
		req := stunRequest(t)
		// A port of the range that no session holds, then the session's own
		// ports after it was closed: neither answers STUN nor relays RTP.
		free := netip.AddrPortFrom(inside, c.la.RTPPort+200)
		probe.send(free, req.Raw)
		probe.expectNothing(quiet)
		c.s.Close()
		probe.send(c.la.RTP(), req.Raw)
		c.a.send(c.la.RTP(), rtpPacket(1, 1, 0, 160))
		probe.expectNothing(quiet)
		c.b.expectNothing(quiet)
	})
}

func TestSTUNAnsweredNotForwarded(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		c := newCall(t, r, SessionConfig{ALeg: LegConfig{Latch: LatchOnce}})
		req := stunRequest(t)
		c.a.send(c.la.RTP(), req.Raw)
		b, from, ok := c.a.recv(wait)
		if !ok || from != c.la.RTP() {
			t.Fatalf("no STUN answer (ok=%v from %v)", ok, from)
		}
		var resp stun.Message
		resp.Raw = b
		if err := resp.Decode(); err != nil {
			t.Fatal(err)
		}
		var xor stun.XORMappedAddress
		if resp.Type != stun.BindingSuccess || resp.TransactionID != req.TransactionID {
			t.Fatalf("response %v", resp)
		}
		if err := xor.GetFrom(&resp); err != nil || xor.Port != int(c.a.addr().Port()) || !xor.IP.Equal(net.IP(inside.AsSlice())) {
			t.Fatalf("XOR-MAPPED-ADDRESS %v %v", xor, err)
		}
		if err := stun.Fingerprint.Check(&resp); err != nil {
			t.Fatalf("fingerprint: %v", err)
		}
		c.b.expectNothing(quiet)
		// A STUN check from a foreign source is answered too, but must not
		// latch the (latch-once) leg: RTP from the real party still gets
		// through afterwards.
		foreign := newPeer(t, inside)
		foreign.send(c.la.RTP(), req.Raw)
		if _, from, ok := foreign.recv(wait); !ok || from != c.la.RTP() {
			t.Fatalf("no STUN answer to a second source")
		}
		p := rtpPacket(1, 1, 0, 160)
		c.a.send(c.la.RTP(), p)
		c.b.expect(wait, c.lb.RTP(), p)
		if st := c.s.Stats(); st.A.STUN != 2 || st.A.Forwarded != 1 || st.A.Latched != c.a.addr() {
			t.Fatalf("stats %+v", st.A)
		}
	})
}

func rtcpRR(t testing.TB, ssrc uint32, lost int32, jitter uint32) []byte {
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: ssrc, Reports: []rtcp.ReceptionReport{{SSRC: 1, FractionLost: 25, TotalLost: uint32(lost), Jitter: jitter, LastSequenceNumber: 100}}},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: ssrc, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x@y"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRTCPPairingAndMux(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		// A: classic RTP/RTCP pair; B: rtcp-mux.
		s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside", RTCPMux: true}})
		if err != nil {
			t.Fatal(err)
		}
		la, lb := s.Local(LegA), s.Local(LegB)
		if !lb.RTCPMux || lb.RTCP() != lb.RTP() || la.RTCP().Port() != la.RTPPort+1 {
			t.Fatalf("locals %+v %+v", la, lb)
		}
		aRTP, aRTCP, b := newPeer(t, inside), newPeer(t, inside), newPeer(t, outside)
		if err := s.SetRemote(LegA, aRTP.addr(), aRTCP.addr()); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRemote(LegB, b.addr(), netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		// One RTP packet each way first, so that the reports' jitter can be
		// converted with the streams' clock rate (PT 0: 8000 Hz).
		pa := rtpPacket(0xa, 1, 0, 160)
		aRTP.send(la.RTP(), pa)
		b.expect(wait, lb.RTP(), pa)
		p := rtpPacket(0xb, 1, 0, 160)
		b.send(lb.RTP(), p)
		aRTP.expect(wait, la.RTP(), p)
		// RTCP on A's odd port reaches B on its single (muxed) port.
		rr := rtcpRR(t, 0xa, 7, 80)
		aRTCP.send(la.RTCP(), rr)
		b.expect(wait, lb.RTP(), rr)
		// B's muxed RTCP reaches A's RTCP address from A's odd port; B's RTP
		// goes to A's RTP address from A's even port.
		rr2 := rtcpRR(t, 0xb, 3, 16)
		b.send(lb.RTP(), rr2)
		aRTCP.expect(wait, la.RTCP(), rr2)
		// RTP sent to an RTCP port is not relayed; RTCP to A's RTP port
		// (A did not negotiate mux) is not either.
		aRTCP.send(la.RTCP(), rtpPacket(0xa, 1, 0, 160))
		aRTP.send(la.RTP(), rr)
		b.expectNothing(quiet)
		st := s.Stats()
		if st.A.RTCP != 1 || st.A.Reports != 1 || st.A.ReportedLost != 7 || st.A.ReportedFrac != 25 || st.A.ReportedJitter != 10*time.Millisecond {
			t.Fatalf("A RTCP stats %+v", st.A)
		}
		if st.B.RTCP != 1 || st.B.ReportedLost != 3 || st.B.RTP != 1 || st.B.ReportedJitter != 2*time.Millisecond {
			t.Fatalf("B RTCP stats %+v", st.B)
		}
		// A re-INVITE turning mux off on B opens its odd port, same ports.
		if err := s.SetRTCPMux(LegB, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRemote(LegB, b.addr(), netip.AddrPortFrom(b.addr().Addr(), b.addr().Port())); err != nil {
			t.Fatal(err)
		}
		lb2 := s.Local(LegB)
		if lb2.RTPPort != lb.RTPPort || lb2.RTCP().Port() != lb.RTPPort+1 {
			t.Fatalf("local after mux off %+v", lb2)
		}
		aRTCP.send(la.RTCP(), rr)
		b.expect(wait, lb2.RTCP(), rr)
	})
}

func TestMediaTimeoutReported(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, func(c *Config) { c.MediaTimeout = 300 * time.Millisecond })
		ch := make(chan Timeout, 4)
		c := newCall(t, r, SessionConfig{OnTimeout: func(to Timeout) { ch <- to }, Tag: "call-1"})
		// A talks for a while, B is silent from the start.
		start := time.Now()
		for i := 0; i < 5; i++ {
			c.a.send(c.la.RTP(), rtpPacket(1, uint16(i), uint32(160*i), 160))
			time.Sleep(20 * time.Millisecond)
		}
		got := map[Leg]Timeout{}
		deadline := time.After(3 * time.Second)
		for len(got) < 2 {
			select {
			case to := <-ch:
				if _, dup := got[to.Leg]; dup {
					t.Fatalf("leg %s reported twice", to.Leg)
				}
				got[to.Leg] = to
			case <-deadline:
				t.Fatalf("timeouts reported: %v", got)
			}
		}
		if time.Since(start) < 300*time.Millisecond {
			t.Fatalf("timeout reported too early")
		}
		for _, to := range got {
			if to.Session != c.s || to.Session.Tag() != "call-1" || to.Silence < 300*time.Millisecond {
				t.Fatalf("timeout %+v", to)
			}
		}
		select {
		case to := <-ch:
			t.Fatalf("reported again without new media: %+v", to)
		case <-time.After(400 * time.Millisecond):
		}
	})
}

func TestPortsReleasedAfter10000Sessions(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, func(c *Config) {
			c.Interfaces = []InterfaceConfig{
				{Name: "inside", Addr: inside, PortMin: 42000, PortMax: 42199},
				{Name: "outside", Addr: outside, PortMin: 42000, PortMax: 42199},
			}
		})
		n := 10000
		if e.engine == EngineGoroutine {
			n = 2000 // a goroutine per socket: same property, fewer iterations
		}
		for i := 0; i < n; i++ {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside", RTCPMux: i%2 == 0}})
			if err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
			s.Close()
			s.Close() // idempotent: must not free the pair twice
		}
		st := r.Stats()
		if st.Sessions != 0 {
			t.Fatalf("%d sessions left", st.Sessions)
		}
		for _, is := range st.Interfaces {
			if is.PortsInUse != 0 || is.PortsTotal != 200 {
				t.Fatalf("interface %+v", is)
			}
		}
		// The pool is whole again: exactly 100 pairs can be held at once,
		// each handed out once.
		seen := map[uint16]bool{}
		var held []*Session
		for {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
			if errors.Is(err, ErrNoPorts) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			p := s.Local(LegA).RTPPort
			if seen[p] {
				t.Fatalf("port %d handed out twice", p)
			}
			seen[p] = true
			held = append(held, s)
		}
		// Other processes on the machine may hold a few ports of the range.
		if len(held) < 95 || len(held) > 100 {
			t.Fatalf("held %d sessions from 100 pairs", len(held))
		}
		for _, s := range held {
			s.Close()
		}
		if is := r.Stats().Interfaces[0]; is.PortsInUse != 0 {
			t.Fatalf("ports in use %d after closing", is.PortsInUse)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{Interfaces: []InterfaceConfig{{Name: "i", Addr: inside, PortMin: 40001, PortMax: 40003}}}, true},
		{"no interfaces", Config{}, false},
		{"no address", Config{Interfaces: []InterfaceConfig{{Name: "i", PortMin: 40000, PortMax: 40010}}}, false},
		{"duplicate", Config{Interfaces: []InterfaceConfig{{Name: "i", Addr: inside, PortMin: 40000, PortMax: 40010}, {Name: "i", Addr: inside, PortMin: 40020, PortMax: 40030}}}, false},
		{"odd single port", Config{Interfaces: []InterfaceConfig{{Name: "i", Addr: inside, PortMin: 40001, PortMax: 40002}}}, false},
	}
	for _, c := range cases {
		r, err := New(c.cfg)
		if (err == nil) != c.ok {
			t.Errorf("%s: err=%v", c.name, err)
		}
		if err != nil && !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v is not ErrBadConfig", c.name, err)
		}
		if r != nil {
			if c.ok && r.ifaces[0].cfg.PortMin != 40002 {
				t.Errorf("PortMin not rounded to even: %d", r.ifaces[0].cfg.PortMin)
			}
			r.Close()
		}
	}
	r := newRelay(t, variant{"goroutine", EngineGoroutine, false}, nil)
	if _, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "dmz"}, BLeg: LegConfig{Interface: "inside"}}); !errors.Is(err, ErrUnknownInterface) {
		t.Fatalf("unknown interface: %v", err)
	}
	// A failure on leg B gives leg A's ports back.
	if _, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "dmz"}}); !errors.Is(err, ErrUnknownInterface) {
		t.Fatalf("unknown B interface: %v", err)
	}
	if st := r.Stats(); st.Sessions != 0 || st.Interfaces[0].PortsInUse != 0 {
		t.Fatalf("after failed NewSession: %+v", st)
	}
	s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "inside"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRemote(LegA, netip.MustParseAddrPort("[::1]:4000"), netip.AddrPort{}); !errors.Is(err, ErrBadRemote) {
		t.Fatalf("v6 remote on v4 interface: %v", err)
	}
	if err := s.SetRemote(LegA, netip.MustParseAddrPort("127.0.0.1:0"), netip.AddrPort{}); !errors.Is(err, ErrBadRemote) {
		t.Fatalf("port 0: %v", err)
	}
	r.Close()
	if _, err := r.NewSession(SessionConfig{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := s.SetRemote(LegA, netip.MustParseAddrPort("127.0.0.1:4000"), netip.AddrPort{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetRemote after Close: %v", err)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		b    []byte
		want int
	}{
		{[]byte{0x00, 0x01}, kindSTUN},
		{[]byte{0x03, 0x00}, kindSTUN},
		{[]byte{0x80, 0x00}, kindRTP},     // PT 0
		{[]byte{0x80, 0x80 | 8}, kindRTP}, // marker + PT 8
		{[]byte{0x80, 0x7f}, kindRTP},     // PT 127 without marker
		{[]byte{0x80, 200}, kindRTCP},     // SR
		{[]byte{0x81, 201}, kindRTCP},     // RR
		{[]byte{0x80, 223}, kindRTCP},     // upper bound of RFC 5761 §4
		{[]byte{0x80, 224}, kindRTP},      // marker + PT 96
		{[]byte{0x80, 191}, kindRTP},      // marker + PT 63
		{[]byte{0x16, 0xfe}, kindDrop},    // DTLS
		{[]byte{0x10, 0x00}, kindDrop},    // ZRTP
		{[]byte{0x40, 0x00}, kindDrop},    // TURN channel
		{[]byte{0xc0, 0x00}, kindDrop},    // RTP version 3
		{[]byte{0x80}, kindDrop},          // too short
	}
	for _, c := range cases {
		if got := classify(c.b); got != c.want {
			t.Errorf("classify(%x) = %d, want %d", c.b, got, c.want)
		}
	}
}

func TestSequenceAndJitterStats(t *testing.T) {
	var s legStats
	h := rtp.Header{Version: 2, PayloadType: 0, SSRC: 1}
	now := int64(0)
	base := 65530
	feed := func(off int, ts uint32, at int64) {
		h.SequenceNumber, h.Timestamp = uint16(base+off), ts
		s.onRTP(&h, at, nil)
	}
	// 10 packets, perfectly paced: no jitter, no loss.
	for i := 0; i < 10; i++ {
		feed(i, uint32(160*i), now)
		now += int64(20 * time.Millisecond)
	}
	if s.Lost != 0 || s.Gaps != 0 || s.Expected != 10 || s.Jitter != 0 {
		t.Fatalf("paced: %+v", s.LegStats)
	}
	// Sequence wrapped (65530..3); now skip 3 packets.
	feed(13, uint32(160*13), now+3*int64(20*time.Millisecond))
	if s.Lost != 3 || s.Gaps != 1 || s.Expected != 14 {
		t.Fatalf("gap: lost %d gaps %d expected %d", s.Lost, s.Gaps, s.Expected)
	}
	// A late (reordered) packet reduces the loss.
	feed(11, uint32(160*11), now)
	if s.Lost != 2 {
		t.Fatalf("reorder: lost %d", s.Lost)
	}
	// Jitter: one packet 10 ms late gives D = 80 units, J = 80/16 = 5 units.
	var j legStats
	h.SSRC = 2
	h.SequenceNumber, h.Timestamp = 1, 0
	j.onRTP(&h, 0, nil)
	h.SequenceNumber, h.Timestamp = 2, 160
	j.onRTP(&h, int64(30*time.Millisecond), nil)
	if j.jitter16>>4 != 5 || j.Jitter != 625*time.Microsecond {
		t.Fatalf("jitter %d (%v)", j.jitter16>>4, j.Jitter)
	}
	// An SSRC change keeps the earlier loss and counts the change.
	h.SSRC = 3
	h.SequenceNumber = 500
	before := s.Lost
	s.onRTP(&h, now, nil)
	if s.SSRCChanges != 1 || s.SSRC != 3 || s.Lost != before {
		t.Fatalf("ssrc change: %+v", s.LegStats)
	}
	// Dynamic payload type with a signalled clock rate.
	var d legStats
	h.PayloadType = 111
	d.onRTP(&h, 0, map[uint8]uint32{111: 48000})
	if d.clock != 48000 {
		t.Fatalf("clock %d", d.clock)
	}
}

func TestRTPValidation(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		c := newCall(t, r, SessionConfig{})
		bad := [][]byte{
			{0x80, 0x00, 0x00, 0x01},                             // shorter than the fixed header
			append([]byte{0x8f, 0x00}, make([]byte, 20)...),      // 15 CSRCs announced, not present
			append([]byte{0xa0, 0x00}, make([]byte, 10)...),      // padding bit, header short
			append(rtpPacket(1, 1, 0, 4)[:16], 0x00, 0x00, 0x00), // padding count 0 (set below)
		}
		bad[3][0] |= 0x20
		for _, b := range bad {
			c.a.send(c.la.RTP(), b)
		}
		c.b.expectNothing(quiet)
		if st := c.s.Stats(); st.A.Dropped != uint64(len(bad)) || st.A.RTP != 0 {
			t.Fatalf("stats %+v", st.A)
		}
	})
}

// TestZeroAllocsEndToEnd proves that relaying allocates nothing: the whole
// process (test peers, relay workers, timer) is measured around a packet
// going through the relay and back.
func TestZeroAllocsEndToEnd(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, nil)
		c := newCall(t, r, SessionConfig{})
		pa := rtpPacket(1, 1, 0, 160)
		rr := rtcpRR(t, 1, 0, 0)
		buf := make([]byte, 2048)
		var seq atomic.Uint32
		round := func() {
			binary.BigEndian.PutUint16(pa[2:], uint16(seq.Add(1)))
			c.a.conn.WriteToUDPAddrPort(pa, c.la.RTP())
			c.b.conn.ReadFromUDPAddrPort(buf)
			c.b.conn.WriteToUDPAddrPort(pa, c.lb.RTP())
			c.a.conn.ReadFromUDPAddrPort(buf)
		}
		for i := 0; i < 50; i++ { // warm up: latch, grow scratch slices
			round()
		}
		// RTCP with reports is read into reused structs.
		aRTCP := c.la.RTCP()
		for i := 0; i < 3; i++ {
			c.a.conn.WriteToUDPAddrPort(rr, aRTCP)
		}
		c.a.conn.SetReadDeadline(time.Time{})
		c.b.conn.SetReadDeadline(time.Time{})
		allocs := testing.AllocsPerRun(500, round)
		// The goroutine engine's netpoller may occasionally allocate; the
		// epoll engine must not allocate at all.
		if e.engine == EngineEpoll && allocs != 0 {
			t.Fatalf("%v allocations per relayed packet pair, want 0", allocs)
		}
		if allocs > 0.05 {
			t.Fatalf("%v allocations per relayed packet pair", allocs)
		}
		t.Logf("%s: %.3f allocs per round trip (2 packets relayed)", e, allocs)
	})
}

// TestBurstForwarding sends bursts that the relay reads in batches, with
// sizes that make some runs eligible for segmentation offload and some
// not, and checks every datagram arrives intact and in order.
func TestBurstForwarding(t *testing.T) {
	vs := variants()
	if runtime.GOOS == "linux" {
		vs = append(vs, variant{"epoll-nogso", EngineEpoll, false})
	}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			r := newRelay(t, v, func(c *Config) { c.NoGSO = v.name == "epoll-nogso" })
			c := newCall(t, r, SessionConfig{})
			const n = 150
			var want [][]byte
			for i := 0; i < n; i++ {
				size := 160
				switch {
				case i%50 == 49:
					size = 60 // a shorter datagram ends a segmentation run
				case i%70 == 69:
					size = 900 // a longer one cannot join it
				}
				want = append(want, rtpPacket(7, uint16(i), uint32(160*i), size))
			}
			// The peer's receive buffer must hold a whole burst.
			c.b.conn.SetReadBuffer(4 << 20)
			// Holding the session's mutex keeps the workers off the socket
			// while the burst is queued, so that they read it in batches.
			c.s.mu.Lock()
			for _, p := range want {
				c.a.send(c.la.RTP(), p)
			}
			c.s.mu.Unlock()
			for i := 0; i < n; i++ {
				b, from, ok := c.b.recv(wait)
				if !ok {
					t.Fatalf("received %d of %d", i, n)
				}
				if from != c.lb.RTP() || string(b) != string(want[i]) {
					t.Fatalf("datagram %d: from %v, %d bytes, want %d bytes (order or content changed)", i, from, len(b), len(want[i]))
				}
			}
			if st := c.s.Stats(); st.A.Forwarded != n || st.A.Lost != 0 {
				t.Fatalf("stats %+v", st.A)
			}
			checkGSO(t, r, v)
		})
	}
}

// TestDrainCapServesOthers floods one session's port and checks that a
// packet waiting on another session's port is forwarded after at most a few
// drain rounds of the flooded one, not after the whole flood (epoll engine:
// Config.DrainCap).
func TestDrainCapServesOthers(t *testing.T) {
	for _, v := range variants() {
		if v.engine != EngineEpoll {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			const drainCap, flood = 8, 200
			r := newRelay(t, v, func(c *Config) { c.Workers, c.DrainCap, c.BatchSize = 1, drainCap, 4 })
			sink := newPeer(t, outside)
			sink.conn.SetReadBuffer(4 << 20)
			var sess [2]*Session
			var srcs [2]*peer
			for i := range sess {
				s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
				if err != nil {
					t.Fatal(err)
				}
				srcs[i] = newPeer(t, inside)
				s.SetRemote(LegA, srcs[i].addr(), netip.AddrPort{})
				s.SetRemote(LegB, sink.addr(), netip.AddrPort{}) // one sink: arrival order is forwarding order
				sess[i] = s
			}
			// Queue the flood and the lone packet while the worker is kept
			// off both sessions.
			to0, to1 := sess[0].Local(LegA).RTP(), sess[1].Local(LegA).RTP()
			sess[0].mu.Lock()
			sess[1].mu.Lock()
			for i := 0; i < flood; i++ {
				srcs[0].send(to0, rtpPacket(1, uint16(i), 0, 160))
			}
			srcs[1].send(to1, rtpPacket(2, 1, 0, 160))
			sess[1].mu.Unlock()
			sess[0].mu.Unlock()
			before := 0
			for {
				b, _, ok := sink.recv(wait)
				if !ok {
					t.Fatalf("lone packet never arrived (%d flood packets did)", before)
				}
				if binary.BigEndian.Uint32(b[8:]) == 2 {
					break
				}
				before++
			}
			if before > 3*drainCap {
				t.Fatalf("%d flood packets went before the other session's packet; cap is %d per round", before, drainCap)
			}
			t.Logf("%d flood packets before the other session's packet", before)
		})
	}
}
