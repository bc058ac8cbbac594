package sipptest

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestLoadPairRTT runs the load pair at a small fixed rate with -trace_rtt and
// checks that every call left one set-up time (RTD 1, INVITE -> 200) and one
// release time (RTD 2, BYE -> 200) for the latency percentiles of the bench.
func TestLoadPairRTT(t *testing.T) {
	const calls = 20
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	uas, uac := RunPair(ctx, t,
		Config{Scenario: Scenario(t, "uas-load"), Local: netip.AddrPortFrom(uasIP, 0), Calls: calls},
		Config{Scenario: Scenario(t, "uac-load"), Local: netip.AddrPortFrom(uacIP, 0), Calls: calls,
			Rate: 20, MaxConcurrent: 10, CallDuration: 50 * time.Millisecond, TraceRTT: true,
			StatInterval: 200 * time.Millisecond})
	uac.ExpectCalls(t, calls)
	uas.ExpectCalls(t, calls)
	for rtd := 1; rtd <= 2; rtd++ {
		rt := uac.ResponseTimes(rtd)
		if len(rt) != calls {
			t.Errorf("RTD %d: %d samples, want %d (%v)", rtd, len(rt), calls, uac.RTT)
			continue
		}
		p50, p99, max := Percentile(rt, 50), Percentile(rt, 99), rt[len(rt)-1]
		if p50 > p99 || p99 > max {
			t.Errorf("RTD %d: percentiles out of order: p50 %v p99 %v max %v", rtd, p50, p99, max)
		}
		t.Logf("RTD %d over loopback: p50 %v p99 %v max %v", rtd, p50, p99, max)
	}
	if n := len(uac.Stats.Cumulative.ResponseTimes); n != 2 {
		t.Errorf("stat row has %d response-time counters, want 2", n)
	}
	if len(uac.Rows) < 2 {
		t.Errorf("%d statistics rows, want periodic rows and the last", len(uac.Rows))
	}
	if got := uac.Stats.Cumulative.OutgoingCalls; got != calls {
		t.Errorf("outgoing calls %d, want %d", got, calls)
	}
}

// TestLoadPairRamp raises the rate in steps, as the bench does, and checks
// that the statistics rows show the target rate climbing to its maximum
// while every call still succeeds.
func TestLoadPairRamp(t *testing.T) {
	const calls = 30
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	uas, uac := RunPair(ctx, t,
		Config{Scenario: Scenario(t, "uas-load"), Local: netip.AddrPortFrom(uasIP, 0), Calls: calls},
		Config{Scenario: Scenario(t, "uac-load"), Local: netip.AddrPortFrom(uacIP, 0), Calls: calls,
			Rate: 10, Ramp: Ramp{Increase: 10, Interval: 400 * time.Millisecond, Max: 30, Hold: true},
			CallDuration: 20 * time.Millisecond, StatInterval: 200 * time.Millisecond})
	uac.ExpectCalls(t, calls)
	uas.ExpectCalls(t, calls)
	var rates []float64
	for _, r := range uac.Rows {
		if len(rates) == 0 || rates[len(rates)-1] != r.TargetRate {
			rates = append(rates, r.TargetRate)
		}
	}
	for i := 1; i < len(rates); i++ {
		if rates[i] < rates[i-1] {
			t.Errorf("target rate fell: %v", rates)
		}
	}
	if len(rates) < 2 || rates[0] != 10 || rates[len(rates)-1] > 30 {
		t.Errorf("target rates %v: want a climb from 10 towards 30", rates)
	}
	t.Logf("target rates per row: %v", rates)
}
