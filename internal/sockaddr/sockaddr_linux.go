//go:build linux

// Package sockaddr converts between netip.AddrPort and the kernel's
// sockaddr_in / sockaddr_in6 without allocating, for the raw sendto,
// sendmmsg, recvmsg and recvmmsg calls of the SIP transport and the media
// relay.
package sockaddr

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Encode writes ap into sa for a socket of the given family and returns
// the length to pass to the kernel: an AF_INET6 socket gets every address
// as sockaddr_in6 (IPv4 as v4-mapped, RFC 4291 §2.5.5.2), an AF_INET socket
// sockaddr_in. ok is false when an AF_INET socket cannot reach ap. Zones
// are not encoded.
func Encode(sa *unix.RawSockaddrInet6, ap netip.AddrPort, v6Socket bool) (n uint32, ok bool) {
	port := ap.Port()
	a := ap.Addr()
	if !v6Socket {
		if a = a.Unmap(); !a.Is4() {
			return 0, false
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
		pb := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		pb[0], pb[1] = byte(port>>8), byte(port)
		return unix.SizeofSockaddrInet4, true
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
	pb := (*[2]byte)(unsafe.Pointer(&sa.Port))
	pb[0], pb[1] = byte(port>>8), byte(port)
	return unix.SizeofSockaddrInet6, true
}

// Decode reads a sockaddr_in or sockaddr_in6 the kernel filled in (a
// v4-mapped address comes back as IPv4); ok is false for another family.
func Decode(sa *unix.RawSockaddrInet6) (ap netip.AddrPort, ok bool) {
	pb := (*[2]byte)(unsafe.Pointer(&sa.Port))
	port := uint16(pb[0])<<8 | uint16(pb[1])
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port), true
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}
