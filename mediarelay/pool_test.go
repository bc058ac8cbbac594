package mediarelay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/testenv"
)

// smallRelay is a relay whose interfaces have pairs port pairs each.
func smallRelay(t testing.TB, e variant, pairs int, mod func(*Config)) *Relay {
	t.Helper()
	return newRelay(t, e, func(c *Config) {
		top := uint16(48000 + 2*pairs - 1)
		c.Interfaces = []InterfaceConfig{
			{Name: "inside", Addr: inside, PortMin: 48000, PortMax: top},
			{Name: "outside", Addr: outside, PortMin: 48000, PortMax: top},
		}
		if mod != nil {
			mod(c)
		}
	})
}

// eventually polls cond until it holds or wait passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(wait); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not reached", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func idleSockets(st RelayStats) (n int) {
	for _, is := range st.Interfaces {
		n += is.SocketsIdle
	}
	return n
}

// relayBothWays checks that the call forwards one RTP packet each way.
func relayBothWays(t testing.TB, c *call, seq uint16) {
	t.Helper()
	pa := rtpPacket(0xa, seq, 0, 100)
	c.a.send(c.la.RTP(), pa)
	c.b.expect(wait, c.lb.RTP(), pa)
	pb := rtpPacket(0xb, seq, 0, 100)
	c.b.send(c.lb.RTP(), pb)
	c.a.expect(wait, c.la.RTP(), pb)
}

// TestPoolReusesSockets: a session's sockets outlive it in the pool, are
// read and discarded there (STUN not answered), and the next session on
// the port takes them with fresh state.
func TestPoolReusesSockets(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := smallRelay(t, e, 1, nil)
		c1 := newCall(t, r, SessionConfig{})
		relayBothWays(t, c1, 1)
		c1.s.Close()
		st := r.Stats()
		if st.SocketsOpened != 4 || st.SocketsReused != 0 || st.SocketsClosed != 0 || idleSockets(st) != 4 || st.Interfaces[0].PortsInUse != 0 {
			t.Fatalf("after the first call: %+v", st)
		}
		// An idle socket is read, never answered, never forwarded.
		probe := newPeer(t, inside)
		probe.send(c1.la.RTP(), stunRequest(t).Raw)
		c1.a.send(c1.la.RTP(), rtpPacket(0xa, 2, 0, 100))
		probe.expectNothing(quiet)
		c1.b.expectNothing(quiet)
		eventually(t, "idle datagrams counted", func() bool { return r.Stats().IdleDatagrams == 2 })

		c2 := newCall(t, r, SessionConfig{})
		if c2.la != c1.la || c2.lb != c1.lb {
			t.Fatalf("one pair per interface, yet locals moved: %+v %+v", c2.la, c1.la)
		}
		if s := c2.s.Stats(); s.A.Packets != 0 || s.A.Latched.IsValid() || s.A.Remote != c2.a.addr() || s.B.Packets != 0 {
			t.Fatalf("reused sockets carried state: %+v", s)
		}
		relayBothWays(t, c2, 1)
		if s := c2.s.Stats(); s.A.Latched != c2.a.addr() || s.B.Latched != c2.b.addr() || s.A.RTP != 1 || s.A.SSRCChanges != 0 {
			t.Fatalf("second call stats %+v", s)
		}
		c1.b.expectNothing(quiet) // the old peers hear nothing of the new call
		st = r.Stats()
		if st.SocketsOpened != 4 || st.SocketsReused != 4 || idleSockets(st) != 0 || st.Interfaces[0].PortsInUse != 2 {
			t.Fatalf("after the second call: %+v", st)
		}
		c2.s.Close()
		r.Close()
		if st := r.Stats(); st.SocketsClosed != 4 {
			t.Fatalf("Close closed %d sockets, want 4", st.SocketsClosed)
		}
	})
}

