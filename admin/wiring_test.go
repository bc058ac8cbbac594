package admin

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/metrics"
)

// TestMetricsThroughAdmin wires the real metrics registry into a real admin
// listener with a token, as cmd/sbc does, and scrapes it like Prometheus.
func TestMetricsThroughAdmin(t *testing.T) {
	m := metrics.New(metrics.Options{Version: "test"})
	m.CallAttempted("carrier-a")
	m.CallAnswered("carrier-a", 120*time.Millisecond)
	m.PolicyLoaded("9f2c")
	s, err := New(Config{Addr: "127.0.0.1:0", Token: "tok", Metrics: m.Handler(), Calls: &fakeCalls{calls: sampleCalls()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr().String()

	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, w := range []string{
		`sbc_calls_attempted_total{trunk="carrier-a"} 1`,
		`sbc_call_setup_seconds_bucket{trunk="carrier-a",le="0.25"} 1`,
		`sbc_policy_info{hash="9f2c"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(string(body), w) {
			t.Errorf("scrape lacks %q", w)
		}
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("scrape without token: %d", resp.StatusCode)
	}
	c, _ := NewClient(s.Addr().String(), "tok", nil)
	calls, err := c.Calls(context.Background())
	if err != nil || len(calls) != 2 {
		t.Fatalf("client over the real listener: %v %d", err, len(calls))
	}
}
