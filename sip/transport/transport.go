package transport

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/sbc-project/sbc/sip"
)

// Transport is a SIP transport protocol (RFC 3261 §18).
type Transport uint8

// The transports this package carries.
const (
	UDP Transport = iota + 1
	TCP
	TLS
)

// String returns the Via spelling: "UDP", "TCP" or "TLS".
func (t Transport) String() string {
	switch t {
	case UDP:
		return "UDP"
	case TCP:
		return "TCP"
	case TLS:
		return "TLS"
	}
	return "?"
}

// Reliable reports whether t is a stream transport, on which RFC 3261 §17
// does not retransmit.
func (t Transport) Reliable() bool { return t == TCP || t == TLS }

// DefaultPort is 5061 for TLS and 5060 otherwise (RFC 3261 §19.1.2).
func (t Transport) DefaultPort() uint16 {
	if t == TLS {
		return 5061
	}
	return 5060
}

// ParseTransport reads a Via transport or a transport= URI parameter, case
// insensitively.
func ParseTransport(s string) (Transport, bool) {
	switch {
	case strings.EqualFold(s, "udp"):
		return UDP, true
	case strings.EqualFold(s, "tcp"):
		return TCP, true
	case strings.EqualFold(s, "tls"):
		return TLS, true
	}
	return 0, false
}

// ListenerConfig declares one listening socket.
type ListenerConfig struct {
	// Interface names the side of the SBC this listener belongs to, for
	// example "inside" or "outside". Several listeners may share a name.
	Interface string
	// Transport is UDP, TCP or TLS.
	Transport Transport
	// Addr is the local address; port 0 picks a free port (see Layer.Addrs).
	Addr netip.AddrPort
	// CertFile and KeyFile are PEM files for a TLS listener.
	CertFile, KeyFile string
	// TLSConfig, when set, is used instead of CertFile and KeyFile.
	TLSConfig *tls.Config
	// UDPReaders is the number of goroutines reading a UDP socket
	// (default 2).
	UDPReaders int
	// Advertise is the host[:port] put in Via sent-by (and available to
	// Contact) for this listener, when it differs from Addr: a public
	// address in front of a static NAT, or a host name. Empty uses Addr.
	Advertise string
}

// Limits bound what any one peer may cost. Zero fields take the defaults.
type Limits struct {
	// MaxMessageSize is the largest message accepted or sent, in bytes
	// (default 65535).
	MaxMessageSize int
	// MaxConns is the total number of stream connections (default 16384).
	MaxConns int
	// MaxConnsPerSource is the number of accepted stream connections from
	// one source IP address (default 32).
	MaxConnsPerSource int
	// IdleTimeout closes a stream connection that carried nothing, not even
	// a CRLF keepalive, for this long (default 5 minutes).
	IdleTimeout time.Duration
	// PartialTimeout closes a stream connection on which a started message
	// is not complete after this long: slow-loris defence (default 10 s).
	PartialTimeout time.Duration
	// WriteTimeout is the deadline of one write on a stream (default 10 s);
	// a connection that misses it is closed.
	WriteTimeout time.Duration
	// WriteQueue is the number of messages queued per stream connection
	// (default 128); a full queue fails the send with ErrQueueFull.
	WriteQueue int
	// DialTimeout bounds a new outgoing connection including the TLS
	// handshake (default 5 s).
	DialTimeout time.Duration
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageSize:    65535,
		MaxConns:          16384,
		MaxConnsPerSource: 32,
		IdleTimeout:       5 * time.Minute,
		PartialTimeout:    10 * time.Second,
		WriteTimeout:      10 * time.Second,
		WriteQueue:        128,
		DialTimeout:       5 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = d.MaxMessageSize
	}
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.MaxConnsPerSource <= 0 {
		l.MaxConnsPerSource = d.MaxConnsPerSource
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.PartialTimeout <= 0 {
		l.PartialTimeout = d.PartialTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.WriteQueue <= 0 {
		l.WriteQueue = d.WriteQueue
	}
	if l.DialTimeout <= 0 {
		l.DialTimeout = d.DialTimeout
	}
	return l
}

// PacketConn is the part of *net.UDPConn the layer uses; Config.WrapUDP may
// interpose on it (tests inject loss this way).
type PacketConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	LocalAddr() net.Addr
	Close() error
}

