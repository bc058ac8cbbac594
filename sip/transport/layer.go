package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbc-project/sbc/sip"
)

// Layer owns the listeners and connections of one SBC process.
type Layer struct {
	cfg     Config
	lim     Limits
	log     *slog.Logger
	res     Resolver
	dns     *dnsCache // nil: no cache (Config.DNSCacheTTL < 0)
	lis     []*listener
	closed  atomic.Bool
	started atomic.Bool
	wg      sync.WaitGroup // every goroutine the layer starts

	mu        sync.Mutex
	conns     map[connKey]*conn
	perSource map[netip.Addr]int
	nconns    int

	stats counters
}

const udpSocketBuffer = 4 << 20

// listener is one configured socket with its resolved local address.
type listener struct {
	layer *Layer
	cfg   ListenerConfig
	addr  netip.AddrPort // bound address (port resolved when 0 was asked)
	pc    PacketConn     // UDP
	// rxStamps: the UDP socket has SO_TIMESTAMPNS on (PacketConn path).
	rxStamps bool
	raw      rawSocket    // raw datagram I/O (udp_linux.go); nil: use pc
	ln       net.Listener // TCP, TLS
	tls      *tls.Config  // TLS server configuration
}

type connKey struct {
	lis    *listener
	remote netip.AddrPort
}

// Stats are cumulative counters of a Layer.
type Stats struct {
	Received, Sent                 uint64
	Unparseable, Invalid, TooLarge uint64
	Unframeable, ConnsRefused      uint64
	StatelessAnswers               uint64
	ConnsOpened, ConnsClosed       uint64
	WriteErrors                    uint64
	KeepalivesAnswered             uint64
}

type counters struct {
	received, sent, unparseable, invalid, tooLarge, unframeable atomic.Uint64
	connsRefused, stateless, opened, closed, writeErrors        atomic.Uint64
	keepalives                                                  atomic.Uint64
}

// New validates cfg and binds every listener; Start begins reading. On
// error, sockets already bound are closed.
func New(cfg Config) (*Layer, error) {
	if cfg.Handler == nil {
		return nil, fmt.Errorf("%w: no handler", ErrConfig)
	}
	if len(cfg.Listeners) == 0 {
		return nil, fmt.Errorf("%w: no listeners", ErrConfig)
	}
	l := &Layer{
		cfg:       cfg,
		lim:       cfg.Limits.withDefaults(),
		log:       cfg.Logger,
		res:       cfg.Resolver,
		conns:     map[connKey]*conn{},
		perSource: map[netip.Addr]int{},
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("component", "sip/transport")
	if l.res == nil {
		l.res = net.DefaultResolver
	}
	switch ttl := cfg.DNSCacheTTL; {
	case ttl == 0:
		l.dns = newDNSCache(defaultDNSCacheTTL, l.resolve)
	case ttl > 0:
		l.dns = newDNSCache(ttl, l.resolve)
	}
	for _, lc := range cfg.Listeners {
		li, err := l.bind(lc)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.lis = append(l.lis, li)
	}
	return l, nil
}

// Start begins reading on every listener. New binds without reading so
// the handler can be wired to the layer first.
func (l *Layer) Start() {
	if l.started.Swap(true) {
		return
	}
	for _, li := range l.lis {
		li.start()
	}
}

func (l *Layer) bind(lc ListenerConfig) (*listener, error) {
	li := &listener{layer: l, cfg: lc}
	if !lc.Addr.IsValid() {
		return nil, fmt.Errorf("%w: listener %q: invalid address", ErrConfig, lc.Interface)
	}
	switch lc.Transport {
	case UDP:
		uc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(lc.Addr))
		if err != nil {
			return nil, fmt.Errorf("transport: listen udp %s: %w", lc.Addr, err)
		}
		// Large socket buffers absorb bursts while readers are busy (the
		// kernel caps them at net.core.rmem_max / wmem_max).
		uc.SetReadBuffer(udpSocketBuffer)
		uc.SetWriteBuffer(udpSocketBuffer)
		if l.cfg.WrapUDP == nil {
			li.raw = newRawUDP(uc)
		}
		if li.raw == nil {
			li.rxStamps = enableRxTimestamps(uc)
		}
		li.addr = uc.LocalAddr().(*net.UDPAddr).AddrPort()
		li.pc = uc
		if l.cfg.WrapUDP != nil {
			li.pc = l.cfg.WrapUDP(lc.Interface, uc)
		}
	case TCP, TLS:
		if lc.Transport == TLS {
			tc := lc.TLSConfig
			if tc == nil {
				if lc.CertFile == "" || lc.KeyFile == "" {
					return nil, fmt.Errorf("%w: TLS listener %s without certificate", ErrConfig, lc.Addr)
				}
				cert, err := tls.LoadX509KeyPair(lc.CertFile, lc.KeyFile)
				if err != nil {
					return nil, fmt.Errorf("transport: TLS listener %s: %w", lc.Addr, err)
				}
				tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			}
			li.tls = tc
		}
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(lc.Addr))
		if err != nil {
			return nil, fmt.Errorf("transport: listen tcp %s: %w", lc.Addr, err)
		}
		li.addr = ln.Addr().(*net.TCPAddr).AddrPort()
		li.ln = ln
	default:
		return nil, fmt.Errorf("%w: listener %s: unknown transport", ErrConfig, lc.Addr)
	}
	li.addr = netip.AddrPortFrom(li.addr.Addr().Unmap(), li.addr.Port())
	return li, nil
}

