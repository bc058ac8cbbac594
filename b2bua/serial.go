package b2bua

import "sync"

// serial runs the work of one call one item at a time, in order, on the
// goroutine that submits it when no other is running it: a call's state is
// only ever touched inside do, so it needs no further locking, and a callback
// that re-enters the call (a transaction reporting an error synchronously)
// is queued instead of deadlocking. No goroutine is parked per call.
type serial struct {
	mu      sync.Mutex
	queue   []func()
	running bool
}

func (s *serial) do(f func()) {
	s.mu.Lock()
	s.queue = append(s.queue, f)
	if s.running {
		s.mu.Unlock()
		return
	}
	s.running = true
	for len(s.queue) > 0 {
		next := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		next()
		s.mu.Lock()
	}
	s.queue = s.queue[:0:0]
	s.running = false
	s.mu.Unlock()
}
