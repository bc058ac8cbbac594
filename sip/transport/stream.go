package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/sbc-project/sbc/sip"
)

// conn is one TCP or TLS connection, accepted or dialed. It has exactly two
// goroutines, both owned by the Layer: the reader (framing and delivery) and
// the writer (bounded queue, write deadlines, and for dialed connections the
// dial itself). close is idempotent; both goroutines exit on it.
type conn struct {
	layer  *Layer
	lis    *listener
	key    connKey
	remote netip.AddrPort
	dest   Dest // for dialed connections
	out    chan outMsg
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	nc       net.Conn // nil while dialing
	inbound  bool
	counted  bool // counted in perSource
	closeErr error
}

type outMsg struct {
	b    []byte
	f    Flow
	sink ErrorSink
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

func (li *listener) accept() {
	l := li.layer
	defer l.wg.Done()
	for {
		nc, err := li.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.Is(err, net.ErrClosed) || l.closed.Load() {
				return
			}
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: back off briefly
			continue
		}
		remote := unmap(nc.RemoteAddr().(*net.TCPAddr).AddrPort())
		c := &conn{layer: l, lis: li, remote: remote, inbound: true,
			key: connKey{lis: li, remote: remote},
			out: make(chan outMsg, l.lim.WriteQueue), done: make(chan struct{})}
		if err := l.register(c, true); err != nil {
			nc.Close()
			l.reject(Reject{Reason: RejectConnLimit, Source: remote, Interface: li.cfg.Interface, Transport: li.cfg.Transport, Err: err})
			continue
		}
		if li.tls != nil {
			nc = tls.Server(nc, li.tls) // handshake runs on first read, under the partial-message deadline
		}
		c.nc = nc
		l.stats.opened.Add(1)
		l.wg.Add(2)
		go c.readLoop()  // owner: Layer; exit: read error or close.
		go c.writeLoop() // owner: Layer; exit: close.
	}
}

// register adds c to the connection table, enforcing MaxConns and, for
// accepted connections, MaxConnsPerSource. An existing connection with the
// same key is replaced in the table (it stays open until it ends).
func (l *Layer) register(c *conn, perSource bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	if l.nconns >= l.lim.MaxConns {
		return ErrTooManyConns
	}
	if perSource {
		if l.perSource[c.remote.Addr()] >= l.lim.MaxConnsPerSource {
			return ErrTooManyConns
		}
		l.perSource[c.remote.Addr()]++
		c.counted = true
	}
	l.nconns++
	l.conns[c.key] = c
	return nil
}

func (l *Layer) unregister(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns[c.key] == c {
		delete(l.conns, c.key)
	}
	l.nconns--
	if c.counted {
		a := c.remote.Addr()
		if n := l.perSource[a] - 1; n > 0 {
			l.perSource[a] = n
		} else {
			delete(l.perSource, a)
		}
	}
}

// connFor returns the open (or dialing) connection from li to d.Addr, or
// starts dialing a new one (RFC 3261 §18.1.1: reuse, else open).
func (l *Layer) connFor(li *listener, d Dest) (*conn, error) {
	key := connKey{lis: li, remote: d.Addr}
	l.mu.Lock()
	c := l.conns[key]
	l.mu.Unlock()
	if c != nil && !c.isClosed() {
		return c, nil
	}
	c = &conn{layer: l, lis: li, remote: d.Addr, dest: d, key: key,
		out: make(chan outMsg, l.lim.WriteQueue), done: make(chan struct{})}
	l.mu.Lock()
	if old := l.conns[key]; old != nil && !old.isClosed() { // lost a race: reuse the winner
		l.mu.Unlock()
		return old, nil
	}
	l.mu.Unlock()
	if err := l.register(c, false); err != nil {
		return nil, err
	}
	l.wg.Add(1)
	go c.writeLoop() // owner: Layer; dials first, then starts the reader.
	return c, nil
}

func (c *conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// close ends the connection once: unregisters it, closes the socket and
// wakes both goroutines; the writer fails what is still queued.
func (c *conn) close(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.closeErr = err
		nc := c.nc
		c.mu.Unlock()
		close(c.done)
		if nc != nil {
			nc.Close()
		}
		c.layer.unregister(c)
		c.layer.stats.closed.Add(1)
		if err != nil && !errors.Is(err, ErrClosed) && c.layer.log.Enabled(context.Background(), slog.LevelDebug) {
			c.layer.log.LogAttrs(context.Background(), slog.LevelDebug, "connection closed",
				slog.String("interface", c.lis.cfg.Interface), slog.String("transport", c.lis.cfg.Transport.String()),
				slog.String("remote", c.remote.String()), slog.String("error", err.Error()))
		}
	})
}

// send queues b without blocking.
func (c *conn) send(b []byte, f Flow, sink ErrorSink) error {
	if c.isClosed() {
		return ErrConnClosed
	}
	select {
	case c.out <- outMsg{b: b, f: f, sink: sink}:
		return nil
	default:
		c.layer.stats.writeErrors.Add(1)
		return ErrQueueFull
	}
}

