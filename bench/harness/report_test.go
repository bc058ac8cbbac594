package harness

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
)

func msd(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentiles(t *testing.T) {
	// 1..100 ms shuffled: nearest rank gives p50=50, p95=95, p99=99.
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration((i*37)%100+1)*time.Millisecond)
	}
	l := Percentiles(s)
	if l.Samples != 100 || l.P50 != 50*time.Millisecond || l.P95 != 95*time.Millisecond ||
		l.P99 != 99*time.Millisecond || l.Max != 100*time.Millisecond {
		t.Fatalf("got %+v", l)
	}
	// Ten samples: p99 is the largest (rank ceil(9.9) = 10), p50 the fifth.
	l = Percentiles(msd(9, 1, 8, 2, 7, 3, 6, 4, 5, 300))
	if l.P50 != 5*time.Millisecond || l.P95 != 300*time.Millisecond || l.P99 != 300*time.Millisecond {
		t.Fatalf("ten samples: %+v", l)
	}
	if l := Percentiles(nil); l.Samples != 0 || l.P99 != 0 {
		t.Fatalf("empty: %+v", l)
	}
}

func TestCriterion(t *testing.T) {
	c := Criterion{MaxP99: 50 * time.Millisecond}
	good := Step{Rate: 1000, Calls: 5000, Successful: 5000, Setup: Latency{Samples: 5000, P99: 49 * time.Millisecond}}
	cases := []struct {
		name string
		edit func(*Step)
		want bool
	}{
		{"good", func(*Step) {}, true},
		{"p99 at the bound", func(s *Step) { s.Setup.P99 = 50 * time.Millisecond }, false},
		{"one failed", func(s *Step) { s.Failed = 1; s.Successful = 4999 }, false},
		{"unfinished calls", func(s *Step) { s.Successful = 4990 }, false},
		{"no samples", func(s *Step) { s.Setup = Latency{} }, false},
		{"error", func(s *Step) { s.Error = "sipp did not start" }, false},
		{"nothing placed", func(s *Step) { s.Calls, s.Successful = 0, 0 }, false},
	}
	for _, tc := range cases {
		s := good
		tc.edit(&s)
		if got := c.Pass(s); got != tc.want {
			t.Errorf("%s: Pass = %v, want %v", tc.name, got, tc.want)
		}
	}
	step := func(rate float64, failed int64, p99 int) Step {
		n := int(rate * 5)
		return Step{Rate: rate, Calls: n, Successful: int64(n) - failed, Failed: failed,
			Setup: Latency{Samples: n, P99: time.Duration(p99) * time.Millisecond}}
	}
	steps := []Step{step(250, 0, 3), step(1000, 0, 10), step(2000, 0, 70), step(4000, 12, 900)}
	if got := c.Highest(steps); got != 1000 {
		t.Errorf("Highest = %v, want 1000 (2000 fails on p99, 4000 on failed calls)", got)
	}
	// A passing step above a failing one is the system's highest rate.
	steps = []Step{step(250, 0, 3), step(1000, 1, 10), step(2000, 0, 20)}
	if got := c.Highest(steps); got != 2000 {
		t.Errorf("Highest = %v, want 2000", got)
	}
	if got := c.Highest([]Step{step(250, 3, 3)}); got != 0 {
		t.Errorf("Highest with no passing step = %v, want 0", got)
	}
}

func TestRatioAndPerCall(t *testing.T) {
	if r := Ratio(4000, 500); r != 8 {
		t.Errorf("Ratio = %v", r)
	}
	if r := Ratio(4000, 0); !math.IsNaN(r) {
		t.Errorf("Ratio by zero = %v, want NaN", r)
	}
	if got := PerCall(100<<20, 100<<20+10000*30*1024, 10000); got != 30*1024 {
		t.Errorf("PerCall = %v", got)
	}
	if got := PerCall(1, 2, 0); got != 0 {
		t.Errorf("PerCall without calls = %v", got)
	}
	if got := MaxCallsForFiles(20000); got != (20000-512)/4 {
		t.Errorf("MaxCallsForFiles(20000) = %d", got)
	}
	if got := MaxCallsForFiles(100); got != 0 {
		t.Errorf("MaxCallsForFiles(100) = %d", got)
	}
}

