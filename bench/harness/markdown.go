package harness

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Goal is the issue 9 target for the SBC: a rate, and minimum ratios to the
// Kamailio variants measured in the same run.
type Goal struct {
	Rate   float64
	Ratios map[string]float64 // system name -> minimum SBC/system ratio
}

// DefaultGoal is issue 9's: 4,000 calls/s, at least Kamailio's plain proxy
// rate, 1.3x Kamailio+topoh and 8x Kamailio+topos.
var DefaultGoal = Goal{Rate: 4000, Ratios: map[string]float64{"kamailio": 1, "kamailio-topoh": 1.3, "kamailio-topos": 8,
	"kamailio-topos-redis": 8}}

// Report is everything one bench run produced.
type Report struct {
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Mode     string         `json:"mode"`
	Env      Env            `json:"env"`
	Step     time.Duration  `json:"step_ns"`
	Hold     time.Duration  `json:"hold_ns"`
	MaxP99   time.Duration  `json:"max_p99_ns"`
	Systems  []SystemResult `json:"systems"`
	Conc     *Concurrent    `json:"concurrent,omitempty"`
	Media    string         `json:"media"`
	Plots    []string       `json:"plots"`
	Goal     Goal           `json:"-"`
	Profile  string         `json:"profile,omitempty"`
}

// Env describes the machine and the tools of a run.
type Env struct {
	Host, Kernel, CPU string
	CPUs              int
	LoadBefore        float64
	SIPp, Kamailio    string
	SBCCommit         string
}

func (r *Report) system(name string) *SystemResult {
	for i := range r.Systems {
		if r.Systems[i].Name == name {
			return &r.Systems[i]
		}
	}
	return nil
}

// Capped reports whether the system passed the highest rate it was given:
// its real limit is above the ramp, and ratios to it are upper bounds.
func (s SystemResult) Capped() bool {
	if s.Highest == 0 || len(s.Steps) == 0 {
		return false
	}
	last := s.Steps[len(s.Steps)-1]
	return s.MaxRate > 0 && s.Highest == last.Rate && s.Highest >= s.MaxRate
}

// ratioCell is SBC/system with "≥" or "≤" when one side's limit is above
// its ramp (both: the ratio is unknown).
func ratioCell(sbc, s SystemResult) string {
	rt := ratioText(Ratio(sbc.Highest, s.Highest))
	if rt == "n/a" {
		return rt
	}
	switch {
	case sbc.Capped() && s.Capped():
		return "n/a (both above the ramp)"
	case sbc.Capped():
		return "≥ " + rt
	case s.Capped():
		return "≤ " + rt
	}
	return rt
}

