package capture

import (
	"net/netip"
	"time"
)

// Direction tells whether the SBC received or sent a message.
type Direction uint8

// Directions of a captured message.
const (
	In  Direction = iota // received by the SBC
	Out                  // sent by the SBC
)

// String returns "in" or "out".
func (d Direction) String() string {
	if d == Out {
		return "out"
	}
	return "in"
}

// Transport is the SIP transport a message travelled on (RFC 3261 §18).
type Transport uint8

// Transports. TLS, WS and WSS messages are captured as their cleartext SIP
// carried over TCP, as sngrep and Homer expect them.
const (
	UDP Transport = iota
	TCP
	TLS
	WS
	WSS
)

// ParseTransport maps a transport name ("udp", "TCP", "tls", ...) to a
// Transport; unknown names are UDP.
func ParseTransport(s string) Transport {
	switch s {
	case "tcp", "TCP":
		return TCP
	case "tls", "TLS":
		return TLS
	case "ws", "WS":
		return WS
	case "wss", "WSS":
		return WSS
	}
	return UDP
}

// stream reports whether the transport is carried over TCP.
func (t Transport) stream() bool { return t == TCP || t == TLS || t == WS || t == WSS }

// ipProto returns the IP protocol number the transport is written with:
// 17 for UDP, 6 for TCP-borne transports.
func (t Transport) ipProto() uint8 {
	if t.stream() {
		return 6
	}
	return 17
}

// Packet is one captured SIP message with its addressing. Payload is the whole
// SIP message as sent or received (a stream transport's framed message).
type Packet struct {
	Time      time.Time
	Direction Direction
	Transport Transport
	Src, Dst  netip.AddrPort
	CallID    string // correlation key (HEP chunk 0x0011); may be empty
	Trunk     string
	Payload   []byte
}

// addrs returns the source and destination addresses in one family: both
// IPv4 (IPv4-mapped IPv6 unmapped) or, when they differ, both IPv6.
func (p *Packet) addrs() (src, dst netip.Addr, v6 bool, err error) {
	src, dst = p.Src.Addr().Unmap(), p.Dst.Addr().Unmap()
	if !src.IsValid() || !dst.IsValid() {
		return src, dst, false, ErrAddressFamily
	}
	if src.Is4() && dst.Is4() {
		return src, dst, false, nil
	}
	if src.Is4() {
		src = netip.AddrFrom16(src.As16())
	}
	if dst.Is4() {
		dst = netip.AddrFrom16(dst.As16())
	}
	return src, dst, true, nil
}
