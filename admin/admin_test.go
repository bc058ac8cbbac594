package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fakeCalls struct {
	mu      sync.Mutex
	calls   map[string]CallInfo
	hungUp  []string
	failErr error
}

func (f *fakeCalls) List() []CallInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []CallInfo
	for _, c := range f.calls {
		out = append(out, c)
	}
	return out
}

func (f *fakeCalls) Get(id string) (CallInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[id]
	return c, ok
}

func (f *fakeCalls) Hangup(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failErr != nil {
		return f.failErr
	}
	if _, ok := f.calls[id]; !ok {
		return fmt.Errorf("b2bua: call %s: %w", id, ErrNotFound)
	}
	f.hungUp = append(f.hungUp, id)
	delete(f.calls, id)
	return nil
}

type fakeRegs []RegistrationInfo

func (f fakeRegs) List() []RegistrationInfo { return append([]RegistrationInfo(nil), f...) }

type fakeReloader struct {
	calls int
	fail  bool
}

func (f *fakeReloader) Reload() (string, string, error) {
	f.calls++
	if f.fail {
		return "", "policy.hcl:12,3-9: Unknown trunk; No trunk named \"carier-a\".\n", errors.New("policy: 1 error")
	}
	return "3 trunks, 5 routes, hash 9f2c", "", nil
}

type fakeDrainer struct {
	drained bool
	health  *Health
}

func (f *fakeDrainer) Drain() (int, error) {
	f.drained = true
	f.health.Status = StatusDraining
	return 2, nil
}

type fakeHealth struct{ h *Health }

func (f fakeHealth) Health() Health { return *f.h }

type fixture struct {
	srv      *Server
	ts       *httptest.Server
	calls    *fakeCalls
	reloader *fakeReloader
	drainer  *fakeDrainer
	client   *Client
}

func sampleCalls() map[string]CallInfo {
	return map[string]CallInfo{
		"c2": {ID: "c2", State: "ringing", InTrunk: "pbx", OutTrunk: "carrier-b", Start: t0.Add(-5 * time.Second)},
		"c1": {ID: "c1", State: "answered", From: "+4930123", To: "+4930456", InTrunk: "carrier-a", OutTrunk: "pbx",
			Start: t0.Add(-90 * time.Second), Answered: t0.Add(-80 * time.Second),
			Legs: []LegInfo{
				{Side: "a", Trunk: "carrier-a", CallID: "a-leg@carrier", LocalTag: "sbc1", RemoteTag: "ca1", Transport: "udp",
					Local: "192.0.2.1:5060", Remote: "198.51.100.7:5060",
					Media: []MediaInfo{{Kind: "audio", Interface: "outside", Local: "192.0.2.1:40000", Remote: "198.51.100.7:20000",
						Codec: "PCMA/8000", PacketsIn: 4000, PacketsOut: 3998, BytesIn: 688000, BytesOut: 687656, PacketsLost: 3, JitterMs: 2.5}}},
				{Side: "b", Trunk: "pbx", CallID: "b-leg@sbc", Transport: "tcp", Local: "10.0.0.1:5060", Remote: "10.0.0.9:5060"},
			}},
	}
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	h := &Health{Status: StatusOK, Version: "v1.0.0", ActiveCalls: 2, PolicyHash: "9f2c"}
	f := &fixture{calls: &fakeCalls{calls: sampleCalls()}, reloader: &fakeReloader{}, drainer: &fakeDrainer{health: h}}
	var err error
	f.srv, err = New(Config{
		Token:   token,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "sbc_calls_active 2\n") }),
		Calls:   f.calls,
		Registrations: fakeRegs{
			{AOR: "sip:bob@example.com", Contact: "sip:bob@10.1.1.5:5060", Source: "203.0.113.9:40123", Transport: "udp", NAT: true, Expires: t0.Add(300 * time.Second)},
			{AOR: "sip:alice@example.com", Contact: "sip:alice@192.0.2.50:5060", Source: "192.0.2.50:5060", Transport: "tls", Expires: t0.Add(-time.Second)},
		},
		Reloader: f.reloader,
		Drainer:  f.drainer,
		Health:   fakeHealth{h},
		Now:      func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	f.client, err = NewClient(f.ts.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) request(t *testing.T, method, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, f.ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestEndpoints(t *testing.T) {
	f := newFixture(t, "")
	type row struct {
		method, path string
		status       int
		contains     []string
	}
	rows := []row{
		{"GET", "/metrics", 200, []string{"sbc_calls_active 2"}},
		{"GET", "/api/calls", 200, []string{`"id": "c1"`, `"age_seconds": 90`, `"legs": []`, `"codec": "PCMA/8000"`, `"packets_lost": 3`, `"answered": "2026-11-25T09:58:40Z"`}},
		{"GET", "/api/calls?trunk=carrier-b", 200, []string{`"id": "c2"`}},
		{"GET", "/api/calls/c1", 200, []string{`"call_id": "a-leg@carrier"`, `"remote": "198.51.100.7:5060"`, `"jitter_ms": 2.5`}},
		{"GET", "/api/calls/nope", 404, []string{`"error": "no call nope"`}},
		{"GET", "/api/registrations", 200, []string{`"aor": "sip:alice@example.com"`, `"expires_in_seconds": 300`, `"expires_in_seconds": 0`, `"nat": true`}},
		{"GET", "/api/health", 200, []string{`"status": "ok"`, `"policy_hash": "9f2c"`}},
		{"GET", "/api/nothing", 404, []string{"no such endpoint"}},
		{"POST", "/api/calls", 405, nil},
		{"GET", "/api/reload", 405, nil},
		{"PUT", "/api/calls/c1", 405, []string{"PUT not allowed"}},
		{"GET", "/api/calls/c1/hangup", 405, nil},
	}
	for _, r := range rows {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			resp, body := f.request(t, r.method, r.path, "")
			if resp.StatusCode != r.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, r.status, body)
			}
			for _, c := range r.contains {
				if !bytes.Contains(body, []byte(c)) {
					t.Errorf("body lacks %s:\n%s", c, body)
				}
			}
			if r.status == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if strings.HasPrefix(r.path, "/api/") && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
	// The list is oldest first and filtered by trunk.
	_, body := f.request(t, "GET", "/api/calls", "")
	var calls []CallInfo
	if err := json.Unmarshal(body, &calls); err != nil || len(calls) != 2 || calls[0].ID != "c1" || calls[1].ID != "c2" {
		t.Fatalf("calls %v %+v", err, calls)
	}
	if len(calls[0].Legs) != 2 || calls[0].Legs[0].Media[0].BytesOut != 687656 {
		t.Errorf("legs not carried: %+v", calls[0].Legs)
	}
	_, body = f.request(t, "GET", "/api/calls?trunk=carrier-b", "")
	if err := json.Unmarshal(body, &calls); err != nil || len(calls) != 1 || calls[0].ID != "c2" {
		t.Fatalf("filtered calls %+v", calls)
	}
	_, body = f.request(t, "GET", "/api/calls?trunk=none", "")
	if strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("empty list encoded as %s", body)
	}
}

