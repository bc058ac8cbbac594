package metrics

import (
	"errors"
	"fmt"
	"github.com/sbc-project/sbc/internal/testenv"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(t *testing.T) (*Metrics, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	return New(Options{Version: "1.2.3", Now: clk.now, NoRuntimeCollectors: true}), clk
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCallMetricsScrape(t *testing.T) {
	m, _ := newTest(t)
	for range 3 {
		m.CallAttempted("carrier-a")
	}
	m.CallAnswered("carrier-a", 40*time.Millisecond)
	m.CallAnswered("carrier-a", 3*time.Second)
	m.CallFailed("carrier-a", 486)
	m.CallEnded("carrier-a")
	m.CallAttempted("")
	m.CallFailed("", 403)
	m.CallAttempted("carrier-b")
	m.CallFailed("carrier-b", 200) // not a failure class: bounded as "other"
	m.RetransmissionSent()
	m.RetransmissionSent()
	m.RetransmissionReceived()
	m.ParseError("udp")
	m.ParseError("sctp")
	m.Rejected(RejectACL)
	m.Rejected(RejectACL)
	m.Rejected(RejectLoop)

	body := scrape(t, m.Handler())
	want := []string{
		`# HELP sbc_calls_attempted_total Call attempts`,
		`# TYPE sbc_calls_attempted_total counter`,
		`sbc_calls_attempted_total{trunk="carrier-a"} 3`,
		`sbc_calls_attempted_total{trunk="unknown"} 1`,
		`sbc_calls_answered_total{trunk="carrier-a"} 2`,
		`sbc_calls_active{trunk="carrier-a"} 1`,
		`sbc_calls_active{trunk="unknown"} 0`,
		`sbc_calls_active{trunk="carrier-b"} 0`,
		`sbc_calls_failed_total{code="486",trunk="carrier-a"} 1`,
		`sbc_calls_failed_total{code="403",trunk="unknown"} 1`,
		`sbc_calls_failed_total{code="other",trunk="carrier-b"} 1`,
		`# TYPE sbc_call_setup_seconds histogram`,
		`sbc_call_setup_seconds_bucket{trunk="carrier-a",le="0.005"} 0`,
		`sbc_call_setup_seconds_bucket{trunk="carrier-a",le="0.05"} 1`,
		`sbc_call_setup_seconds_bucket{trunk="carrier-a",le="2.5"} 1`,
		`sbc_call_setup_seconds_bucket{trunk="carrier-a",le="5"} 2`,
		`sbc_call_setup_seconds_bucket{trunk="carrier-a",le="10"} 2`,
		`sbc_call_setup_seconds_bucket{trunk="carrier-a",le="+Inf"} 2`,
		`sbc_call_setup_seconds_sum{trunk="carrier-a"} 3.04`,
		`sbc_call_setup_seconds_count{trunk="carrier-a"} 2`,
		`sbc_sip_retransmissions_total{direction="sent"} 2`,
		`sbc_sip_retransmissions_total{direction="received"} 1`,
		`sbc_sip_parse_errors_total{transport="udp"} 1`,
		`sbc_sip_parse_errors_total{transport="other"} 1`,
		`sbc_sip_rejected_messages_total{reason="acl"} 2`,
		`sbc_sip_rejected_messages_total{reason="loop"} 1`,
		`sbc_build_info{version="1.2.3"} 1`,
	}
	for _, w := range want {
		if !strings.HasPrefix(w, "#") {
			w += "\n" // a whole value, not a prefix of a longer one
		}
		if !strings.Contains(body, w) {
			t.Errorf("scrape lacks %q", w)
		}
	}
	if strings.Contains(body, `trunk=""`) {
		t.Error("empty trunk label exported")
	}
	// Providers not installed: their metrics are absent rather than zero.
	for _, absent := range []string{"sbc_sip_transactions_active", "sbc_registrations_cached", "sbc_media_sessions_active", "sbc_relay_cpu_seconds_total"} {
		if strings.Contains(body, absent+" ") || strings.Contains(body, absent+"{") {
			t.Errorf("%s exported without a provider", absent)
		}
	}
}

func TestLint(t *testing.T) {
	m := New(Options{Version: "test"})
	m.CallAttempted("t")
	m.CallAnswered("t", time.Second)
	m.CallFailed("t", 503)
	m.ParseError("tcp")
	m.Rejected(RejectNoRoute)
	m.MediaStreamEnded("outside", 5*time.Millisecond, 0.01)
	m.SetTransactionsActive(func() float64 { return 1 })
	m.SetRegistrationsCached(func() float64 { return 2 })
	m.SetMediaStats(func(dst []InterfaceStats) []InterfaceStats {
		return append(dst, InterfaceStats{Name: "outside", Sessions: 1})
	})
	m.SetRelayCPU(func(dst []float64) []float64 { return append(dst, 0.5) })
	m.PolicyLoaded("abc")
	if err := m.AddCounterFunc("sbc_capture_dropped_total", "Capture records dropped.", func() float64 { return 0 }); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	// Each sbc_ metric family is present once the API has been used.
	n, err := testutil.GatherAndCount(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Errorf("only %d series gathered, runtime collectors missing?", n)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total"} {
		if c, _ := testutil.GatherAndCount(m.Registry(), name); c != 1 {
			t.Errorf("%s: %d series, want 1", name, c)
		}
	}
}

func TestCallsPerSecondWindow(t *testing.T) {
	m, clk := newTest(t)
	rate := func() string {
		body := scrape(t, m.Handler())
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "sbc_calls_per_second ") {
				return strings.TrimPrefix(l, "sbc_calls_per_second ")
			}
		}
		t.Fatal("sbc_calls_per_second missing")
		return ""
	}
	if got := rate(); got != "0" {
		t.Fatalf("idle rate %s", got)
	}
	tr := m.Trunk("a")
	for range 7 {
		tr.Attempted()
	}
	if got := rate(); got != "0" { // the current second is not complete yet
		t.Fatalf("rate during first second %s, want 0", got)
	}
	clk.add(time.Second)
	tr.Attempted()
	if got := rate(); got != "7" {
		t.Fatalf("rate after one second %s, want 7", got)
	}
	clk.add(time.Second)
	if got := rate(); got != "1" {
		t.Fatalf("rate after two seconds %s, want 1", got)
	}
	clk.add(5 * time.Second)
	if got := rate(); got != "0" {
		t.Fatalf("rate after idle gap %s, want 0", got)
	}
	if got := testutil.ToFloat64(m.callsAttempted); got != 8 {
		t.Fatalf("attempted counter %v", got)
	}
}

