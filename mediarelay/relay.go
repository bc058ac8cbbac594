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
	// nothing to read) and never a freed object. A slot is non-nil exactly
	// while a socket is open on its port, in a session or in the pool.
	socks []atomic.Pointer[sock]
	eng   engine

	// pools are the owners of idle pooled sockets, one per epoll worker
	// (so workers do not share a mutex for them); their handle discards
	// everything. dead owns sockets being closed (closed is true, so no
	// reader touches them).
	pools []*Session
	dead  *Session

	mu       sync.Mutex // guards sessions, nextID, closed, the port pools and the idle counts
	sessions map[uint64]*Session
	nextID   uint64
	closed   bool
	idleMax  int   // bound on idle pooled sockets (0: no pool)
	evicted  int64 // relay clock of the last eviction beyond idleMax (0: none)
	fdBudget int   // descriptors the relay may hold (0: no known limit)
	rest     int64 // Config.ReuseDelay in ns
	idleN    int   // idle pooled sockets over all interfaces

	// ops counts work that NewSession and Session.Close do outside mu
	// (opening and closing sockets); Close waits for it before it closes
	// the remaining sockets and stops the engine. Added to only with mu
	// held and closed false.
	ops sync.WaitGroup

	nOpened, nReused, nClosed atomic.Uint64

	stop chan struct{}
	done chan struct{}
}

// engine is the I/O half of the relay: it owns the sockets' descriptors and
// the goroutines or threads that read them.
type engine interface {
	// open creates a socket bound to so.local, stores its handle in so.io
	// and starts receiving on it (the epoll engine in worker so.w's set).
	open(so *sock) error
	// close stops receiving on so and closes its descriptor; so's owner is
	// closed, so no reader is inside it.
	close(so *sock)
	// move makes worker w receive on so from now on (no-op but for the
	// record in so.w where there are no workers).
	move(so *sock, w int) error
	// discard reads and drops, without blocking, the datagrams queued on
	// so; it returns how many and their bytes. The caller holds so's
	// owner.
	discard(so *sock) (n, bytes uint64)
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
	r.idleMax = max(cfg.IdleSockets, 0)
	r.rest = int64(max(cfg.ReuseDelay, 0))
	if soft := softNOFILE(); soft > 0 {
		// Leave an eighth of the limit (at least 256) to SIP connections,
		// files and the runtime.
		r.fdBudget = soft - max(soft/8, 256)
	}
	r.dead = &Session{r: r, closed: true}
	for range cfg.Workers {
		r.pools = append(r.pools, &Session{r: r, pool: true})
	}
	eng, err := newEngine(r)
	if err != nil {
		return nil, err
	}
	r.eng = eng
	go r.timer()
	r.log.Info("media relay started", "engine", cfg.Engine.String(), "workers", cfg.Workers, "interfaces", len(cfg.Interfaces), "ports", slots, "idle_sockets", r.idleMax)
	return r, nil
}

// now is the relay's monotonic clock in nanoseconds since New.
func (r *Relay) now() int64 { return int64(time.Since(r.epoch)) }

