// Command sipbench is the SBC's side-by-side SIP load bench (issue 9): on
// loopback it ramps the call rate through the sbc daemon and through
// Kamailio (plain record-routing proxy, topoh, topos), holds N concurrent
// calls through the sbc, and writes a Markdown report with PNG plots and a
// one-line summary. scripts/bench.sh installs the tools and runs it.
//
//	sipbench [-short] [-rates 100,250,...] [-step 20s] [-hold 1s] [-out dir]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sbc-project/sbc/bench/harness"
	"github.com/sbc-project/sbc/internal/sipptest"
)

// Loopback addresses of the bench: its own /24 inside 127.0.0.0/8, so that
// other loopback users on the machine are not in the way.
var (
	callerIP  = netip.MustParseAddr("127.0.9.10")
	calleeIP  = netip.MustParseAddr("127.0.9.20")
	insideIP  = netip.MustParseAddr("127.0.9.1")
	outsideIP = netip.MustParseAddr("127.0.9.2")
	proxyIP   = netip.MustParseAddr("127.0.9.3")
	redisIP   = netip.MustParseAddr("127.0.9.4")
)

type options struct {
	short         bool
	rates         []float64
	toposRates    []float64
	step, hold    time.Duration
	maxP99        time.Duration
	systems       []string
	concurrent    int
	concRate      float64
	out           string
	sbcBin        string
	kamailioBin   string
	children      int
	stopAfterFail int
	profile       bool
	mediaCmd      string
	timeout       time.Duration
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sipbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rep, err := run(ctx, o, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sipbench:", err)
		os.Exit(1)
	}
	fmt.Println(rep.Summary())
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("sipbench", flag.ContinueOnError)
	var o options
	var rates, toposRates, systems string
	fs.BoolVar(&o.short, "short", false, "short mode: 5 s steps, rates 500,1000,2000,3000,4000,5000,6000, 5,000 concurrent calls, a ramp ends at its first failing step: under 5 minutes")
	fs.StringVar(&rates, "rates", "", "comma-separated call rates (calls/s); default 100,250,500,1000,2000,3000,4000,5000,6000 (short: 500,1000,2000,3000,4000,5000,6000)")
	fs.StringVar(&toposRates, "topos-rates", "100,200,300,400,500,750,1000", "call rates for kamailio-topos and kamailio-topos-redis, whose limit is an order of magnitude lower (finer steps)")
	fs.DurationVar(&o.step, "step", 0, "how long each rate step places calls (default 20s, short 5s)")
	fs.DurationVar(&o.hold, "hold", time.Second, "call hold time between ACK and BYE")
	fs.DurationVar(&o.maxP99, "max-p99", 50*time.Millisecond, "pass criterion: p99 set-up time below this")
	fs.StringVar(&systems, "systems", "sbc,kamailio,kamailio-topoh,kamailio-topos,kamailio-topos-redis", "systems to ramp (sbc, kamailio, kamailio-topoh, kamailio-topos, kamailio-topos-redis)")
	fs.IntVar(&o.concurrent, "concurrent", -1, "calls held open at once through the SBC (default 10000, short 5000; 0 skips)")
	fs.Float64Var(&o.concRate, "concurrent-rate", 1000, "rate at which the concurrent calls are placed")
	fs.StringVar(&o.out, "out", "", "results directory (default results/<UTC timestamp> in the repository)")
	fs.StringVar(&o.sbcBin, "sbc", "", "sbc binary (default: built from cmd/sbc into the results directory)")
	fs.StringVar(&o.kamailioBin, "kamailio", "kamailio", "kamailio binary")
	fs.IntVar(&o.children, "kamailio-children", 1, "Kamailio UDP workers (1 is the best on 2 cores shared with SIPp)")
	fs.IntVar(&o.stopAfterFail, "stop-after-fail", 0, "end a system's ramp after this many consecutive failing steps (default 2, short 1)")
	fs.BoolVar(&o.profile, "profile", true, "record a perf CPU profile of the SBC at its first failing rate (or its highest) when perf is installed")
	fs.StringVar(&o.mediaCmd, "media-cmd", "", "media hook: a command run after the SIP steps (env SIPBENCH_OUT=results dir); its stdout (Markdown) becomes the report's Media section")
	fs.DurationVar(&o.timeout, "timeout", 0, "bound of the whole run (default 4m50s short, 40m otherwise)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if rates == "" {
		rates = "100,250,500,1000,2000,3000,4000,5000,6000"
		if o.short {
			rates = "500,1000,2000,3000,4000,5000,6000"
		}
	}
	var err error
	if o.rates, err = parseRates(rates); err != nil {
		return o, err
	}
	if o.toposRates, err = parseRates(toposRates); err != nil {
		return o, err
	}
	for _, s := range strings.Split(systems, ",") {
		if s = strings.TrimSpace(s); s != "" {
			switch s {
			case "sbc", "kamailio", "kamailio-topoh", "kamailio-topos", "kamailio-topos-redis":
			default:
				return o, fmt.Errorf("unknown system %q", s)
			}
			o.systems = append(o.systems, s)
		}
	}
	def := func(v *time.Duration, long, short time.Duration) {
		if *v <= 0 {
			*v = long
			if o.short {
				*v = short
			}
		}
	}
	def(&o.step, 20*time.Second, 5*time.Second)
	def(&o.timeout, 40*time.Minute, 290*time.Second)
	if o.concurrent < 0 {
		o.concurrent = 10000
		if o.short {
			o.concurrent = 5000
		}
	}
	if o.stopAfterFail == 0 {
		o.stopAfterFail = 2
		if o.short {
			o.stopAfterFail = 1 // after an unscored warm-up step, one failure ends a short ramp
		}
	}
	return o, nil
}

