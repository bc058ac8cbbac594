package transaction

import (
	"sync"
	"testing"
	"time"
)

type recTarget struct {
	mu    sync.Mutex
	fired []timerKind
	at    []time.Duration
	clock func() time.Duration
}

func (r *recTarget) onTimer(t *timer, gen uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.stale(gen) {
		return
	}
	r.fired = append(r.fired, t.kind)
	r.at = append(r.at, r.clock())
}

func TestWheelFiresAtDeadline(t *testing.T) {
	epoch := time.Unix(1000, 0)
	w := newWheel(epoch, 10*time.Millisecond, 4) // 16 slots: 160 ms per revolution
	now := epoch
	r := &recTarget{clock: func() time.Duration { return now.Sub(epoch) }}
	a := &timer{owner: r, kind: timerA}
	b := &timer{owner: r, kind: timerB}
	d := &timer{owner: r, kind: timerD}
	w.schedule(a, now, 500*time.Millisecond) // several revolutions away
	w.schedule(b, now, 15*time.Millisecond)  // rounds up to 20 ms
	w.schedule(d, now, time.Second)
	if w.len() != 3 {
		t.Fatalf("len = %d, want 3", w.len())
	}
	w.stop(d)
	for i := 0; i < 100; i++ {
		now = now.Add(10 * time.Millisecond)
		w.advance(now)
	}
	if len(r.fired) != 2 || r.fired[0] != timerB || r.fired[1] != timerA {
		t.Fatalf("fired %v, want [B A]", r.fired)
	}
	if r.at[0] != 20*time.Millisecond || r.at[1] != 500*time.Millisecond {
		t.Fatalf("fired at %v, want [20ms 500ms]", r.at)
	}
	if w.len() != 0 {
		t.Fatalf("len = %d after firing, want 0", w.len())
	}
}

func TestWheelRearmAndStaleGeneration(t *testing.T) {
	epoch := time.Unix(0, 0)
	w := newWheel(epoch, time.Millisecond, 8)
	now := epoch
	r := &recTarget{clock: func() time.Duration { return now.Sub(epoch) }}
	a := &timer{owner: r, kind: timerE}
	w.schedule(a, now, 5*time.Millisecond)
	w.schedule(a, now, 9*time.Millisecond) // moves it
	now = now.Add(8 * time.Millisecond)
	w.advance(now)
	if len(r.fired) != 0 {
		t.Fatalf("fired early: %v", r.at)
	}
	now = now.Add(time.Millisecond)
	w.advance(now)
	if len(r.at) != 1 || r.at[0] != 9*time.Millisecond {
		t.Fatalf("fired at %v, want [9ms]", r.at)
	}
	// A generation captured before a stop is stale afterwards.
	w.schedule(a, now, time.Millisecond)
	gen := a.gen
	w.stop(a)
	if !a.stale(gen) {
		t.Fatal("stop did not make the earlier generation stale")
	}
	// A jump longer than a revolution fires everything due, in order.
	w.schedule(a, now, 700*time.Millisecond)
	now = now.Add(2 * time.Second)
	w.advance(now)
	if len(r.at) != 2 || r.at[1] != 2009*time.Millisecond {
		t.Fatalf("fired at %v after jump", r.at)
	}
}

func TestWheelCallbackMayRearm(t *testing.T) {
	epoch := time.Unix(0, 0)
	w := newWheel(epoch, time.Millisecond, 6)
	now := epoch
	var n int
	var tm timer
	tm.owner = rearmFunc(func(t *timer) {
		n++
		if n < 5 {
			w.schedule(t, now, 3*time.Millisecond)
		}
	})
	w.schedule(&tm, now, 3*time.Millisecond)
	for i := 0; i < 100; i++ {
		now = now.Add(time.Millisecond)
		w.advance(now)
	}
	if n != 5 {
		t.Fatalf("fired %d times, want 5", n)
	}
}

type rearmFunc func(t *timer)

func (f rearmFunc) onTimer(t *timer, gen uint32) {
	if !t.stale(gen) {
		f(t)
	}
}

func BenchmarkWheelScheduleStop(b *testing.B) {
	epoch := time.Unix(0, 0)
	w := newWheel(epoch, 10*time.Millisecond, 12)
	ts := make([]timer, 1024)
	r := rearmFunc(func(*timer) {})
	for i := range ts {
		ts[i].owner = r
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := &ts[i&1023]
		w.schedule(t, epoch, time.Duration(i%3000)*time.Millisecond)
		if i&1 == 0 {
			w.stop(t)
		}
	}
}