// NewSession allocates an RTP/RTCP port pair for each leg on its interface
// and gives it the pair's sockets: pooled ones when the pair is warm,
// freshly opened ones otherwise. Neither leg forwards anything until
// SetRemote has been called for both.
//
// The pairs are taken under the relay's lock; sockets are opened, adopted
// and moved outside it. A port that another process holds (EADDRINUSE)
// sends the leg to the next free pair; any other failure (EMFILE, ENFILE,
// ENOMEM, ENOBUFS, EACCES, ...) ends the allocation at once with the error
// wrapped, after one retry for EMFILE/ENFILE when idle pooled sockets could
// be closed to make room.
func (r *Relay) NewSession(cfg SessionConfig) (*Session, error) {
	legs := [2]LegConfig{cfg.ALeg, cfg.BLeg}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	var fs [2]*iface
	for i, lc := range legs {
		if fs[i] = r.byName[lc.Interface]; fs[i] == nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("%w: %q", ErrUnknownInterface, lc.Interface)
		}
	}
	r.nextID++
	s := &Session{r: r, id: r.nextID, onTO: cfg.OnTimeout, tag: cfg.Tag}
	switch to := cfg.MediaTimeout; {
	case to > 0:
		s.timeout = int64(to)
	case to == 0:
		s.timeout = int64(r.cfg.MediaTimeout)
	}
	now, rest := r.now(), r.restLocked()
	for i := range s.legs {
		l := &s.legs[i]
		l.cfg, l.iface = legs[i], fs[i]
		p, ok := l.iface.take(now, rest)
		if !ok {
			if i == 1 {
				r.untakeLocked(&s.legs[0])
			}
			r.mu.Unlock()
			return nil, fmt.Errorf("%w on interface %s", ErrNoPorts, l.iface.cfg.Name)
		}
		l.pair = p
	}
	// All sockets of a session in one epoll worker: the one that already
	// reads a pooled socket of it, if any (fewer moves).
	s.worker = int(s.id % uint64(r.cfg.Workers))
	for i := len(s.legs) - 1; i >= 0; i-- {
		l := &s.legs[i]
		if so := r.socks[l.iface.slot(l.pair, false)].Load(); so != nil {
			s.worker = so.w
		}
		r.claimLocked(l)
	}
	r.ops.Add(1)
	r.mu.Unlock()
	defer r.ops.Done()

	for i := range s.legs {
		if err := r.attach(s, Leg(i)); err != nil {
			r.mu.Lock()
			if i == 0 {
				r.unclaimLocked(&s.legs[1])
				r.untakeLocked(&s.legs[1])
			}
			prs := s.detachLocked(i, !r.closed)
			r.mu.Unlock()
			r.closePairs(prs)
			return nil, err
		}
	}
	r.mu.Lock()
	if r.closed {
		prs := s.detachLocked(len(s.legs), false)
		r.mu.Unlock()
		r.closePairs(prs)
		return nil, ErrClosed
	}
	r.sessions[s.id] = s
	r.mu.Unlock()
	return s, nil
}

// restLocked is how long a pooled pair should rest before reuse while cold
// pairs are free: Config.ReuseDelay while the pool may still grow, 0 once
// it holds its bound (then opening a cold pair would only make the oldest
// idle pair be closed: the same descriptors, no reuse).
//
// "Holds its bound" is sticky for one ReuseDelay after an eviction: at a
// call rate where rate × ReuseDelay pairs exceed the bound, takes and
// releases interleave around it, and a rule looking only at the count of
// the moment took a cold pair (a new socket) at every other allocation and
// closed an idle one at the next release (22% reuse measured at 2,000
// calls/s); while evictions happen the pool is full in effect.
//
// Near the process's descriptor limit the pool counts as full too: a cold
// pair would need new descriptors that only closing idle ones could free
// (at 4,000 calls/s here, 16,800 sockets in calls plus a full pool of 5,000
// idle ones crossed the limit of 20,000 and calls failed with EMFILE while
// the pool still had idle sockets to give).
func (r *Relay) restLocked() int64 {
	if r.idleN+4 > r.idleMax || (r.evicted != 0 && r.now()-r.evicted < r.rest) {
		return 0
	}
	if r.fdBudget > 0 {
		busy := 0
		for _, f := range r.ifaces {
			busy += 2 * f.busy // at most two sockets per pair in use
		}
		if busy+r.idleN+4 > r.fdBudget {
			return 0
		}
	}
	return r.rest
}

// untakeLocked gives back the pair of a leg that never got its sockets
// (the other leg found no free pair), as it was.
func (r *Relay) untakeLocked(l *legState) {
	f := l.iface
	if r.socks[f.slot(l.pair, false)].Load() != nil {
		f.put(l.pair, pairWarm, f.releasedAt[l.pair])
	} else {
		f.put(l.pair, pairCold, 0)
	}
}

// claimLocked takes the pooled sockets the leg will adopt off the idle
// count: the pair's RTP socket, and its RTCP socket unless the leg is
// rtcp-mux (then an open RTCP socket stays pooled, parked with the pair,
// until SetRTCPMux(false) or the pair is evicted).
func (r *Relay) claimLocked(l *legState) { r.addIdleLocked(l.iface, -r.adoptableLocked(l)) }

