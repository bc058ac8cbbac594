//go:build linux

package mediarelay

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbc-project/sbc/internal/sockaddr"
)

func newEngine(r *Relay) (engine, error) {
	if r.cfg.Engine == EngineGoroutine {
		return &goEngine{r: r}, nil
	}
	e := &epollEngine{r: r}
	for i := 0; i < r.cfg.Workers; i++ {
		w, err := newEpollWorker(e, i)
		if err != nil {
			e.shutdown()
			return nil, fmt.Errorf("mediarelay: epoll worker: %w", err)
		}
		e.workers = append(e.workers, w)
	}
	for _, w := range e.workers {
		e.wg.Add(1)
		go w.run() // owner: the engine; exit: shutdown's eventfd write
	}
	return e, nil
}

// epollEngine shards the sockets over a few workers. Each worker looks for
// ready sockets with epoll_wait (level-triggered) on its own epoll set,
// parking in Go's netpoller while none is, and drains each ready socket with recvmmsg until it is empty or
// Config.DrainCap datagrams were read, forwarding each batch with sendmmsg.
// All sockets of a session belong to one worker, so a session's state is
// touched by one worker (plus signalling calls) only.
type epollEngine struct {
	r       *Relay
	workers []*epollWorker
	wg      sync.WaitGroup
}

var _ engine = (*epollEngine)(nil)

// wakeData marks the eventfd in a worker's epoll set.
const wakeData = -1

type epollWorker struct {
	e        *epollEngine
	epfd     int
	evfd     int
	stopping atomic.Bool
	// cpuNs is the worker's on-CPU time: the thread CPU time of each stretch
	// between two parks, during which the goroutine is locked to its thread.
	cpuNs atomic.Int64
	cpu0  int64 // thread CPU time at the start of the current stretch

	// Waiting (wait, pause). The worker never blocks in a system call: a
	// thread blocked in one keeps its P, and the runtime's sysmon thread,
	// finding that P in the same call tick after tick, takes it back and
	// then keeps polling every 20 µs (tens of thousands of wakeups a
	// second). Instead the worker parks in Go's netpoller on gate, an epoll
	// set whose only member is epfd (armed only while the worker waits, so
	// that packets arriving while it works or pauses wake nobody), or on
	// timer, a timerfd for the coalescing pause. Parked, it holds no P and
	// sysmon sleeps.
	gatefd       int
	timerfd      int // owned by timer (File.Fd would make it blocking)
	gate, timer  *os.File
	gateRaw      syscall.RawConn
	timerRaw     syscall.RawConn
	parked       bool               // gate and timer are in the netpoller
	ready, fired func(uintptr) bool // RawConn.Read callbacks, made once
	nev          int                // events found by ready
	gateEv       unix.EpollEvent
	pauseSpec    unix.ItimerSpec
	tbuf         [8]byte

	events []unix.EpollEvent
	bufs   [][]byte
	pk     []pkt
	rmsgs  []unix.Mmsghdr
	riov   []unix.Iovec
	rname  []unix.RawSockaddrInet6
	smsgs  []unix.Mmsghdr
	siov   []unix.Iovec
	sname  []unix.RawSockaddrInet6
	sc     scratch

	// Raw batched sending (IPv4): datagrams of several sockets queued
	// during a round, sent with one sendmmsg on rawfd. Queued datagrams keep
	// their receive buffer (slots [0, pend)) until the flush.
	rawfd   int
	pend    int
	rq      int // queued raw messages
	rmsgOut []unix.Mmsghdr
	rawIov  [][2]unix.Iovec
	rawHdr  [][udpIPHeaderLen]byte
	rawName []unix.RawSockaddrInet4

	// UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18): a run of
	// equal-sized datagrams to one destination leaves in one sendmsg.
	gso     bool
	gsoCmsg []byte

	// counters for Relay.Stats
	recvCalls, recvPkts, wakeups, sendErrors, gsoSends atomic.Uint64
}

// udpIPHeaderLen is an IPv4 header without options plus a UDP header.
const udpIPHeaderLen = 20 + 8

