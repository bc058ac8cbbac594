package transport

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Defaults of the resolution cache (Config.DNSCacheTTL).
const (
	// defaultDNSCacheTTL is how long a resolved target is used before it is
	// looked up again. The resolver interface does not expose record TTLs,
	// so this is the fixed freshness an operator can reason about.
	defaultDNSCacheTTL = 30 * time.Second
	// dnsNegativeTTL is how long a failed lookup is remembered, so that a
	// broken name or DNS server costs one lookup per target and period,
	// not one per call.
	dnsNegativeTTL = 5 * time.Second
	// dnsServeStale is how long past its freshness an answer keeps being
	// used while refreshing it fails (RFC 8767 serve-stale): a DNS outage
	// does not take down trunks whose addresses have not changed.
	dnsServeStale = 10 * time.Minute
	// dnsRefreshTimeout bounds a background refresh.
	dnsRefreshTimeout = 10 * time.Second
	// dnsCacheMax bounds the number of cached targets.
	dnsCacheMax = 4096
)

// dnsCache remembers what Resolve found for each host-name target. A SIP
// request is resolved on the goroutine that sends it, often a transport
// reader: without the cache every new call to a trunk given by name made
// its SRV and A/AAAA queries there, so DNS latency (or a timing-out server)
// delayed every message behind it. With it, a target is looked up once per
// TTL, refreshed in the background once it is stale (the stale answer is
// used meanwhile), and concurrent first lookups of one target share one
// query.
type dnsCache struct {
	ttl     time.Duration
	now     func() time.Time
	resolve func(context.Context, Target) ([]Dest, error)

	mu sync.Mutex
	m  map[Target]*dnsEntry
}

type dnsEntry struct {
	ready      chan struct{} // closed once the first lookup is done
	dests      []Dest
	err        error
	fresh      time.Time // used without a lookup until then
	good       time.Time // when dests was last resolved (zero: never)
	refreshing bool
}

func newDNSCache(ttl time.Duration, resolve func(context.Context, Target) ([]Dest, error)) *dnsCache {
	return &dnsCache{ttl: ttl, now: time.Now, resolve: resolve, m: map[Target]*dnsEntry{}}
}

// lookup returns the destinations of t, from the cache when it can.
func (c *dnsCache) lookup(ctx context.Context, t Target) ([]Dest, error) {
	c.mu.Lock()
	e := c.m[t]
	now := c.now()
	switch {
	case e == nil:
		return c.first(ctx, t)
	case !isClosed(e.ready):
		c.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
		ds, err := e.dests, e.err
		c.mu.Unlock()
		return slices.Clone(ds), err
	case now.Before(e.fresh):
		ds, err := e.dests, e.err
		c.mu.Unlock()
		return slices.Clone(ds), err
	case len(e.dests) > 0 && now.Sub(e.good) < c.ttl+dnsServeStale:
		// Stale but usable: answer at once, refresh behind.
		if !e.refreshing {
			e.refreshing = true
			go c.refresh(t, e) // owner: the cache; exit: after one bounded lookup
		}
		ds := slices.Clone(e.dests)
		c.mu.Unlock()
		return ds, nil
	default:
		// A failure past its negative TTL, or an answer too old to serve:
		// look again.
		delete(c.m, t)
		return c.first(ctx, t)
	}
}

// first makes the lookup of a target not in the cache, shared with callers
// that ask for it meanwhile; called with mu held, returns with it released.
func (c *dnsCache) first(ctx context.Context, t Target) ([]Dest, error) {
	e := &dnsEntry{ready: make(chan struct{})}
	if len(c.m) >= dnsCacheMax {
		for k := range c.m { // drop an arbitrary entry: the map is a bound, not an LRU
			delete(c.m, k)
			break
		}
	}
	c.m[t] = e
	c.mu.Unlock()
	// Detached from the caller's cancellation (others may be waiting for
	// this answer, and a cancelled caller's error must not be remembered
	// for them) but bounded.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dnsRefreshTimeout)
	ds, err := c.resolve(lctx, t)
	cancel()
	c.mu.Lock()
	c.store(e, ds, err)
	close(e.ready)
	c.mu.Unlock()
	return slices.Clone(ds), err
}

func (c *dnsCache) refresh(t Target, e *dnsEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), dnsRefreshTimeout)
	defer cancel()
	ds, err := c.resolve(ctx, t)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refreshing = false
	if err != nil && len(e.dests) > 0 {
		// Serve the old answer a while longer (RFC 8767) and retry later.
		e.fresh = c.now().Add(dnsNegativeTTL)
		return
	}
	c.store(e, ds, err)
}

// store records a lookup's outcome; called with mu held.
func (c *dnsCache) store(e *dnsEntry, ds []Dest, err error) {
	now := c.now()
	e.dests, e.err = ds, err
	if err != nil {
		e.dests = nil
		e.fresh = now.Add(dnsNegativeTTL)
		return
	}
	e.good = now
	e.fresh = now.Add(c.ttl)
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