func parseRates(list string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad rate %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func run(ctx context.Context, o options, log *slog.Logger) (*harness.Report, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	if o.out == "" {
		o.out = filepath.Join(root, "results", started.UTC().Format("20060102T150405Z"))
	}
	raw := filepath.Join(o.out, "raw")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		return nil, err
	}
	raiseNoFile(log)
	if o.sbcBin == "" {
		o.sbcBin = filepath.Join(o.out, "sbc")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.sbcBin, "./cmd/sbc")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/sbc: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		return nil, fmt.Errorf("%w: sipp (apt-get install sip-tester, or run scripts/bench.sh)", harness.ErrTool)
	}
	mode := "full"
	if o.short {
		mode = "short"
	}
	rep := &harness.Report{Started: started, Mode: mode, Env: environment(root, o.kamailioBin), Step: o.step,
		Hold: o.hold, MaxP99: o.maxP99, Goal: harness.DefaultGoal}
	r := harness.NewRunner(raw, filepath.Join(root, "scripts", "sipp"))
	defer r.Close()
	crit := harness.Criterion{MaxP99: o.maxP99}
	calleePort, err := sipptest.FreePort(calleeIP)
	if err != nil {
		return nil, err
	}
	callee := netip.AddrPortFrom(calleeIP, calleePort)
	ramp := harness.RampOptions{Rates: o.rates, Step: o.step, Hold: o.hold, Caller: callerIP, Callee: callee,
		Criterion: crit, StopAfterFail: o.stopAfterFail, Warmup: 2 * time.Second, Dir: raw, Log: log}
	sbcOpts := func(dir string) harness.SBCOptions {
		return harness.SBCOptions{Bin: o.sbcBin, Dir: dir, Inside: insideIP, Outside: outsideIP, Caller: callerIP,
			Callee: callee, PortMin: 10000, PortMax: 59999}
	}

	// 1. Concurrent calls, on a fresh SBC so that the base memory is clean.
	if o.concurrent > 0 && contains(o.systems, "sbc") {
		dir := filepath.Join(raw, "sbc-concurrent")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		sbc, err := harness.StartSBC(ctx, sbcOpts(dir))
		if err != nil {
			rep.Conc = &harness.Concurrent{Target: o.concurrent, Error: err.Error()}
		} else {
			c := harness.HoldConcurrent(ctx, r, sbc, harness.ConcurrentOptions{Calls: o.concurrent, Rate: o.concRate,
				Extra: 5 * time.Second, Caller: callerIP, Callee: callee, Dir: dir})
			rep.Conc = &c
			log.Info("concurrent", "calls", c.Target, "peak", c.PeakOpen, "ok", c.Successful, "failed", c.Failed,
				"rss_per_call_KiB", fmt.Sprintf("%.1f", harness.PerCall(c.RSSBase, c.RSSPeak, c.PeakOpen)/1024),
				"heap_per_call_KiB", fmt.Sprintf("%.1f", harness.PerCall(c.HeapBase, c.HeapPeak, c.PeakOpen)/1024), "err", c.Error)
			if err := sbc.Stop(); err != nil {
				log.Warn("sbc stop", "err", err)
			}
		}
	}

	// 2. The ramps.
	for _, name := range o.systems {
		if ctx.Err() != nil {
			break
		}
		dir := filepath.Join(raw, name+"-daemon")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		var sys harness.System
		var sbc *harness.SBC
		var kam *harness.Kamailio
		if name == "sbc" {
			sbc, err = harness.StartSBC(ctx, sbcOpts(dir))
			sys = sbc
		} else {
			variant := harness.KamailioVariant(strings.TrimPrefix(strings.TrimPrefix(name, "kamailio"), "-"))
			if variant == "" {
				variant = harness.KamailioPlain
			}
			port, perr := sipptest.FreePort(proxyIP)
			if perr != nil {
				return nil, perr
			}
			kc := harness.KamailioConfig{Variant: variant, Listen: netip.AddrPortFrom(proxyIP, port), Callee: callee,
				Children: o.children}
			if variant == harness.KamailioToposRedis {
				rp, perr := sipptest.FreePort(redisIP)
				if perr != nil {
					return nil, perr
				}
				kc.Redis = netip.AddrPortFrom(redisIP, rp)
			}
			var k *harness.Kamailio
			k, err = harness.StartKamailio(ctx, kc,
				harness.KamailioOptions{Bin: o.kamailioBin, Dir: dir})
			if err == nil {
				sys, kam = k, k
			}
		}
		if err != nil {
			log.Error("start", "system", name, "err", err)
			rep.Systems = append(rep.Systems, harness.SystemResult{Name: name, Error: err.Error()})
			continue
		}
		sysRamp := ramp
		if strings.HasPrefix(name, "kamailio-topos") {
			sysRamp.Rates = o.toposRates
		}
		steps := harness.Ramp(ctx, r, sys, sysRamp)
		res := harness.SystemResult{Name: sys.Name(), Description: sys.Description(), Steps: steps,
			Highest: crit.Highest(steps), MaxRate: slices.Max(sysRamp.Rates)}
		if kam != nil {
			res.LogErrors = kam.LogErrors(5)
		}
		rep.Systems = append(rep.Systems, res)
		if sbc != nil && o.profile {
			rep.Profile = profileSBC(ctx, r, sbc, ramp, res, raw, log)
		}
		if err := sys.Stop(); err != nil {
			log.Warn("stop", "system", name, "err", err)
		}
	}

	// 3. Media.
	rep.Media = media(ctx, o, log)

	rep.Finished = time.Now()
	files, err := harness.Plots(o.out, rep.Systems, float64(o.maxP99.Microseconds())/1000)
	if err != nil {
		log.Warn("plots", "err", err)
	}
	rep.Plots = files
	if err := os.WriteFile(filepath.Join(o.out, "report.md"), []byte(rep.Markdown()), 0o644); err != nil {
		return nil, err
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(o.out, "results.json"), js, 0o644); err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(o.out, "sbc")) // the built binary is not a result
	log.Info("report written", "dir", o.out, "took", time.Since(started).Round(time.Second))
	return rep, nil
}