func (c *conn) dial() error {
	l := c.layer
	d := net.Dialer{Timeout: l.lim.DialTimeout}
	if la := c.lis.addr.Addr(); !la.IsUnspecified() {
		d.LocalAddr = &net.TCPAddr{IP: la.AsSlice(), Zone: la.Zone()} // leave from the interface's address
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.lim.DialTimeout)
	defer cancel()
	go func() { // owner: dial; exit: dial returns (cancel) or the conn closes.
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	nc, err := d.DialContext(ctx, "tcp", c.remote.String())
	if err != nil {
		return err
	}
	if c.lis.cfg.Transport == TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if l.cfg.TLSClient != nil {
			tc = l.cfg.TLSClient.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = c.dest.ServerName
			if tc.ServerName == "" {
				tc.ServerName = c.remote.Addr().String()
			}
		}
		t := tls.Client(nc, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			nc.Close()
			return err
		}
		nc = t
	}
	c.mu.Lock()
	if c.isClosed() {
		c.mu.Unlock()
		nc.Close()
		return ErrConnClosed
	}
	c.nc = nc
	c.mu.Unlock()
	l.stats.opened.Add(1)
	return nil
}

func (c *conn) writeLoop() {
	l := c.layer
	defer l.wg.Done()
	if !c.inbound {
		if err := c.dial(); err != nil {
			c.close(err)
			c.failQueued(err)
			return
		}
		l.wg.Add(1)
		go c.readLoop() // owner: Layer; exit: read error or close.
	}
	for {
		select {
		case <-c.done:
			c.mu.Lock()
			err := c.closeErr
			c.mu.Unlock()
			if err == nil {
				err = ErrConnClosed
			}
			c.failQueued(err)
			return
		case m := <-c.out:
			c.nc.SetWriteDeadline(time.Now().Add(l.lim.WriteTimeout))
			if _, err := c.nc.Write(m.b); err != nil {
				l.stats.writeErrors.Add(1)
				if m.sink != nil {
					m.sink.TransportError(m.f, err)
				}
				c.close(err)
				continue
			}
			l.stats.sent.Add(1)
		}
	}
}

func (c *conn) failQueued(err error) {
	for {
		select {
		case m := <-c.out:
			if m.sink != nil {
				m.sink.TransportError(m.f, err)
			}
		default:
			return
		}
	}
}

var crlf = []byte("\r\n")

// readLoop frames messages by Content-Length (RFC 3261 §18.3) and answers
// RFC 5626 §4.4.1 keepalive pings. Deadlines: IdleTimeout between messages,
// PartialTimeout from the first octet of a message until it is complete.
func (c *conn) readLoop() {
	l := c.layer
	defer l.wg.Done()
	defer c.close(nil)
	max := l.lim.MaxMessageSize
	store := make([]byte, 0, 4096)
	buf := store
	var partialSince time.Time
	fresh := c.inbound
	if fresh {
		// A new connection must bring a first message (and finish any TLS
		// handshake) within PartialTimeout.
		partialSince = time.Now()
	}
	f := Flow{lis: c.lis, c: c, remote: c.remote}
	for {
		// Deliver every complete message in buf.
		for len(buf) > 0 {
			// RFC 5626 §4.4.1: a double CRLF is a ping, answered by one
			// CRLF; a lone CRLF (a pong, or stray CRLF before a start line,
			// RFC 3261 §7.5) is skipped.
			if len(buf) >= 4 && string(buf[:4]) == "\r\n\r\n" {
				c.send(crlf, f, nil)
				l.stats.keepalives.Add(1)
				buf = buf[4:]
				fresh = false
				continue
			}
			if len(buf) >= 2 && buf[0] == '\r' && buf[1] == '\n' {
				if len(buf) < 4 && onlyCRLF(buf) {
					break // may be the start of a ping: wait for more
				}
				buf = buf[2:]
				continue
			}
			n, err := sip.FrameLen(buf)
			if err != nil || n > max {
				if err == nil {
					err = ErrTooLarge
				}
				l.reject(Reject{Reason: RejectUnframeable, Source: c.remote, Interface: c.lis.cfg.Interface, Transport: c.lis.cfg.Transport, Err: err})
				c.close(err)
				return
			}
			if n == 0 {
				if len(buf) > max {
					l.reject(Reject{Reason: RejectTooLarge, Source: c.remote, Interface: c.lis.cfg.Interface, Transport: c.lis.cfg.Transport, Err: ErrTooLarge})
					c.close(ErrTooLarge)
					return
				}
				break
			}
			l.deliver(buf[:n], f, time.Now())
			buf = buf[n:]
			partialSince = time.Time{}
			fresh = false
		}
		// Move what is pending to the front of the backing array, growing it
		// (within the size limit) when full, shrinking it when idle.
		if len(buf) == 0 {
			if cap(store) > 4096 {
				store = make([]byte, 0, 4096) // release a large buffer between messages
			}
			buf = store[:0]
		} else {
			buf = append(store[:0], buf...)
			if len(buf) == cap(store) {
				store = make([]byte, 0, min(max+4, 2*cap(store)))
				buf = append(store, buf...)
			}
		}
		now := time.Now()
		if (len(buf) == 0 || onlyCRLF(buf)) && !fresh {
			partialSince = time.Time{}
			c.nc.SetReadDeadline(now.Add(l.lim.IdleTimeout))
		} else {
			if partialSince.IsZero() {
				partialSince = now
			}
			c.nc.SetReadDeadline(partialSince.Add(l.lim.PartialTimeout))
		}
		n, err := c.nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			c.close(err)
			return
		}
	}
}
