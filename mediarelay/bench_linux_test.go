//go:build linux

package mediarelay

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbc-project/sbc/internal/sockaddr"
)

// The benchmarks below compare, in one run, the three relay designs the
// package documentation discusses: the epoll/recvmmsg engine, the
// goroutine-per-socket engine (ReadFromUDPAddrPort, no allocation) and a
// naive relay (ReadFromUDP/WriteToUDP, one goroutine per direction, which
// allocates a *UDPAddr per packet), plus epoll-syscallwait, the epoll
// engine waiting in blocking system calls as it did before it parked in the
// netpoller. A generator on its own locked OS thread keeps a fixed window of
// 172-byte RTP packets in flight across the relay's sockets (round robin, so
// with many sockets a wakeup finds about one packet, as at 50 packets/s per
// leg) and receives them back, polling without blocking (see genBlock). The relay's CPU is
// the process's CPU (getrusage RUSAGE_SELF) minus the generator thread's
// (RUSAGE_THREAD), so scheduler, netpoller and GC costs are counted where
// they occur. CPU on a shared machine is noisy: compare the variants of one
// run, not absolute figures across runs.

// gen is the load generator: one raw socket that sends to the relay's
// A-leg ports and receives the relayed packets (it is every B leg's remote).
type gen struct {
	fd    int
	addr  netip.AddrPort
	dsts  []unix.RawSockaddrInet6
	dlen  []uint32
	bufs  [][]byte
	smsgs []unix.Mmsghdr
	siov  []unix.Iovec
	rmsgs []unix.Mmsghdr
	riov  []unix.Iovec
	next  int
	seq   uint16
}

const genBatch = 64

func newGen(tb testing.TB, dsts []netip.AddrPort) *gen {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20)
	tv := unix.Timeval{Usec: 200_000}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	g := &gen{fd: fd, addr: netip.AddrPortFrom(inside, uint16(sa.(*unix.SockaddrInet4).Port))}
	for _, d := range dsts {
		var raw unix.RawSockaddrInet6
		g.dsts = append(g.dsts, raw)
		n, _ := sockaddr.Encode(&g.dsts[len(g.dsts)-1], d, !d.Addr().Is4())
		g.dlen = append(g.dlen, n)
	}
	g.bufs = make([][]byte, genBatch)
	g.smsgs, g.siov = make([]unix.Mmsghdr, genBatch), make([]unix.Iovec, genBatch)
	g.rmsgs, g.riov = make([]unix.Mmsghdr, genBatch), make([]unix.Iovec, genBatch)
	for i := range g.bufs {
		g.bufs[i] = rtpPacket(0x1234, 0, 0, 160) // 172 bytes
		g.siov[i].Base = &g.bufs[i][0]
		g.siov[i].SetLen(len(g.bufs[i]))
		g.smsgs[i].Hdr.Iov, g.smsgs[i].Hdr.Iovlen = &g.siov[i], 1
		rb := make([]byte, 2048)
		g.riov[i].Base = &rb[0]
		g.riov[i].SetLen(len(rb))
		g.rmsgs[i].Hdr.Iov, g.rmsgs[i].Hdr.Iovlen = &g.riov[i], 1
	}
	tb.Cleanup(func() { unix.Close(fd) })
	return g
}

// send sends n packets (n <= genBatch) round robin over the destinations.
func (g *gen) send(n int) {
	for i := 0; i < n; i++ {
		g.seq++
		binary.BigEndian.PutUint16(g.bufs[i][2:], g.seq)
		d := g.next
		g.next = (g.next + 1) % len(g.dsts)
		g.smsgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&g.dsts[d]))
		g.smsgs[i].Hdr.Namelen = g.dlen[d]
	}
	for sent := 0; sent < n; {
		var r uintptr
		var e unix.Errno
		if !*genBlock {
			r, _, e = unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(g.fd), uintptr(unsafe.Pointer(&g.smsgs[sent])), uintptr(n-sent), unix.MSG_DONTWAIT, 0, 0)
		}
		if *genBlock || e == unix.EAGAIN {
			r, _, e = unix.Syscall6(unix.SYS_SENDMMSG, uintptr(g.fd), uintptr(unsafe.Pointer(&g.smsgs[sent])), uintptr(n-sent), 0, 0, 0)
		}
		if e != 0 {
			return
		}
		sent += int(r)
	}
}

