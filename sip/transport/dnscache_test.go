package transport

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLookup is a resolve function that counts calls, answers what it is
// told and can be held.
type fakeLookup struct {
	calls atomic.Int32
	mu    sync.Mutex
	dests []Dest
	err   error
	hold  chan struct{} // when set, lookups wait for it
}

func (f *fakeLookup) resolve(ctx context.Context, _ Target) ([]Dest, error) {
	f.calls.Add(1)
	f.mu.Lock()
	hold, ds, err := f.hold, f.dests, f.err
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return ds, err
}

func (f *fakeLookup) set(ds []Dest, err error) {
	f.mu.Lock()
	f.dests, f.err = ds, err
	f.mu.Unlock()
}

func dest(s string) []Dest {
	return []Dest{{Transport: UDP, Addr: netip.MustParseAddrPort(s)}}
}

// TestDNSCache: a name is looked up once per TTL; a stale answer is served
// while it is refreshed behind; a failing refresh keeps the old answer
// (RFC 8767 serve-stale) until it is too old; failures are remembered for
// the negative TTL; concurrent first lookups share one query.
func TestDNSCache(t *testing.T) {
	f := &fakeLookup{}
	f.set(dest("192.0.2.1:5060"), nil)
	c := newDNSCache(30*time.Second, f.resolve)
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	tg := Target{Host: "trunk.example"}
	ctx := context.Background()
	get := func() []Dest {
		t.Helper()
		ds, err := c.lookup(ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	waitCalls := func(n int32) {
		t.Helper()
		for i := 0; i < 200 && f.calls.Load() < n; i++ {
			time.Sleep(5 * time.Millisecond)
		}
		if got := f.calls.Load(); got != n {
			t.Fatalf("%d lookups, want %d", got, n)
		}
		// let the refresh goroutine store its result
		for i := 0; i < 200; i++ {
			c.mu.Lock()
			r := c.m[tg] != nil && c.m[tg].refreshing
			c.mu.Unlock()
			if !r {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	get()
	get()
	advance(29 * time.Second)
	get()
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d lookups within the TTL, want 1", n)
	}

	// Stale: the old answer at once, one refresh behind.
	advance(2 * time.Second)
	f.set(dest("192.0.2.2:5060"), nil)
	if ds := get(); ds[0].Addr.String() != "192.0.2.1:5060" {
		t.Fatalf("stale lookup got %v, want the cached answer at once", ds)
	}
	waitCalls(2)
	if ds := get(); ds[0].Addr.String() != "192.0.2.2:5060" {
		t.Fatalf("after the refresh got %v", ds)
	}

	// DNS fails: the last good answer keeps serving, retried every
	// negative TTL, until it is older than TTL + serve-stale.
	f.set(nil, errors.New("SERVFAIL"))
	advance(31 * time.Second)
	get()
	waitCalls(3)
	if ds := get(); ds[0].Addr.String() != "192.0.2.2:5060" {
		t.Fatalf("during the DNS failure got %v, want the last good answer", ds)
	}
	advance(dnsServeStale + time.Minute)
	if _, err := c.lookup(ctx, tg); err == nil {
		t.Fatal("an answer older than TTL + serve-stale was still used")
	}
	// ... and the failure is remembered for the negative TTL.
	n := f.calls.Load()
	c.lookup(ctx, tg)
	if f.calls.Load() != n {
		t.Fatal("a remembered failure was looked up again at once")
	}
	advance(dnsNegativeTTL + time.Second)
	f.set(dest("192.0.2.3:5060"), nil)
	if ds := get(); ds[0].Addr.String() != "192.0.2.3:5060" {
		t.Fatalf("after the negative TTL got %v", ds)
	}

	// Concurrent first lookups of a name share one query.
	f2 := &fakeLookup{hold: make(chan struct{})}
	f2.set(dest("192.0.2.9:5060"), nil)
	c2 := newDNSCache(30*time.Second, f2.resolve)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ds, err := c2.lookup(ctx, tg); err != nil || len(ds) != 1 {
				t.Errorf("shared lookup: %v %v", ds, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(f2.hold)
	wg.Wait()
	if n := f2.calls.Load(); n != 1 {
		t.Fatalf("%d queries for 8 concurrent first lookups, want 1", n)
	}
}

// TestResolveCachesNamesOnly: Resolve goes to the cache for host names and
// straight to the listeners for IP literals; DNSCacheTTL < 0 turns it off.
func TestResolveCachesNamesOnly(t *testing.T) {
	for _, tc := range []struct {
		ttl   time.Duration
		cache bool
	}{{0, true}, {-1, false}} {
		l, err := New(Config{Handler: HandlerFunc(func(Inbound) {}), DNSCacheTTL: tc.ttl,
			Listeners: []ListenerConfig{{Interface: "x", Transport: UDP, Addr: netip.MustParseAddrPort("127.0.0.1:0")}}})
		if err != nil {
			t.Fatal(err)
		}
		if (l.dns != nil) != tc.cache {
			t.Fatalf("DNSCacheTTL %v: cache %v", tc.ttl, l.dns != nil)
		}
		if tc.cache {
			if _, err := l.Resolve(context.Background(), Target{Host: "127.0.0.1", Port: 5060}); err != nil {
				t.Fatal(err)
			}
			if len(l.dns.m) != 0 {
				t.Fatal("an IP literal went through the cache")
			}
		}
		l.Close()
	}
}
