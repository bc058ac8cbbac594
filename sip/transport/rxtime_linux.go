//go:build linux

package transport

import (
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

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