// genBlock selects the generator that waits in blocking system calls. Its
// thread then keeps its P while it waits, and the runtime's sysmon, finding
// that P in a system call tick after tick, keeps waking every 20 µs; that
// cost lands in the process CPU and so is charged to whichever relay
// runs. By default the generator polls without blocking (raw calls with
// MSG_DONTWAIT, whose waiting it pays itself) and blocks only after
// genSpin without a packet.
var genBlock = flag.Bool("genblock", false, "mediarelay benchmarks: generator waits in blocking system calls")

const genSpin = 2 * time.Millisecond

// recv returns how many packets it read, at least one, or 0 when none came
// for genSpin plus SO_RCVTIMEO.
func (g *gen) recv() int {
	if !*genBlock {
		var start time.Time
		for i := 0; ; i++ {
			r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(g.fd), uintptr(unsafe.Pointer(&g.rmsgs[0])), genBatch, unix.MSG_DONTWAIT, 0, 0)
			if e == 0 && r > 0 {
				return int(r)
			}
			if i%64 == 0 {
				if start.IsZero() {
					start = time.Now()
				} else if time.Since(start) > genSpin {
					break
				}
			}
		}
	}
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(g.fd), uintptr(unsafe.Pointer(&g.rmsgs[0])), genBatch, unix.MSG_WAITFORONE, 0, 0)
	if e != 0 {
		return 0
	}
	return int(r)
}

// run keeps window packets in flight until total were sent and returns
// how many came back (the rest is loss), on the calling locked thread.
func (g *gen) run(total, window int) (delivered int) {
	inflight, sent := 0, 0
	for sent < total || inflight > 0 {
		for inflight < window && sent < total {
			n := min(genBatch, window-inflight, total-sent)
			g.send(n)
			inflight += n
			sent += n
		}
		n := g.recv()
		if n == 0 { // timeout: what is in flight was lost
			inflight = 0
			continue
		}
		delivered += n
		inflight -= n
	}
	return delivered
}

func rusage(who int) time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// naiveRelay is the baseline: one goroutine per direction reading with
// ReadFromUDP and writing with WriteToUDP.
type naiveRelay struct {
	conns []*net.UDPConn
	wg    sync.WaitGroup
}

func (n *naiveRelay) add(tb testing.TB, a, b netip.AddrPort, dst netip.AddrPort) netip.AddrPort {
	ca, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a))
	if err != nil {
		tb.Fatal(err)
	}
	cb, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(b))
	if err != nil {
		tb.Fatal(err)
	}
	ca.SetReadBuffer(1 << 20)
	n.conns = append(n.conns, ca, cb)
	to := net.UDPAddrFromAddrPort(dst)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		buf := make([]byte, 2048)
		for {
			k, _, err := ca.ReadFromUDP(buf)
			if err != nil {
				return
			}
			cb.WriteToUDP(buf[:k], to)
		}
	}()
	return ca.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (n *naiveRelay) close() {
	for _, c := range n.conns {
		c.Close()
	}
	n.wg.Wait()
}

