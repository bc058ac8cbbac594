package mediarelay

import (
	"errors"
	"net"
	"sync"
	"time"
)

// goEngine is the portable engine: one goroutine per socket, blocked in
// ReadFromUDPAddrPort (which does not allocate), handling and writing each
// datagram on its own. It is the fallback off Linux and the measured
// alternative on it.
type goEngine struct {
	r  *Relay
	wg sync.WaitGroup
}

var _ engine = (*goEngine)(nil)

func (e *goEngine) open(so *sock) error {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(so.local))
	if err != nil {
		return err
	}
	_ = c.SetReadBuffer(e.r.cfg.RecvBuffer)
	_ = c.SetWriteBuffer(e.r.cfg.RecvBuffer)
	so.io.conn = c
	e.wg.Add(1)
	go e.read(so) // owner: the engine; exit: the socket's close (net.ErrClosed)
	return nil
}

// read serves one socket for its whole life, across the sessions (and
// idle spells in the pool) it belongs to; it exits when the socket is
// closed.
func (e *goEngine) read(so *sock) {
	defer e.wg.Done()
	var sc scratch
	p := pkt{buf: make([]byte, maxDatagram)}
	for {
		n, src, err := so.io.conn.ReadFromUDPAddrPort(p.buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// The arrival time, taken before waiting for the owner: a datagram
		// read before its session went live is not forwarded (Session.live).
		now := e.r.now()
		p.n, p.src = n, src
		s := so.lock()
		if s.closed { // being closed: the next read returns net.ErrClosed
			s.mu.Unlock()
			continue
		}
		s.handle(so, &p, &sc, now)
		if p.out != nil {
			st := &s.legs[so.leg].stats
			if _, err := p.out.io.conn.WriteToUDPAddrPort(p.buf[:p.n], p.dst); err != nil {
				st.Dropped++
			} else if p.out != so { // not a STUN answer
				st.Forwarded++
			}
		}
		s.mu.Unlock()
	}
}

func (e *goEngine) close(so *sock) {
	if so.io.conn != nil {
		_ = so.io.conn.Close()
	}
}

// move only records w: there are no workers, so.w just picks the pool
// sentinel.
func (e *goEngine) move(so *sock, w int) error {
	so.w = w
	return nil
}

// discard empties the socket's receive queue beside the reading goroutine
// (RawConn.Control does not take the read lock that the blocked reader
// holds).
func (e *goEngine) discard(so *sock) (n, bytes uint64) {
	rc, err := so.io.conn.SyscallConn()
	if err != nil {
		return 0, 0
	}
	_ = rc.Control(func(fd uintptr) { n, bytes = discardFD(int(fd), e.r.cfg.RecvBuffer) })
	return n, bytes
}

func (e *goEngine) shutdown() { e.wg.Wait() }

func (e *goEngine) cpu() time.Duration { return 0 }

func (e *goEngine) counters() (wakeups, calls, pkts uint64) { return 0, 0, 0 }
