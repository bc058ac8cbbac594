//go:build linux

package transport

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbc-project/sbc/internal/sockaddr"
)

// Raw datagram I/O. A UDP listener's socket is read and written with
// recvmmsg and sendto issued as raw system calls inside syscall.RawConn's
// Read and Write callbacks: the runtime's netpoller still parks a reader on
// EAGAIN and the descriptor still cannot be closed under a call (RawConn
// holds the fd's read or write lock), but the calls skip entersyscall.
// On loopback a sendto runs the receiver's whole input path, 13–180 µs
// here, so as a blocking-style call it regularly outlived a sysmon tick
// (20 µs) while the other P was busy: sysmon then retook the P, handed it
// to another thread, and kept itself waking every 20 µs (~4 % of the
// SBC's CPU at 3,000 calls/s, all of it in nanosleep). These sockets are
// non-blocking, so the calls cannot block and a raw call is safe.

type rawUDP struct {
	rc      syscall.RawConn
	v6      bool // AF_INET6 socket (IPv4 peers as v4-mapped addresses)
	stamps  bool // SO_TIMESTAMPNS on
	writers sync.Pool

	// Sends go straight to the descriptor, not through RawConn.Write:
	// RawConn serialises writers on the fd's write lock, and with the
	// readers and the timer goroutine all sending on one socket a loser
	// parked on that lock's semaphore and waited to be scheduled again
	// (half of the SBC's scheduling delay at 4,000 calls/s in a runtime
	// trace). The kernel serialises concurrent sendto on a UDP socket
	// itself. mu (shared per send and direct receive, exclusive once in
	// close) keeps the descriptor from being closed, and its number
	// reused, under a call.
	mu     sync.RWMutex
	fd     uintptr
	closed bool
}

// newRawUDP prepares raw I/O on uc (and asks for kernel receive
// timestamps); nil when the socket cannot be inspected.
func newRawUDP(uc *net.UDPConn) rawSocket {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var sa unix.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) { sa, serr = unix.Getsockname(int(fd)) }); err != nil || serr != nil {
		return nil
	}
	r := &rawUDP{rc: rc, stamps: enableRxTimestamps(uc)}
	_ = rc.Control(func(fd uintptr) { r.fd = fd })
	switch sa.(type) {
	case *unix.SockaddrInet4:
	case *unix.SockaddrInet6:
		r.v6 = true
	default:
		return nil
	}
	r.writers.New = func() any {
		w := new(rawWriter)
		w.fn = w.send
		return w
	}
	return r
}

// rawWriter is one sendto's arguments, pooled so that neither it nor the
// callback bound to it is allocated per datagram.
type rawWriter struct {
	b     []byte
	sa    unix.RawSockaddrInet6
	salen uintptr
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

func (w *rawWriter) send(fd uintptr) bool {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(w.b))), uintptr(len(w.b)),
			0, uintptr(unsafe.Pointer(&w.sa)), w.salen)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // the netpoller waits for room
		}
		w.errno = e
		return true
	}
}

func (r *rawUDP) writeTo(b []byte, to netip.AddrPort) error {
	w := r.writers.Get().(*rawWriter)
	defer r.writers.Put(w)
	n, ok := sockaddr.Encode(&w.sa, to, r.v6)
	if !ok || to.Addr().Zone() != "" { // zoned: writeUDP sends these through the PacketConn
		return &net.AddrError{Err: "address family not supported by the socket", Addr: to.String()}
	}
	w.salen = uintptr(n)
	w.b, w.errno = b, 0
	defer func() { w.b = nil }()
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return net.ErrClosed
	}
	done := w.send(r.fd)
	r.mu.RUnlock()
	if !done {
		// The send buffer is full: wait for room in the netpoller.
		if err := r.rc.Write(w.fn); err != nil {
			return err
		}
	}
	if w.errno != 0 {
		return w.errno
	}
	return nil
}

// recvNow runs one non-blocking recvmmsg for rd on the descriptor under
// the shared lock (see mu); false when nothing was queued.
func (r *rawUDP) recvNow(rd *rawReader) (bool, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return false, net.ErrClosed
	}
	return rd.recv(r.fd), nil
}

// close stops sends and direct receives before the socket is closed.
func (r *rawUDP) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// readBatch is how many datagrams one recvmmsg may take. Under load a
// reader takes several per wakeup and per hand-over of the socket's read
// lock to the listener's other reader goroutine; idle, it takes one, as
// recvmsg would.
const readBatch = 8