// profileSBC runs one extra step at the SBC's first failing rate (or its
// highest) with perf recording the daemon, outside the measured steps.
func profileSBC(ctx context.Context, r *harness.Runner, sbc *harness.SBC, ramp harness.RampOptions,
	res harness.SystemResult, raw string, log *slog.Logger) string {
	perf, err := exec.LookPath("perf")
	if err != nil || len(res.Steps) == 0 {
		return ""
	}
	rate := res.Steps[len(res.Steps)-1].Rate
	for _, s := range res.Steps {
		if !ramp.Criterion.Pass(s) {
			rate = s.Rate
			break
		}
	}
	if err := sbc.Idle(ctx); err != nil {
		log.Warn("profile: sbc not idle", "err", err)
	}
	dir := filepath.Join(raw, "sbc-profile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	type out struct {
		text string
		err  error
	}
	done := make(chan out, 1)
	// The perf goroutine is owned here and ends with perf's own sleep.
	go func() {
		t, err := harness.PerfProfile(ctx, perf, sbc.PID(), ramp.Step, dir)
		done <- out{t, err}
	}()
	prof := ramp
	prof.Dir = dir
	st := harness.RunStep(ctx, r, sbc, prof, rate)
	p := <-done
	if p.err != nil {
		log.Warn("profile", "err", p.err)
		return ""
	}
	return fmt.Sprintf("`perf record -F 499 -g` of the sbc process during an extra (unscored) %v step at %.0f cps "+
		"(its first failing rate, or its highest): %d ok, %d failed, p99 set-up %v, CPU %.0f %%.\n\n%s",
		ramp.Step, rate, st.Successful, st.Failed, st.Setup.P99, st.CPU, p.text)
}