// unclaimLocked undoes claimLocked for a leg whose pair was taken but
// whose sockets were never touched.
func (r *Relay) unclaimLocked(l *legState) { r.addIdleLocked(l.iface, r.adoptableLocked(l)) }

// adoptableLocked counts the open pooled sockets of l's pair that l adopts.
func (r *Relay) adoptableLocked(l *legState) int {
	f, n := l.iface, 0
	if r.socks[f.slot(l.pair, false)].Load() != nil {
		n++
	}
	if !l.cfg.RTCPMux && r.socks[f.slot(l.pair, true)].Load() != nil {
		n++
	}
	return n
}

func (r *Relay) addIdleLocked(f *iface, n int) {
	f.idle += n
	r.idleN += n
}

// attach gives a leg the sockets of its pair. When the pair's port is held
// by another process it tries the next free pair, at most once per pair of
// the interface; any other error ends the allocation.
func (r *Relay) attach(s *Session, leg Leg) error {
	l := &s.legs[leg]
	f := l.iface
	for tries := f.pairs; ; tries-- {
		err := r.attachPair(s, leg)
		if err == nil {
			return nil
		}
		// Free what the pair holds: its sockets close, the pair goes cold.
		inUse := errors.Is(err, syscall.EADDRINUSE)
		r.mu.Lock()
		if l.cfg.RTCPMux && r.socks[f.slot(l.pair, true)].Load() != nil {
			f.idle-- // the parked RTCP socket, still counted idle
			r.idleN--
		}
		if inUse {
			f.heldAt[l.pair] = max(r.now(), 1)
		}
		f.put(l.pair, pairClosing, 0)
		r.mu.Unlock()
		r.closePairs([]pairRef{{f, l.pair}})
		if !inUse {
			return fmt.Errorf("mediarelay: interface %s port %d: %w", f.cfg.Name, f.rtpPort(l.pair), err)
		}
		r.mu.Lock()
		p, ok := f.take(r.now(), r.restLocked())
		if !ok || tries <= 1 || r.closed {
			if ok {
				f.put(p, pairCold, 0)
			}
			closed := r.closed
			r.mu.Unlock()
			if closed {
				return ErrClosed
			}
			return fmt.Errorf("%w on interface %s (ports in use by other processes)", ErrNoPorts, f.cfg.Name)
		}
		l.pair = p
		r.claimLocked(l)
		r.mu.Unlock()
	}
}

// attachPair adopts or opens the leg's RTP socket and, unless rtcp-mux,
// its RTCP socket. On error the caller closes whatever the pair holds.
func (r *Relay) attachPair(s *Session, leg Leg) error {
	l := &s.legs[leg]
	rtpS, err := r.sockFor(s, leg, false)
	if err != nil {
		return err
	}
	var rtcpS *sock
	if !l.cfg.RTCPMux {
		if rtcpS, err = r.sockFor(s, leg, true); err != nil {
			return err
		}
	}
	s.mu.Lock()
	l.rtpSock, l.rtcpSock = rtpS, rtcpS
	s.mu.Unlock()
	return nil
}

// sockFor returns the leg's RTP or RTCP socket: the pooled one of its pair
// (adopted), or a new one. Opening fails over to closing idle pooled
// sockets and retrying once when the process is out of descriptors.
func (r *Relay) sockFor(s *Session, leg Leg, rtcp bool) (*sock, error) {
	l := &s.legs[leg]
	if so := r.socks[l.iface.slot(l.pair, rtcp)].Load(); so != nil {
		return so, r.adopt(so, s, leg)
	}
	so, err := r.open(s, leg, l.iface, l.pair, rtcp)
	if err != nil && fdLimit(err) && r.evictForFDs() {
		so, err = r.open(s, leg, l.iface, l.pair, rtcp)
	}
	return so, err
}

