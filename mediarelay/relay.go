package mediarelay

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Relay anchors media sessions on the configured interfaces. Create it with
// New, open sessions with NewSession, and Close it when done.
type Relay struct {
	cfg     Config
	log     *slog.Logger
	epoch   time.Time
	relatch int64

	ifaces []*iface
	byName map[string]*iface
	// socks is the socket table, one slot per port of every interface; the
	// epoll engine finds a ready socket through its slot number, so a stale
	// event for a closed socket finds nil (or its successor, which then has
	// nothing to read) and never a freed object.
	socks []atomic.Pointer[sock]
	eng   engine

	mu       sync.Mutex // guards sessions, nextID, closed and the port pools
	sessions map[uint64]*Session
	nextID   uint64
	closed   bool

	stop chan struct{}
	done chan struct{}
}

// engine is the I/O half of the relay: it owns the sockets' descriptors and
// the goroutines or threads that read them.
type engine interface {
	// open creates a socket bound to so.local, stores its handle in so.io
	// and starts receiving on it.
	open(so *sock) error
	// close stops receiving on so and closes its descriptor.
	close(so *sock)
	// shutdown stops every worker and waits for it to exit.
	shutdown()
	// cpu returns the on-CPU time of the engine's workers (0 if unknown).
	cpu() time.Duration
	// counters returns wakeups, read calls and datagrams read (0 if unknown).
	counters() (wakeups, calls, pkts uint64)
}

// New validates cfg and starts a relay: its I/O engine and its media
// timeout timer.
func New(cfg Config) (*Relay, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	r := &Relay{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "mediarelay"),
		epoch:    time.Now(),
		relatch:  int64(cfg.RelatchIdle),
		byName:   map[string]*iface{},
		sessions: map[uint64]*Session{},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	slots := 0
	for i, ic := range cfg.Interfaces {
		f := newIface(ic, i, slots)
		slots += 2 * f.pairs
		r.ifaces = append(r.ifaces, f)
		r.byName[ic.Name] = f
	}
	r.socks = make([]atomic.Pointer[sock], slots)
	eng, err := newEngine(r)
	if err != nil {
		return nil, err
	}
	r.eng = eng
	go r.timer()
	r.log.Info("media relay started", "engine", cfg.Engine.String(), "workers", cfg.Workers, "interfaces", len(cfg.Interfaces), "ports", slots)
	return r, nil
}

// now is the relay's monotonic clock in nanoseconds since New.
func (r *Relay) now() int64 { return int64(time.Since(r.epoch)) }

// NewSession allocates an RTP/RTCP port pair for each leg on its interface
// and opens the sockets. Neither leg forwards anything until SetRemote has
// been called for both.
func (r *Relay) NewSession(cfg SessionConfig) (*Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.nextID++
	s := &Session{r: r, id: r.nextID, onTO: cfg.OnTimeout, tag: cfg.Tag}
	s.worker = int(s.id % uint64(r.cfg.Workers))
	switch to := cfg.MediaTimeout; {
	case to > 0:
		s.timeout = int64(to)
	case to == 0:
		s.timeout = int64(r.cfg.MediaTimeout)
	}
	for i, lc := range []LegConfig{cfg.ALeg, cfg.BLeg} {
		f := r.byName[lc.Interface]
		if f == nil {
			s.closeLegsLocked(i)
			return nil, fmt.Errorf("%w: %q", ErrUnknownInterface, lc.Interface)
		}
		l := &s.legs[i]
		l.cfg = lc
		l.iface = f
		if err := r.allocLocked(s, Leg(i)); err != nil {
			s.closeLegsLocked(i)
			return nil, err
		}
	}
	r.sessions[s.id] = s
	return s, nil
}

// allocLocked takes the oldest free pair of the leg's interface whose
// ports can be bound, and opens the leg's sockets on it. A pair whose port
// another process holds goes back to the end of the queue.
func (r *Relay) allocLocked(s *Session, leg Leg) error {
	l := &s.legs[leg]
	f := l.iface
	var lastErr error
	for tries := f.count; tries > 0; tries-- {
		p, ok := f.take()
		if !ok {
			break
		}
		rtpS, err := r.openSock(s, leg, f, p, false)
		if err != nil {
			f.put(p)
			lastErr = err
			continue
		}
		var rtcpS *sock
		if !l.cfg.RTCPMux {
			if rtcpS, err = r.openSock(s, leg, f, p, true); err != nil {
				r.closeSock(rtpS)
				f.put(p)
				lastErr = err
				continue
			}
		}
		l.pair, l.rtpSock, l.rtcpSock = p, rtpS, rtcpS
		return nil
	}
	if lastErr != nil && !errors.Is(lastErr, syscall.EADDRINUSE) {
		return fmt.Errorf("mediarelay: interface %s: %w", f.cfg.Name, lastErr)
	}
	return fmt.Errorf("%w on interface %s", ErrNoPorts, f.cfg.Name)
}