func TestHangup(t *testing.T) {
	f := newFixture(t, "")
	resp, body := f.request(t, "DELETE", "/api/calls/c1", "")
	if resp.StatusCode != 202 || !bytes.Contains(body, []byte(`"hangup": true`)) {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	resp, _ = f.request(t, "POST", "/api/calls/c2/hangup", "")
	if resp.StatusCode != 202 {
		t.Fatalf("POST hangup: %d", resp.StatusCode)
	}
	if fmt.Sprint(f.calls.hungUp) != "[c1 c2]" {
		t.Fatalf("fake hung up %v", f.calls.hungUp)
	}
	resp, _ = f.request(t, "DELETE", "/api/calls/c1", "")
	if resp.StatusCode != 404 {
		t.Errorf("second hangup: %d, want 404", resp.StatusCode)
	}
	f.calls.failErr = errors.New("b2bua: transport down")
	resp, body = f.request(t, "POST", "/api/calls/x/hangup", "")
	if resp.StatusCode != 500 || !bytes.Contains(body, []byte("transport down")) {
		t.Errorf("failing hangup: %d %s", resp.StatusCode, body)
	}
}

func TestReloadAndDrain(t *testing.T) {
	f := newFixture(t, "")
	resp, body := f.request(t, "POST", "/api/reload", "")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"summary": "3 trunks, 5 routes, hash 9f2c"`)) {
		t.Fatalf("reload: %d %s", resp.StatusCode, body)
	}
	f.reloader.fail = true
	resp, body = f.request(t, "POST", "/api/reload", "")
	var rr ReloadResult
	if err := json.Unmarshal(body, &rr); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 422 || rr.OK || rr.Error != "policy: 1 error" || !strings.Contains(rr.Diagnostics, "policy.hcl:12,3-9: Unknown trunk") {
		t.Fatalf("failed reload: %d %+v", resp.StatusCode, rr)
	}
	if f.reloader.calls != 2 {
		t.Errorf("reloader called %d times", f.reloader.calls)
	}
	// The same failure as text for curl users.
	req, _ := http.NewRequest("POST", f.ts.URL+"/api/reload", nil)
	req.Header.Set("Accept", "text/plain")
	tresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(tresp.Body)
	tresp.Body.Close()
	if tresp.StatusCode != 422 || string(text) != "reload failed: policy: 1 error\npolicy.hcl:12,3-9: Unknown trunk; No trunk named \"carier-a\".\n" {
		t.Errorf("text reload: %d %q", tresp.StatusCode, text)
	}
	resp, body = f.request(t, "POST", "/api/drain", "")
	if resp.StatusCode != 202 || !f.drainer.drained || !bytes.Contains(body, []byte(`"active_calls": 2`)) {
		t.Fatalf("drain: %d %s", resp.StatusCode, body)
	}
	resp, body = f.request(t, "GET", "/api/health", "")
	if resp.StatusCode != 503 || !bytes.Contains(body, []byte(`"status": "draining"`)) {
		t.Fatalf("health while draining: %d %s", resp.StatusCode, body)
	}
}

func TestAuth(t *testing.T) {
	const tok = "correct-horse-battery"
	f := newFixture(t, tok)
	for _, path := range []string{"/metrics", "/api/calls", "/api/calls/c1", "/api/health", "/api/nothing"} {
		for _, hdr := range []string{"", "Bearer wrong", "Basic " + tok, "Bearer", "Bearer " + tok + "x", tok} {
			resp, body := f.request(t, "GET", path, hdr)
			if resp.StatusCode != 401 {
				t.Errorf("%s with %q: %d", path, hdr, resp.StatusCode)
				continue
			}
			ch := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, `Bearer realm="sbc"`) {
				t.Errorf("%s with %q: challenge %q", path, hdr, ch)
			}
			if strings.HasPrefix(hdr, "Bearer ") && !strings.Contains(ch, `error="invalid_token"`) {
				t.Errorf("wrong token without invalid_token: %q", ch)
			}
			if bytes.Contains(body, []byte("c1")) || bytes.Contains(body, []byte("sbc_calls")) {
				t.Errorf("%s leaked data without auth: %s", path, body)
			}
		}
		for _, hdr := range []string{"Bearer " + tok, "bearer " + tok, "BEARER  " + tok + " "} {
			if resp, _ := f.request(t, "GET", path, hdr); resp.StatusCode == 401 {
				t.Errorf("%s with %q refused", path, hdr)
			}
		}
	}
	// Mutations are refused without the token and leave state alone.
	if resp, _ := f.request(t, "DELETE", "/api/calls/c1", "Bearer nope"); resp.StatusCode != 401 || len(f.calls.hungUp) != 0 {
		t.Fatal("hangup without token")
	}
	if resp, _ := f.request(t, "POST", "/api/reload", ""); resp.StatusCode != 401 || f.reloader.calls != 0 {
		t.Fatal("reload without token")
	}
}

func TestClient(t *testing.T) {
	const tok = "s3cret"
	f := newFixture(t, tok)
	ctx := context.Background()
	c := f.client

	calls, err := c.Calls(ctx)
	if err != nil || len(calls) != 2 || calls[0].ID != "c1" || calls[0].AgeSeconds != 90 || !calls[0].Answered.Equal(t0.Add(-80*time.Second)) {
		t.Fatalf("Calls: %v %+v", err, calls)
	}
	call, err := c.Call(ctx, "c1")
	if err != nil || call.Legs[0].Media[0].PacketsIn != 4000 {
		t.Fatalf("Call: %v %+v", err, call)
	}
	if _, err := c.Call(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Call(missing): %v", err)
	}
	if _, err := c.Call(ctx, "a/b?c"); !errors.Is(err, ErrNotFound) { // escaped, reaches the handler as one id
		t.Fatalf("Call(a/b?c): %v", err)
	}
	regs, err := c.Registrations(ctx)
	if err != nil || len(regs) != 2 || regs[0].AOR != "sip:alice@example.com" || !regs[1].NAT {
		t.Fatalf("Registrations: %v %+v", err, regs)
	}
	if err := c.Hangup(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	if err := c.Hangup(ctx, "c2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Hangup: %v", err)
	}
	if fmt.Sprint(f.calls.hungUp) != "[c2]" {
		t.Fatalf("hung up %v", f.calls.hungUp)
	}
	rr, err := c.Reload(ctx)
	if err != nil || !rr.OK || rr.Summary == "" {
		t.Fatalf("Reload: %v %+v", err, rr)
	}
	f.reloader.fail = true
	_, err = c.Reload(ctx)
	var re *ReloadError
	if !errors.As(err, &re) || !errors.Is(err, ErrReloadFailed) || !strings.Contains(re.Diagnostics, "policy.hcl:12") {
		t.Fatalf("failing Reload: %v", err)
	}
	h, err := c.Health(ctx)
	if err != nil || h.Status != StatusOK || h.Version != "v1.0.0" {
		t.Fatalf("Health: %v %+v", err, h)
	}
	dr, err := c.Drain(ctx)
	if err != nil || !dr.Draining || dr.ActiveCalls != 2 {
		t.Fatalf("Drain: %v %+v", err, dr)
	}
	h, err = c.Health(ctx)
	if !errors.Is(err, ErrUnavailable) || h.Status != StatusDraining {
		t.Fatalf("Health while draining: %v %+v", err, h)
	}

	bad, _ := NewClient(f.ts.URL, "wrong", nil)
	if _, err := bad.Calls(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	var sb strings.Builder
	if err := WriteCalls(&sb, calls); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "c1") || !strings.Contains(lines[1], "1m30s") || !strings.Contains(lines[1], "4000/3998") ||
		!strings.Contains(lines[2], "carrier-b") {
		t.Fatalf("table:\n%s", sb.String())
	}
}

func TestNewClientURLs(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"127.0.0.1:9060", true},
		{"http://[::1]:9060", true},
		{"https://sbc.example:9443/", true},
		{"ftp://x", false},
		{"http://", false},
	} {
		if _, err := NewClient(tc.in, "", nil); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.in, err)
		}
	}
}

func TestUnwiredSources(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, p := range []struct{ method, path string }{
		{"GET", "/metrics"}, {"GET", "/api/calls"}, {"GET", "/api/calls/x"}, {"DELETE", "/api/calls/x"},
		{"GET", "/api/registrations"}, {"POST", "/api/reload"}, {"POST", "/api/drain"},
	} {
		req, _ := http.NewRequest(p.method, ts.URL+p.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Errorf("%s %s: %d, want 503", p.method, p.path, resp.StatusCode)
		}
	}
	resp, err := http.Get(ts.URL + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("health: %d", resp.StatusCode)
	}
}

func TestBindPolicy(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		insecure    bool
		ok          bool
	}{
		{"", "", false, true},
		{"127.0.0.1:9060", "", false, true},
		{"[::1]:9060", "", false, true},
		{"localhost:9060", "", false, true},
		{"0.0.0.0:9060", "", false, false},
		{":9060", "", false, false},
		{"192.0.2.1:9060", "", false, false},
		{"192.0.2.1:9060", "tok", false, true},
		{"0.0.0.0:9060", "", true, true},
	} {
		_, err := New(Config{Addr: tc.addr, Token: tc.token, AllowInsecure: tc.insecure})
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInsecureBind)) {
			t.Errorf("%+v: %v", tc, err)
		}
	}
}

// TestStartShutdown runs the real listener on loopback with an in-flight
// request that Shutdown lets finish.
func TestStartShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	s, err := New(Config{Addr: "127.0.0.1:0", Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done\n")
	})})
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != nil {
		t.Fatal("address before Start")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("second Start accepted")
	}
	base := "http://" + s.Addr().String()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned before the request finished: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b := <-got; b != "done\n" {
		t.Fatalf("in-flight request got %q", b)
	}
	if _, err := http.Get(base + "/api/health"); err == nil {
		t.Fatal("listener still open after Shutdown")
	}
	// A second server on a taken port fails at Start, not later.
	ln, _ := New(Config{Addr: "127.0.0.1:0"})
	if err := ln.Start(); err != nil {
		t.Fatal(err)
	}
	defer ln.Shutdown(context.Background())
	dup, _ := New(Config{Addr: ln.Addr().String()})
	if err := dup.Start(); err == nil {
		t.Fatal("bind on a used port succeeded")
	}
}

func TestHealthCountsCallsWithoutChecker(t *testing.T) {
	s, _ := New(Config{Calls: &fakeCalls{calls: sampleCalls()}, Version: "v9"})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	c, _ := NewClient(ts.URL, "", nil)
	h, err := c.Health(context.Background())
	if err != nil || h.ActiveCalls != 2 || h.Version != "v9" || h.Status != StatusOK {
		t.Fatalf("%v %+v", err, h)
	}
}

// TestProfiling: /debug/pprof/ exists only when Profiling is set, and sits
// behind the token like every other endpoint.
func TestProfiling(t *testing.T) {
	for _, on := range []bool{false, true} {
		s, err := New(Config{Profiling: on, Token: "t0k"})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s.Handler())
		get := func(path, token string) int {
			req, _ := http.NewRequest("GET", ts.URL+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		want := 404
		if on {
			want = 200
		}
		for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"} {
			if got := get(p, "t0k"); got != want {
				t.Errorf("profiling=%v GET %s: %d, want %d", on, p, got, want)
			}
			if got := get(p, ""); got != 401 {
				t.Errorf("profiling=%v GET %s without token: %d, want 401", on, p, got)
			}
		}
		ts.Close()
	}
}
