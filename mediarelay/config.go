package mediarelay

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Engine selects how the relay reads and writes its sockets.
type Engine int

const (
	// EngineDefault is EngineEpoll on Linux and EngineGoroutine elsewhere.
	EngineDefault Engine = iota
	// EngineEpoll runs Config.Workers workers on locked OS threads; each owns an
	// epoll set over a shard of the sockets and drains ready sockets with
	// recvmmsg, forwarding with sendmmsg (Linux only).
	EngineEpoll
	// EngineGoroutine runs one goroutine per socket reading with
	// ReadFromUDPAddrPort (portable; kept on Linux as the measured alternative).
	EngineGoroutine
)

// String names the engine.
func (e Engine) String() string {
	switch e {
	case EngineEpoll:
		return "epoll"
	case EngineGoroutine:
		return "goroutine"
	default:
		return "default"
	}
}

// InterfaceConfig is one media interface: an address of the SBC and the UDP
// port range media sockets are allocated from on it.
type InterfaceConfig struct {
	Name    string     // "inside", "outside", ...; referenced by LegConfig.Interface
	Addr    netip.Addr // local address sockets bind to (and the address written into SDP)
	PortMin uint16     // first port of the range; rounded up to even
	PortMax uint16     // last port of the range (inclusive)
}

// Config configures a Relay.
type Config struct {
	Interfaces []InterfaceConfig
	// Workers is the number of epoll workers (EngineEpoll). Default 1.
	Workers int
	// Engine selects the I/O engine; see Engine.
	Engine Engine
	// MediaTimeout is the default silence after which a session's OnTimeout
	// is called; 0 disables timeouts unless a session sets its own.
	MediaTimeout time.Duration
	// RecvBuffer is SO_RCVBUF for every media socket in bytes. Default 1 MiB
	// (set with SO_RCVBUFFORCE when permitted, so rmem_max does not cap it).
	RecvBuffer int
	// BatchSize is the number of datagrams per recvmmsg/sendmmsg. Default 64.
	BatchSize int
	// DrainCap bounds the datagrams read from one socket per wakeup so that
	// one flooded port cannot starve the others. Default 4*BatchSize.
	DrainCap int
	// Coalesce is how long an epoll worker sleeps after a busy round (one
	// that found at least CoalesceEvents ready sockets or read at least
	// 4*CoalesceEvents datagrams) before it looks
	// again, so that under load each wakeup serves many sockets instead of
	// one (interrupt moderation, as NAPI does for NICs). It adds at most
	// this much latency and only under load. Default 500 µs; negative
	// disables.
	Coalesce time.Duration
	// CoalesceEvents is the number of ready sockets in one round that makes
	// it busy (as do 4*CoalesceEvents datagrams, the mark of one flooded
	// socket). Default 4.
	CoalesceEvents int
	// SocketSend disables raw batched sending: each forwarded datagram then
	// leaves by its own leg socket with sendmmsg (one call per socket and
	// batch). By default an epoll worker that may open a raw IPv4 socket
	// (CAP_NET_RAW) builds the IP/UDP headers itself and sends the IPv4
	// datagrams of a whole round, whatever their source port, with one
	// sendmmsg; see the package documentation.
	SocketSend bool
	// NoGSO disables UDP segmentation offload for runs of equal-sized
	// datagrams to one destination (used by default where the kernel has it).
	NoGSO bool
	// IdleSockets bounds the sockets kept open in the pool between sessions
	// (all interfaces together). When a session ends its sockets stay open
	// and bound, still read (and what they receive discarded), and the next
	// session on their ports reuses them instead of opening new ones; beyond
	// this bound the oldest idle ones are closed. 0 means the default: a
	// quarter of the soft RLIMIT_NOFILE at New (so that idle media sockets
	// never take more than a quarter of the process's descriptors), at most
	// the number of ports of all ranges (every port pooled). Negative
	// disables the pool: every socket is closed when its session ends.
	IdleSockets int
	// ReuseDelay is how long a pooled port pair rests after its session
	// ended before a new session reuses it while ports never used (or whose
	// sockets were closed) are free: stale media of the ended call, still
	// sent by its far end, should not reach the next call on the port.
	// When no such port is free, or the pool holds IdleSockets already (a
	// new socket would only make the oldest idle one close), the oldest
	// pooled pair is reused anyway. Default 2 s; negative: no rest (pooled
	// pairs always first).
	ReuseDelay time.Duration
	// RelatchIdle is how long a LatchLearn leg's latched source must be
	// silent before another source may take it over. Default 2 s.
	RelatchIdle time.Duration
	// Logger receives lifecycle events (never one per packet). Default: discard.
	Logger *slog.Logger
}

