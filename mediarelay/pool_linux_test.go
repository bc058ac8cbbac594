package mediarelay

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// stallWorker blocks the relay's only epoll worker: it locks x's mutex and
// sends x a datagram, and returns once the worker woke for it (so it is
// blocked on that mutex and reads no other socket). release lets it go.
func stallWorker(t *testing.T, r *Relay, x *call) (release func()) {
	t.Helper()
	w := r.eng.(*epollEngine).workers[0]
	x.s.mu.Lock()
	w0 := w.wakeups.Load()
	x.a.send(x.la.RTP(), rtpPacket(1, 1, 0, 10))
	for end := time.Now().Add(wait); w.wakeups.Load() == w0; {
		if time.Now().After(end) {
			x.s.mu.Unlock()
			t.Fatal("worker did not wake")
		}
		time.Sleep(time.Millisecond)
	}
	return x.s.mu.Unlock
}

// TestQueuedStaleDatagramsDiscarded makes the races of
// TestStaleMediaNeverForwarded deterministic on the epoll engine: with the
// worker stalled, stale datagrams wait in the kernel queue of a pooled
// socket when a session takes it, and in the new session's queue when its
// remotes are set. Both batches are discarded (and counted), none is
// forwarded or latched, though the worker reads them only after the
// session went live.
func TestQueuedStaleDatagramsDiscarded(t *testing.T) {
	for _, v := range variants() {
		if v.engine != EngineEpoll {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			r := smallRelay(t, v, 2, func(c *Config) { c.Workers = 1 })
			x := newCall(t, r, SessionConfig{}) // pair 0: the staller
			old := newCall(t, r, SessionConfig{})
			old.s.Close() // pair 1 now pooled
			release := stallWorker(t, r, x)
			defer func() {
				if release != nil {
					release()
				}
			}()
			for i := range 5 {
				old.a.send(old.la.RTP(), rtpPacket(0xdead, uint16(i), 0, 40))
			}
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
			if err != nil {
				t.Fatal(err)
			}
			if s.Local(LegA) != old.la {
				t.Fatal("pooled pair not reused")
			}
			if st := r.Stats(); st.IdleDatagrams != 5 {
				t.Fatalf("%d datagrams discarded at reuse, want 5", st.IdleDatagrams)
			}
			for i := range 5 {
				old.a.send(old.la.RTP(), rtpPacket(0xdead, uint16(10+i), 0, 40))
			}
			a, b := newPeer(t, inside), newPeer(t, outside)
			s.SetRemote(LegA, a.addr(), netip.AddrPort{})
			s.SetRemote(LegB, b.addr(), netip.AddrPort{})
			if st := s.Stats(); st.A.Packets != 5 || st.A.Dropped != 5 || st.A.Bytes != 5*52 {
				t.Fatalf("going live discarded %+v, want 5 datagrams of 52 bytes", st.A)
			}
			release()
			release = nil
			p := rtpPacket(0xa, 1, 0, 100)
			a.send(old.la.RTP(), p)
			b.expect(wait, old.lb.RTP(), p)
			b.expectNothing(quiet)
			if st := s.Stats(); st.A.Latched != a.addr() || st.A.Forwarded != 1 {
				t.Fatalf("%+v", st.A)
			}
		})
	}
}

func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestNoFDLeak: 10,000 sessions (rtcp-mux or not, so pairs come back with
// one or two sockets) opened and closed leave exactly the pooled sockets
// open, the pool whole, and nothing at all after Close.
func TestNoFDLeak(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		newPeer(t, inside) // the runtime's poller exists before counting
		before := openFDs(t)
		r := smallRelay(t, e, 100, func(c *Config) { c.ReuseDelay = -1 })
		withEngine := openFDs(t)
		n := 10000
		if e.engine == EngineGoroutine {
			n = 2000
		}
		held := make([]*Session, 0, 30)
		for i := range n {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside", RTCPMux: i%3 == 0}, BLeg: LegConfig{Interface: "outside", RTCPMux: i%2 == 0}})
			if err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
			held = append(held, s)
			if len(held) == cap(held) { // 30 concurrent sessions, closed oldest first
				held[0].Close()
				held = append(held[:0], held[1:]...)
			}
		}
		for _, s := range held {
			s.Close()
		}
		st := r.Stats()
		if got := openFDs(t) - withEngine; got != idleSockets(st) {
			t.Fatalf("%d descriptors open, %d idle sockets", got, idleSockets(st))
		}
		if st.SocketsOpened-st.SocketsClosed != uint64(idleSockets(st)) || st.SocketsReused < uint64(n) {
			t.Fatalf("%+v", st)
		}
		// The pool is whole: every pair can be held at once, each once.
		seen := map[uint16]bool{}
		var all []*Session
		for {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
			if errors.Is(err, ErrNoPorts) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if p := s.Local(LegA).RTPPort; seen[p] {
				t.Fatalf("port %d handed out twice", p)
			} else {
				seen[p] = true
			}
			all = append(all, s)
		}
		if len(all) < 95 || len(all) > 100 {
			t.Fatalf("held %d sessions from 100 pairs", len(all))
		}
		for _, s := range all {
			s.Close()
		}
		r.Close()
		if got := openFDs(t); got != before {
			t.Fatalf("%d descriptors open after Close, %d before New", got, before)
		}
	})
}