// benchRelay relays b.N packets over `sockets` A-leg sockets with a fixed
// window in flight, and reports relay CPU per packet and loss.
func benchRelay(b *testing.B, kind string, sockets, window int) {
	var dsts []netip.AddrPort
	var stop func()
	var workerCPU func() time.Duration
	g := newGen(b, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9")}) // placeholder, replaced below
	switch kind {
	case "naive":
		nr := &naiveRelay{}
		for i := 0; i < sockets; i++ {
			dsts = append(dsts, nr.add(b, netip.AddrPortFrom(inside, 0), netip.AddrPortFrom(outside, 0), g.addr))
		}
		stop = nr.close
	default:
		e := EngineEpoll
		if kind == "goroutine" {
			e = EngineGoroutine
		}
		syscallWait = kind == "epoll-syscallwait"
		r, err := New(Config{Engine: e, Workers: 1, SocketSend: kind == "epoll-socketsend", Interfaces: []InterfaceConfig{
			{Name: "inside", Addr: inside, PortMin: 43000, PortMax: 43000 + uint16(2*sockets) + 199},
			{Name: "outside", Addr: outside, PortMin: 43000, PortMax: 43000 + uint16(2*sockets) + 199},
		}})
		syscallWait = false
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < sockets; i++ {
			s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside", RTCPMux: true}, BLeg: LegConfig{Interface: "outside", RTCPMux: true}})
			if err != nil {
				b.Fatal(err)
			}
			s.SetRemote(LegA, g.addr, netip.AddrPort{})
			s.SetRemote(LegB, g.addr, netip.AddrPort{})
			dsts = append(dsts, s.Local(LegA).RTP())
		}
		stop = func() {
			r.Close()
		}
		if e == EngineEpoll {
			w := r.eng.(*epollEngine).workers[0]
			defer func() {
				b.ReportMetric(float64(w.recvPkts.Load())/float64(w.recvCalls.Load()), "pkts/recvmmsg")
				b.ReportMetric(float64(w.recvPkts.Load())/float64(w.wakeups.Load()), "pkts/wakeup")
				b.ReportMetric(float64(w.sendErrors.Load()), "raw-send-errors")
			}()
		}
		workerCPU = func() time.Duration { return r.eng.cpu() }
	}
	defer stop()
	g.dsts, g.dlen = g.dsts[:0], g.dlen[:0]
	for _, d := range dsts {
		g.dsts = append(g.dsts, unix.RawSockaddrInet6{})
		n, _ := sockaddr.Encode(&g.dsts[len(g.dsts)-1], d, !d.Addr().Is4())
		g.dlen = append(g.dlen, n)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	g.run(min(4*window, 4096), window) // warm up
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	p0, t0 := rusage(unix.RUSAGE_SELF), rusage(unix.RUSAGE_THREAD)
	var w0 time.Duration
	if workerCPU != nil {
		w0 = workerCPU()
	}
	got := g.run(b.N, window)
	p1, t1 := rusage(unix.RUSAGE_SELF), rusage(unix.RUSAGE_THREAD)
	b.StopTimer()
	relay := (p1 - p0) - (t1 - t0)
	b.ReportMetric(float64(relay.Nanoseconds())/float64(b.N), "relay-cpu-ns/pkt")
	b.ReportMetric(float64(got)/relay.Seconds(), "pkts/relay-cpu-s")
	b.ReportMetric(100*float64(b.N-got)/float64(b.N), "loss-%")
	if workerCPU != nil && kind != "goroutine" {
		b.ReportMetric(float64((workerCPU()-w0).Nanoseconds())/float64(b.N), "worker-ns/pkt")
	}
}

// BenchmarkRelayManySockets: one packet per socket per wakeup, the shape
// of 50 pps per leg over thousands of legs.
func BenchmarkRelayManySockets(b *testing.B) {
	for _, n := range []int{200, 2000} {
		for _, kind := range []string{"epoll", "epoll-syscallwait", "epoll-socketsend", "goroutine", "naive"} {
			b.Run(fmt.Sprintf("%s/sockets=%d", kind, n), func(b *testing.B) { benchRelay(b, kind, n, 256) })
		}
	}
}

// BenchmarkRelaySaturatedSocket: one socket kept full (512 packets in
// flight), the relay's CPU-bound throughput.
func BenchmarkRelaySaturatedSocket(b *testing.B) {
	for _, kind := range []string{"epoll", "epoll-syscallwait", "epoll-socketsend", "goroutine", "naive"} {
		b.Run(kind, func(b *testing.B) { benchRelay(b, kind, 1, 512) })
	}
}

// BenchmarkHandle is the per-packet decision alone (classify, RTP header
// check, latch, stats, destination).
func BenchmarkHandle(b *testing.B) {
	r := newRelay(b, variant{"goroutine", EngineGoroutine, false}, nil)
	s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
	if err != nil {
		b.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	s.SetRemote(LegA, src, netip.AddrPort{})
	s.SetRemote(LegB, netip.MustParseAddrPort("127.0.0.2:5000"), netip.AddrPort{})
	buf := make([]byte, maxDatagram)
	n := copy(buf, rtpPacket(1, 1, 0, 160))
	p := pkt{buf: buf, n: n, src: src}
	var sc scratch
	in := s.legs[LegA].rtpSock
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint16(buf[2:], uint16(i))
		s.mu.Lock()
		s.handle(in, &p, &sc, s.live+int64(i)*int64(20*time.Millisecond))
		s.mu.Unlock()
		if p.out == nil {
			b.Fatal("dropped")
		}
	}
}

// TestHandleAllocs proves the per-packet path, RTCP reports included,
// allocates nothing.
func TestHandleAllocs(t *testing.T) {
	r := newRelay(t, variant{"goroutine", EngineGoroutine, false}, nil)
	s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	s.SetRemote(LegA, src, netip.AddrPort{})
	s.SetRemote(LegB, netip.MustParseAddrPort("127.0.0.2:5000"), netip.AddrPort{})
	var sc scratch
	buf := make([]byte, maxDatagram)
	rr := rtcpRR(t, 1, 2, 3)
	rtcpSrc := netip.MustParseAddrPort("127.0.0.1:5001")
	i := 0
	for _, c := range []struct {
		name string
		pkt  []byte
		in   *sock
		src  netip.AddrPort
	}{
		{"rtp", rtpPacket(1, 1, 0, 160), s.legs[LegA].rtpSock, src},
		{"rtcp", rr, s.legs[LegA].rtcpSock, rtcpSrc},
	} {
		n := copy(buf, c.pkt)
		p := pkt{buf: buf, n: n, src: c.src}
		allocs := testing.AllocsPerRun(1000, func() {
			i++
			if c.name == "rtp" {
				binary.BigEndian.PutUint16(buf[2:], uint16(i)) // sequence number
			}
			s.handle(c.in, &p, &sc, s.live+int64(i))
			if p.out == nil {
				t.Fatal("dropped")
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per packet", c.name, allocs)
		}
	}
}

// BenchmarkSessionSetup: one call's media setup and teardown per op (a
// session with both legs on RTP+RTCP ports, both remotes set, closed), with
// the socket pool and without it, for each engine. sockets-opened/op is 4
// without the pool and 0 with it once warm.
func BenchmarkSessionSetup(b *testing.B) {
	for _, v := range variants() {
		if v.socketSend {
			continue // same open/close paths as epoll
		}
		for _, pool := range []bool{true, false} {
			name := v.name + "/pool"
			if !pool {
				name = v.name + "/nopool"
			}
			b.Run(name, func(b *testing.B) {
				const pairs = 1000
				r, err := New(Config{Engine: v.engine, Workers: 1, IdleSockets: map[bool]int{true: 0, false: -1}[pool], Interfaces: []InterfaceConfig{
					{Name: "inside", Addr: inside, PortMin: 50000, PortMax: 50000 + 2*pairs - 1},
					{Name: "outside", Addr: outside, PortMin: 50000, PortMax: 50000 + 2*pairs - 1},
				}})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				ra, rb := netip.MustParseAddrPort("127.0.0.1:9"), netip.MustParseAddrPort("127.0.0.2:9")
				cfg := SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}}
				call := func() {
					s, err := r.NewSession(cfg)
					if err != nil {
						b.Fatal(err)
					}
					s.SetRemote(LegA, ra, netip.AddrPort{})
					s.SetRemote(LegB, rb, netip.AddrPort{})
					s.Close()
				}
				for range pairs { // every pair used once: the pool is warm
					call()
				}
				st0 := r.Stats()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					call()
				}
				b.StopTimer()
				st := r.Stats()
				b.ReportMetric(float64(st.SocketsOpened-st0.SocketsOpened)/float64(b.N), "sockets-opened/op")
				b.ReportMetric(float64(st.SocketsReused-st0.SocketsReused)/float64(b.N), "sockets-reused/op")
			})
		}
	}
}
