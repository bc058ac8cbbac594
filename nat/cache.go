package nat

import (
	"container/heap"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

// Binding is one registered contact of a user agent, as the B2BUA routes
// calls to it. It is a copy: changing it changes nothing in the cache.
type Binding struct {
	// AOR is the address-of-record in canonical form, "sip:user@host"
	// (RFC 3261 §10.3 step 5).
	AOR string
	// Token is the user part of the Contact the SBC registered for this
	// binding ("sip:<token>@sbc:port"); calls from the core arrive
	// addressed to it.
	Token string
	// Contact is the UA's own Contact URI as it registered it. It is never
	// sent to the core; the B2BUA uses it as the Request-URI toward the UA.
	Contact string
	// Source is where the UA's REGISTER came from: its public address
	// after NAT, where requests to it are sent (RFC 3581 §4).
	Source netip.AddrPort
	// Transport is the transport the UA registered over.
	Transport transport.Transport
	// Flow is the socket or stream connection the REGISTER came on; for
	// TCP and TLS it is the only way back through the NAT (RFC 5626 §5.3).
	Flow transport.Flow
	// Trunk is the access trunk the UA matched.
	Trunk string
	// NAT is the detection verdict of the latest REGISTER.
	NAT bool
	// UserAgent is the UA's User-Agent header.
	UserAgent string
	// Expires is when the binding lapses unless the UA refreshes it.
	Expires time.Time
}

// Info is a binding as the admin API lists it (the fields of
// admin.RegistrationInfo).
type Info struct {
	AOR       string
	Contact   string
	Source    string
	Transport string
	NAT       bool
	UserAgent string
	Expires   time.Time
}

// binding is the cache's record of one contact. Strings are cloned out of
// the parsed message so a binding never pins a whole REGISTER in memory.
type binding struct {
	aor     *aorEntry
	sess    *session
	token   string
	contact string
	ua      string
	trunk   string
	flow    transport.Flow
	expires int64 // unix nanoseconds
	nat     bool
	gone    bool  // removed from the cache; late callbacks ignore it
	fails   uint8 // consecutive keepalive failures
	kaBusy  bool  // a keepalive is in flight
	exp, ka event
}

// session is one registration toward the registrar: the UA's Call-ID for an
// AOR maps to our own Call-ID and CSeq sequence, so the registrar sees the
// RFC 3261 §10.2.4 progression per binding set.
type session struct {
	uaCallID string
	callID   string
	cseq     uint32
	upstream int64 // when the registrar's binding lapses (unix ns), 0: none
	refs     int   // bindings using it
	aor      *aorEntry
	born     int64 // creation (unix ns) while pending, 0 once swept or live
}

type aorEntry struct {
	aor      string
	bindings []*binding
	sessions []*session
}

// event is one entry on the timer heap: a binding's expiry or its next
// keepalive. It is embedded in the binding, so scheduling never allocates.
type event struct {
	at  int64
	idx int32 // heap index, -1 when not scheduled
	ka  bool
	b   *binding
}

type eventHeap []*event

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h eventHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = int32(i), int32(j)
}
func (h *eventHeap) Push(x any) {
	e := x.(*event)
	e.idx = int32(len(*h))
	*h = append(*h, e)
}
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}

// Cache is the registration cache: AOR → bindings, with lookup by AOR and
// by token, bounded in size, expiring on a heap. It is safe for concurrent
// use. It is owned by the process (the Registrar), not by a policy
// generation, so a policy reload keeps every binding.
type Cache struct {
	mu      sync.RWMutex
	byAOR   map[string]*aorEntry
	byToken map[string]*binding
	events  eventHeap
	n       int
	maxB    int
	maxPer  int
	// agents interns User-Agent values: a network has a few dozen phone
	// models, not one per binding. Bounded; beyond it values are cloned.
	agents map[string]string
}

const maxAgents = 4096