// TestEMFILE runs its body (emfileChild) in a child process, the test
// binary started again for this test alone, whose descriptor limit it may
// lower without harming the other tests.
func TestEMFILE(t *testing.T) {
	if name := os.Getenv("MEDIARELAY_EMFILE_CHILD"); name != "" {
		emfileChild(t, name)
		return
	}
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestEMFILE$", "-test.v")
			cmd.Env = append(os.Environ(), "MEDIARELAY_EMFILE_CHILD="+v.name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			t.Logf("child:\n%s", out)
		})
	}
}

// emfileChild fills the process's descriptors with sessions under a real
// RLIMIT_NOFILE: the allocation that hits EMFILE fails at once with the
// error wrapped (two socket attempts at most, not one per port), and once
// calls end their pooled sockets serve new calls without any new
// descriptor.
func emfileChild(t *testing.T, name string) {
	var v variant
	for _, c := range variants() {
		if c.name == name {
			v = c
		}
	}
	newPeer(t, inside) // the runtime's poller
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = uint64(openFDs(t) + 64)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	r := newRelay(t, v, func(c *Config) {
		c.Workers = 1
		c.ReuseDelay = -1 // the pooled pairs first, always
		c.Interfaces = []InterfaceConfig{
			{Name: "inside", Addr: inside, PortMin: 49000, PortMax: 49999},
			{Name: "outside", Addr: outside, PortMin: 49000, PortMax: 49999},
		}
	})
	if r.cfg.IdleSockets != int(rl.Cur)/4 {
		t.Fatalf("default IdleSockets %d, want a quarter of %d", r.cfg.IdleSockets, rl.Cur)
	}
	f := inject(r, func(int64, *sock) error { return nil })
	var held []*Session
	var err error
	for len(held) < 1000 {
		before := f.attempts.Load()
		var s *Session
		if s, err = r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}}); err != nil {
			if n := f.attempts.Load() - before; n > 5 { // up to 3 opens before the failing one, and its retry
				t.Fatalf("%d socket attempts in the failing allocation", n)
			}
			break
		}
		held = append(held, s)
	}
	if !errors.Is(err, syscall.EMFILE) || errors.Is(err, ErrNoPorts) {
		t.Fatalf("after %d sessions: %v, want EMFILE", len(held), err)
	}
	fmt.Printf("EMFILE after %d sessions (limit %d): %v\n", len(held), rl.Cur, err)
	// When leg B failed, leg A's two sockets went to the pool.
	if st := r.Stats(); st.Sessions != len(held) || st.Interfaces[0].PortsInUse != 2*len(held) || idleSockets(st) > 2 {
		t.Fatalf("%+v", st)
	}
	// Some calls end: their sockets are pooled (as many as the bound
	// allows) and serve the next calls.
	half := min(len(held)/2, r.cfg.IdleSockets/4)
	for _, s := range held[:half] {
		s.Close()
	}
	opened := r.Stats().SocketsOpened
	for range half {
		if _, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}}); err != nil {
			t.Fatal(err)
		}
	}
	if st := r.Stats(); st.SocketsOpened != opened || st.SocketsReused < uint64(4*half) {
		t.Fatalf("pooled sockets not reused at the limit: %+v", st)
	}
}

// TestPoolConcurrentChurn: goroutines open, signal, use and close sessions
// on a small range (pairs reused all the time, some sessions failing for
// lack of ports), with rtcp-mux switched on the way, while Close tears
// the relay down under them; nothing races (go test -race), every
// operation after Close fails with ErrClosed, no descriptor is left.
func TestPoolConcurrentChurn(t *testing.T) {
	forEngine(t, func(t *testing.T, e variant) {
		src := newPeer(t, inside) // (and the runtime's poller)
		before := openFDs(t)
		r := smallRelay(t, e, 8, func(c *Config) { c.ReuseDelay = -1; c.IdleSockets = 12; c.Workers = 2 })
		done := make(chan error, 4)
		for g := range 4 {
			go func() {
				for i := 0; ; i++ {
					s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside", RTCPMux: i%2 == 0}, BLeg: LegConfig{Interface: "outside"}})
					if errors.Is(err, ErrNoPorts) {
						continue
					}
					if err != nil {
						if errors.Is(err, ErrClosed) {
							done <- nil
						} else {
							done <- fmt.Errorf("goroutine %d session %d: %w", g, i, err)
						}
						return
					}
					la := s.Local(LegA)
					src.conn.WriteToUDPAddrPort(rtpPacket(1, uint16(i), 0, 20), la.RTP())
					s.SetRemote(LegA, src.addr(), netip.AddrPort{})
					s.SetRemote(LegB, netip.AddrPortFrom(outside, 9), netip.AddrPort{})
					src.conn.WriteToUDPAddrPort(rtpPacket(1, uint16(i), 0, 20), la.RTP())
					if i%3 == 0 {
						s.SetRTCPMux(LegA, false)
					}
					s.Close()
				}
			}()
		}
		for r.Stats().SocketsReused < 400 {
			time.Sleep(5 * time.Millisecond)
		}
		r.Close()
		for range 4 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if got := openFDs(t); got != before {
			t.Fatalf("%d descriptors after Close, %d before New", got, before)
		}
	})
}