func TestProviders(t *testing.T) {
	m, _ := newTest(t)
	m.SetTransactionsActive(func() float64 { return 17 })
	m.SetRegistrationsCached(func() float64 { return 1234 })
	m.SetMediaStats(func(dst []InterfaceStats) []InterfaceStats {
		return append(dst,
			InterfaceStats{Name: "inside", Sessions: 3, PortsInUse: 12, PortsTotal: 1000, PacketsIn: 500, PacketsOut: 498, BytesIn: 86000, BytesOut: 85656, PacketsLost: 2, Jitter: 0.004},
			InterfaceStats{Name: "outside", Sessions: 3, PortsInUse: 12, PortsTotal: 2000})
	})
	m.SetRelayCPU(func(dst []float64) []float64 { return append(dst, 1.5, 2.25) })
	m.MediaStreamEnded("inside", 12*time.Millisecond, 0.03)
	body := scrape(t, m.Handler())
	for _, w := range []string{
		"sbc_sip_transactions_active 17\n",
		"sbc_registrations_cached 1234\n",
		`sbc_media_sessions_active{interface="inside"} 3` + "\n",
		`sbc_media_ports_in_use{interface="outside"} 12` + "\n",
		`sbc_media_ports_capacity{interface="outside"} 2000` + "\n",
		`sbc_media_packets_total{direction="in",interface="inside"} 500` + "\n",
		`sbc_media_packets_total{direction="out",interface="inside"} 498` + "\n",
		`sbc_media_bytes_total{direction="out",interface="inside"} 85656` + "\n",
		`sbc_media_packets_lost_total{interface="inside"} 2` + "\n",
		`sbc_media_jitter_seconds{interface="inside"} 0.004` + "\n",
		`sbc_relay_cpu_seconds_total{worker="0"} 1.5` + "\n",
		`sbc_relay_cpu_seconds_total{worker="1"} 2.25` + "\n",
		`sbc_media_stream_jitter_seconds_bucket{interface="inside",le="0.01"} 0` + "\n",
		`sbc_media_stream_jitter_seconds_bucket{interface="inside",le="0.02"} 1` + "\n",
		`sbc_media_stream_loss_ratio_bucket{interface="inside",le="0.02"} 0` + "\n",
		`sbc_media_stream_loss_ratio_bucket{interface="inside",le="0.05"} 1` + "\n",
		"# TYPE sbc_media_packets_total counter\n",
		"# TYPE sbc_media_sessions_active gauge\n",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("scrape lacks %q", w)
		}
	}
	m.SetTransactionsActive(nil)
	if strings.Contains(scrape(t, m.Handler()), "sbc_sip_transactions_active ") {
		t.Error("provider removed but metric still exported")
	}
}

