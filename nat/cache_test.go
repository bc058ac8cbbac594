package nat

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip/transport"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// put adds a binding the way a 2xx from the registrar does.
func put(c *Cache, aor, callID, contact, ua string, src netip.AddrPort, expires time.Time) *binding {
	return putFlow(c, aor, callID, contact, ua, transport.PseudoFlow(transport.UDP, "outside", sbcOutside, src), expires)
}

func putFlow(c *Cache, aor, callID, contact, ua string, flow transport.Flow, expires time.Time) *binding {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(aor)
	s := e.sessionFor(callID)
	s.aor = e
	b := c.addToken(e, s, contact, "r"+transport.RandomToken(15))
	b.flow = flow
	b.ua = c.agent(ua)
	b.trunk = "ua"
	b.nat = true
	b.expires = expires.UnixNano()
	c.schedule(&b.exp, b.expires)
	return b
}

func TestCacheExpiryOrder(t *testing.T) {
	c := newCache(1<<20, 16)
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]time.Time{}
	for i := range 2000 {
		exp := epoch.Add(time.Duration(rng.IntN(3600)) * time.Second)
		b := put(c, "sip:u"+strconv.Itoa(i)+"@example.com", "c", "sip:u@10.0.0.1:"+strconv.Itoa(1+i%60000), "ua", uaPublic, exp)
		want[b.token] = exp
	}
	for step := time.Duration(0); step <= time.Hour; step += 7 * time.Minute {
		now := epoch.Add(step)
		c.due(now.UnixNano(), nil)
		alive := 0
		for tok, exp := range want {
			_, ok := c.Lookup(tok)
			if ok != exp.After(now) {
				t.Fatalf("at %v: binding expiring %v present=%v", step, exp.Sub(epoch), ok)
			}
			if ok {
				alive++
			}
		}
		if c.Len() != alive || len(c.byToken) != alive || len(c.events) != alive {
			t.Fatalf("at %v: Len %d, tokens %d, events %d, want %d", step, c.Len(), len(c.byToken), len(c.events), alive)
		}
	}
	c.due(epoch.Add(2*time.Hour).UnixNano(), nil)
	if c.Len() != 0 || len(c.byAOR) != 0 || len(c.events) != 0 {
		t.Errorf("not empty: %d bindings, %d AORs, %d events", c.Len(), len(c.byAOR), len(c.events))
	}
}

func TestCacheRefreshAndRemove(t *testing.T) {
	c := newCache(100, 16)
	b := put(c, "sip:alice@example.com", "c1", "sip:alice@10.0.0.5", "ua", uaPublic, epoch.Add(time.Minute))
	// Refresh: the expiry moves later; the old deadline no longer removes.
	c.mu.Lock()
	b.expires = epoch.Add(3 * time.Minute).UnixNano()
	c.schedule(&b.exp, b.expires)
	c.mu.Unlock()
	if n, _ := c.due(epoch.Add(2*time.Minute).UnixNano(), nil); n != 0 {
		t.Fatal("refreshed binding expired at its old deadline")
	}
	if n, _ := c.due(epoch.Add(3*time.Minute).UnixNano(), nil); n != 1 {
		t.Fatal("binding not expired at its new deadline")
	}
	// Removal unschedules: nothing fires later, and removing twice is safe.
	b = put(c, "sip:alice@example.com", "c1", "sip:alice@10.0.0.5", "ua", uaPublic, epoch.Add(time.Minute))
	c.mu.Lock()
	c.remove(b)
	c.remove(b)
	c.mu.Unlock()
	if c.Len() != 0 || len(c.events) != 0 || len(c.byAOR) != 0 {
		t.Errorf("after remove: %d bindings, %d events, %d AORs", c.Len(), len(c.events), len(c.byAOR))
	}
}