// TestPoolReuseDelay: a pooled pair rests ReuseDelay while cold pairs are
// free, and is reused (oldest first) once none is; the rtcp-mux leg leaves
// the pair's RTCP socket parked, and SetRTCPMux(false) takes it back.
func TestPoolReuseDelay(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := smallRelay(t, e, 3, func(c *Config) { c.ReuseDelay = time.Hour })
		var ports []uint16
		for range 3 {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside", RTCPMux: true}, BLeg: LegConfig{Interface: "outside"}})
			if err != nil {
				t.Fatal(err)
			}
			ports = append(ports, s.Local(LegA).RTPPort)
			s.Close()
		}
		if ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
			t.Fatalf("a resting pair was reused while cold ones were free: %v", ports)
		}
		st := r.Stats()
		if st.SocketsOpened != 9 || st.SocketsReused != 0 || st.Interfaces[0].SocketsIdle != 3 || st.Interfaces[1].SocketsIdle != 6 {
			t.Fatalf("%+v", st)
		}
		// No cold pair left: the oldest pooled pair comes back first.
		s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside", RTCPMux: true}})
		if err != nil {
			t.Fatal(err)
		}
		if p := s.Local(LegA).RTPPort; p != ports[0] {
			t.Fatalf("reused port %d, want the oldest %d", p, ports[0])
		}
		// Leg A had rtcp-mux before: its RTCP socket is opened now. Leg B is
		// rtcp-mux now: its pooled RTCP socket stays parked (idle).
		st = r.Stats()
		if st.SocketsOpened != 10 || st.SocketsReused != 2 || st.Interfaces[0].SocketsIdle != 2 || st.Interfaces[1].SocketsIdle != 5 {
			t.Fatalf("%+v", st)
		}
		if err := s.SetRTCPMux(LegB, false); err != nil {
			t.Fatal(err)
		}
		if st := r.Stats(); st.SocketsReused != 3 || st.SocketsOpened != 10 || st.Interfaces[1].SocketsIdle != 4 {
			t.Fatalf("parked RTCP socket not taken back: %+v", st)
		}
		// It works: RTCP on B's odd port reaches A's odd port.
		a, b := newPeer(t, inside), newPeer(t, outside)
		s.SetRemote(LegA, a.addr(), a.addr())
		s.SetRemote(LegB, b.addr(), b.addr())
		rr := rtcpRR(t, 1, 0, 0)
		b.send(s.Local(LegB).RTCP(), rr)
		a.expect(wait, s.Local(LegA).RTCP(), rr)
	})
}

// TestStaleMediaNeverForwarded: the far end of an ended call keeps sending
// to its port. Nothing of it reaches the next call on that port: not what
// was sent while the port was idle, not what arrived before the new call's
// remotes were set; in strict mode not what arrives after either, and the
// stale source is never latched.
func TestStaleMediaNeverForwarded(t *testing.T) {
	for _, mode := range []LatchMode{LatchLearn, LatchStrict, LatchOnce} {
		t.Run(mode.String(), func(t *testing.T) {
			forEngine(t, func(t *testing.T, e variant) {
				r := smallRelay(t, e, 1, nil)
				lc := SessionConfig{ALeg: LegConfig{Latch: mode}, BLeg: LegConfig{Latch: mode}}
				c1 := newCall(t, r, lc)
				relayBothWays(t, c1, 1)
				c1.s.Close()
				stale := func(n int, seq uint16) {
					for i := range n {
						c1.a.send(c1.la.RTP(), rtpPacket(0xdead, seq+uint16(i), 0, 40))
					}
				}
				stale(10, 100) // to the idle socket
				s2, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside", Latch: mode}, BLeg: LegConfig{Interface: "outside", Latch: mode}})
				if err != nil {
					t.Fatal(err)
				}
				if s2.Local(LegA) != c1.la {
					t.Fatalf("port not reused")
				}
				stale(10, 200) // to the new session, before its remotes
				a, b := newPeer(t, inside), newPeer(t, outside)
				if err := s2.SetRemote(LegA, a.addr(), netip.AddrPort{}); err != nil {
					t.Fatal(err)
				}
				if err := s2.SetRemote(LegB, b.addr(), netip.AddrPort{}); err != nil {
					t.Fatal(err)
				}
				want := 20
				if mode == LatchStrict {
					stale(10, 300) // after: a foreign source for a strict leg
					want += 10
				}
				p := rtpPacket(0xa, 1, 0, 100)
				a.send(c1.la.RTP(), p)
				b.expect(wait, c1.lb.RTP(), p) // the first and only datagram b gets
				b.expectNothing(quiet)
				eventually(t, "every stale datagram accounted for", func() bool {
					st := s2.Stats()
					return r.Stats().IdleDatagrams+st.A.Dropped == uint64(want)
				})
				st := s2.Stats()
				if st.A.Latched == c1.a.addr() || st.A.Forwarded != 1 || st.A.SSRC != 0xa || st.A.SSRCChanges != 0 {
					t.Fatalf("stale media reached the new call: %+v", st.A)
				}
				if mode == LatchStrict && st.A.Latched.IsValid() {
					t.Fatalf("strict leg latched %v", st.A.Latched)
				}
				if mode != LatchStrict && st.A.Latched != a.addr() {
					t.Fatalf("latched %v, want %v", st.A.Latched, a.addr())
				}
			})
		})
	}
}