// media is the hook for the media relay load (bench/rtpload, another
// branch): -media-cmd runs it and its Markdown output becomes the section.
func media(ctx context.Context, o options, log *slog.Logger) string {
	if o.mediaCmd == "" {
		return "**Not measured in this run (hook).** The media relay load (bench/rtpload: RTP load generator and " +
			"rtpengine driver) lives on another branch; `scripts/bench.sh` passes it to `sipbench -media-cmd` when " +
			"`bench/rtpload` exists, and its Markdown output is put here."
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", o.mediaCmd)
	cmd.Env = append(os.Environ(), "SIPBENCH_OUT="+o.out)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Warn("media hook", "err", err)
		return fmt.Sprintf("Media hook `%s` failed: %v\n\n%s", o.mediaCmd, err, out)
	}
	return string(out)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// raiseNoFile lifts the open-files limit the bench's children inherit: the
// SBC holds four media sockets per call.
func raiseNoFile(log *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	want := uint64(1 << 20)
	if lim.Cur >= want {
		return
	}
	n := syscall.Rlimit{Cur: want, Max: want}
	if lim.Max > want {
		n.Max = lim.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &n); err != nil {
		n = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &n)
		log.Warn("open-files limit not raised (need root); concurrent calls are bounded by it", "limit", lim.Max)
	}
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.HasPrefix(string(b), "module github.com/sbc-project/sbc\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no root go.mod of github.com/sbc-project/sbc above the working directory")
		}
		dir = parent
	}
}

func environment(root, kamailio string) harness.Env {
	e := harness.Env{CPUs: runtime.NumCPU(), LoadBefore: harness.LoadAvg()}
	e.Host, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, e.CPU, _ = strings.Cut(l, ": ")
				break
			}
		}
	}
	if out, err := exec.Command("sipp", "-v").CombinedOutput(); err == nil || len(out) > 0 {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "SIPp v") {
				e.SIPp = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "SIPp"))
				break
			}
		}
	}
	if out, err := exec.Command(kamailio, "-v").CombinedOutput(); err == nil {
		first, _, _ := strings.Cut(string(out), "\n")
		e.Kamailio = strings.TrimSpace(strings.TrimPrefix(first, "version:"))
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		e.SBCCommit = strings.TrimSpace(string(out))
	}
	return e
}