func newEpollWorker(e *epollEngine, id int) (*epollWorker, error) {
	n := e.r.cfg.BatchSize
	w := &epollWorker{e: e, epfd: -1, evfd: -1, gatefd: -1, timerfd: -1,
		events: make([]unix.EpollEvent, 1024),
		bufs:   make([][]byte, n), pk: make([]pkt, n),
		rmsgs: make([]unix.Mmsghdr, n), riov: make([]unix.Iovec, n), rname: make([]unix.RawSockaddrInet6, n),
		smsgs: make([]unix.Mmsghdr, n), siov: make([]unix.Iovec, n), sname: make([]unix.RawSockaddrInet6, n),
	}
	mem := make([]byte, n*maxDatagram) // one block: the batch's buffers are adjacent
	for i := range w.bufs {
		w.bufs[i] = mem[i*maxDatagram : (i+1)*maxDatagram : (i+1)*maxDatagram]
		w.riov[i].Base = &w.bufs[i][0]
		w.riov[i].SetLen(maxDatagram)
		h := &w.rmsgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&w.rname[i]))
		h.Iov = &w.riov[i]
		h.Iovlen = 1
		sh := &w.smsgs[i].Hdr
		sh.Name = (*byte)(unsafe.Pointer(&w.sname[i]))
		sh.Iov = &w.siov[i]
		sh.Iovlen = 1
	}
	w.rawfd = -1
	w.gso = !e.r.cfg.NoGSO
	w.gsoCmsg = make([]byte, unix.CmsgSpace(2))
	ch := (*unix.Cmsghdr)(unsafe.Pointer(&w.gsoCmsg[0]))
	ch.Level, ch.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	ch.SetLen(unix.CmsgLen(2))
	if !e.r.cfg.SocketSend && hasIPv4(e.r.cfg.Interfaces) {
		// IPPROTO_RAW implies IP_HDRINCL and never receives (raw(7)).
		if fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err == nil {
			if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20) != nil {
				_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
			}
			w.rawfd = fd
			w.rmsgOut, w.rawIov = make([]unix.Mmsghdr, n), make([][2]unix.Iovec, n)
			w.rawHdr, w.rawName = make([][udpIPHeaderLen]byte, n), make([]unix.RawSockaddrInet4, n)
			for i := range w.rmsgOut {
				w.rawIov[i][0].Base = &w.rawHdr[i][0]
				w.rawIov[i][0].SetLen(udpIPHeaderLen)
				h := &w.rmsgOut[i].Hdr
				h.Name = (*byte)(unsafe.Pointer(&w.rawName[i]))
				h.Namelen = unix.SizeofSockaddrInet4
				h.Iov = &w.rawIov[i][0]
				h.Iovlen = 2
			}
		}
	}
	var err error
	if w.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, err
	}
	if w.evfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		unix.Close(w.epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeData}
	if err = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, w.evfd, &ev); err != nil {
		unix.Close(w.epfd)
		unix.Close(w.evfd)
		return nil, err
	}
	if err = w.initWait(); err != nil {
		w.closeFDs()
		return nil, err
	}
	return w, nil
}

// syscallWait makes new workers wait in blocking system calls (epoll_wait,
// nanosleep) as they did before the netpoller wait; set only by the
// benchmarks, which compare the two, before New.
var syscallWait bool

// initWait makes the gate (an epoll set holding epfd, disarmed) and the
// pause timer, and registers both with Go's netpoller (os.NewFile does so
// for a non-blocking descriptor). Where the runtime cannot poll them the
// worker falls back to blocking system calls.
func (w *epollWorker) initWait() error {
	gfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	w.gatefd = gfd
	if err := unix.EpollCtl(gfd, unix.EPOLL_CTL_ADD, w.epfd, &unix.EpollEvent{}); err != nil {
		return err
	}
	if w.timerfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return err
	}
	if err := unix.SetNonblock(gfd, true); err != nil {
		return err
	}
	w.gate = os.NewFile(uintptr(gfd), "mediarelay-epoll-gate")
	w.timer = os.NewFile(uintptr(w.timerfd), "mediarelay-pause-timer")
	if w.gateRaw, err = w.gate.SyscallConn(); err != nil {
		return err
	}
	if w.timerRaw, err = w.timer.SyscallConn(); err != nil {
		return err
	}
	// Deadlines are refused exactly for files the netpoller does not hold.
	w.parked = !syscallWait && w.gate.SetReadDeadline(time.Time{}) == nil && w.timer.SetReadDeadline(time.Time{}) == nil
	w.pauseSpec.Value = unix.NsecToTimespec(int64(w.e.r.cfg.Coalesce))
	// Made once: a closure passed to RawConn.Read escapes, so making one
	// per wait would allocate.
	w.ready = func(uintptr) bool {
		w.nev = w.poll()
		return w.nev != 0
	}
	w.fired = func(fd uintptr) bool {
		_, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&w.tbuf[0])), uintptr(len(w.tbuf)))
		return errno != unix.EAGAIN
	}
	return nil
}