// Handler receives every inbound message that parsed and validated. It runs
// on the reading goroutine of the socket or connection, so it must not
// block; one slow handler call delays that socket only.
type Handler interface {
	HandleMessage(in Inbound)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(in Inbound)

// HandleMessage calls f(in).
func (f HandlerFunc) HandleMessage(in Inbound) { f(in) }

// Inbound is one received message with where it came from.
type Inbound struct {
	// Msg is the parsed message; for requests the top Via already carries
	// received and rport (RFC 3261 §18.2.1, RFC 3581 §4).
	Msg *sip.Message
	// Source is the packet's or connection's remote address.
	Source netip.AddrPort
	// Interface is the name of the listener's interface.
	Interface string
	// Transport is the transport the message arrived on.
	Transport Transport
	// Flow answers on the same socket or connection (see Layer.Respond).
	Flow Flow
	// Received is when the message arrived: for UDP on Linux the kernel's
	// receive timestamp (SO_TIMESTAMPNS), so time.Since(Received) includes
	// the time the datagram waited in the socket queue; for streams and
	// elsewhere the time the reader had the whole message. It is how far
	// behind the SBC is (overload control).
	Received time.Time
}

// RejectReason says why an inbound message was not delivered.
type RejectReason uint8

// Reasons for rejecting inbound data.
const (
	// RejectUnparseable: the datagram or framed message does not parse.
	RejectUnparseable RejectReason = iota + 1
	// RejectInvalid: the message parses but fails sip.Validate; requests
	// are answered statelessly with Reject.Code, responses dropped.
	RejectInvalid
	// RejectTooLarge: the datagram or message exceeds MaxMessageSize.
	RejectTooLarge
	// RejectUnframeable: a stream could not be framed and was closed.
	RejectUnframeable
	// RejectConnLimit: a connection was refused by a connection limit.
	RejectConnLimit
)

// String returns a short metric label for the reason.
func (r RejectReason) String() string {
	switch r {
	case RejectUnparseable:
		return "unparseable"
	case RejectInvalid:
		return "invalid"
	case RejectTooLarge:
		return "too-large"
	case RejectUnframeable:
		return "unframeable"
	case RejectConnLimit:
		return "conn-limit"
	}
	return "?"
}

// Reject describes inbound data that was not delivered, for metrics.
type Reject struct {
	Reason    RejectReason
	Source    netip.AddrPort
	Interface string
	Transport Transport
	// Msg is the parsed message for RejectInvalid, else nil.
	Msg *sip.Message
	// Code is the status of the stateless answer sent, 0 when none.
	Code int
	// Err is the parse or framing error, if any.
	Err error
}

// ErrorSink learns that a message queued for a stream could not be written
// (failed dial, write error or deadline). Transactions implement it to
// report transport errors (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1).
type ErrorSink interface {
	TransportError(f Flow, err error)
}

// Config configures a Layer.
type Config struct {
	Listeners []ListenerConfig
	Limits    Limits
	// Handler receives inbound messages; required.
	Handler Handler
	// OnReject, when set, observes every rejected inbound message (for
	// metrics). It runs on the reading goroutine and must be quick.
	OnReject func(Reject)
	// Resolver resolves trunk host names (default net.DefaultResolver).
	Resolver Resolver
	// DNSCacheTTL is how long a host name's resolution is used before it
	// is looked up again (then refreshed in the background while the old
	// answer serves, and kept up to 10 minutes if DNS fails); 0 means 30 s,
	// negative turns the cache off.
	DNSCacheTTL time.Duration
	// TLSClient is the base configuration of outgoing TLS connections; its
	// ServerName is set per destination.
	TLSClient *tls.Config
	// Tap, when set, sees every SIP message the layer receives (before
	// parsing) and sends, on every transport: SIP capture (pcap, HEP). It
	// runs on the reading or writing goroutine, must not block and must not
	// keep b. Keepalives (bare CRLF) are not passed to it.
	Tap func(in bool, f Flow, b []byte)
	// WrapUDP, when set, wraps every UDP socket (tests use it to drop
	// packets).
	WrapUDP func(iface string, pc PacketConn) PacketConn
	// Logger receives connection-level events; never per message.
	Logger *slog.Logger
}

// Target is where an outgoing request should go before resolution: a host
// name or IP literal, an optional port and transport, and the interface it
// must leave from.
type Target struct {
	Host      string
	Port      uint16 // 0: not given
	Transport Transport
	// Secure is set for a sips URI: only TLS is acceptable.
	Secure bool
	// Interface restricts the listeners the request may leave from; empty
	// allows any.
	Interface string
}

// ParseTarget reads "host[:port][;transport=udp|tcp|tls]" with IPv6 hosts in
// brackets.
func ParseTarget(s string) (Target, error) {
	var t Target
	hostport, params, _ := strings.Cut(s, ";")
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "transport") {
			tr, ok := ParseTransport(strings.TrimSpace(val))
			if !ok {
				return t, fmt.Errorf("%w: transport %q", ErrBadTarget, val)
			}
			t.Transport = tr
		}
	}
	host, port, err := splitHostPort(hostport)
	if err != nil {
		return t, err
	}
	t.Host, t.Port = host, port
	return t, nil
}