// rawReader is one reader goroutine's recvmmsg state: readBatch buffers,
// source addresses and control buffers, and the datagrams of the last call
// not handed out yet.
type rawReader struct {
	r     *rawUDP
	bufs  [readBatch][]byte
	from  [readBatch]unix.RawSockaddrInet6
	oob   [readBatch][rxOOBSize]byte
	iov   [readBatch]unix.Iovec
	msgs  [readBatch]unix.Mmsghdr
	n     int // datagrams received by the last recvmmsg
	next  int // the next of them to hand out
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

func (r *rawUDP) reader(size int) udpReader {
	rd := &rawReader{r: r}
	for i := range rd.msgs {
		rd.bufs[i] = make([]byte, size)
		rd.iov[i].Base = unsafe.SliceData(rd.bufs[i])
		rd.iov[i].SetLen(size)
		h := &rd.msgs[i].Hdr
		h.Iov = &rd.iov[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&rd.from[i]))
		h.Control = &rd.oob[i][0]
	}
	rd.fn = rd.recv
	return rd
}

func (rd *rawReader) recv(fd uintptr) bool {
	for i := range rd.msgs {
		h := &rd.msgs[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(len(rd.oob[i]))
		h.Flags = 0
		rd.msgs[i].Len = 0
	}
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&rd.msgs[0])), readBatch, 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // the netpoller parks the reader
		}
		rd.n, rd.next, rd.errno = int(n), 0, e
		return true
	}
}

var errBadSource = errors.New("transport: datagram with an unknown source address family")

func (rd *rawReader) read() ([]byte, netip.AddrPort, time.Time, error) {
	for rd.next >= rd.n {
		rd.n, rd.next, rd.errno = 0, 0, 0
		// Under load datagrams are already queued: take them straight from
		// the descriptor. RawConn.Read holds the fd's read lock even while
		// parked in the netpoller, so the listener's other reader would wait
		// on that lock and be handed it, with a wakeup, at every message;
		// only an empty socket goes through RawConn.Read to wait.
		got, err := rd.r.recvNow(rd)
		if err != nil {
			return nil, netip.AddrPort{}, time.Time{}, err
		}
		if !got {
			if err := rd.r.rc.Read(rd.fn); err != nil {
				return nil, netip.AddrPort{}, time.Time{}, err
			}
		}
		if rd.errno != 0 {
			return nil, netip.AddrPort{}, time.Time{}, rd.errno
		}
	}
	i := rd.next
	rd.next++
	src, ok := sockaddr.Decode(&rd.from[i])
	if !ok {
		return nil, netip.AddrPort{}, time.Time{}, errBadSource
	}
	var recv time.Time
	if rd.r.stamps {
		recv = rxTimestamp(rd.oob[i][:rd.msgs[i].Hdr.Controllen])
	}
	if recv.IsZero() {
		recv = time.Now()
	}
	return rd.bufs[i][:rd.msgs[i].Len], src, recv, nil
}

// enableRxTimestamps asks the kernel to stamp every datagram with the time
// it arrived (SO_TIMESTAMPNS, socket(7)), so that Inbound.Received counts
// the time a message waited in the socket's receive queue: the measure of
// how far behind the readers are.
func enableRxTimestamps(uc *net.UDPConn) bool {
	rc, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// rxTimestamp returns the SCM_TIMESTAMPNS time in the control data of one
// recvmsg, or the zero time. It walks the cmsg headers in place: nothing is
// allocated per datagram (unix.ParseSocketControlMessage would).
func rxTimestamp(oob []byte) time.Time {
	const hdr = unix.SizeofCmsghdr
	for len(oob) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return time.Time{}
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && l-cmsgAlign(hdr) >= int(unsafe.Sizeof(unix.Timespec{})) {
			var ts unix.Timespec
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts)), oob[cmsgAlign(hdr):])
			return time.Unix(int64(ts.Sec), int64(ts.Nsec))
		}
		l = cmsgAlign(l)
		if l > len(oob) {
			return time.Time{}
		}
		oob = oob[l:]
	}
	return time.Time{}
}

func cmsgAlign(n int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (n + a - 1) &^ (a - 1)
}

// rxOOBSize is room for one SCM_TIMESTAMPNS message.
const rxOOBSize = 64