// closeFDs closes the worker's descriptors once it has stopped (the gate
// and the timer through their os.File, which takes them out of the
// netpoller).
func (w *epollWorker) closeFDs() {
	if w.gate != nil {
		w.gate.Close()
	} else if w.gatefd >= 0 {
		unix.Close(w.gatefd)
	}
	if w.timer != nil {
		w.timer.Close()
	} else if w.timerfd >= 0 {
		unix.Close(w.timerfd)
	}
	if w.epfd >= 0 {
		unix.Close(w.epfd)
	}
	if w.evfd >= 0 {
		unix.Close(w.evfd)
	}
	if w.rawfd >= 0 {
		unix.Close(w.rawfd)
	}
}

// poll returns the number of ready events in w.events without waiting.
// It never blocks, so it may be a raw system call (one that blocked while
// holding the P would hold up the garbage collector's stop-the-world).
func (w *epollWorker) poll() int {
	for {
		r1, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(w.epfd),
			uintptr(unsafe.Pointer(&w.events[0])), uintptr(len(w.events)), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0
		}
		return int(r1)
	}
}

// setGate arms (EPOLLIN) or disarms (0) the gate's watch on epfd. A
// disarmed entry forwards no wakeup (epoll_ctl(2): an entry with no
// events is disabled, as after EPOLLONESHOT).
func (w *epollWorker) setGate(events uint32) {
	w.gateEv.Events = events
	_, _, _ = unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(w.gatefd), unix.EPOLL_CTL_MOD, uintptr(w.epfd),
		uintptr(unsafe.Pointer(&w.gateEv)), 0, 0)
}

// wait returns the number of ready events in w.events, parking the
// goroutine in the netpoller while none is ready; 0 means stop (the
// worker's descriptors are gone).
func (w *epollWorker) wait() int {
	if n := w.poll(); n > 0 {
		return n
	}
	if w.parked {
		// Armed before ready's first look, so that an event after that
		// look reaches the netpoller (which RawConn.Read has reset).
		w.setGate(unix.EPOLLIN)
		w.nev = 0
		w.endStretch()
		err := w.gateRaw.Read(w.ready)
		w.beginStretch()
		w.setGate(0)
		if err == nil {
			return w.nev
		}
		if w.stopping.Load() {
			return 0 // shutdown's deadline
		}
		// The netpoller refused the gate: wait in system calls from now on
		// rather than stop forwarding.
		w.parked = false
		w.e.r.log.Warn("epoll worker waits in system calls from now on", "error", err)
	}
	w.flushCPU()
	for {
		n, err := unix.EpollWait(w.epfd, w.events, -1)
		switch {
		case err == unix.EINTR || err == nil && n == 0:
		case err != nil:
			return 0
		default:
			return n
		}
	}
}

// pause sleeps Config.Coalesce on the timerfd, parked in the netpoller.
func (w *epollWorker) pause() {
	if !w.parked {
		w.flushCPU()
		_ = unix.Nanosleep(&w.pauseSpec.Value, nil)
		return
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(w.timerfd), 0,
		uintptr(unsafe.Pointer(&w.pauseSpec)), 0, 0, 0)
	if errno == 0 {
		w.endStretch()
		_ = w.timerRaw.Read(w.fired)
		w.beginStretch()
	}
}

func (e *epollEngine) open(so *sock) error {
	a := so.local.Addr().Unmap()
	fam := unix.AF_INET
	if !a.Is4() {
		fam = unix.AF_INET6
	}
	fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return err
	}
	// A large receive buffer absorbs bursts while the worker serves other
	// sockets; SO_RCVBUFFORCE passes net.core.rmem_max when privileged.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, e.r.cfg.RecvBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, e.r.cfg.RecvBuffer)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, e.r.cfg.RecvBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, e.r.cfg.RecvBuffer)
	}
	var sa unix.Sockaddr
	if a.Is4() {
		sa = &unix.SockaddrInet4{Port: int(so.local.Port()), Addr: a.As4()}
	} else {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
		sa = &unix.SockaddrInet6{Port: int(so.local.Port()), Addr: a.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return err
	}
	so.io.fd = fd
	w := e.workers[so.w]
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(so.slot)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return err
	}
	return nil
}

