package cdrpost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// endpoint is a CDR collector that answers the first fail requests with
// failStatus (or a dropped connection when failStatus is 0) and then 200.
type endpoint struct {
	mu         sync.Mutex
	fail       int
	failStatus int
	retryAfter string
	hits       int
	bodies     []string
	types      []string
	auth       []string
	gate       chan struct{} // when set, each request waits for it
	entered    chan struct{}
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.entered != nil {
		e.entered <- struct{}{}
	}
	if e.gate != nil {
		select {
		case <-e.gate:
		case <-r.Context().Done():
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.hits++
	failing := e.hits <= e.fail
	if !failing {
		e.bodies = append(e.bodies, string(body))
		e.types = append(e.types, r.Header.Get("Content-Type"))
		e.auth = append(e.auth, r.Header.Get("Authorization"))
	}
	status, ra := e.failStatus, e.retryAfter
	e.mu.Unlock()
	if !failing {
		w.WriteHeader(http.StatusCreated)
		return
	}
	if status == 0 { // connection error: drop the connection without an answer
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	w.WriteHeader(status)
}

func (e *endpoint) snapshot() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hits, slices.Clone(e.bodies)
}

type giveUps struct {
	mu   sync.Mutex
	cdrs []string
	errs []error
}

func (g *giveUps) record(cdr []byte, err error) {
	g.mu.Lock()
	g.cdrs = append(g.cdrs, string(cdr))
	g.errs = append(g.errs, err)
	g.mu.Unlock()
}

func fastOpts(g *giveUps) Options {
	return Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 2 * time.Second,
		MaxAttempts: 5, OnGiveUp: g.record}
}

func closeWithin(t *testing.T, p *Poster, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return p.Close(ctx)
}

func TestRetryThenSucceed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
	}{
		{"503", 503, ""},
		{"500", 500, ""},
		{"429 with Retry-After", 429, "0"},
		{"408", 408, ""},
		{"connection dropped", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := &endpoint{fail: 2, failStatus: tc.status, retryAfter: tc.retryAfter}
			srv := httptest.NewServer(ep)
			defer srv.Close()
			g := &giveUps{}
			opts := fastOpts(g)
			opts.Header = http.Header{"Authorization": {"Bearer k"}}
			p, err := New(srv.URL+"/cdr", opts)
			if err != nil {
				t.Fatal(err)
			}
			cdr := []byte(`{"call_id":"abc","duration":12.5}`)
			if !p.Enqueue(cdr) {
				t.Fatal("Enqueue refused")
			}
			cdr[2] = 'X' // Enqueue copied it
			if err := closeWithin(t, p, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			hits, bodies := ep.snapshot()
			if hits != 3 || len(bodies) != 1 || bodies[0] != `{"call_id":"abc","duration":12.5}` {
				t.Fatalf("hits %d bodies %q", hits, bodies)
			}
			if ep.types[0] != "application/json" || ep.auth[0] != "Bearer k" {
				t.Errorf("headers: %q %q", ep.types[0], ep.auth[0])
			}
			st := p.Stats()
			if st.Delivered != 1 || st.Retries != 2 || st.GivenUp != 0 || len(g.cdrs) != 0 {
				t.Fatalf("stats %+v, given up %q", st, g.cdrs)
			}
		})
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	for _, status := range []int{400, 401, 404, 413, 422} {
		ep := &endpoint{fail: 100, failStatus: status}
		srv := httptest.NewServer(ep)
		g := &giveUps{}
		p, _ := New(srv.URL, fastOpts(g))
		p.Enqueue([]byte(`{"n":1}`))
		if err := closeWithin(t, p, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		hits, _ := ep.snapshot()
		if hits != 1 {
			t.Errorf("%d: %d attempts, want 1", status, hits)
		}
		if len(g.errs) != 1 || !errors.Is(g.errs[0], ErrRejected) || g.cdrs[0] != `{"n":1}` {
			t.Errorf("%d: given up %q %v", status, g.cdrs, g.errs)
		}
		if st := p.Stats(); st.GivenUp != 1 || st.Retries != 0 {
			t.Errorf("%d: stats %+v", status, st)
		}
	}
}

func TestAttemptsExhausted(t *testing.T) {
	ep := &endpoint{fail: 1000, failStatus: 502}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	g := &giveUps{}
	p, _ := New(srv.URL, fastOpts(g))
	p.Enqueue([]byte("x"))
	if err := closeWithin(t, p, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if hits, _ := ep.snapshot(); hits != 5 {
		t.Fatalf("%d attempts, want MaxAttempts=5", hits)
	}
	if len(g.errs) != 1 || !errors.Is(g.errs[0], ErrAttempts) {
		t.Fatalf("given up: %v", g.errs)
	}
}

func TestTimeoutRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // so that the server notices the client leaving
		if n.Add(1) == 1 {
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
				t.Error("client did not time out")
			}
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	g := &giveUps{}
	opts := fastOpts(g)
	opts.Timeout = 100 * time.Millisecond
	p, _ := New(srv.URL, opts)
	p.Enqueue([]byte("x"))
	if err := closeWithin(t, p, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Delivered != 1 || st.Retries != 1 || n.Load() != 2 {
		t.Fatalf("stats %+v after %d requests", st, n.Load())
	}
}

func TestQueueBoundAndDrain(t *testing.T) {
	ep := &endpoint{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	g := &giveUps{}
	opts := fastOpts(g)
	opts.Workers, opts.QueueSize = 1, 3
	p, _ := New(srv.URL, opts)
	if !p.Enqueue([]byte("cdr-0")) {
		t.Fatal("first refused")
	}
	<-ep.entered // the only worker is busy with cdr-0
	for i := 1; i <= 3; i++ {
		if !p.Enqueue(fmt.Appendf(nil, "cdr-%d", i)) {
			t.Fatalf("cdr-%d refused with room in the queue", i)
		}
	}
	if p.Enqueue([]byte("cdr-4")) {
		t.Fatal("Enqueue accepted beyond the bound")
	}
	if st := p.Stats(); st.Dropped != 1 || st.Queued != 3 || st.Enqueued != 4 {
		t.Fatalf("stats %+v", st)
	}
	closed := make(chan error, 1)
	go func() { closed <- closeWithin(t, p, 10*time.Second) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned with CDRs queued: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if p.Enqueue([]byte("late")) {
		t.Error("Enqueue accepted during Close")
	}
	close(ep.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	_, bodies := ep.snapshot()
	if fmt.Sprint(bodies) != "[cdr-0 cdr-1 cdr-2 cdr-3]" {
		t.Fatalf("delivered %v", bodies)
	}
	if st := p.Stats(); st.Delivered != 4 || st.Dropped != 2 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseDrainsMany(t *testing.T) {
	ep := &endpoint{fail: 10, failStatus: 503}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	g := &giveUps{}
	opts := fastOpts(g)
	opts.Workers, opts.QueueSize = 3, 200
	p, _ := New(srv.URL, opts)
	const n = 200
	for i := range n {
		if !p.Enqueue(fmt.Appendf(nil, `{"i":%d}`, i)) {
			t.Fatalf("cdr %d refused", i)
		}
	}
	if err := closeWithin(t, p, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	_, bodies := ep.snapshot()
	slices.Sort(bodies)
	bodies = slices.Compact(bodies)
	if len(bodies) != n || len(g.cdrs) != 0 {
		t.Fatalf("%d distinct CDRs delivered of %d, %d given up", len(bodies), n, len(g.cdrs))
	}
}

func TestCloseDeadlineGivesUpTheRest(t *testing.T) {
	ep := &endpoint{fail: 1 << 30, failStatus: 503}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	g := &giveUps{}
	opts := fastOpts(g)
	opts.MaxAttempts = 1 << 20
	opts.BaseBackoff, opts.MaxBackoff = 20*time.Millisecond, 50*time.Millisecond
	p, _ := New(srv.URL, opts)
	const n = 10
	for i := range n {
		p.Enqueue(fmt.Appendf(nil, "%d", i))
	}
	err := closeWithin(t, p, 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
	// Not one lost: every CDR reached OnGiveUp.
	slices.Sort(g.cdrs)
	if len(g.cdrs) != n || p.Stats().GivenUp != n {
		t.Fatalf("given up %v", g.cdrs)
	}
	for _, e := range g.errs {
		if !errors.Is(e, ErrAborted) {
			t.Fatalf("reason %v", e)
		}
	}
}

func TestBackoff(t *testing.T) {
	base, maxD := 100*time.Millisecond, 2*time.Second
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond,
		3: 400 * time.Millisecond, 5: 1600 * time.Millisecond, 6: 2 * time.Second, 60: 2 * time.Second} {
		lo, hi := Backoff(attempt, base, maxD, 0), Backoff(attempt, base, maxD, 0.999999)
		if lo != want/2 || hi > want || hi < want*99/100 {
			t.Errorf("attempt %d: range [%v, %v], want [%v, %v)", attempt, lo, hi, want/2, want)
		}
	}
	if d := retryAfter("7"); d != 7*time.Second {
		t.Errorf("Retry-After 7: %v", d)
	}
	if d := retryAfter("soon"); d != 0 {
		t.Errorf("Retry-After soon: %v", d)
	}
	if d := retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)); d < 59*time.Minute {
		t.Errorf("Retry-After date: %v", d)
	}
}

func TestNewValidates(t *testing.T) {
	for _, u := range []string{"", "cdr.example/x", "ftp://h/x", "http://", "://x"} {
		if _, err := New(u, Options{}); !errors.Is(err, ErrBadURL) {
			t.Errorf("%q: %v", u, err)
		}
	}
	p, err := New("https://cdr.example/ingest", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := closeWithin(t, p, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := closeWithin(t, p, time.Second); err != nil { // twice is harmless
		t.Fatal(err)
	}
}