// faultEngine injects open errors in front of a real engine and counts the
// attempts.
type faultEngine struct {
	engine
	attempts atomic.Int64
	fail     func(n int64, so *sock) error // n is the attempt number, from 1
}

func (f *faultEngine) open(so *sock) error {
	n := f.attempts.Add(1)
	if err := f.fail(n, so); err != nil {
		return err
	}
	return f.engine.open(so)
}

func inject(r *Relay, fail func(n int64, so *sock) error) *faultEngine {
	f := &faultEngine{engine: r.eng, fail: fail}
	r.eng = f
	return f
}

// TestAllocationFailsFast: only a port held by someone else (EADDRINUSE)
// moves the allocation to the next pair; running out of descriptors or
// memory ends it at the first attempt (one retry after closing idle pooled
// sockets for EMFILE/ENFILE), so a relay at its descriptor limit does not
// burn its CPU trying every port of the range.
func TestAllocationFailsFast(t *testing.T) {
	const pairs = 50
	always := func(err error) func(int64, *sock) error { return func(int64, *sock) error { return err } }
	cases := []struct {
		name     string
		err      error
		attempts int64
		noPorts  bool
	}{
		{"EMFILE", syscall.EMFILE, 1, false},
		{"ENFILE", syscall.ENFILE, 1, false},
		{"ENOMEM", syscall.ENOMEM, 1, false},
		{"ENOBUFS", syscall.ENOBUFS, 1, false},
		{"EACCES", syscall.EACCES, 1, false},
		{"EADDRNOTAVAIL", syscall.EADDRNOTAVAIL, 1, false},
		{"EADDRINUSE", syscall.EADDRINUSE, pairs, true},
	}
	forEngine(t, func(t *testing.T, e variant) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := smallRelay(t, e, pairs, nil)
				f := inject(r, always(c.err))
				_, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
				if !errors.Is(err, c.err) && !c.noPorts {
					t.Fatalf("error %v does not wrap %v", err, c.err)
				}
				if errors.Is(err, ErrNoPorts) != c.noPorts {
					t.Fatalf("error %v: ErrNoPorts=%v", err, !c.noPorts)
				}
				if got := f.attempts.Load(); got != c.attempts {
					t.Fatalf("%d socket attempts, want %d", got, c.attempts)
				}
				if st := r.Stats(); st.Sessions != 0 || st.Interfaces[0].PortsInUse != 0 || st.Interfaces[1].PortsInUse != 0 {
					t.Fatalf("after the failure: %+v", st)
				}
				// The pool is intact: with the fault gone, every pair serves.
				f.fail = always(nil)
				for i := range pairs {
					if _, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}}); err != nil {
						t.Fatalf("session %d: %v", i, err)
					}
				}
			})
		}
		t.Run("EADDRINUSE on one port", func(t *testing.T) {
			r := smallRelay(t, e, pairs, nil)
			var held uint16
			f := inject(r, func(n int64, so *sock) error {
				if n == 1 {
					held = so.local.Port()
					return syscall.EADDRINUSE
				}
				return nil
			})
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
			if err != nil {
				t.Fatal(err)
			}
			if p := s.Local(LegA).RTPPort; p == held || f.attempts.Load() != 5 {
				t.Fatalf("port %d (held %d), %d attempts", p, held, f.attempts.Load())
			}
		})
		// A port another process keeps is not tried by every allocation:
		// while other pairs are free it is passed over.
		t.Run("EADDRINUSE port held for good", func(t *testing.T) {
			r := smallRelay(t, e, 5, func(c *Config) { c.ReuseDelay = time.Hour })
			var tried atomic.Int64
			inject(r, func(_ int64, so *sock) error {
				if so.local == netip.AddrPortFrom(inside, 48000) {
					tried.Add(1)
					return syscall.EADDRINUSE
				}
				return nil
			})
			for i := range 20 {
				s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
				if err != nil {
					t.Fatalf("session %d: %v", i, err)
				}
				s.Close()
			}
			if n := tried.Load(); n != 1 {
				t.Fatalf("the held port was tried %d times", n)
			}
		})
		// Out of descriptors with idle pooled sockets: they are closed and
		// the open is retried once.
		for _, succeed := range []bool{true, false} {
			t.Run(fmt.Sprintf("EMFILE with idle sockets, retry succeeds=%v", succeed), func(t *testing.T) {
				r := smallRelay(t, e, pairs, func(c *Config) { c.ReuseDelay = time.Hour })
				s1, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
				if err != nil {
					t.Fatal(err)
				}
				s1.Close() // 4 idle sockets, resting: the next session opens new ones
				f := inject(r, func(n int64, _ *sock) error {
					if n == 1 || !succeed {
						return syscall.EMFILE
					}
					return nil
				})
				_, err = r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
				st := r.Stats()
				if idleSockets(st) != 0 || st.SocketsClosed != 4 {
					t.Fatalf("idle sockets not closed: %+v", st)
				}
				if succeed {
					if err != nil || f.attempts.Load() != 5 {
						t.Fatalf("err %v after %d attempts", err, f.attempts.Load())
					}
					return
				}
				if !errors.Is(err, syscall.EMFILE) || f.attempts.Load() != 2 {
					t.Fatalf("err %v after %d attempts, want EMFILE after 2", err, f.attempts.Load())
				}
			})
		}
	})
}