func (e *epollEngine) close(so *sock) {
	w := e.workers[so.w]
	_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, so.io.fd, nil)
	_ = unix.Close(so.io.fd)
	so.io.fd = -1
}

// move takes a pooled socket from its worker's epoll set to worker w's, so
// that all sockets of its new session are read by one worker. A worker
// holding a stale event for it still finds it through the socket table and
// serialises with the new one on the owner's mutex.
func (e *epollEngine) move(so *sock, w int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(so.slot)}
	if err := unix.EpollCtl(e.workers[w].epfd, unix.EPOLL_CTL_ADD, so.io.fd, &ev); err != nil {
		return err
	}
	_ = unix.EpollCtl(e.workers[so.w].epfd, unix.EPOLL_CTL_DEL, so.io.fd, nil)
	so.w = w
	return nil
}

func (e *epollEngine) discard(so *sock) (n, bytes uint64) {
	return discardFD(so.io.fd, e.r.cfg.RecvBuffer)
}

func (e *epollEngine) shutdown() {
	for _, w := range e.workers {
		w.stopping.Store(true)
		var one = [8]byte{1}
		_, _ = unix.Write(w.evfd, one[:])
		if w.gate != nil {
			// Ends a park on the gate even if no event reaches it.
			_ = w.gate.SetReadDeadline(time.Now())
		}
	}
	e.wg.Wait()
	for _, w := range e.workers {
		w.closeFDs()
	}
	e.workers = nil
}

// counters sums the workers' wakeups, recvmmsg calls and datagrams read.
func hasIPv4(ifs []InterfaceConfig) bool {
	for _, f := range ifs {
		if f.Addr.Unmap().Is4() {
			return true
		}
	}
	return false
}

func (e *epollEngine) counters() (wakeups, calls, pkts uint64) {
	for _, w := range e.workers {
		wakeups += w.wakeups.Load()
		calls += w.recvCalls.Load()
		pkts += w.recvPkts.Load()
	}
	return
}

// cpu sums the workers' on-CPU time.
func (e *epollEngine) cpu() time.Duration {
	var total time.Duration
	for _, w := range e.workers {
		total += time.Duration(w.cpuNs.Load())
	}
	return total
}

