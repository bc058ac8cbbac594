package transaction

import (
	"sync"
	"time"
)

// Clock tells time and drives the timer wheel. The production clock is
// RealClock; tests inject transactiontest.FakeClock, which advances only when
// told to, so the whole RFC 3261 §17 timer table runs without sleeping.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Start arranges for tick to be called with the current time about every
	// resolution until stop is called. The calls are never concurrent with
	// each other. stop waits until no tick is running.
	Start(resolution time.Duration, tick func(now time.Time)) (stop func())
}

// RealClock is the wall clock; Start runs one goroutine per caller that
// ticks on a time.Ticker and exits when stop is called.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Start runs tick on its own goroutine every resolution until stop.
func (RealClock) Start(resolution time.Duration, tick func(now time.Time)) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() { // owner: the caller of Start; exit: stop closes done.
		defer close(exited)
		t := time.NewTicker(resolution)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				tick(now)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}
}