// TestIdleSocketsBound: beyond Config.IdleSockets the oldest idle sockets
// are closed; a negative bound turns the pool off.
func TestIdleSocketsBound(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		for _, c := range []struct{ bound, idle int }{{6, 6}, {-1, 0}} {
			r := smallRelay(t, e, 10, func(cfg *Config) { cfg.IdleSockets = c.bound; cfg.ReuseDelay = time.Hour })
			var ss []*Session
			for range 5 {
				s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
				if err != nil {
					t.Fatal(err)
				}
				ss = append(ss, s)
			}
			for _, s := range ss {
				s.Close()
			}
			st := r.Stats()
			if idleSockets(st) != c.idle || st.SocketsClosed != uint64(20-c.idle) {
				t.Fatalf("bound %d: %+v", c.bound, st)
			}
			if c.bound < 0 {
				continue
			}
			// The survivors are the last released (sessions 4 and 5, minus
			// two of the older ones' sockets): the oldest went first.
			for _, s := range ss[:3] {
				if r.socks[s.legs[LegA].iface.slot(s.legs[LegA].pair, false)].Load() != nil {
					t.Fatalf("an older session's socket survived")
				}
			}
		}
	})
}

// TestFullPoolReusesYoungPairs: once the pool holds its bound, a session
// reuses the oldest pooled pair even before ReuseDelay, rather than open
// new sockets that would only make it close idle ones.
func TestFullPoolReusesYoungPairs(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := smallRelay(t, e, 10, func(cfg *Config) { cfg.IdleSockets = 4; cfg.ReuseDelay = time.Hour })
		var ports []uint16
		for range 5 {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
			if err != nil {
				t.Fatal(err)
			}
			ports = append(ports, s.Local(LegA).RTPPort)
			s.Close()
		}
		if st := r.Stats(); st.SocketsOpened != 4 || st.SocketsReused != 16 || st.SocketsClosed != 0 || ports[4] != ports[0] {
			t.Fatalf("ports %v, %+v", ports, st)
		}
	})
}