func TestPolicyInfo(t *testing.T) {
	m, clk := newTest(t)
	m.PolicyLoaded("aaaa")
	clk.add(10 * time.Second)
	m.PolicyReloaded(false, "bbbb")
	body := scrape(t, m.Handler())
	for _, w := range []string{
		`sbc_policy_info{hash="aaaa"} 1`,
		`sbc_policy_reloads_total{result="failed"} 1`,
		`sbc_policy_reloads_total{result="ok"} 0`,
		`sbc_policy_last_load_success_timestamp_seconds 1.7e+09`,
	} {
		if !strings.Contains(body, w+"\n") {
			t.Errorf("after failed reload, scrape lacks %q", w)
		}
	}
	if strings.Contains(body, "bbbb") {
		t.Error("failed policy's hash exported")
	}
	m.PolicyReloaded(true, "cccc")
	body = scrape(t, m.Handler())
	if !strings.Contains(body, `sbc_policy_info{hash="cccc"} 1`+"\n") || strings.Contains(body, `hash="aaaa"`) {
		t.Errorf("info after reload:\n%s", grep(body, "sbc_policy_info"))
	}
	if !strings.Contains(body, `sbc_policy_reloads_total{result="ok"} 1`+"\n") {
		t.Error("ok reload not counted")
	}
	if !strings.Contains(body, "sbc_policy_last_load_success_timestamp_seconds 1.70000001e+09\n") {
		t.Errorf("timestamp: %s", grep(body, "sbc_policy_last_load"))
	}
}

func grep(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestAddFuncNames(t *testing.T) {
	m, _ := newTest(t)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"sbc_cdr_queue_length", true},
		{"cdr_queue_length", false},
		{"sbc_bad-name", false},
		{"sbc_calls_active", false}, // collides with a built-in metric
	} {
		err := m.AddGaugeFunc(tc.name, "help", func() float64 { return 1 })
		if (err == nil) != tc.ok {
			t.Errorf("%s: err=%v, want ok=%v", tc.name, err, tc.ok)
		}
		if !tc.ok && strings.HasPrefix(tc.name, "sbc_") && !strings.Contains(tc.name, "-") && errors.Is(err, ErrBadName) {
			t.Errorf("%s: collision reported as bad name", tc.name)
		}
	}
	if !strings.Contains(scrape(t, m.Handler()), "sbc_cdr_queue_length 1\n") {
		t.Error("added gauge not exported")
	}
}

