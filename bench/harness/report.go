package harness

import (
	"math"
	"sort"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
)

// Step is the outcome of one call-rate step against one system.
type Step struct {
	// Rate is the target call rate (calls per second) of the step.
	Rate float64 `json:"rate"`
	// Achieved is the call rate SIPp reached (calls created / elapsed).
	Achieved float64 `json:"achieved"`
	// Calls is the number of calls the step placed (SIPp -m).
	Calls int `json:"calls"`
	// Successful and Failed are the caller's cumulative counters.
	Successful int64 `json:"successful"`
	Failed     int64 `json:"failed"`
	// Failures are the caller's non-zero Failed* counters by reason.
	Failures map[string]int64 `json:"failures,omitempty"`
	// Retransmissions are the caller's plus the callee's.
	Retransmissions int64 `json:"retransmissions"`
	// UDPDrops is the machine-wide count of UDP datagrams dropped on full
	// receive buffers during the step (UDPRcvbufErrors delta).
	UDPDrops int64 `json:"udp_rcvbuf_drops"`
	// Setup holds the percentiles of SIPp's response time 1 (INVITE -> 200).
	Setup Latency `json:"setup"`
	// CPU is the system's CPU use over the step, in percent of one core
	// (utime+stime delta / wall time; 200 % is both cores of this machine).
	CPU float64 `json:"cpu_percent"`
	// RSS is the system's resident memory at the end of the step (the sum
	// of the proportional set sizes for a multi-process system), in bytes.
	RSS int64 `json:"rss_bytes"`
	// Load1 is the machine's one-minute load average at the end of the step.
	Load1 float64 `json:"load1"`
	// Duration is the wall time of the step.
	Duration time.Duration `json:"duration_ns"`
	// Error is set when the step could not be run at all.
	Error string `json:"error,omitempty"`
}

// Latency is a set of percentiles of a response-time distribution.
type Latency struct {
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50_ns"`
	P95     time.Duration `json:"p95_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
}

// Percentiles computes p50, p95, p99 and the maximum of samples (in any
// order; the slice is sorted in place) by the nearest-rank method.
func Percentiles(samples []time.Duration) Latency {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	l := Latency{Samples: len(samples)}
	if len(samples) == 0 {
		return l
	}
	l.P50 = sipptest.Percentile(samples, 50)
	l.P95 = sipptest.Percentile(samples, 95)
	l.P99 = sipptest.Percentile(samples, 99)
	l.Max = samples[len(samples)-1]
	return l
}

// Criterion decides whether a step passes: no failed call, every placed call
// successful, and a p99 set-up time under MaxP99.
type Criterion struct {
	MaxP99 time.Duration
}

// Pass reports whether s meets the criterion. A step without set-up samples,
// with an error, or with fewer successful calls than placed never passes.
func (c Criterion) Pass(s Step) bool {
	return s.Error == "" && s.Failed == 0 && s.Calls > 0 && s.Successful == int64(s.Calls) &&
		s.Setup.Samples > 0 && s.Setup.P99 < c.MaxP99
}

// Highest returns the highest target rate among the passing steps, or 0 when
// none passed. A passing step above a failing one still counts: the figure is
// the highest rate the system sustained, as the issue defines it.
func (c Criterion) Highest(steps []Step) float64 {
	best := 0.0
	for _, s := range steps {
		if c.Pass(s) && s.Rate > best {
			best = s.Rate
		}
	}
	return best
}

// Ratio returns a/b, or NaN when b is zero (the reference sustained no rate).
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// SystemResult is the ramp of one system under test.
type SystemResult struct {
	// Name identifies the system ("sbc", "kamailio", "kamailio-topoh", ...).
	Name string `json:"name"`
	// Description says what the system does per call.
	Description string `json:"description"`
	Steps       []Step `json:"steps"`
	// Highest is the highest passing rate (Criterion.Highest).
	Highest float64 `json:"highest_passing_cps"`
	// MaxRate is the highest rate of the system's ramp.
	MaxRate float64 `json:"max_rate_tried_cps"`
	// Error is set when the system could not be started.
	Error string `json:"error,omitempty"`
	// LogErrors are the most frequent error lines of the system's log.
	LogErrors []string `json:"log_errors,omitempty"`
}

// Concurrent is the outcome of the concurrent-calls hold.
type Concurrent struct {
	// Requested is the number of calls asked for; Target the number placed,
	// lower when the SBC's open-files limit allows fewer (MaxCallsForFiles).
	Requested  int           `json:"requested_calls"`
	Target     int           `json:"target_calls"`
	Rate       float64       `json:"rate"`
	Hold       time.Duration `json:"hold_ns"`
	PeakOpen   int64         `json:"peak_open_calls"`
	Successful int64         `json:"successful"`
	Failed     int64         `json:"failed"`
	Failures   map[string]int64
	// RSSBase and RSSPeak are the SBC's resident memory before the calls and
	// with all of them open; HeapBase/HeapPeak its go_memstats_heap_inuse_bytes.
	RSSBase  int64 `json:"rss_base_bytes"`
	RSSPeak  int64 `json:"rss_peak_bytes"`
	HeapBase int64 `json:"heap_base_bytes"`
	HeapPeak int64 `json:"heap_peak_bytes"`
	// NoFile is the open-files limit the SBC ran with.
	NoFile uint64  `json:"nofile_limit"`
	Load1  float64 `json:"load1"`
	Error  string  `json:"error,omitempty"`
}

// PerCall returns the memory per open call: (peak - base) / calls, or 0
// without open calls.
func PerCall(base, peak, calls int64) float64 {
	if calls <= 0 {
		return 0
	}
	return float64(peak-base) / float64(calls)
}

// Completed reports whether every call of the hold ended successfully.
func (c Concurrent) Completed() bool {
	return c.Error == "" && c.Failed == 0 && c.Successful == int64(c.Target)
}
