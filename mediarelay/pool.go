package mediarelay

import (
	"net/netip"
	"time"
)

// pairState is where one even/odd port pair of an interface stands.
type pairState uint8

const (
	// pairCold: free, no socket open on it.
	pairCold pairState = iota
	// pairWarm: free, its RTP socket (and maybe its RTCP socket) still
	// open, bound and read by the engine, waiting for the next session.
	pairWarm
	// pairBusy: held by a session (or by a NewSession setting it up).
	pairBusy
	// pairClosing: free, its sockets being closed outside the relay's
	// lock; it joins the cold queue once they are, so that a fresh socket
	// is never bound to a port whose old socket still exists.
	pairClosing
)

// ring is a FIFO of pair indexes with room for every pair of an interface.
type ring struct {
	buf   []int32
	head  int
	count int
}

func (q *ring) push(p int) {
	q.buf[(q.head+q.count)%len(q.buf)] = int32(p)
	q.count++
}

func (q *ring) pop() (int, bool) {
	if q.count == 0 {
		return 0, false
	}
	p := int(q.buf[q.head])
	q.head = (q.head + 1) % len(q.buf)
	q.count--
	return p, true
}

func (q *ring) peek() int { return int(q.buf[q.head]) }

// iface is one configured interface with its pool of even/odd port pairs.
//
// Free pairs wait in two FIFO queues: warm pairs still have their sockets
// open (a session that takes one reuses them: no socket, setsockopt, bind,
// epoll_ctl or close system call), cold pairs have none. A released pair
// goes to the back of its queue, so a port is reused as late as possible
// (stray packets of an ended call rarely reach the next one). A session
// takes the oldest warm pair once it has rested Config.ReuseDelay, or when
// no pair is cold; otherwise the oldest cold pair. So reuse is the rule,
// and the warm set grows (up to Config.IdleSockets) until a pair rests at
// least ReuseDelay before it serves another call.
// The state array guards against a pair ever being handed out twice or
// released twice. Everything here is guarded by the relay's mutex.
type iface struct {
	cfg   InterfaceConfig
	idx   int // position in Config.Interfaces
	base  int // first slot of this interface in the relay's socket table
	pairs int

	warm, cold ring
	state      []pairState
	releasedAt []int64 // relay clock at the release of each warm pair
	heldAt     []int64 // relay clock when another process last held the pair's port (0: never)
	busy       int     // pairs in pairBusy
	idle       int     // open sockets of this interface that no session uses
}

func newIface(cfg InterfaceConfig, idx, base int) *iface {
	n := (int(cfg.PortMax) - int(cfg.PortMin) + 1) / 2
	f := &iface{cfg: cfg, idx: idx, base: base, pairs: n,
		warm: ring{buf: make([]int32, n)}, cold: ring{buf: make([]int32, n)},
		state: make([]pairState, n), releasedAt: make([]int64, n), heldAt: make([]int64, n)}
	for i := 0; i < n; i++ {
		f.cold.push(i)
	}
	return f
}

// rtpPort is the even port of pair p (RFC 3550 §11: RTP on an even port,
// RTCP on the next higher odd port).
func (f *iface) rtpPort(p int) uint16 { return f.cfg.PortMin + uint16(2*p) }

// free is the number of pairs that can be taken now.
func (f *iface) free() int { return f.warm.count + f.cold.count }

// heldBackoff is how long a cold pair whose port another process held is
// passed over while other pairs are free.
const heldBackoff = int64(time.Second)

// take removes the oldest warm pair if it has rested at least rest
// nanoseconds at relay clock now or no usable pair is cold, else the
// oldest cold pair; ok is false when no pair is free. A cold pair whose
// port another process held in the last heldBackoff (or rest) goes to the
// back of the cold queue (a few at a time), so that one foreign socket
// does not cost every allocation a failed bind.
func (f *iface) take(now, rest int64) (p int, ok bool) {
	backoff := max(rest, heldBackoff)
	held := func(p int) bool { return f.heldAt[p] != 0 && now-f.heldAt[p] < backoff }
	for i := 0; i < 8 && i < f.cold.count && held(f.cold.peek()); i++ {
		q, _ := f.cold.pop()
		f.cold.push(q)
	}
	coldOK := f.cold.count > 0 && !held(f.cold.peek())
	if f.warm.count > 0 && (!coldOK || now-f.releasedAt[f.warm.peek()] >= rest) {
		p, _ = f.warm.pop()
	} else if p, ok = f.cold.pop(); !ok {
		return 0, false
	}
	f.state[p] = pairBusy
	f.busy++
	return p, true
}

// put returns busy pair p to the back of the warm queue (its sockets stay
// open; at is the relay clock of its release), the cold queue, or, with
// closing, to neither until coldAfterClose. Putting a pair that is not
// busy is ignored, so a double release cannot make a pair free twice.
func (f *iface) put(p int, st pairState, at int64) {
	if f.state[p] != pairBusy {
		return
	}
	f.busy--
	f.state[p] = st
	switch st {
	case pairWarm:
		f.releasedAt[p] = at
		f.warm.push(p)
	case pairCold:
		f.cold.push(p)
	}
}

// coldAfterClose queues a closing pair as cold once its sockets are closed.
func (f *iface) coldAfterClose(p int) {
	if f.state[p] == pairClosing {
		f.state[p] = pairCold
		f.cold.push(p)
	}
}

// slot is the index in the relay's socket table of pair p's RTP (rtcp=false)
// or RTCP socket.
func (f *iface) slot(p int, rtcp bool) int {
	s := f.base + 2*p
	if rtcp {
		s++
	}
	return s
}

func (f *iface) addrPort(port uint16) netip.AddrPort { return netip.AddrPortFrom(f.cfg.Addr, port) }

// pairRef names one pair of one interface.
type pairRef struct {
	f *iface
	p int
}
