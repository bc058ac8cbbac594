package b2bua

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiterConcurrentCalls(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := NewLimiter(clk.now)
	lim := Limit{MaxCalls: 2}
	r1, _, ok1 := l.Admit("carrier", Inbound, lim)
	_, _, ok2 := l.Admit("carrier", Inbound, lim)
	_, ra, ok3 := l.Admit("carrier", Inbound, lim)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("admits = %v %v %v, want true true false", ok1, ok2, ok3)
	}
	if ra < time.Second {
		t.Fatalf("retry-after %v, want at least 1s", ra)
	}
	// The other direction and other trunks have their own counters.
	if _, _, ok := l.Admit("carrier", Outbound, lim); !ok {
		t.Fatal("outbound refused although only inbound is full")
	}
	if _, _, ok := l.Admit("other", Inbound, lim); !ok {
		t.Fatal("other trunk refused")
	}
	r1()
	r1() // a second release is ignored
	if got := l.Active("carrier", Inbound); got != 1 {
		t.Fatalf("active after release = %d, want 1", got)
	}
	if _, _, ok := l.Admit("carrier", Inbound, lim); !ok {
		t.Fatal("refused after a release freed a slot")
	}
}

func TestLimiterCallsPerSecond(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := NewLimiter(clk.now)
	lim := Limit{CPS: 5}
	admitted := 0
	for i := 0; i < 10; i++ {
		if _, _, ok := l.Admit("t", Outbound, lim); ok {
			admitted++
		}
	}
	if admitted != 5 {
		t.Fatalf("burst admitted %d, want 5", admitted)
	}
	clk.advance(200 * time.Millisecond) // one token back
	if _, _, ok := l.Admit("t", Outbound, lim); !ok {
		t.Fatal("refused after a token was refilled")
	}
	if _, ra, ok := l.Admit("t", Outbound, lim); ok || ra != time.Second {
		t.Fatalf("admit = %v retry %v, want refusal with 1s", ok, ra)
	}
	clk.advance(10 * time.Second) // refill is capped at the burst
	admitted = 0
	for i := 0; i < 10; i++ {
		if _, _, ok := l.Admit("t", Outbound, lim); ok {
			admitted++
		}
	}
	if admitted != 5 {
		t.Fatalf("after idle admitted %d, want burst of 5", admitted)
	}
}

func TestLimiterUnlimited(t *testing.T) {
	l := NewLimiter(nil)
	for i := 0; i < 1000; i++ {
		if _, _, ok := l.Admit("t", Inbound, Limit{}); !ok {
			t.Fatalf("call %d refused with no limits", i)
		}
	}
}
