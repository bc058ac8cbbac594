package transport

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// msgReader is the part of *net.UDPConn that returns control data (the
// kernel receive timestamp); a PacketConn from Config.WrapUDP may lack it.
type msgReader interface {
	ReadMsgUDPAddrPort(b, oob []byte) (n, oobn, flags int, addr netip.AddrPort, err error)
}

// readUDP reads datagrams until the socket closes. One buffer per reader
// goroutine is reused: sip.Parse copies what it keeps.
func (li *listener) readUDP() {
	l := li.layer
	defer l.wg.Done()
	buf := make([]byte, l.lim.MaxMessageSize+1)
	mr, _ := li.pc.(msgReader)
	if !li.rxStamps {
		mr = nil
	}
	oob := make([]byte, rxOOBSize)
	for {
		var (
			n    int
			src  netip.AddrPort
			err  error
			recv time.Time
		)
		if mr != nil {
			var oobn int
			n, oobn, _, src, err = mr.ReadMsgUDPAddrPort(buf, oob)
			if err == nil {
				recv = rxTimestamp(oob[:oobn])
			}
		} else {
			n, src, err = li.pc.ReadFromUDPAddrPort(buf)
		}
		if recv.IsZero() {
			recv = time.Now()
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.closed.Load() {
				return
			}
			continue // ICMP-induced errors and the like: keep reading
		}
		src = unmap(src)
		if n > l.lim.MaxMessageSize {
			l.reject(Reject{Reason: RejectTooLarge, Source: src, Interface: li.cfg.Interface, Transport: UDP, Err: ErrTooLarge})
			continue
		}
		b := buf[:n]
		if onlyCRLF(b) {
			continue // RFC 5626 §4.4.1 keepalive or stray CRLF on UDP: ignored
		}
		l.deliver(b, Flow{lis: li, remote: src}, recv)
	}
}

// onlyCRLF reports whether b holds nothing but CR and LF octets.
func onlyCRLF(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