func TestCacheManyContactsPerAOR(t *testing.T) {
	c := newCache(100, 4)
	aor := "sip:bob@example.com"
	var bs []*binding
	for i := range 4 {
		bs = append(bs, put(c, aor, "c"+strconv.Itoa(i%2), "sip:bob@10.0.0."+strconv.Itoa(i+1), "ua",
			netipPort(uaPublic, uint16(40000+i)), epoch.Add(time.Duration(i+1)*time.Minute)))
	}
	got := c.Bindings("sip:bob@EXAMPLE.com")
	if len(got) != 4 {
		t.Fatalf("Bindings = %d", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Expires.After(got[i-1].Expires) {
			t.Errorf("Bindings not newest first: %v after %v", got[i].Expires, got[i-1].Expires)
		}
	}
	if b, ok := c.Lookup(aor); !ok || b.Token != bs[3].token {
		t.Errorf("Lookup(AOR) = %v, want the newest binding", b.Token)
	}
	for _, b := range bs {
		if x, ok := c.Lookup(b.token); !ok || x.Contact != b.contact || x.Source != b.flow.Remote() {
			t.Errorf("Lookup(%s) = %+v", b.token, x)
		}
	}
	c.mu.Lock()
	full := !c.room(c.byAOR[aor], 1)
	c.mu.Unlock()
	if !full {
		t.Error("room for a fifth contact with MaxContactsPerAOR 4")
	}
	// Two sessions (Call-IDs) share the AOR; removing one's bindings keeps
	// the other's session.
	c.mu.Lock()
	c.remove(bs[0])
	c.remove(bs[2])
	e := c.byAOR[aor]
	nSess := len(e.sessions)
	c.mu.Unlock()
	if nSess != 1 {
		t.Errorf("%d sessions after removing c0's bindings, want 1", nSess)
	}
	if _, ok := c.Lookup("sip:nobody@example.com"); ok {
		t.Error("unknown AOR found")
	}
	if _, ok := c.Lookup("not a uri"); ok {
		t.Error("garbage found")
	}
	if len(c.List()) != 2 {
		t.Errorf("List = %d", len(c.List()))
	}
}

func TestCanonicalAOR(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sip:alice@example.com", "sip:alice@example.com"},
		{"sip:alice@EXAMPLE.COM:5060;transport=tcp", "sip:alice@example.com"},
		{"SIPS:alice@example.com", "sips:alice@example.com"},
		{"sip:example.com", "sip:example.com"},
	} {
		if got, err := CanonicalAOR(tc.in); err != nil || got != tc.want {
			t.Errorf("CanonicalAOR(%q) = %q, %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{"tel:+4930123", "mailto:a@b", "garbage"} {
		if got, err := CanonicalAOR(bad); err == nil {
			t.Errorf("CanonicalAOR(%q) = %q, want error", bad, got)
		}
	}
}

func TestDetectAllocs(t *testing.T) {
	msg := mustParse(t, "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1\r\n"+
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n"+
		"Contact: <sip:a@10.0.0.5:5060>;expires=60\r\nContent-Length: 0\r\n\r\n")
	sdp := []netip.Addr{netip.MustParseAddr("10.0.0.5")}
	n := testing.AllocsPerRun(100, func() { Detect(msg, uaPublic, true, sdp...) })
	if n > 0 {
		t.Errorf("Detect allocates %.0f times per call", n)
	}
}

const benchN = 100_000

// BenchmarkCache100k measures the registration cache at 100,000 bindings:
// heap bytes per binding (runtime.MemStats around filling it) and lookup
// by token and by AOR, against a plain map lookup as the baseline.
func BenchmarkCache100k(b *testing.B) {
	aors := make([]string, benchN)
	contacts := make([]string, benchN)
	callIDs := make([]string, benchN)
	for i := range aors {
		aors[i] = fmt.Sprintf("sip:+4930%07d@voip.example.com", i)
		contacts[i] = fmt.Sprintf("sip:+4930%07d@10.%d.%d.%d:5060;transport=udp", i, i>>16&255, i>>8&255, i&255)
		callIDs[i] = transport.RandomToken(32) // a typical UA Call-ID length
	}
	// PseudoFlow allocates a listener per flow; the real transport shares
	// one per socket, so the flows are made before the measurement.
	flows := make([]transport.Flow, benchN)
	for i := range flows {
		flows[i] = transport.PseudoFlow(transport.UDP, "outside", sbcOutside,
			netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), uint16(1024+i%60000)))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := newCache(1<<20, 16)
	tokens := make([]string, benchN)
	for i := range aors {
		bd := putFlow(c, aors[i], callIDs[i], contacts[i], "Yealink SIP-T46S 66.86.0.15", flows[i],
			epoch.Add(time.Duration(60+i%3600)*time.Second))
		c.mu.Lock()
		c.schedule(&bd.ka, epoch.Add(20*time.Second).UnixNano())
		c.mu.Unlock()
		tokens[i] = bd.token
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	tokenSlice := float64(benchN * 16) // the tokens slice of this benchmark
	perBinding := (float64(after.HeapAlloc-before.HeapAlloc) - tokenSlice) / benchN
	// Baseline: a bare map over the same token strings (same key bytes,
	// same memory layout), so the ratio shows the cache's own overhead
	// (read lock, copying the Binding out).
	base := make(map[string]*int, benchN)
	for i := range tokens {
		base[tokens[i]] = new(int)
	}
	b.Run("Memory", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(perBinding, "B/binding")
	})
	b.Run("BaselineMapLookup", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if base[tokens[i]] == nil {
				b.Fatal("missing")
			}
			i = (i + 7919) % benchN
		}
	})
	b.Run("LookupToken", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := c.Lookup(tokens[i]); !ok {
				b.Fatal("missing")
			}
			i = (i + 7919) % benchN
		}
	})
	b.Run("LookupAOR", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := c.Lookup(aors[i]); !ok {
				b.Fatal("missing")
			}
			i = (i + 7919) % benchN
		}
	})
	runtime.KeepAlive(contacts)
	runtime.KeepAlive(callIDs)
	runtime.KeepAlive(flows)
}