// threadCPU is the calling thread's CPU time (clock_gettime has no vDSO
// path for CLOCK_THREAD_CPUTIME_ID, and it never blocks).
func threadCPU() int64 {
	var ts unix.Timespec
	_, _, _ = unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_THREAD_CPUTIME_ID, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// beginStretch and endStretch bracket the worker's time on a thread
// between two parks. The goroutine is locked to the thread meanwhile, so
// that a preemption cannot move it and the thread's CPU clock is its own;
// it is not locked while parked, so the thread that finds it ready in the
// netpoller runs it (a locked goroutine would have to be handed to its own
// thread: two more context switches per wakeup, 30% more CPU per packet
// at 10,000 packets/s).
func (w *epollWorker) beginStretch() {
	runtime.LockOSThread()
	w.cpu0 = threadCPU()
}

// flushCPU counts the stretch so far, for a worker that stays on its
// thread while it blocks (the fallback without the netpoller).
func (w *epollWorker) flushCPU() {
	now := threadCPU()
	w.cpuNs.Add(now - w.cpu0)
	w.cpu0 = now
}

func (w *epollWorker) endStretch() {
	w.cpuNs.Add(threadCPU() - w.cpu0)
	runtime.UnlockOSThread()
}

func (w *epollWorker) run() {
	defer w.e.wg.Done()
	w.beginStretch()
	defer w.endStretch()
	socks := w.e.r.socks
	coalesce := w.e.r.cfg.Coalesce > 0
	busy := w.e.r.cfg.CoalesceEvents
	for {
		n := w.wait()
		if n == 0 {
			return
		}
		w.wakeups.Add(1)
		before := w.recvPkts.Load()
		for i := 0; i < n; i++ {
			d := w.events[i].Fd
			if d == wakeData {
				if w.stopping.Load() {
					return
				}
				continue
			}
			if so := socks[d].Load(); so != nil {
				w.drain(so)
			}
		}
		w.flushRaw()
		// Under load, let packets gather for a moment so that the next
		// round finds many ready sockets: fewer wakeups per packet.
		// Not when the round filled the event array: then the worker is
		// behind and must not pause.
		if coalesce && n < len(w.events) && (n >= busy || w.recvPkts.Load()-before >= uint64(4*busy)) && !w.stopping.Load() {
			w.pause()
		}
	}
}

// drain reads the socket in batches until it is empty or DrainCap datagrams
// were taken, with the session mutex held, so that Close cannot close the
// descriptor (and let the kernel reuse its number) under the worker.
func (w *epollWorker) drain(so *sock) {
	capLeft := w.e.r.cfg.DrainCap
	s := so.lock() // the session, or the pool's sentinel between sessions
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	now := w.e.r.now()
	for capLeft > 0 {
		if w.pend == len(w.rmsgs) {
			w.flushRaw()
		}
		base := w.pend
		want := min(len(w.rmsgs)-base, capLeft)
		for i := base; i < base+want; i++ {
			w.rmsgs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
			w.rmsgs[i].Hdr.Flags = 0
		}
		r1, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(so.io.fd),
			uintptr(unsafe.Pointer(&w.rmsgs[base])), uintptr(want), unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 || r1 == 0 {
			return // EAGAIN: drained (level-triggered epoll reports new data)
		}
		got := int(r1)
		w.recvCalls.Add(1)
		w.recvPkts.Add(uint64(got))
		st := &s.legs[so.leg].stats
		k := 0 // packets of this batch for the per-socket path, compacted in w.pk
		queued := false
		for i := base; i < base+got; i++ {
			p := &w.pk[k]
			p.buf = w.bufs[i]
			p.n = int(w.rmsgs[i].Len)
			p.src, _ = sockaddr.Decode(&w.rname[i])
			if w.rmsgs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
				st.Packets++
				st.Dropped++
				continue
			}
			s.handle(so, p, &w.sc, now)
			if p.out == nil {
				continue
			}
			// A single datagram joins the round's raw batch; a run of
			// several (a busy socket) goes by its socket, with GSO.
			if w.rawfd >= 0 && p.dst.Addr().Is4() && (got == 1 || !w.gso) {
				// Queued on the raw socket: the buffer stays with it.
				w.queueRaw(p)
				if p.out != so {
					st.Forwarded++
				}
				queued = true
				continue
			}
			k++
		}
		if queued {
			w.pend = base + got // slots up to here hold queued datagrams
		}
		if k > 0 {
			w.flush(so, w.pk[:k])
		}
		capLeft -= got
		if got < want {
			return
		}
	}
}

// queueRaw writes the IPv4 and UDP headers for p (from p.out's local
// address and port to p.dst) and queues it for the round's raw sendmmsg,
// using the receive buffer as the payload (no copy).
func (w *epollWorker) queueRaw(p *pkt) {
	i := w.rq
	w.rq++
	h := &w.rawHdr[i]
	src, dst := p.out.local, p.dst
	sa, da := src.Addr().Unmap().As4(), dst.Addr().As4()
	ulen := 8 + p.n
	// RFC 791 header: version 4, IHL 5, no TOS, total length, ID 0 (the
	// kernel fills it in), DF, TTL 64, protocol UDP; the kernel computes the
	// header checksum for IP_HDRINCL sockets (raw(7)).
	h[0], h[1] = 0x45, 0
	h[2], h[3] = byte((20+ulen)>>8), byte(20+ulen)
	h[4], h[5], h[6], h[7] = 0, 0, 0x40, 0
	h[8], h[9], h[10], h[11] = 64, unix.IPPROTO_UDP, 0, 0
	copy(h[12:16], sa[:])
	copy(h[16:20], da[:])
	// RFC 768 header and checksum over the pseudo-header, header and data.
	sp, dp := src.Port(), dst.Port()
	h[20], h[21], h[22], h[23] = byte(sp>>8), byte(sp), byte(dp>>8), byte(dp)
	h[24], h[25], h[26], h[27] = byte(ulen>>8), byte(ulen), 0, 0
	sum := uint64(unix.IPPROTO_UDP) + uint64(ulen)
	sum = csum(sum, h[12:28])
	sum = csum(sum, p.buf[:p.n])
	c := fold(sum)
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	h[26], h[27] = byte(c>>8), byte(c)
	w.rawName[i] = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: da}
	w.rawIov[i][1].Base = &p.buf[0]
	w.rawIov[i][1].SetLen(p.n)
}

