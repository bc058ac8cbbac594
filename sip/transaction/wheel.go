package transaction

import (
	"sync"
	"time"
)

// timerTarget receives the expiry of a timer it owns. onTimer runs on the
// wheel's driving goroutine, outside the wheel's lock. The owner arms and
// stops its timers only while holding its own lock, so under that lock it
// discards a stale firing with t.stale(gen).
type timerTarget interface {
	onTimer(t *timer, gen uint32)
}

// timer is one entry on the wheel, embedded in its owner (a transaction), so
// scheduling never allocates. A timer is scheduled at most once at a time;
// arming it again moves it.
type timer struct {
	next, prev *timer
	owner      timerTarget
	expire     int64 // tick at or after which it fires
	kind       timerKind
	gen        uint32 // bumped on every (re)arm and stop, to discard stale firings
}

// timerKind names a timer of RFC 3261 §17 / RFC 6026 §8.
type timerKind uint8

// The timers of RFC 3261 Table 4 and RFC 6026 §8.4 (L) and §8.5 (M), plus
// the transaction-user 2xx retransmission of RFC 3261 §13.3.1.4.
const (
	timerA timerKind = iota + 1
	timerB
	timerD
	timerE
	timerF
	timerG
	timerH
	timerI
	timerJ
	timerK
	timerL
	timerM
	timer2xx
	timerC     // cap on an INVITE client transaction in Proceeding
	timerGuard // cap on a server transaction the TU never answers
	timer100   // the postponed 100 Trying of an INVITE server transaction
)

// String names the timer as RFC 3261 Table 4 does.
func (k timerKind) String() string {
	const names = "?ABDEFGHIJKLM"
	switch k {
	case timer2xx:
		return "2xx"
	case timerC:
		return "Timer C"
	case timerGuard:
		return "guard"
	case timer100:
		return "100 Trying"
	}
	if int(k) < len(names) {
		return "Timer " + names[k:k+1]
	}
	return "Timer ?"
}

// wheel is a hashed timing wheel (Varghese & Lauck scheme 4): slots of
// doubly-linked timers, each slot holding the timers whose expiry tick is
// congruent to it. Advancing walks one slot per tick and fires the timers
// that are due; timers more than one revolution away stay in place. Adding,
// moving and stopping a timer are O(1) and never allocate.
type wheel struct {
	mu    sync.Mutex
	res   time.Duration
	epoch time.Time
	now   int64 // last tick processed
	slots []timer
	mask  int64
	count int
	fire  []*timer // scratch for due timers, reused
	gens  []uint32
}

// newWheel builds a wheel with 2^bits slots of resolution res, starting at
// epoch.
func newWheel(epoch time.Time, res time.Duration, bits uint) *wheel {
	w := &wheel{res: res, epoch: epoch, slots: make([]timer, 1<<bits), mask: 1<<bits - 1}
	for i := range w.slots {
		s := &w.slots[i]
		s.next, s.prev = s, s // sentinel
	}
	return w
}

// tickOf returns the first tick at or after t.
func (w *wheel) tickOf(t time.Time) int64 {
	d := t.Sub(w.epoch)
	n := int64(d / w.res)
	if d%w.res != 0 {
		n++
	}
	return n
}

// schedule arms t to fire after d from now (replacing any earlier arming).
func (w *wheel) schedule(t *timer, now time.Time, d time.Duration) {
	w.mu.Lock()
	if t.next != nil {
		w.unlink(t)
	}
	exp := w.tickOf(now.Add(d))
	if exp <= w.now {
		exp = w.now + 1
	}
	t.expire = exp
	t.gen++
	s := &w.slots[exp&w.mask]
	t.prev = s.prev
	t.next = s
	s.prev.next = t
	s.prev = t
	w.count++
	w.mu.Unlock()
}

// stop disarms t; it reports whether t was armed. A firing already collected
// by advance is discarded by its owner through the generation check.
func (w *wheel) stop(t *timer) bool {
	w.mu.Lock()
	t.gen++
	armed := t.next != nil
	if armed {
		w.unlink(t)
	}
	w.mu.Unlock()
	return armed
}

func (w *wheel) unlink(t *timer) {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.next, t.prev = nil, nil
	w.count--
}

// len returns the number of armed timers.
func (w *wheel) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

// advance fires, in expiry order within each tick, every timer due at or
// before now. Callbacks run outside the lock and may re-arm timers.
func (w *wheel) advance(now time.Time) {
	target := int64(now.Sub(w.epoch) / w.res)
	for {
		w.mu.Lock()
		if w.now >= target {
			w.mu.Unlock()
			return
		}
		w.now++
		tick := w.now
		s := &w.slots[tick&w.mask]
		due := w.fire[:0]
		gens := w.gens[:0]
		for t := s.next; t != s; {
			next := t.next
			if t.expire <= tick {
				w.unlink(t)
				due = append(due, t)
				gens = append(gens, t.gen)
			}
			t = next
		}
		w.mu.Unlock()
		for i, t := range due {
			t.owner.onTimer(t, gens[i])
		}
		clear(due)
		w.fire, w.gens = due[:0], gens[:0]
	}
}

// stale reports whether the firing of generation gen was overtaken by a
// re-arm or stop. The owner calls it under its own lock.
func (t *timer) stale(gen uint32) bool { return t.gen != gen }
