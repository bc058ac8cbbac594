//go:build unix && !linux

package mediarelay

import "syscall"

// discardFD reads and drops the datagrams queued on a non-blocking UDP
// socket until it is empty (at most as many as a receive buffer of rcvbuf
// bytes can hold). Bytes count at most maxDatagram per datagram here.
func discardFD(fd, rcvbuf int) (n, bytes uint64) {
	var b [maxDatagram]byte
	limit := uint64(2*rcvbuf/256 + 64)
	for n < limit {
		k, err := syscall.Read(fd, b[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || k < 0 {
			return
		}
		n++
		bytes += uint64(k)
	}
	return
}