func splitHostPort(s string) (string, uint16, error) {
	if s == "" {
		return "", 0, fmt.Errorf("%w: empty host", ErrBadTarget)
	}
	host, portStr := s, ""
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("%w: %q", ErrBadTarget, s)
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", 0, fmt.Errorf("%w: %q", ErrBadTarget, s)
			}
			portStr = rest[1:]
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if strings.IndexByte(s[:i], ':') >= 0 { // bare IPv6 without port
			host = s
		} else {
			host, portStr = s[:i], s[i+1:]
		}
	}
	var port uint16
	if portStr != "" {
		var p int
		for _, c := range portStr {
			if c < '0' || c > '9' {
				return "", 0, fmt.Errorf("%w: port %q", ErrBadTarget, portStr)
			}
			p = p*10 + int(c-'0')
			if p > 65535 {
				return "", 0, fmt.Errorf("%w: port %q", ErrBadTarget, portStr)
			}
		}
		if p == 0 {
			return "", 0, fmt.Errorf("%w: port 0", ErrBadTarget)
		}
		port = uint16(p)
	}
	if host == "" {
		return "", 0, fmt.Errorf("%w: empty host", ErrBadTarget)
	}
	return host, port, nil
}

// Dest is one resolved destination: transport, address and the interface
// to leave from. ServerName is the host name a TLS certificate must match.
type Dest struct {
	Transport  Transport
	Addr       netip.AddrPort
	Interface  string
	ServerName string
}

// Flow identifies where a message travels: a listener (interface, transport,
// local address) and either a stream connection or a UDP remote address. It
// is a small value: transactions keep it to retransmit and to answer.
type Flow struct {
	lis    *listener
	c      *conn
	remote netip.AddrPort
}

// IsZero reports whether f names nothing.
func (f Flow) IsZero() bool { return f.lis == nil }

// Transport returns the flow's transport.
func (f Flow) Transport() Transport {
	if f.lis == nil {
		return 0
	}
	return f.lis.cfg.Transport
}

// Reliable reports whether the flow is a stream.
func (f Flow) Reliable() bool { return f.Transport().Reliable() }

// Interface returns the name of the flow's interface.
func (f Flow) Interface() string {
	if f.lis == nil {
		return ""
	}
	return f.lis.cfg.Interface
}

// Local returns the listener's address (the address to put in Via
// sent-by, RFC 3261 §18.1.1).
func (f Flow) Local() netip.AddrPort {
	if f.lis == nil {
		return netip.AddrPort{}
	}
	return f.lis.addr
}

// SentBy returns the host[:port] for Via sent-by and Contact of messages
// leaving on this flow (RFC 3261 §18.1.1): the listener's Advertise, else
// its address ("" when that is unspecified, 0.0.0.0 or [::]).
func (f Flow) SentBy() string {
	if f.lis == nil {
		return ""
	}
	if f.lis.cfg.Advertise != "" {
		return f.lis.cfg.Advertise
	}
	a := f.lis.addr
	if !a.IsValid() || a.Addr().IsUnspecified() {
		return ""
	}
	return a.String()
}

// AppendSentBy appends SentBy to b without allocating (a client
// transaction builds its Via in one buffer).
func (f Flow) AppendSentBy(b []byte) []byte {
	if f.lis == nil {
		return b
	}
	if f.lis.cfg.Advertise != "" {
		return append(b, f.lis.cfg.Advertise...)
	}
	a := f.lis.addr
	if !a.IsValid() || a.Addr().IsUnspecified() {
		return b
	}
	return a.AppendTo(b)
}

// Remote returns the peer's address.
func (f Flow) Remote() netip.AddrPort { return f.remote }

// String returns "TCP 192.0.2.1:5060->198.51.100.2:40000 (outside)".
func (f Flow) String() string {
	if f.lis == nil {
		return "<no flow>"
	}
	return f.Transport().String() + " " + f.Local().String() + "->" + f.remote.String() + " (" + f.Interface() + ")"
}

// PseudoFlow returns a flow bound to no socket, for tests and simulations of
// the layers above (a Wire double routes it); Layer.Write fails on it.
func PseudoFlow(tr Transport, iface string, local, remote netip.AddrPort) Flow {
	return Flow{lis: &listener{cfg: ListenerConfig{Interface: iface, Transport: tr, Addr: local}, addr: local}, remote: remote}
}

// TargetFromURI returns the target of a sip or sips URI (a Request-URI or
// the first Route) per RFC 3263 §4: maddr, when present, replaces the host;
// the transport parameter selects the transport; sips requires TLS.
func TargetFromURI(u sip.URI) (Target, error) {
	if !u.IsSIP() {
		return Target{}, fmt.Errorf("%w: scheme %q", ErrBadTarget, u.Scheme)
	}
	t := Target{Host: strings.Trim(u.Host, "[]"), Secure: strings.EqualFold(u.Scheme, "sips")}
	if m, ok := u.Params.Get("maddr"); ok && m != "" {
		t.Host = strings.Trim(m, "[]")
	}
	if u.Port < 0 || u.Port > 65535 {
		return Target{}, fmt.Errorf("%w: port %d", ErrBadTarget, u.Port)
	}
	t.Port = uint16(u.Port)
	if v, ok := u.Params.Get("transport"); ok {
		tr, ok := ParseTransport(v)
		if !ok {
			return Target{}, fmt.Errorf("%w: transport %q", ErrBadTarget, v)
		}
		t.Transport = tr
	}
	if t.Host == "" {
		return Target{}, fmt.Errorf("%w: no host", ErrBadTarget)
	}
	return t, nil
}