func TestAchievedRate(t *testing.T) {
	var rtt []sipptest.RTTSample
	// 101 set-ups 10 ms apart (100 cps) and release times that must be ignored.
	for i := 0; i <= 100; i++ {
		rtt = append(rtt, sipptest.RTTSample{At: time.Duration(i) * 10 * time.Millisecond, Value: time.Millisecond, RTD: 1})
		rtt = append(rtt, sipptest.RTTSample{At: 5*time.Second + time.Duration(i)*time.Millisecond, RTD: 2})
	}
	if got := achievedRate(rtt, 101); math.Abs(got-100) > 1e-9 {
		t.Errorf("achievedRate = %v, want 100", got)
	}
	if got := achievedRate(rtt[:1], 1); got != 0 {
		t.Errorf("one sample: %v", got)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP sbc_calls_in_progress Calls in progress across all trunks.
# TYPE sbc_calls_in_progress gauge
sbc_calls_in_progress 42
go_memstats_heap_inuse_bytes 1.2345e+07
sbc_calls_answered_total{trunk="pbx"} 7
metric_with_ts 3 1700000000000
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"sbc_calls_in_progress": 42, "go_memstats_heap_inuse_bytes": 12345000,
		`sbc_calls_answered_total{trunk="pbx"}`: 7, "metric_with_ts": 3}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

func TestReportText(t *testing.T) {
	c := Criterion{MaxP99: 50 * time.Millisecond}
	ok := func(rate float64) Step {
		n := int(rate * 5)
		return Step{Rate: rate, Calls: n, Successful: int64(n), Setup: Latency{Samples: n, P99: 5 * time.Millisecond}}
	}
	r := &Report{Mode: "short", MaxP99: c.MaxP99, Goal: DefaultGoal, Systems: []SystemResult{
		{Name: "sbc", Steps: []Step{ok(1000), ok(4000)}, Highest: 4000},
		{Name: "kamailio", Steps: []Step{ok(1000), ok(2000)}, Highest: 2000, MaxRate: 4000},
		{Name: "kamailio-topoh", Steps: []Step{ok(1000), ok(2000)}, Highest: 2000, MaxRate: 2000},
		{Name: "kamailio-topos", Steps: []Step{ok(250)}, Highest: 250},
	}, Conc: &Concurrent{Requested: 10000, Target: 4872, PeakOpen: 4872, Successful: 4872, RSSBase: 20 << 20,
		RSSPeak: 20<<20 + 4872*40*1024, NoFile: 20000}}
	sum := r.Summary()
	for _, want := range []string{"SBC 4000 cps", "kamailio 2000 cps (SBC 2.00×)", "kamailio-topos 250 cps (SBC 16.00×)",
		"4872 concurrent calls all completed", "40.0 KiB RSS/call",
		"kamailio-topoh ≥ 2000 cps (SBC ≤ 2.00×)"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
	md := r.Markdown()
	for _, want := range []string{"| SBC rate | ≥ 4000 cps | 4000 cps | yes |", "| SBC / kamailio | ≥ 1.0× | 2.00× | yes |",
		"| SBC / kamailio-topos | ≥ 8.0× | 16.00× | yes |", "10000 calls were asked for"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestParseSNMP(t *testing.T) {
	text := "Ip: Forwarding DefaultTTL\nIp: 1 64\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n" +
		"Udp: 100 2 7 90 5 0\nUdpLite: InDatagrams RcvbufErrors\nUdpLite: 0 0\n"
	if got := parseSNMP(text, "Udp:", "RcvbufErrors"); got != 5 {
		t.Errorf("RcvbufErrors = %d, want 5", got)
	}
	if got := parseSNMP(text, "Udp:", "NoSuchField"); got != -1 {
		t.Errorf("missing field = %d, want -1", got)
	}
	if got := UDPRcvbufErrors(); got < 0 {
		t.Errorf("UDPRcvbufErrors on this machine = %d", got)
	}
}
