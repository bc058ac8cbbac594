//go:build linux

package rtpload

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// endpoint is one of the generator's two UDP sockets: the caller side
// (sends to the relay's A-leg ports) or the callee side (B-leg ports).
type endpoint struct {
	fd    int
	addr  netip.AddrPort
	dsts  []unix.RawSockaddrInet4 // relay address per call
	smsgs []unix.Mmsghdr
	siov  []unix.Iovec
	bufs  [][]byte
	seq   []uint16
	ts    []uint32
}

const batch = 64

func newEndpoint(local netip.Addr, size int) (*endpoint, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	for _, o := range []int{unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o, 64<<20) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, map[int]int{unix.SO_RCVBUFFORCE: unix.SO_RCVBUF, unix.SO_SNDBUFFORCE: unix.SO_SNDBUF}[o], 64<<20)
		}
	}
	tv := unix.Timeval{Usec: 100_000}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: local.As4()}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	sa, _ := unix.Getsockname(fd)
	e := &endpoint{fd: fd, addr: netip.AddrPortFrom(local, uint16(sa.(*unix.SockaddrInet4).Port))}
	e.smsgs, e.siov, e.bufs = make([]unix.Mmsghdr, batch), make([]unix.Iovec, batch), make([][]byte, batch)
	for i := range e.bufs {
		e.bufs[i] = make([]byte, size)
		e.bufs[i][0] = 0x80 // RTP version 2, PT 0 (PCMU)
		e.siov[i].Base = &e.bufs[i][0]
		e.siov[i].SetLen(size)
		e.smsgs[i].Hdr.Iov, e.smsgs[i].Hdr.Iovlen = &e.siov[i], 1
	}
	return e, nil
}

func (e *endpoint) addDst(a netip.AddrPort) {
	p := a.Port()
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Addr().As4()}
	pb := (*[2]byte)(unsafe.Pointer(&sa.Port))
	pb[0], pb[1] = byte(p>>8), byte(p)
	e.dsts = append(e.dsts, sa)
	e.seq = append(e.seq, 0)
	e.ts = append(e.ts, 0)
}

// send sends one packet to each call in calls (len <= batch) with the send
// time and stream number in the payload.
func (e *endpoint) send(calls []int32, dir byte, epoch time.Time) int {
	now := int64(time.Since(epoch))
	for i, c := range calls {
		b := e.bufs[i]
		e.seq[c]++
		e.ts[c] += 160
		binary.BigEndian.PutUint16(b[2:], e.seq[c])
		binary.BigEndian.PutUint32(b[4:], e.ts[c])
		binary.BigEndian.PutUint32(b[8:], uint32(c)<<1|uint32(dir)) // SSRC = stream
		binary.BigEndian.PutUint64(b[12:], uint64(now))
		e.smsgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&e.dsts[c]))
		e.smsgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
	}
	sent := 0
	for sent < len(calls) {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(e.fd), uintptr(unsafe.Pointer(&e.smsgs[sent])), uintptr(len(calls)-sent), 0, 0, 0)
		if errno != 0 {
			if errno == unix.EINTR || errno == unix.EAGAIN || errno == unix.ENOBUFS {
				continue
			}
			break
		}
		sent += int(r)
	}
	return sent
}

// hist is a latency histogram in 10 µs buckets up to 500 ms.
type hist struct {
	b   [50001]uint64
	max int64
}

func (h *hist) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	i := ns / 10_000
	if i >= int64(len(h.b)) {
		i = int64(len(h.b) - 1)
	}
	h.b[i]++
	if ns > h.max {
		h.max = ns
	}
}

func (h *hist) merge(o *hist) {
	for i := range h.b {
		h.b[i] += o.b[i]
	}
	h.max = max(h.max, o.max)
}

func (h *hist) quantile(q float64) time.Duration {
	var total uint64
	for _, c := range h.b {
		total += c
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var acc uint64
	for i, c := range h.b {
		acc += c
		if acc > want {
			return time.Duration(int64(i)*10_000 + 5_000)
		}
	}
	return time.Duration(h.max)
}

// receive reads relayed packets on e until stop, recording latency.
func (e *endpoint) receive(stop *atomic.Bool, epoch time.Time, h *hist, delivered *atomic.Uint64, poll time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	msgs, iov := make([]unix.Mmsghdr, batch), make([]unix.Iovec, batch)
	bufs := make([]byte, batch*2048)
	for i := range msgs {
		iov[i].Base = &bufs[i*2048]
		iov[i].SetLen(2048)
		msgs[i].Hdr.Iov, msgs[i].Hdr.Iovlen = &iov[i], 1
	}
	flags := uintptr(unix.MSG_WAITFORONE)
	pollTS := unix.NsecToTimespec(int64(poll))
	if poll > 0 {
		flags = unix.MSG_DONTWAIT
	}
	for !stop.Load() {
		r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(e.fd), uintptr(unsafe.Pointer(&msgs[0])), batch, flags, 0, 0)
		if errno != 0 {
			if poll > 0 {
				_ = unix.Nanosleep(&pollTS, nil)
			}
			continue
		}
		now := int64(time.Since(epoch))
		for i := 0; i < int(r); i++ {
			if msgs[i].Len >= 20 {
				b := bufs[i*2048:]
				h.add(now - int64(binary.BigEndian.Uint64(b[12:])))
			}
		}
		delivered.Add(uint64(r))
	}
}

// procCPU reads a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	s = s[strings.LastIndexByte(s, ')')+2:]
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0, fmt.Errorf("rtpload: short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration((ut + st) * int64(time.Second) / clkTck), nil
}

