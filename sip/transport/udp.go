package transport

import (
	"errors"
	"net"
)

// readUDP reads datagrams until the socket closes. One buffer per reader
// goroutine is reused: sip.Parse copies what it keeps.
func (li *listener) readUDP() {
	l := li.layer
	defer l.wg.Done()
	buf := make([]byte, l.lim.MaxMessageSize+1)
	for {
		n, src, err := li.pc.ReadFromUDPAddrPort(buf)
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
		l.deliver(b, Flow{lis: li, remote: src})
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