func TestHotPathAllocs(t *testing.T) {
	m, _ := newTest(t)
	tr := m.Trunk("carrier-a")
	m.CallFailed("carrier-a", 503)
	m.ParseError("udp")
	m.Rejected(RejectRateLimit)
	allocs := testing.AllocsPerRun(200, func() {
		m.CallAttempted("carrier-a")
		m.CallAnswered("carrier-a", time.Millisecond)
		m.CallFailed("carrier-a", 503)
		tr.Attempted()
		tr.Ended()
		m.RetransmissionSent()
		m.ParseError("udp")
		m.Rejected(RejectRateLimit)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call-path round, want 0", allocs)
	}
}

func BenchmarkCallAttemptedByName(b *testing.B) {
	m := New(Options{NoRuntimeCollectors: true})
	b.ReportAllocs()
	for b.Loop() {
		m.CallAttempted("carrier-a")
	}
}

func BenchmarkCallAttemptedHandle(b *testing.B) {
	m := New(Options{NoRuntimeCollectors: true})
	tr := m.Trunk("carrier-a")
	b.ReportAllocs()
	for b.Loop() {
		tr.Attempted()
	}
}

func TestThreadCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, err := ThreadCPU()
	if err != nil {
		testenv.Missing(t, "a thread CPU clock: "+err.Error())
	}
	x := uint64(1)
	var now time.Duration
	for i := 0; i < 1e9; i++ { // bounded: stop as soon as the clock moved
		x = x*6364136223846793005 + 1442695040888963407
		if i%1e5 == 0 {
			if now, _ = ThreadCPU(); now > start {
				break
			}
		}
	}
	if now <= start {
		t.Fatalf("thread CPU clock did not advance: %v -> %v (%d)", start, now, x)
	}
}

func TestComponentStats(t *testing.T) {
	m, _ := newTest(t)
	m.SetCaptureStats(func(dst []CaptureSinkStats) []CaptureSinkStats {
		return append(dst, CaptureSinkStats{Name: "pcap", Written: 10, Dropped: 2}, CaptureSinkStats{Name: "hep", Written: 12, Errors: 1})
	})
	m.SetCDRPostStats(func() CDRPostStats { return CDRPostStats{Delivered: 7, Dropped: 1, GivenUp: 2, Retries: 5, Queued: 3} })
	body := scrape(t, m.Handler())
	for _, w := range []string{
		`sbc_capture_packets_total{result="written",sink="pcap"} 10`,
		`sbc_capture_packets_total{result="dropped",sink="pcap"} 2`,
		`sbc_capture_packets_total{result="error",sink="hep"} 1`,
		`sbc_cdr_posts_total{result="delivered"} 7`,
		`sbc_cdr_posts_total{result="given_up"} 2`,
		`sbc_cdr_post_retries_total 5`,
		`sbc_cdr_post_queue_length 3`,
	} {
		if !strings.Contains(body, w+"\n") {
			t.Errorf("scrape lacks %q", w)
		}
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
}

// BenchmarkBaselineCounterInc is the floor for the call-path benchmarks: one
// resolved prometheus counter increment.
func BenchmarkBaselineCounterInc(b *testing.B) {
	m := New(Options{NoRuntimeCollectors: true})
	c := m.callsAttempted.WithLabelValues("carrier-a")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkScrape(b *testing.B) {
	m := New(Options{NoRuntimeCollectors: true})
	for i := range 50 {
		tr := fmt.Sprintf("trunk-%d", i)
		m.CallAttempted(tr)
		m.CallAnswered(tr, 100*time.Millisecond)
		m.CallFailed(tr, 486)
	}
	h := m.Handler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}

func TestCallsPerSecondConcurrent(t *testing.T) {
	m, clk := newTest(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := m.Trunk(fmt.Sprint("t", g%2))
			for range 1000 {
				tr.Attempted()
			}
		}()
	}
	wg.Wait()
	clk.add(time.Second)
	if got := m.cps.rate(); got != 4000 {
		t.Fatalf("rate %v, want 4000", got)
	}
}