// flushRaw sends the queued raw datagrams with as few sendmmsg calls as
// the kernel allows and frees their buffers.
func (w *epollWorker) flushRaw() {
	for sent := 0; sent < w.rq; {
		r1, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(w.rawfd),
			uintptr(unsafe.Pointer(&w.rmsgOut[sent])), uintptr(w.rq-sent), unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			// The first unsent datagram failed (full buffer, unreachable):
			// count it and go on with the rest.
			w.sendErrors.Add(1)
			sent++
			continue
		}
		sent += int(r1)
	}
	w.rq = 0
	w.pend = 0
}

// csum adds b to a ones'-complement sum, 16 bits at a time (RFC 1071).
func csum(sum uint64, b []byte) uint64 {
	for len(b) >= 8 {
		sum += uint64(b[0])<<8 | uint64(b[1])
		sum += uint64(b[2])<<8 | uint64(b[3])
		sum += uint64(b[4])<<8 | uint64(b[5])
		sum += uint64(b[6])<<8 | uint64(b[7])
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

func fold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// flush sends the batch's accepted packets by their sockets, one system
// call per run of packets leaving by the same socket, straight from the
// receive buffers: sendmsg with UDP_SEGMENT when the run is equal-sized
// datagrams to one destination, sendmmsg otherwise.
func (w *epollWorker) flush(in *sock, pk []pkt) {
	st := &in.owner.Load().legs[in.leg].stats // drain holds the owner
	k := 0
	var cur *sock
	var dst netip.AddrPort
	seg, total, short := 0, 0, false
	for i := range pk {
		p := &pk[i]
		if p.out == nil {
			continue
		}
		// With GSO a run is equal-sized datagrams (the last may be shorter)
		// to one destination, at most 64 KB; without, any datagrams leaving
		// by one socket.
		join := k > 0 && p.out == cur
		if join && w.gso {
			join = p.dst == dst && p.n <= seg && !short && total+p.n <= 65000
		}
		if !join && k > 0 {
			w.send(cur, in, k, st, seg)
			k = 0
		}
		if k == 0 {
			cur, dst, seg, total, short = p.out, p.dst, p.n, 0, false
		}
		short = short || p.n < seg
		total += p.n
		w.smsgs[k].Hdr.Namelen, _ = sockaddr.Encode(&w.sname[k], p.dst, !p.dst.Addr().Is4())
		w.siov[k].Base = &p.buf[0]
		w.siov[k].SetLen(p.n)
		k++
	}
	if k > 0 {
		w.send(cur, in, k, st, seg)
	}
}

func (w *epollWorker) send(out, in *sock, k int, st *legStats, seg int) {
	if k > 1 && w.gso {
		// One datagram per seg bytes, the last possibly shorter (udp(7)).
		*(*uint16)(unsafe.Pointer(&w.gsoCmsg[unix.CmsgLen(0)])) = uint16(seg)
		msg := unix.Msghdr{Name: (*byte)(unsafe.Pointer(&w.sname[0])), Namelen: w.smsgs[0].Hdr.Namelen,
			Iov: &w.siov[0], Control: &w.gsoCmsg[0]}
		msg.Iovlen = uint64(k)
		msg.SetControllen(len(w.gsoCmsg))
		_, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(out.io.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
		switch errno {
		case 0:
			w.gsoSends.Add(1)
			if out != in {
				st.Forwarded += uint64(k)
			}
			return
		case unix.EINVAL, unix.EIO, unix.ENOPROTOOPT, unix.EOPNOTSUPP:
			w.gso = false // no UDP GSO here: send datagram by datagram from now on
		default:
			st.Dropped += uint64(k)
			return
		}
	}
	sent := 0
	for sent < k {
		r1, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(out.io.fd),
			uintptr(unsafe.Pointer(&w.smsgs[sent])), uintptr(k-sent), unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			// A full send buffer or an unreachable destination (ICMP error
			// pending on the socket): drop the rest of the run.
			st.Dropped += uint64(k - sent)
			return
		}
		sent += int(r1)
	}
	if out != in {
		st.Forwarded += uint64(k)
	}
}