// agent returns the interned copy of a User-Agent value; called with mu
// held.
func (c *Cache) agent(ua string) string {
	if s, ok := c.agents[ua]; ok {
		return s
	}
	s := strings.Clone(ua)
	if len(c.agents) < maxAgents {
		c.agents[s] = s
	}
	return s
}

func newCache(maxBindings, maxPerAOR int) *Cache {
	return &Cache{byAOR: make(map[string]*aorEntry), byToken: make(map[string]*binding),
		maxB: maxBindings, maxPer: maxPerAOR, agents: make(map[string]string)}
}

// Len returns the number of bindings.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n
}

// Lookup finds a binding by token (the user part of the Request-URI of a
// call from the core) or, failing that, by AOR (any form ParseURI accepts,
// or already canonical); for an AOR with several bindings it returns the
// one registered or refreshed last.
func (c *Cache) Lookup(key string) (Binding, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if b, ok := c.byToken[key]; ok {
		return b.export(), true
	}
	e, ok := c.byAOR[key]
	if !ok {
		k, err := CanonicalAOR(key)
		if err != nil {
			return Binding{}, false
		}
		if e, ok = c.byAOR[k]; !ok {
			return Binding{}, false
		}
	}
	var best *binding
	for _, b := range e.bindings {
		if best == nil || b.expires > best.expires {
			best = b
		}
	}
	if best == nil {
		return Binding{}, false
	}
	return best.export(), true
}

// LookupURI finds the binding a request from the core is addressed to:
// the Request-URI's user part as a token (the Contact the SBC registered),
// else the Request-URI as an AOR.
func (c *Cache) LookupURI(requestURI string) (Binding, bool) {
	u, err := sip.ParseURI(requestURI)
	if err != nil || !u.IsSIP() {
		return Binding{}, false
	}
	if u.User != "" {
		c.mu.RLock()
		b, ok := c.byToken[u.User]
		var out Binding
		if ok {
			out = b.export()
		}
		c.mu.RUnlock()
		if ok {
			return out, true
		}
	}
	aor, err := canonical(u)
	if err != nil {
		return Binding{}, false
	}
	return c.Lookup(aor)
}

