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
	// reader returns a reader for one goroutine, with buffers of size
	// bytes.
	reader(size int) udpReader
	// writeTo sends one datagram.
	writeTo(b []byte, to netip.AddrPort) error
	// close ends sending; called before the socket is closed.
	close()
}

// udpReader receives one datagram: its bytes (valid until the next read),
// source and arrival time (the kernel's receive timestamp where available,
// else the time read).
type udpReader interface {
	read() (b []byte, src netip.AddrPort, recv time.Time, err error)
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

func (r *pcReader) read() ([]byte, netip.AddrPort, time.Time, error) {
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
	return r.buf[:n], src, recv, err
}

func (li *listener) newUDPReader(size int) udpReader {
	if li.raw != nil {
		return li.raw.reader(size)
	}
	r := &pcReader{pc: li.pc, buf: make([]byte, size), oob: make([]byte, rxOOBSize)}
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

// readUDP reads datagrams until the socket closes. Each reader goroutine
// reuses its own buffers: sip.Parse copies what it keeps.
func (li *listener) readUDP() {
	l := li.layer
	defer l.wg.Done()
	// One byte more than the limit tells an oversized datagram (truncated
	// to it) from one of exactly the limit.
	rd := li.newUDPReader(l.lim.MaxMessageSize + 1)
	for {
		b, src, recv, err := rd.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.closed.Load() {
				return
			}
			continue // ICMP-induced errors and the like: keep reading
		}
		src = unmap(src)
		if len(b) > l.lim.MaxMessageSize {
			l.reject(Reject{Reason: RejectTooLarge, Source: src, Interface: li.cfg.Interface, Transport: UDP, Err: ErrTooLarge})
			continue
		}
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
