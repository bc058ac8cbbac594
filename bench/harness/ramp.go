package harness

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
)

// System is a SIP system under test: SIPp's caller sends to Addr, the
// system forwards to the callee.
type System interface {
	Name() string
	Description() string
	Addr() netip.AddrPort
	Procs() ProcGroup
	// Idle waits for the system to finish the previous step's calls.
	Idle(ctx context.Context) error
	Stop() error
}

// RampOptions configures a call-rate ramp.
type RampOptions struct {
	// Rates are the target call rates, one step each, in order.
	Rates []float64
	// Step is how long each step places calls (calls = rate * Step).
	Step time.Duration
	// Hold is each call's length between ACK and BYE (SIPp -d).
	Hold time.Duration
	// Caller is the UAC's address (its port is picked), Callee the UAS's.
	Caller netip.Addr
	Callee netip.AddrPort
	// Criterion decides whether a step passes.
	Criterion Criterion
	// StopAfterFail ends the ramp after this many consecutive failing steps
	// (0: run every rate).
	StopAfterFail int
	// Warmup is the length of an unscored step at min(Rates[0], 100) cps
	// before the ramp (0: none).
	Warmup time.Duration
	// Dir receives SIPp's files, one directory per step.
	Dir string
	Log *slog.Logger
}

// Ramp runs the steps of o against sys and returns them.
func Ramp(ctx context.Context, r *Runner, sys System, o RampOptions) []Step {
	var steps []Step
	fails := 0
	if o.Warmup > 0 && len(o.Rates) > 0 {
		// An unscored warm-up: the first calls through a fresh process pay
		// for its lazily built state (allocator arenas, caches).
		w := o
		w.Step = o.Warmup
		w.Dir = filepath.Join(o.Dir, "warmup")
		ws := RunStep(ctx, r, sys, w, math.Min(o.Rates[0], 100))
		o.Log.Info("warm-up", "system", sys.Name(), "ok", ws.Successful, "failed", ws.Failed, "err", ws.Error)
	}
	for _, rate := range o.Rates {
		if ctx.Err() != nil {
			break
		}
		if err := sys.Idle(ctx); err != nil {
			o.Log.Warn("system not idle before step", "system", sys.Name(), "err", err)
		}
		s := RunStep(ctx, r, sys, o, rate)
		steps = append(steps, s)
		pass := o.Criterion.Pass(s)
		o.Log.Info("step", "system", sys.Name(), "rate", rate, "achieved", fmt.Sprintf("%.0f", s.Achieved),
			"ok", s.Successful, "failed", s.Failed, "retrans", s.Retransmissions, "udp_drops", s.UDPDrops,
			"p50", s.Setup.P50, "p99", s.Setup.P99, "cpu%", fmt.Sprintf("%.0f", s.CPU),
			"rss_MB", s.RSS>>20, "load1", s.Load1, "pass", pass, "err", s.Error)
		if pass {
			fails = 0
			continue
		}
		fails++
		if o.StopAfterFail > 0 && fails >= o.StopAfterFail {
			break
		}
	}
	return steps
}

// RunStep places rate*Step calls at rate through sys and measures them.
func RunStep(ctx context.Context, r *Runner, sys System, o RampOptions, rate float64) Step {
	calls := int(rate * o.Step.Seconds())
	if calls < 1 {
		calls = 1
	}
	s := Step{Rate: rate, Calls: calls}
	dir := filepath.Join(o.Dir, sys.Name(), fmt.Sprintf("%05.0fcps", rate))
	if err := os.MkdirAll(filepath.Join(dir, "uac"), 0o755); err != nil {
		s.Error = err.Error()
		return s
	}
	if err := os.MkdirAll(filepath.Join(dir, "uas"), 0o755); err != nil {
		s.Error = err.Error()
		return s
	}
	timeout := o.Step + o.Hold + 30*time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout+20*time.Second)
	defer cancel()
	uas, err := r.Start(ctx, sipptest.Config{Role: sipptest.UAS, Scenario: filepath.Join(r.Scenarios, "uas-load.xml"),
		Local: o.Callee, Calls: calls, Timeout: timeout, Dir: filepath.Join(dir, "uas"), ExtraArgs: SIPpBuffers})
	if err != nil {
		s.Error = err.Error()
		return s
	}
	cpu, err := StartCPU(sys.Procs())
	if err != nil {
		uas.Stop()
		s.Error = err.Error()
		return s
	}
	drops0 := UDPRcvbufErrors()
	start := time.Now()
	uac, err := r.Start(ctx, sipptest.Config{Role: sipptest.UAC, Scenario: filepath.Join(r.Scenarios, "uac-load.xml"),
		Local: netip.AddrPortFrom(o.Caller, 0), Remote: sys.Addr(), Calls: calls, Rate: rate,
		CallDuration: o.Hold, Timeout: timeout, TraceRTT: true, RecvTimeout: o.Hold + 5*time.Second, Service: "4930123",
		Dir: filepath.Join(dir, "uac"), ExtraArgs: SIPpBuffers})
	if err != nil {
		uas.Stop()
		s.Error = err.Error()
		return s
	}
	res, err := uac.Wait(ctx)
	s.Duration = time.Since(start)
	if pct, err := cpu.Percent(); err == nil {
		s.CPU = pct
	}
	if m, err := sys.Procs().Memory(); err == nil {
		s.RSS = m
	}
	s.Load1 = LoadAvg()
	if d := UDPRcvbufErrors(); d >= 0 && drops0 >= 0 {
		s.UDPDrops = d - drops0
	}
	// The callee lingers 1 s after its last BYE (Timer J stand-in); give it
	// that, then ask it to stop.
	grace, cancelGrace := context.WithTimeout(ctx, 4*time.Second)
	select {
	case <-uas.Done():
	case <-grace.Done():
		uas.Stop()
	}
	cancelGrace()
	uasRes, uasErr := uas.Wait(ctx)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	c := res.Stats.Cumulative
	s.Successful, s.Failed, s.Failures = c.SuccessfulCalls, c.FailedCalls, c.Failures
	s.Retransmissions = c.Retransmissions
	if uasErr == nil {
		s.Retransmissions += uasRes.Stats.Cumulative.Retransmissions
	}
	if unfinished := int64(calls) - c.SuccessfulCalls - c.FailedCalls; unfinished > 0 {
		s.Failed += unfinished // calls SIPp never finished count as failed
	}
	setup := res.ResponseTimes(1)
	s.Achieved = achievedRate(res.RTT, calls)
	s.Setup = Percentiles(setup)
	return s
}

// achievedRate estimates the call rate SIPp reached from the times of the
// set-up responses (response time 1): answered calls over their time span.
func achievedRate(rtt []sipptest.RTTSample, calls int) float64 {
	var first, last time.Duration
	n := 0
	for _, s := range rtt {
		if s.RTD != 1 {
			continue
		}
		if n == 0 || s.At < first {
			first = s.At
		}
		if s.At > last {
			last = s.At
		}
		n++
	}
	if n < 2 || last <= first {
		return 0
	}
	return float64(n-1) / (last - first).Seconds()
}