func (li *listener) start() {
	switch li.cfg.Transport {
	case UDP:
		n := li.cfg.UDPReaders
		if n <= 0 {
			n = 2
		}
		for range n {
			li.layer.wg.Add(1)
			go li.readUDP() // owner: Layer; exit: Close closes the socket.
		}
	default:
		li.layer.wg.Add(1)
		go li.accept() // owner: Layer; exit: Close closes the listener.
	}
}

func (li *listener) close() {
	if li.raw != nil {
		li.raw.close()
	}
	if li.pc != nil {
		li.pc.Close()
	}
	if li.ln != nil {
		li.ln.Close()
	}
}

// ListenerInfo describes a bound listener.
type ListenerInfo struct {
	Interface string
	Transport Transport
	Addr      netip.AddrPort
}

// Listeners returns the bound listeners in configuration order, with the
// ports the system chose for port 0.
func (l *Layer) Listeners() []ListenerInfo {
	out := make([]ListenerInfo, len(l.lis))
	for i, li := range l.lis {
		out[i] = ListenerInfo{Interface: li.cfg.Interface, Transport: li.cfg.Transport, Addr: li.addr}
	}
	return out
}

// Stats returns a snapshot of the layer's counters.
func (l *Layer) Stats() Stats {
	c := &l.stats
	return Stats{
		Received: c.received.Load(), Sent: c.sent.Load(),
		Unparseable: c.unparseable.Load(), Invalid: c.invalid.Load(), TooLarge: c.tooLarge.Load(),
		Unframeable: c.unframeable.Load(), ConnsRefused: c.connsRefused.Load(),
		StatelessAnswers: c.stateless.Load(), ConnsOpened: c.opened.Load(), ConnsClosed: c.closed.Load(),
		WriteErrors: c.writeErrors.Load(), KeepalivesAnswered: c.keepalives.Load(),
	}
}

// Close closes the listeners first (no new data or connections), then every
// connection, then waits for all reading and writing goroutines to exit.
func (l *Layer) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	for _, li := range l.lis {
		li.close()
	}
	l.mu.Lock()
	cs := make([]*conn, 0, len(l.conns))
	for _, c := range l.conns {
		cs = append(cs, c)
	}
	l.mu.Unlock()
	for _, c := range cs {
		c.close(ErrClosed)
	}
	l.wg.Wait()
	return nil
}

// reject counts and reports undelivered inbound data.
func (l *Layer) reject(r Reject) {
	switch r.Reason {
	case RejectUnparseable:
		l.stats.unparseable.Add(1)
	case RejectInvalid:
		l.stats.invalid.Add(1)
	case RejectTooLarge:
		l.stats.tooLarge.Add(1)
	case RejectUnframeable:
		l.stats.unframeable.Add(1)
	case RejectConnLimit:
		l.stats.connsRefused.Add(1)
	}
	if l.cfg.OnReject != nil {
		l.cfg.OnReject(r)
	}
}

// deliver parses one datagram or framed stream message, stamps the top Via
// of requests, validates, and hands the message on. It reports whether the
// data was parseable.
func (l *Layer) deliver(b []byte, f Flow, recv time.Time) bool {
	tr := f.Transport()
	if l.cfg.Tap != nil {
		l.cfg.Tap(true, f, b)
	}
	msg, err := sip.Parse(b)
	if err != nil {
		// RFC 3261 §18.3: nothing to answer without a parse; drop.
		l.reject(Reject{Reason: RejectUnparseable, Source: f.remote, Interface: f.Interface(), Transport: tr, Err: err})
		return false
	}
	l.stats.received.Add(1)
	if msg.IsRequest() {
		stampVia(msg, f.remote) // RFC 3261 §18.2.1, RFC 3581 §4
	}
	if vd := sip.Validate(msg); !vd.OK() {
		r := Reject{Reason: RejectInvalid, Source: f.remote, Interface: f.Interface(), Transport: tr, Msg: msg}
		// RFC 3261 §8.2: a UAS answers a request it cannot process; a
		// response that fails validation is dropped (§18.1.2), and ACK is
		// never answered (§17.2.3).
		if vd.Action == sip.Respond && msg.IsRequest() && msg.Method != "ACK" {
			if resp := statelessResponse(msg, vd); resp != nil {
				if l.Respond(f, resp) == nil {
					r.Code = vd.Code
					l.stats.stateless.Add(1)
				}
			}
		}
		l.reject(r)
		return true
	}
	l.cfg.Handler.HandleMessage(Inbound{Msg: msg, Source: f.remote, Interface: f.Interface(), Transport: tr, Flow: f, Received: recv})
	return true
}

