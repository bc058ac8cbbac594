package mediarelay

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// discardFD reads and drops the datagrams queued on a non-blocking UDP
// socket until it is empty, with recvfrom into a one-byte buffer and
// MSG_TRUNC (udp(7): the real length is returned, the datagram consumed).
// It stops after as many datagrams as a receive buffer of rcvbuf bytes can
// hold (the kernel doubles SO_RCVBUF and charges at least a few hundred
// bytes per datagram), so a flood cannot hold it forever.
func discardFD(fd, rcvbuf int) (n, bytes uint64) {
	var b [1]byte
	limit := uint64(2*rcvbuf/256 + 64)
	for n < limit {
		r1, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
			unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return // EAGAIN: empty
		}
		n++
		bytes += uint64(r1)
	}
	return
}