// TestConfigIdleDefault: the default bound is a quarter of the soft
// RLIMIT_NOFILE, at most the number of ports.
func TestConfigIdleDefault(t *testing.T) {
	c := Config{Interfaces: []InterfaceConfig{{Name: "i", Addr: inside, PortMin: 40000, PortMax: 40999}}}
	if err := c.normalize(); err != nil {
		t.Fatal(err)
	}
	want := 1000
	if soft := softNOFILE(); soft > 0 && soft/4 < want {
		want = soft / 4
	}
	if c.IdleSockets != want || c.ReuseDelay != 2*time.Second {
		t.Fatalf("IdleSockets %d (want %d), ReuseDelay %v", c.IdleSockets, want, c.ReuseDelay)
	}
	c = Config{Interfaces: c.Interfaces, IdleSockets: -1}
	c.normalize()
	if c.IdleSockets != -1 {
		t.Fatalf("negative bound changed to %d", c.IdleSockets)
	}
}

// TestPoolIPv6: pooled sockets on an IPv6 interface relay like new ones.
func TestPoolIPv6(t *testing.T) {
	v6 := netip.MustParseAddr("::1")
	if c, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(v6, 0))); err != nil {
		testenv.Missing(t, "IPv6 loopback ("+err.Error()+")")
	} else {
		c.Close()
	}
	forEngine(t, func(t *testing.T, e variant) {
		r := newRelay(t, e, func(c *Config) {
			c.Interfaces = []InterfaceConfig{
				{Name: "inside", Addr: v6, PortMin: 48900, PortMax: 48901},
				{Name: "outside", Addr: v6, PortMin: 48902, PortMax: 48903},
			}
		})
		for i := range 3 {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
			if err != nil {
				t.Fatal(err)
			}
			c := &call{s: s, a: newPeer(t, v6), b: newPeer(t, v6), la: s.Local(LegA), lb: s.Local(LegB)}
			s.SetRemote(LegA, c.a.addr(), netip.AddrPort{})
			s.SetRemote(LegB, c.b.addr(), netip.AddrPort{})
			relayBothWays(t, c, uint16(i))
			s.Close()
		}
		if st := r.Stats(); st.SocketsOpened != 4 || st.SocketsReused != 8 {
			t.Fatalf("%+v", st)
		}
	})
}

// TestPoolSteadyChurn: calls overlapping at a rate where the pool cannot
// rest pairs for ReuseDelay (more releases per ReuseDelay than the bound
// holds) still reuse sockets for nearly every call once the pool has
// filled, instead of opening a new socket for every other call and closing
// an idle one at the next release.
func TestPoolSteadyChurn(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := smallRelay(t, e, 64, func(cfg *Config) { cfg.IdleSockets = 18; cfg.ReuseDelay = time.Hour })
		var live []*Session
		open := func() {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
			if err != nil {
				t.Fatal(err)
			}
			live = append(live, s)
		}
		for range 8 { // 8 calls up, then one ends as the next begins
			open()
		}
		for range 40 { // fill the pool
			live[0].Close()
			live = live[1:]
			open()
		}
		st0 := r.Stats()
		const n = 200
		for range n / 2 { // calls end and begin in bursts of two
			live[0].Close()
			live[1].Close()
			live = live[2:]
			open()
			open()
		}
		st := r.Stats()
		opened, reused := st.SocketsOpened-st0.SocketsOpened, st.SocketsReused-st0.SocketsReused
		if opened+reused != 4*n || float64(reused) < 0.95*4*n {
			t.Fatalf("%d sockets opened and %d reused for %d calls: want nearly all reused", opened, reused, n)
		}
	})
}

// TestPoolNearDescriptorLimit: close to the process's descriptor budget a
// new session takes pooled sockets even before ReuseDelay, rather than
// open new descriptors that would hit EMFILE while idle ones exist.
func TestPoolNearDescriptorLimit(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		r := smallRelay(t, e, 32, func(cfg *Config) { cfg.IdleSockets = 100; cfg.ReuseDelay = time.Hour })
		r.mu.Lock()
		r.fdBudget = 16 // 4 sessions of 4 sockets
		r.mu.Unlock()
		var ss []*Session
		for range 4 {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
			if err != nil {
				t.Fatal(err)
			}
			ss = append(ss, s)
		}
		ss[0].Close()
		ss[1].Close()
		before := r.Stats().SocketsOpened
		for range 2 {
			if _, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}}); err != nil {
				t.Fatal(err)
			}
		}
		if st := r.Stats(); st.SocketsOpened != before {
			t.Fatalf("opened %d new sockets at the descriptor budget with %d idle ones pooled, want 0", st.SocketsOpened-before, idleSockets(st))
		}
	})
}