// Respond sends resp where RFC 3261 §18.2.2 and RFC 3581 §4 say for a
// request that arrived on in: see ResponseFlow.
func (l *Layer) Respond(in Flow, resp *sip.Message) error {
	f, err := l.ResponseFlow(in, resp)
	if err != nil {
		return err
	}
	return l.Write(f, resp.AppendTo(nil), nil)
}

// ResponseFlow chooses the flow a response to a request received on in
// travels (RFC 3261 §18.2.2, RFC 3581 §4):
//   - stream: the connection the request came on while it is open; else a
//     connection (reused or new) to the Via received address and the sent-by
//     port;
//   - UDP: the same socket, to the received address and rport when the
//     request carried rport, else to received (or sent-by) and the sent-by
//     port.
//
// maddr (multicast) is not supported: such responses go to received.
func (l *Layer) ResponseFlow(in Flow, resp *sip.Message) (Flow, error) {
	if l.closed.Load() {
		return Flow{}, ErrClosed
	}
	if in.lis == nil {
		return Flow{}, fmt.Errorf("%w: zero flow", ErrNoListener)
	}
	if in.c != nil && !in.c.isClosed() {
		return in, nil
	}
	stream := in.lis.cfg.Transport.Reliable()
	dst, ok := responseDest(resp, in.remote, stream, in.lis.cfg.Transport.DefaultPort())
	if !ok {
		return Flow{}, ErrNoVia
	}
	if !stream {
		return Flow{lis: in.lis, remote: dst}, nil
	}
	c, err := l.connFor(in.lis, Dest{Transport: in.lis.cfg.Transport, Addr: dst})
	if err != nil {
		return Flow{}, err
	}
	return Flow{lis: in.lis, c: c, remote: dst}, nil
}

// RequestFlow returns the flow for a request to d: for UDP the listener of
// d's interface and address family; for streams an open connection to
// d.Addr, or a new one that dials in the background (writes queue until it
// is up; a failed dial reports to the ErrorSink of each queued write).
func (l *Layer) RequestFlow(d Dest) (Flow, error) {
	if l.closed.Load() {
		return Flow{}, ErrClosed
	}
	li := l.pick(d)
	if li == nil {
		return Flow{}, fmt.Errorf("%w: %s %s (%q)", ErrNoListener, d.Transport, d.Addr, d.Interface)
	}
	if d.Transport == UDP {
		return Flow{lis: li, remote: d.Addr}, nil
	}
	c, err := l.connFor(li, d)
	if err != nil {
		return Flow{}, err
	}
	return Flow{lis: li, c: c, remote: d.Addr}, nil
}

// pick returns the first listener of d's transport, interface and address
// family.
func (l *Layer) pick(d Dest) *listener {
	v4 := d.Addr.Addr().Unmap().Is4()
	for _, li := range l.lis {
		if li.cfg.Transport != d.Transport || (d.Interface != "" && li.cfg.Interface != d.Interface) {
			continue
		}
		la := li.addr.Addr()
		if la.IsUnspecified() && la.Is6() && !la.Is4In6() {
			return li // [::] dual-stack socket serves both families
		}
		if la.Is4() == v4 {
			return li
		}
	}
	return nil
}

// Write sends b on f. UDP writes happen now; stream writes are queued on the
// connection (never blocking the caller) and failures after queueing reach
// sink, if not nil.
func (l *Layer) Write(f Flow, b []byte, sink ErrorSink) error {
	if f.lis == nil {
		return fmt.Errorf("%w: zero flow", ErrNoListener)
	}
	if len(b) > l.lim.MaxMessageSize {
		return ErrTooLarge
	}
	if l.cfg.Tap != nil && !isKeepalive(b) {
		l.cfg.Tap(false, f, b)
	}
	if f.c == nil {
		if f.lis.pc == nil {
			return fmt.Errorf("%w: flow has no socket", ErrNoListener)
		}
		if err := f.lis.writeUDP(b, f.remote); err != nil {
			l.stats.writeErrors.Add(1)
			return fmt.Errorf("transport: udp write to %s: %w", f.remote, err)
		}
		l.stats.sent.Add(1)
		return nil
	}
	return f.c.send(b, f, sink)
}

// Send resolves t, picks the first destination and writes req there,
// returning the flow used. Transactions use Resolve, RequestFlow and Write
// themselves to keep the flow for retransmissions.
func (l *Layer) Send(ctx context.Context, req *sip.Message, t Target) (Flow, error) {
	ds, err := l.Resolve(ctx, t)
	if err != nil {
		return Flow{}, err
	}
	var errs []error
	for _, d := range ds {
		f, err := l.RequestFlow(d)
		if err == nil {
			err = l.Write(f, req.AppendTo(nil), nil)
		}
		if err == nil {
			return f, nil
		}
		errs = append(errs, err)
	}
	return Flow{}, errors.Join(errs...)
}

// HasListener reports whether some listener could send to d (RFC 3263
// lets the client skip destinations it cannot reach).
func (l *Layer) HasListener(d Dest) bool { return l.pick(d) != nil }

// isKeepalive reports a bare CRLF keepalive (RFC 5626 §4.4.1), which is not
// a SIP message for the tap.
func isKeepalive(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
