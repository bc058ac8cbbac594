package harness

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
)

// ConcurrentOptions configures the concurrent-calls hold.
type ConcurrentOptions struct {
	// Calls is how many calls are held open at once.
	Calls int
	// Rate is the rate at which they are placed.
	Rate float64
	// Extra is how long every call stays open after the last one is up;
	// each call's hold is Calls/Rate + Extra.
	Extra  time.Duration
	Caller netip.Addr
	Callee netip.AddrPort
	Dir    string
}

// HoldConcurrent places o.Calls calls through the SBC, each held until all
// are open, and measures the SBC's memory with all of them up.
func HoldConcurrent(ctx context.Context, r *Runner, sbc *SBC, o ConcurrentOptions) Concurrent {
	c := Concurrent{Requested: o.Calls, Target: o.Calls, Rate: o.Rate, NoFile: openFilesLimit(sbc.PID())}
	if max := MaxCallsForFiles(c.NoFile); c.NoFile > 0 && c.Target > max {
		c.Target = max // the open-files limit, not the SBC, would fail the calls above it
	}
	ramp := time.Duration(float64(c.Target) / o.Rate * float64(time.Second))
	hold := ramp + o.Extra
	c.Hold = hold
	if err := sbc.Idle(ctx); err != nil {
		c.Error = err.Error()
		return c
	}
	if m, err := sbc.Metrics(ctx); err == nil {
		c.HeapBase = int64(m["go_memstats_heap_inuse_bytes"])
	}
	c.RSSBase, _ = sbc.Procs().Memory()
	timeout := ramp + hold + 60*time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout+20*time.Second)
	defer cancel()
	for _, d := range []string{"uac", "uas"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, "concurrent", d), 0o755); err != nil {
			c.Error = err.Error()
			return c
		}
	}
	uas, err := r.Start(ctx, sipptest.Config{Role: sipptest.UAS, Scenario: filepath.Join(r.Scenarios, "uas-load.xml"),
		Local: o.Callee, Calls: c.Target, Timeout: timeout, Dir: filepath.Join(o.Dir, "concurrent", "uas"),
		RecvTimeout: hold + 30*time.Second, ExtraArgs: SIPpBuffers})
	if err != nil {
		c.Error = err.Error()
		return c
	}
	uac, err := r.Start(ctx, sipptest.Config{Role: sipptest.UAC, Scenario: filepath.Join(r.Scenarios, "uac-load.xml"),
		Local: netip.AddrPortFrom(o.Caller, 0), Remote: sbc.Addr(), Calls: c.Target, Rate: o.Rate,
		MaxConcurrent: c.Target, CallDuration: hold, Timeout: timeout, Service: "4930123",
		Dir: filepath.Join(o.Dir, "concurrent", "uac"), ExtraArgs: SIPpBuffers})
	if err != nil {
		uas.Stop()
		c.Error = err.Error()
		return c
	}
	// Sample while the calls are up: the peak is where the SBC holds the
	// most calls; memory is read at that moment.
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
sampling:
	for {
		select {
		case <-uac.Done():
			break sampling
		case <-ctx.Done():
			break sampling
		case <-tick.C:
		}
		m, err := sbc.Metrics(ctx)
		if err != nil {
			continue
		}
		open := int64(m["sbc_calls_in_progress"])
		if open >= c.PeakOpen && open > 0 {
			c.PeakOpen = open
			c.HeapPeak = int64(m["go_memstats_heap_inuse_bytes"])
			if rss, err := sbc.Procs().Memory(); err == nil {
				c.RSSPeak = rss
			}
		}
	}
	res, err := uac.Wait(ctx)
	c.Load1 = LoadAvg()
	grace, cancelGrace := context.WithTimeout(ctx, 5*time.Second)
	select {
	case <-uas.Done():
	case <-grace.Done():
		uas.Stop()
	}
	cancelGrace()
	_, _ = uas.Wait(ctx)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	cum := res.Stats.Cumulative
	c.Successful, c.Failed, c.Failures = cum.SuccessfulCalls, cum.FailedCalls, cum.Failures
	return c
}

// SocketsPerCall is the SBC's media sockets per call: an RTP and an RTCP
// port (RFC 3550 11) on each of the two legs.
const SocketsPerCall = 4

// MaxCallsForFiles is how many calls an open-files limit allows, keeping 512
// descriptors for SIP, admin and the runtime.
func MaxCallsForFiles(limit uint64) int {
	if limit <= 512 {
		return 0
	}
	return int((limit - 512) / SocketsPerCall)
}

// openFilesLimit reads the soft "Max open files" of pid (0 if unknown).
func openFilesLimit(pid int) uint64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Max open files") {
			fields := strings.Fields(strings.TrimPrefix(line, "Max open files"))
			if len(fields) > 0 {
				v, _ := strconv.ParseUint(fields[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