// Run sets up cfg.Calls calls on the relay, sends paced traffic for
// cfg.Duration, measures, and deletes the calls.
func Run(cfg Config) (Result, error) {
	if cfg.PPS == 0 {
		cfg.PPS = 50
	}
	if cfg.Size < 24 {
		cfg.Size = 172
	}
	ng, err := DialNG(cfg.NG)
	if err != nil {
		return Result{}, err
	}
	defer ng.Close()
	if err := ng.Ping(); err != nil {
		return Result{}, err
	}
	caller, err := newEndpoint(cfg.Local, cfg.Size)
	if err != nil {
		return Result{}, err
	}
	defer unix.Close(caller.fd)
	callee, err := newEndpoint(cfg.Local, cfg.Size)
	if err != nil {
		return Result{}, err
	}
	defer unix.Close(callee.fd)

	// Signalling: the caller's SDP offers the caller endpoint; the relay's
	// offer reply is what the callee sends to; the answer reply is what the
	// caller sends to.
	ids := make([]string, cfg.Calls)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", cfg.CallIDTag, i)
		toB, err := ng.Offer(ids[i], "a", AudioSDP(caller.addr, i))
		if err != nil {
			return Result{}, err
		}
		toA, err := ng.Answer(ids[i], "a", "b", AudioSDP(callee.addr, i))
		if err != nil {
			return Result{}, err
		}
		a, err := MediaAddr(toA)
		if err != nil {
			return Result{}, err
		}
		b, err := MediaAddr(toB)
		if err != nil {
			return Result{}, err
		}
		caller.addDst(a)
		callee.addDst(b)
	}
	defer func() {
		for _, id := range ids {
			_ = ng.Delete(id, "a")
		}
	}()

	epoch := time.Now()
	var stop atomic.Bool
	var delivered atomic.Uint64
	var wg sync.WaitGroup
	hists := [2]*hist{new(hist), new(hist)}
	for i, e := range []*endpoint{caller, callee} {
		wg.Add(1)
		go func() { defer wg.Done(); e.receive(&stop, epoch, hists[i], &delivered, cfg.RecvPoll) }()
	}

	// Pacing: 2*Calls streams at PPS each, round robin, so each stream sends
	// every 1/PPS s and the load is spread evenly over the period. The
	// sender catches up every millisecond.
	rate := 2 * cfg.Calls * cfg.PPS
	var c0 time.Duration
	if cfg.RelayPID != 0 {
		if c0, err = procCPU(cfg.RelayPID); err != nil {
			return Result{}, err
		}
	}
	runtime.LockOSThread()
	start := time.Now()
	var sent uint64
	next := 0 // next stream, 2*call + direction
	idx := [2][]int32{make([]int32, 0, batch), make([]int32, 0, batch)}
	for {
		el := time.Since(start)
		if el >= cfg.Duration {
			break
		}
		due := uint64(el.Nanoseconds() * int64(rate) / 1e9)
		for sent < due {
			n := min(due-sent, 2*batch)
			idx[0], idx[1] = idx[0][:0], idx[1][:0]
			for k := uint64(0); k < n; k++ {
				idx[next&1] = append(idx[next&1], int32(next>>1))
				next = (next + 1) % (2 * cfg.Calls)
			}
			for d, e := range []*endpoint{caller, callee} {
				if len(idx[d]) > 0 {
					sent += uint64(e.send(idx[d], byte(d), epoch))
				}
			}
		}
		time.Sleep(time.Millisecond - time.Since(start.Add(el))%time.Millisecond)
	}
	elapsed := time.Since(start)
	runtime.UnlockOSThread()
	// Let what is queued arrive: wait until nothing came for 300 ms (at
	// most 10 s), so that a slow generator shows as latency, not loss.
	end := time.Now()
	for last := delivered.Load(); time.Since(end) < 10*time.Second; {
		time.Sleep(300 * time.Millisecond)
		now := delivered.Load()
		if now == last {
			break
		}
		last = now
	}
	drain := time.Since(end) - 300*time.Millisecond
	var c1 time.Duration
	if cfg.RelayPID != 0 {
		c1, _ = procCPU(cfg.RelayPID)
	}
	stop.Store(true)
	wg.Wait()
	hists[0].merge(hists[1])
	res := Result{Calls: cfg.Calls, Sockets: 2 * cfg.Calls, TargetPPS: rate, Sent: sent, Delivered: delivered.Load(), Elapsed: elapsed,
		P50: hists[0].quantile(0.50), P99: hists[0].quantile(0.99), Max: time.Duration(hists[0].max), RelayCPU: c1 - c0}
	if sent > 0 {
		res.Loss = float64(int64(sent)-int64(res.Delivered)) / float64(sent)
		res.RelayCPUPerPkt = res.RelayCPU / time.Duration(sent)
	}
	res.RelayUtilization = res.RelayCPU.Seconds() / elapsed.Seconds()
	res.Drain = drain
	genPorts := map[uint16]bool{caller.addr.Port(): true, callee.addr.Port(): true}
	relayPorts := map[uint16]bool{}
	for _, e := range []*endpoint{caller, callee} {
		for i := range e.dsts {
			pb := (*[2]byte)(unsafe.Pointer(&e.dsts[i].Port))
			relayPorts[uint16(pb[0])<<8|uint16(pb[1])] = true
		}
	}
	res.GenDrops, res.RelayDrops = udpDrops(genPorts), udpDrops(relayPorts)
	return res, nil
}

// udpDrops sums the drops column of /proc/net/udp over the sockets bound
// to the given local ports.
func udpDrops(ports map[uint16]bool) uint64 {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0
	}
	var total uint64
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 13 {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || !ports[uint16(p)] {
			continue
		}
		d, _ := strconv.ParseUint(f[len(f)-1], 10, 64)
		total += d
	}
	return total
}
