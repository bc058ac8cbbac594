// Package transactiontest holds test doubles for package transaction and its
// users: a fake clock that advances only when told to, so tests run the whole
// RFC 3261 §17 timer table without sleeping.
package transactiontest

import (
	"sync"
	"time"
)

// FakeClock is a transaction.Clock whose time moves only through Advance.
// Tick functions registered by Start run synchronously inside Advance, once
// per resolution step, so every timer due in the advanced span fires before
// Advance returns.
type FakeClock struct {
	mu    sync.Mutex
	now   time.Time
	ticks map[int]fakeTicker
	next  int
	adv   sync.Mutex // serialises Advance
}

type fakeTicker struct {
	res  time.Duration
	last time.Time
	tick func(time.Time)
}

// NewFakeClock returns a clock set to a fixed, arbitrary instant.
func NewFakeClock() *FakeClock {
	return &FakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ticks: map[int]fakeTicker{}}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Start registers tick; it is called from Advance.
func (c *FakeClock) Start(resolution time.Duration, tick func(now time.Time)) (stop func()) {
	c.mu.Lock()
	id := c.next
	c.next++
	c.ticks[id] = fakeTicker{res: resolution, last: c.now, tick: tick}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.ticks, id)
		c.mu.Unlock()
	}
}

// Advance moves the clock forward by d in steps no larger than the smallest
// registered resolution, calling every tick function at each step.
func (c *FakeClock) Advance(d time.Duration) {
	c.adv.Lock()
	defer c.adv.Unlock()
	c.mu.Lock()
	step := d
	for _, t := range c.ticks {
		if t.res < step {
			step = t.res
		}
	}
	end := c.now.Add(d)
	c.mu.Unlock()
	if step <= 0 {
		return
	}
	for {
		c.mu.Lock()
		if !c.now.Before(end) {
			c.mu.Unlock()
			return
		}
		n := c.now.Add(step)
		if n.After(end) {
			n = end
		}
		c.now = n
		fns := make([]func(time.Time), 0, len(c.ticks))
		for _, t := range c.ticks {
			fns = append(fns, t.tick)
		}
		c.mu.Unlock()
		for _, f := range fns {
			f(n)
		}
	}
}