func (c *Config) normalize() error {
	if len(c.Interfaces) == 0 {
		return fmt.Errorf("%w: no interfaces", ErrBadConfig)
	}
	seen := map[string]bool{}
	for i := range c.Interfaces {
		ic := &c.Interfaces[i]
		if ic.Name == "" || seen[ic.Name] {
			return fmt.Errorf("%w: interface %d: empty or duplicate name %q", ErrBadConfig, i, ic.Name)
		}
		seen[ic.Name] = true
		if !ic.Addr.IsValid() {
			return fmt.Errorf("%w: interface %q: no address", ErrBadConfig, ic.Name)
		}
		if ic.PortMin%2 == 1 {
			ic.PortMin++
		}
		if ic.PortMin == 0 || ic.PortMax < ic.PortMin+1 {
			return fmt.Errorf("%w: interface %q: port range %d-%d holds no even/odd pair",
				ErrBadConfig, ic.Name, ic.PortMin, ic.PortMax)
		}
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.IdleSockets == 0 {
		ports := 0
		for _, ic := range c.Interfaces {
			ports += 2 * ((int(ic.PortMax) - int(ic.PortMin) + 1) / 2)
		}
		c.IdleSockets = ports
		if soft := softNOFILE(); soft > 0 && soft/4 < ports {
			c.IdleSockets = max(soft/4, 1)
		}
	}
	if c.RecvBuffer <= 0 {
		c.RecvBuffer = 1 << 20
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 64
	}
	if c.DrainCap <= 0 {
		c.DrainCap = 4 * c.BatchSize
	}
	if c.Coalesce == 0 {
		c.Coalesce = 500 * time.Microsecond
	}
	if c.CoalesceEvents <= 0 {
		c.CoalesceEvents = 4
	}
	if c.ReuseDelay == 0 {
		c.ReuseDelay = 2 * time.Second
	}
	if c.RelatchIdle <= 0 {
		c.RelatchIdle = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// LatchMode says which sources a leg accepts media from and where the relay
// sends that leg's media.
type LatchMode int

const (
	// LatchLearn (symmetric RTP for NATed endpoints) accepts the first source
	// that sends to the leg's socket, sends the leg's media back to it, and
	// lets another source take over only after the latched one has been
	// silent for Config.RelatchIdle (NAT rebinding) or signalling changes the
	// remote.
	LatchLearn LatchMode = iota
	// LatchStrict accepts media only from the address signalled in SDP and
	// always sends to it.
	LatchStrict
	// LatchOnce latches to the first source and drops every other source
	// until signalling changes the remote (RTP-bleed and injection
	// protection).
	LatchOnce
)

// String names the mode.
func (m LatchMode) String() string {
	switch m {
	case LatchLearn:
		return "learn"
	case LatchStrict:
		return "strict"
	case LatchOnce:
		return "once"
	}
	return fmt.Sprintf("LatchMode(%d)", int(m))
}

// Leg names one side of a session.
type Leg int

const (
	// LegA is the side of the session's first (offering) party.
	LegA Leg = 0
	// LegB is the other side.
	LegB Leg = 1
)

// String returns "A" or "B".
func (l Leg) String() string {
	if l == LegA {
		return "A"
	}
	return "B"
}

// Other returns the opposite leg.
func (l Leg) Other() Leg { return 1 - l }

// LegConfig configures one leg of a session.
type LegConfig struct {
	// Interface names the InterfaceConfig this leg's sockets live on.
	Interface string
	// RTCPMux: RTCP shares the RTP port (RFC 5761, a=rtcp-mux). The odd port
	// is still reserved so that a re-INVITE may turn multiplexing off
	// without the ports changing.
	RTCPMux bool
	// Latch selects the latching mode.
	Latch LatchMode
	// ClockRates maps dynamic RTP payload types to their clock rate for the
	// jitter estimate; static types of RFC 3551 are known.
	ClockRates map[uint8]uint32
}

// Timeout describes a media timeout reported to a session's owner.
type Timeout struct {
	Session *Session
	Leg     Leg           // the leg that stopped receiving
	Silence time.Duration // how long nothing arrived on it
}

// SessionConfig configures a Session.
type SessionConfig struct {
	ALeg, BLeg LegConfig
	// MediaTimeout overrides Config.MediaTimeout for this session (0 keeps it,
	// negative disables).
	MediaTimeout time.Duration
	// OnTimeout is called from the relay's timer goroutine when a leg that
	// has a signalled remote has received nothing for the media timeout; it
	// is called once per silence and must not block (hand off to a channel or
	// goroutine). It may call Session.Close.
	OnTimeout func(Timeout)
	// Tag is an opaque owner value (a call ID) carried in the Session.
	Tag any
}
