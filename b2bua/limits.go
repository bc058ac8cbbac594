package b2bua

import (
	"math"
	"sync"
	"time"
)

// Limit is one direction's admission limit for a trunk: concurrent calls and
// new calls per second. Zero means unlimited.
type Limit struct {
	MaxCalls int
	CPS      float64
}

// Direction tells whether a call enters the SBC from a trunk (Inbound) or
// leaves toward it (Outbound); each has its own counters.
type Direction uint8

const (
	Inbound Direction = iota
	Outbound
)

// Limiter counts calls per trunk and direction and admits new ones under the
// trunk's limits. Counters are runtime state, kept across policy reloads: a
// reload changes the limits, never the count of calls in progress.
type Limiter struct {
	now func() time.Time

	mu     sync.Mutex
	trunks map[limitKey]*trunkCounter
}

type limitKey struct {
	trunk string
	dir   Direction
}

type trunkCounter struct {
	active int
	tokens float64 // token bucket for calls per second
	last   time.Time
}

// NewLimiter returns a Limiter reading time from now (time.Now when nil).
func NewLimiter(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, trunks: make(map[limitKey]*trunkCounter)}
}

// Admit tries to count one more call on trunk in direction dir. On success it
// returns a release function that must be called exactly once when the call
// ends. On refusal it returns how long the caller should wait before a retry
// would fit (the Retry-After of a 503, RFC 3261 §20.33), at least one second.
func (l *Limiter) Admit(trunk string, dir Direction, lim Limit) (release func(), retryAfter time.Duration, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	key := limitKey{trunk, dir}
	c := l.trunks[key]
	if c == nil {
		c = &trunkCounter{last: now, tokens: burst(lim.CPS)}
		l.trunks[key] = c
	}
	if lim.MaxCalls > 0 && c.active >= lim.MaxCalls {
		return nil, time.Second, false
	}
	if lim.CPS > 0 {
		// Token bucket: refill at CPS per second up to a burst of one
		// second's worth (at least one call).
		if el := now.Sub(c.last); el > 0 {
			c.tokens = math.Min(burst(lim.CPS), c.tokens+el.Seconds()*lim.CPS)
		}
		c.last = now
		if c.tokens < 1 {
			wait := time.Duration((1 - c.tokens) / lim.CPS * float64(time.Second))
			return nil, max(time.Second, wait.Round(time.Second)), false
		}
		c.tokens--
	}
	c.active++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			c.active--
			l.mu.Unlock()
		})
	}, 0, true
}

// Active returns the calls in progress on trunk in direction dir.
func (l *Limiter) Active(trunk string, dir Direction) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.trunks[limitKey{trunk, dir}]; c != nil {
		return c.active
	}
	return 0
}

func burst(cps float64) float64 { return math.Max(1, cps) }
