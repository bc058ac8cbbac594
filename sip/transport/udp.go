package transport

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// rawSocket is a UDP listener's socket driven with raw system calls
// (udp_linux.go); nil where unavailable, or when Config.WrapUDP interposes
// on the socket, in which case the PacketConn is used.
type rawSocket interface {
	// reader returns a reader that receives into buf; one per goroutine.
	reader(buf []byte) udpReader
	// writeTo sends one datagram.
	writeTo(b []byte, to netip.AddrPort) error
}

// udpReader receives one datagram: its length, source and arrival time
// (the kernel's receive timestamp where available, else the time read).
type udpReader interface {
	read() (n int, src netip.AddrPort, recv time.Time, err error)
}

// msgReader is the part of *net.UDPConn that returns control data (the
// kernel receive timestamp); a PacketConn from Config.WrapUDP may lack it.
type msgReader interface {
	ReadMsgUDPAddrPort(b, oob []byte) (n, oobn, flags int, addr netip.AddrPort, err error)
}

// pcReader reads through the listener's PacketConn.
type pcReader struct {
	pc  PacketConn
	mr  msgReader // nil: no control data
	buf []byte
	oob []byte
}

func (r *pcReader) read() (int, netip.AddrPort, time.Time, error) {
	var (
		n    int
		src  netip.AddrPort
		err  error
		recv time.Time
	)
	if r.mr != nil {
		var oobn int
		n, oobn, _, src, err = r.mr.ReadMsgUDPAddrPort(r.buf, r.oob)
		if err == nil {
			recv = rxTimestamp(r.oob[:oobn])
		}
	} else {
		n, src, err = r.pc.ReadFromUDPAddrPort(r.buf)
	}
	if recv.IsZero() {
		recv = time.Now()
	}
	return n, src, recv, err
}

func (li *listener) newUDPReader(buf []byte) udpReader {
	if li.raw != nil {
		return li.raw.reader(buf)
	}
	r := &pcReader{pc: li.pc, buf: buf, oob: make([]byte, rxOOBSize)}
	if li.rxStamps {
		r.mr, _ = li.pc.(msgReader)
	}
	return r
}

// writeUDP sends one datagram from the listener's socket.
func (li *listener) writeUDP(b []byte, to netip.AddrPort) error {
	if li.raw != nil && to.Addr().Zone() == "" {
		return li.raw.writeTo(b, to)
	}
	_, err := li.pc.WriteToUDPAddrPort(b, to) // zoned (link-local) destinations too
	return err
}

// readUDP reads datagrams until the socket closes. One buffer per reader
// goroutine is reused: sip.Parse copies what it keeps.
func (li *listener) readUDP() {
	l := li.layer
	defer l.wg.Done()
	buf := make([]byte, l.lim.MaxMessageSize+1)
	rd := li.newUDPReader(buf)
	for {
		n, src, recv, err := rd.read()
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