// fdLimit reports a descriptor limit: the process's (EMFILE) or the
// system's (ENFILE).
func fdLimit(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// open opens a new socket for the session's leg on pair's RTP or RTCP port,
// in the session's worker.
func (r *Relay) open(s *Session, leg Leg, f *iface, pair int, rtcp bool) (*sock, error) {
	port := f.rtpPort(pair)
	if rtcp {
		port++
	}
	so := &sock{leg: leg, rtcp: rtcp, slot: f.slot(pair, rtcp), local: f.addrPort(port), w: s.worker}
	so.owner.Store(s)
	r.socks[so.slot].Store(so)
	if err := r.eng.open(so); err != nil {
		r.socks[so.slot].Store(nil)
		return nil, err
	}
	r.nOpened.Add(1)
	return so, nil
}

// adopt hands a pooled socket to a session's leg: what is queued on it
// (stale media that arrived since the engine last read it) is discarded,
// it moves to the session's worker if needed, and only then does the
// session become its owner. Nothing that arrived before is ever seen by
// the session; the session's per-leg state (remote, latch, statistics) is
// its own and starts empty.
func (r *Relay) adopt(so *sock, s *Session, leg Leg) error {
	pool := so.lock()
	n, b := r.eng.discard(so)
	st := &pool.legs[0].stats
	st.Packets += n
	st.Bytes += b
	st.Dropped += n
	var err error
	if so.w != s.worker {
		err = r.eng.move(so, s.worker)
	}
	if err == nil {
		so.leg = leg
		so.owner.Store(s)
	}
	pool.mu.Unlock()
	if err == nil {
		r.nReused.Add(1)
	}
	return err
}

// closeSock closes a socket whoever owns it. Its owner is replaced by the
// dead sentinel under the owner's lock, so no reader is inside the socket
// when its descriptor is closed (and its number possibly reused). Closing a
// socket twice is harmless.
func (r *Relay) closeSock(so *sock) {
	o := so.lock()
	if o == r.dead {
		o.mu.Unlock()
		return
	}
	so.owner.Store(r.dead)
	o.mu.Unlock()
	r.eng.close(so)
	r.socks[so.slot].Store(nil)
	r.nClosed.Add(1)
}

// closePairs closes the open sockets of closing pairs and then queues the
// pairs as cold.
func (r *Relay) closePairs(prs []pairRef) {
	if len(prs) == 0 {
		return
	}
	r.closePairSocks(prs)
	r.mu.Lock()
	for _, pr := range prs {
		pr.f.coldAfterClose(pr.p)
	}
	r.mu.Unlock()
}

func (r *Relay) closePairSocks(prs []pairRef) {
	for _, pr := range prs {
		for _, rtcp := range [2]bool{false, true} {
			if so := r.socks[pr.f.slot(pr.p, rtcp)].Load(); so != nil {
				r.closeSock(so)
			}
		}
	}
}

// evictLocked takes the oldest warm pairs, over all interfaces, off the
// warm queues until at most keep sockets are idle, and marks them closing;
// the caller closes them (closePairs) outside the lock.
func (r *Relay) evictLocked(keep int, out []pairRef) []pairRef {
	for r.idleN > keep {
		var best *iface
		for _, f := range r.ifaces {
			if f.warm.count > 0 && (best == nil || f.releasedAt[f.warm.peek()] < best.releasedAt[best.warm.peek()]) {
				best = f
			}
		}
		if best == nil {
			break // what is left is parked RTCP sockets of busy pairs
		}
		p, _ := best.warm.pop()
		best.state[p] = pairClosing
		r.evicted = r.now()
		for _, rtcp := range [2]bool{false, true} {
			if r.socks[best.slot(p, rtcp)].Load() != nil {
				best.idle--
				r.idleN--
			}
		}
		out = append(out, pairRef{best, p})
	}
	return out
}

// fdEvictBatch is how many idle sockets an allocation that ran out of
// descriptors closes before its one retry: a few, so that the allocations
// racing with it find room too.
const fdEvictBatch = 16

// evictForFDs closes up to fdEvictBatch of the oldest idle pooled sockets to
// free descriptors; it reports whether it closed any. Called outside mu.
func (r *Relay) evictForFDs() bool {
	r.mu.Lock()
	prs := r.evictLocked(max(r.idleN-fdEvictBatch, 0), nil)
	r.mu.Unlock()
	r.closePairs(prs)
	return len(prs) > 0
}

// detachLocked ends the session's hold on the sockets and pairs of its
// legs [0, n), with r.mu held. With pool set the sockets stay open and
// become idle (owned by their worker's pool sentinel, so the engine keeps
// reading and discarding them) and the pairs go to the back of the warm
// queue; pairs beyond the idle bound are evicted, oldest first. Otherwise
// the pairs are marked closing. The session is closed either way. The
// returned pairs are for closePairs, outside the lock.
func (s *Session) detachLocked(n int, pool bool) []pairRef {
	r := s.r
	pool = pool && r.idleMax > 0
	s.mu.Lock()
	s.closed = true
	if pool {
		for i := 0; i < n; i++ {
			l := &s.legs[i]
			for _, so := range [2]*sock{l.rtpSock, l.rtcpSock} {
				if so != nil {
					so.owner.Store(r.pools[so.w])
					l.iface.idle++
					r.idleN++
				}
			}
		}
	}
	s.mu.Unlock()
	var prs []pairRef
	now := r.now()
	for i := 0; i < n; i++ {
		l := &s.legs[i]
		if pool {
			l.iface.put(l.pair, pairWarm, now)
		} else {
			l.iface.put(l.pair, pairClosing, 0)
			prs = append(prs, pairRef{l.iface, l.pair})
		}
	}
	if pool {
		prs = r.evictLocked(r.idleMax, prs)
	}
	return prs
}

// InterfaceStats counts one interface's ports.
type InterfaceStats struct {
	Name       string
	PortsTotal int // ports in the range that pairs are made of
	PortsInUse int // ports of allocated pairs (2 per leg)
	// SocketsIdle is the number of this interface's sockets kept open in
	// the pool for the next session (not part of any session).
	SocketsIdle int
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
	// SocketsOpened, SocketsReused and SocketsClosed count, since New, the
	// sockets opened, pooled sockets handed to a new session, and sockets
	// closed. SocketsReused/(SocketsOpened+SocketsReused) is the pool's
	// hit rate.
	SocketsOpened, SocketsReused, SocketsClosed uint64
	// IdleDatagrams counts datagrams that reached idle pooled sockets (stale
	// media of ended calls) and were discarded.
	IdleDatagrams uint64
}

// Stats returns the number of sessions, ports in use and idle sockets per
// interface, and the engine's and the pool's counters.
func (r *Relay) Stats() RelayStats {
	r.mu.Lock()
	st := RelayStats{Sessions: len(r.sessions)}
	for _, f := range r.ifaces {
		st.Interfaces = append(st.Interfaces, InterfaceStats{Name: f.cfg.Name, PortsTotal: 2 * f.pairs, PortsInUse: 2 * f.busy, SocketsIdle: f.idle})
	}
	r.mu.Unlock()
	for _, p := range r.pools {
		p.mu.Lock()
		st.IdleDatagrams += p.legs[0].stats.Packets + p.legs[1].stats.Packets
		p.mu.Unlock()
	}
	st.SocketsOpened, st.SocketsReused, st.SocketsClosed = r.nOpened.Load(), r.nReused.Load(), r.nClosed.Load()
	st.WorkerCPU = r.eng.cpu()
	st.Wakeups, st.ReadCalls, st.Datagrams = r.eng.counters()
	return st
}

// Close closes every session and every pooled socket, then stops the I/O
// engine and the timer, in that order: work in flight outside the lock
// first (it may be opening sockets), then sessions, so that no worker is
// inside a session when the engine stops. It is idempotent.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.ops.Wait()
	r.mu.Lock()
	list := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		list = append(list, s)
	}
	r.mu.Unlock()
	for _, s := range list {
		_ = s.Close()
	}
	// What is left open is pooled: idle pairs and parked RTCP sockets.
	for i := range r.socks {
		if so := r.socks[i].Load(); so != nil {
			r.closeSock(so)
		}
	}
	r.mu.Lock()
	for _, f := range r.ifaces {
		f.idle = 0
	}
	r.idleN = 0
	r.mu.Unlock()
	st := r.Stats()
	r.eng.shutdown()
	close(r.stop)
	<-r.done
	r.log.Info("media relay stopped", "wakeups", st.Wakeups, "read_calls", st.ReadCalls, "datagrams", st.Datagrams, "worker_cpu", st.WorkerCPU,
		"sockets_opened", st.SocketsOpened, "sockets_reused", st.SocketsReused, "idle_datagrams", st.IdleDatagrams)
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