// Bindings returns every binding of an AOR (for parallel or serial forking
// by the B2BUA), newest first.
func (c *Cache) Bindings(aor string) []Binding {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.byAOR[aor]
	if !ok {
		k, err := CanonicalAOR(aor)
		if err != nil {
			return nil
		}
		if e, ok = c.byAOR[k]; !ok {
			return nil
		}
	}
	out := make([]Binding, 0, len(e.bindings))
	for _, b := range e.bindings {
		out = append(out, b.export())
	}
	for i := 1; i < len(out); i++ { // insertion sort: a handful of contacts
		for j := i; j > 0 && out[j].Expires.After(out[j-1].Expires); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// List returns every binding for the admin API, in no particular order.
func (c *Cache) List() []Info {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Info, 0, c.n)
	for _, e := range c.byAOR {
		for _, b := range e.bindings {
			out = append(out, Info{AOR: e.aor, Contact: b.contact, Source: b.flow.Remote().String(),
				Transport: strings.ToLower(b.flow.Transport().String()), NAT: b.nat, UserAgent: b.ua,
				Expires: time.Unix(0, b.expires)})
		}
	}
	return out
}

func (b *binding) export() Binding {
	return Binding{AOR: b.aor.aor, Token: b.token, Contact: b.contact, Source: b.flow.Remote(),
		Transport: b.flow.Transport(), Flow: b.flow, Trunk: b.trunk, NAT: b.nat, UserAgent: b.ua,
		Expires: time.Unix(0, b.expires)}
}

// CanonicalAOR returns the address-of-record of a To URI in the form the
// cache keys it by: scheme (sip or sips, lower case), user and host (lower
// case), without port or parameters (RFC 3261 §10.3 step 5).
func CanonicalAOR(uri string) (string, error) {
	u, err := sip.ParseURI(uri)
	if err != nil {
		return "", err
	}
	return canonical(u)
}

func canonical(u sip.URI) (string, error) {
	if !u.IsSIP() || u.Host == "" {
		return "", ErrBadRegister
	}
	scheme := "sip:"
	if u.IsSIPS() {
		scheme = "sips:"
	}
	if u.User == "" {
		return scheme + strings.ToLower(u.Host), nil
	}
	return scheme + u.User + "@" + strings.ToLower(u.Host), nil
}

// entry returns the AOR's entry, creating it; called with mu held.
func (c *Cache) entry(aor string) *aorEntry {
	e, ok := c.byAOR[aor]
	if !ok {
		e = &aorEntry{aor: strings.Clone(aor)}
		c.byAOR[aor] = e
	}
	return e
}

// find returns the AOR's binding for a UA contact URI; called with mu held.
func (e *aorEntry) find(contact string) *binding {
	for _, b := range e.bindings {
		if b.contact == contact {
			return b
		}
	}
	return nil
}

// dropSession forgets a session; called with mu held.
func (e *aorEntry) dropSession(s *session) {
	for i, x := range e.sessions {
		if x == s {
			last := len(e.sessions) - 1
			e.sessions[i] = e.sessions[last]
			e.sessions[last] = nil
			e.sessions = e.sessions[:last]
			return
		}
	}
}

// sessionFor returns the session for the UA's Call-ID, creating one;
// called with mu held.
func (e *aorEntry) sessionFor(uaCallID string) *session {
	for _, s := range e.sessions {
		if s.uaCallID == uaCallID {
			return s
		}
	}
	s := &session{uaCallID: strings.Clone(uaCallID), callID: transport.RandomToken(24)}
	e.sessions = append(e.sessions, s)
	return s
}

// room reports whether n more bindings fit for the AOR entry e (nil: new).
func (c *Cache) room(e *aorEntry, n int) bool {
	if c.n+n > c.maxB {
		return false
	}
	have := 0
	if e != nil {
		have = len(e.bindings)
	}
	return have+n <= c.maxPer
}

// remove deletes a binding and, with its last binding, its session and
// AOR entry; called with mu held.
func (c *Cache) remove(b *binding) {
	if b.gone {
		return
	}
	b.gone = true
	c.unschedule(&b.exp)
	c.unschedule(&b.ka)
	delete(c.byToken, b.token)
	c.n--
	e := b.aor
	for i, x := range e.bindings {
		if x == b {
			last := len(e.bindings) - 1
			e.bindings[i] = e.bindings[last]
			e.bindings[last] = nil
			e.bindings = e.bindings[:last]
			break
		}
	}
	if s := b.sess; s != nil {
		s.refs--
		if s.refs == 0 {
			e.dropSession(s)
		}
	}
	if len(e.bindings) == 0 && len(e.sessions) == 0 {
		delete(c.byAOR, e.aor)
	}
}

// schedule (re)arms an event; called with mu held.
func (c *Cache) schedule(ev *event, at int64) {
	ev.at = at
	if ev.idx >= 0 {
		heap.Fix(&c.events, int(ev.idx))
		return
	}
	heap.Push(&c.events, ev)
}

// unschedule disarms an event; called with mu held.
func (c *Cache) unschedule(ev *event) {
	if ev.idx >= 0 {
		heap.Remove(&c.events, int(ev.idx))
	}
}

// due pops the events due at now: expired bindings are removed (their
// count returned), due keepalives are returned for sending outside the lock.
func (c *Cache) due(now int64, kas []*binding) (expired int, out []*binding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.events) > 0 && c.events[0].at <= now {
		ev := heap.Pop(&c.events).(*event)
		b := ev.b
		if !ev.ka {
			// RFC 3261 §10.3 step 7: a binding whose expiry passed is
			// removed.
			c.remove(b)
			expired++
			continue
		}
		if b.kaBusy {
			continue // the previous keepalive has not ended; its end reschedules
		}
		b.kaBusy = true
		kas = append(kas, b)
	}
	return expired, kas
}