func rateText(s SystemResult) string {
	if s.Capped() {
		return fmt.Sprintf("≥ %.0f", s.Highest)
	}
	return fmt.Sprintf("%.0f", s.Highest)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func ratioText(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", v)
}

// Summary is the one-line result printed at the end of a run.
func (r *Report) Summary() string {
	var b strings.Builder
	sbc := r.system("sbc")
	if sbc == nil {
		return "no SBC result"
	}
	fmt.Fprintf(&b, "SBC %s cps", rateText(*sbc))
	for _, s := range r.Systems {
		if s.Name == "sbc" {
			continue
		}
		fmt.Fprintf(&b, "; %s %s cps (SBC %s)", s.Name, rateText(s), ratioCell(*sbc, s))
	}
	if r.Conc != nil {
		fmt.Fprintf(&b, "; %d concurrent calls %s, %.1f KiB RSS/call", r.Conc.Target,
			map[bool]string{true: "all completed", false: "NOT all completed"}[r.Conc.Completed()],
			PerCall(r.Conc.RSSBase, r.Conc.RSSPeak, r.Conc.PeakOpen)/1024)
	}
	fmt.Fprintf(&b, " (criterion: 0 failed, p99 set-up < %v; %s mode, load avg %.1f before)", r.MaxP99, r.Mode, r.Env.LoadBefore)
	return b.String()
}

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("# SIP load bench: SBC vs Kamailio (%s)\n\n", r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	w("**Summary:** %s\n\n", r.Summary())
	w("## Set-up\n\n")
	w("- Machine: %s, %d CPU(s) (%s), kernel %s; **load average %.2f before the run** — the machine is shared, "+
		"so every figure below carries the load of the moment (the per-step load is in the tables).\n",
		r.Env.Host, r.Env.CPUs, r.Env.CPU, r.Env.Kernel, r.Env.LoadBefore)
	w("- SIPp %s (caller `uac-load.xml`, callee `uas-load.xml` from `scripts/sipp/`: INVITE/100/180/200/ACK, hold, BYE/200; "+
		"ACK and BYE routed by the route set), Kamailio %s, SBC at %s.\n", r.Env.SIPp, r.Env.Kamailio, r.Env.SBCCommit)
	w("- Everything on loopback (127.0.9.x), SIPp, the system under test and the harness sharing the same cores; SIPp's socket buffers are 4 MiB (`-buff_size`) for every system.\n")
	w("- Mode %s: steps of %v at each rate, calls held %v; a step passes with **zero failed calls and p99 set-up "+
		"(SIPp response time INVITE→200) under %v**. The result of a system is its highest passing rate.\n",
		r.Mode, r.Step, r.Hold, r.MaxP99)
	w("- CPU is utime+stime of the system's processes over the step (100 %% = one core; the machine has %d). "+
		"Memory is VmRSS for the SBC and the summed PSS of all Kamailio processes. \"UDP drops\" is the machine-wide "+
		"count of datagrams dropped on full socket receive buffers during the step (/proc/net/snmp RcvbufErrors).\n\n", r.Env.CPUs)

	w("## Result\n\n")
	w("| system | what it does | highest passing rate (cps) | SBC / system |\n|---|---|---:|---:|\n")
	sbc := r.system("sbc")
	for _, s := range r.Systems {
		ratio := "—"
		if sbc != nil && s.Name != "sbc" {
			ratio = ratioCell(*sbc, s)
		}
		desc := s.Description
		if s.Error != "" {
			desc += " — **not run: " + s.Error + "**"
		}
		w("| %s | %s | %s | %s |\n", s.Name, desc, rateText(s), ratio)
	}
	w("\n")
	if sbc != nil && len(r.Goal.Ratios) > 0 {
		w("### Goal of issue 9\n\n| target | wanted | measured | met |\n|---|---:|---:|---|\n")
		w("| SBC rate | ≥ %.0f cps | %.0f cps | %s |\n", r.Goal.Rate, sbc.Highest, yesNo(sbc.Highest >= r.Goal.Rate))
		names := make([]string, 0, len(r.Goal.Ratios))
		for n := range r.Goal.Ratios {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			s := r.system(n)
			if s == nil {
				continue
			}
			got := Ratio(sbc.Highest, s.Highest)
			w("| SBC / %s | ≥ %.1f× | %s | %s |\n", n, r.Goal.Ratios[n], ratioText(got), yesNo(!math.IsNaN(got) && got >= r.Goal.Ratios[n]))
		}
		w("\nA ratio is n/a when the reference passed no step; a system that passes the highest rate tried is " +
			"limited by the ramp, not measured to its end.\n\n")
	}
	if len(r.Plots) > 0 {
		w("## Plots\n\n")
		for _, p := range r.Plots {
			w("![%s](%s)\n\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
	w("## Steps\n\n")
	for _, s := range r.Systems {
		w("### %s\n\n%s\n\n", s.Name, s.Description)
		if s.Error != "" {
			w("Not run: %s\n\n", s.Error)
			continue
		}
		w("| target cps | achieved cps | calls | ok | failed | retrans | UDP drops | p50 ms | p95 ms | p99 ms | max ms | CPU %% | RSS MiB | load1 | pass |\n")
		w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, st := range s.Steps {
			failed := fmt.Sprint(st.Failed)
			if len(st.Failures) > 0 {
				failed += " " + failureText(st.Failures)
			}
			if st.Error != "" {
				failed += " (error: " + firstLine(st.Error) + ")"
			}
			w("| %.0f | %.0f | %d | %d | %s | %d | %d | %s | %s | %s | %s | %.0f | %.1f | %.1f | %s |\n",
				st.Rate, st.Achieved, st.Calls, st.Successful, failed, st.Retransmissions, st.UDPDrops,
				ms(st.Setup.P50), ms(st.Setup.P95), ms(st.Setup.P99), ms(st.Setup.Max), st.CPU,
				float64(st.RSS)/(1<<20), st.Load1, yesNo(Criterion{MaxP99: r.MaxP99}.Pass(st)))
		}
		w("\n")
		if len(s.LogErrors) > 0 {
			w("Most frequent errors in its log over the whole ramp:\n\n```\n%s\n```\n\n", strings.Join(s.LogErrors, "\n"))
		}
	}
	w("## Concurrent calls (SBC)\n\n")
	if c := r.Conc; c == nil {
		w("Not run.\n\n")
	} else {
		w("%d calls placed at %.0f cps, each held %v so that all are up at once; open-files limit of the SBC %d.\n\n",
			c.Target, c.Rate, c.Hold.Round(time.Second), c.NoFile)
		if c.Requested > c.Target {
			w("**%d calls were asked for; the SBC's open-files limit (%d, not raisable here: no CAP_SYS_RESOURCE) "+
				"allows %d at %d media sockets per call, so %d were placed.** Raise `ulimit -n` (as root with "+
				"CAP_SYS_RESOURCE, or LimitNOFILE= in the systemd unit) to hold more.\n\n",
				c.Requested, c.NoFile, MaxCallsForFiles(c.NoFile), SocketsPerCall, c.Target)
		}
		w("| calls | peak open (sbc_calls_in_progress) | ok | failed | all completed | RSS base → peak MiB | RSS per call KiB | heap in use base → peak MiB | heap per call KiB | load1 |\n")
		w("|---:|---:|---:|---:|---|---|---:|---|---:|---:|\n")
		failed := fmt.Sprint(c.Failed)
		if len(c.Failures) > 0 {
			failed += " " + failureText(c.Failures)
		}
		if c.Error != "" {
			failed += " (error: " + firstLine(c.Error) + ")"
		}
		w("| %d | %d | %d | %s | %s | %.1f → %.1f | %.1f | %.1f → %.1f | %.1f | %.1f |\n\n", c.Target, c.PeakOpen, c.Successful,
			failed, yesNo(c.Completed()), float64(c.RSSBase)/(1<<20), float64(c.RSSPeak)/(1<<20),
			PerCall(c.RSSBase, c.RSSPeak, c.PeakOpen)/1024, float64(c.HeapBase)/(1<<20), float64(c.HeapPeak)/(1<<20),
			PerCall(c.HeapBase, c.HeapPeak, c.PeakOpen)/1024, c.Load1)
		w("Per-call memory is (peak − base) / peak open calls; it includes two dialogs, two transactions' leftovers, " +
			"the B2BUA call state and four media sockets (RTP+RTCP per leg) per call.\n\n")
	}
	w("## Media\n\n%s\n\n", r.Media)
	if r.Profile != "" {
		w("## CPU profile of the SBC\n\n%s\n\n", r.Profile)
	}
	w("## Reproduce\n\n```\nscripts/bench.sh            # full ramp\nscripts/bench.sh -short     # < 5 minutes\n```\n\n" +
		"Raw data: `results.json`; SIPp's logs, statistics and response times per step under `raw/`.\n")
	return b.String()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "**no**"
}

func failureText(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