func (r *Relay) openSock(s *Session, leg Leg, f *iface, pair int, rtcp bool) (*sock, error) {
	port := f.rtpPort(pair)
	if rtcp {
		port++
	}
	so := &sock{sess: s, leg: leg, rtcp: rtcp, slot: f.slot(pair, rtcp), local: f.addrPort(port)}
	r.socks[so.slot].Store(so)
	if err := r.eng.open(so); err != nil {
		r.socks[so.slot].Store(nil)
		return nil, err
	}
	return so, nil
}

func (r *Relay) closeSock(so *sock) {
	r.eng.close(so)
	r.socks[so.slot].Store(nil)
}

// closeLegsLocked undoes the allocation of legs [0, n) of a session being
// created.
func (s *Session) closeLegsLocked(n int) {
	s.mu.Lock() // sockets of leg A may already be in a worker's epoll set
	s.closed = true
	s.mu.Unlock()
	for i := 0; i < n; i++ {
		l := &s.legs[i]
		for _, so := range []*sock{l.rtpSock, l.rtcpSock} {
			if so != nil {
				s.r.closeSock(so)
			}
		}
		l.iface.put(l.pair)
	}
}

// InterfaceStats counts one interface's ports.
type InterfaceStats struct {
	Name       string
	PortsTotal int // ports in the range that pairs are made of
	PortsInUse int // ports of allocated pairs (2 per leg)
}

// RelayStats is a snapshot of the relay for metrics.
type RelayStats struct {
	Sessions   int
	Interfaces []InterfaceStats
	// WorkerCPU is the on-CPU time of the I/O workers since New (epoll
	// engine on Linux; 0 where unknown).
	WorkerCPU time.Duration
	// Wakeups, ReadCalls and Datagrams count the epoll workers' epoll_wait
	// returns, recvmmsg calls and datagrams read (Datagrams/Wakeups is the
	// batching achieved); 0 for the goroutine engine.
	Wakeups, ReadCalls, Datagrams uint64
}

// Stats returns the number of sessions and ports in use per interface.
func (r *Relay) Stats() RelayStats {
	r.mu.Lock()
	st := RelayStats{Sessions: len(r.sessions)}
	for _, f := range r.ifaces {
		st.Interfaces = append(st.Interfaces, InterfaceStats{Name: f.cfg.Name, PortsTotal: 2 * f.pairs, PortsInUse: 2 * (f.pairs - f.count)})
	}
	r.mu.Unlock()
	st.WorkerCPU = r.eng.cpu()
	st.Wakeups, st.ReadCalls, st.Datagrams = r.eng.counters()
	return st
}

// Close closes every session, stops the I/O engine and the timer, in that
// order (sessions first so that no worker is inside a session when the
// engine stops). It is idempotent.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for _, s := range r.sessions {
		_ = s.closeLocked()
	}
	r.mu.Unlock()
	st := r.Stats()
	r.eng.shutdown()
	close(r.stop)
	<-r.done
	r.log.Info("media relay stopped", "wakeups", st.Wakeups, "read_calls", st.ReadCalls, "datagrams", st.Datagrams, "worker_cpu", st.WorkerCPU)
	return nil
}

// timer is the relay's one timer goroutine (owner: the Relay; exit: Close).
// It scans the sessions for media timeouts at a fraction of the shortest
// configured timeout.
func (r *Relay) timer() {
	defer close(r.done)
	tick := time.Second
	if to := r.cfg.MediaTimeout; to > 0 {
		tick = min(max(to/5, 20*time.Millisecond), time.Second)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var list []*Session
	var fire []Timeout
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		list = list[:0]
		r.mu.Lock()
		for _, s := range r.sessions {
			if s.timeout > 0 && s.onTO != nil {
				list = append(list, s)
			}
		}
		r.mu.Unlock()
		now := r.now()
		for _, s := range list {
			fire = s.checkTimeout(now, fire[:0])
			for _, to := range fire {
				s.onTO(to)
			}
		}
	}
}

// checkTimeout appends a Timeout for each leg that has been silent for the
// session's media timeout since its last packet or the last signalling
// change, once per silence. A leg's clock runs only once both legs have a
// remote, as media is expected only from then on.
func (s *Session) checkTimeout(now int64, out []Timeout) []Timeout {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.legs[0].signalled || !s.legs[1].signalled {
		return out
	}
	for i := range s.legs {
		l := &s.legs[i]
		ref := max(l.armed, l.stats.lastNano)
		if l.timedOutAt > ref {
			continue // reported; waits for a packet or a signalling change
		}
		if silence := now - ref; silence >= s.timeout {
			l.timedOutAt = now
			out = append(out, Timeout{Session: s, Leg: Leg(i), Silence: time.Duration(silence)})
		}
	}
	return out
}
