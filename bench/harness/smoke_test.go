package harness

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
	"github.com/sbc-project/sbc/internal/testenv"
)

// TestSmokeSBCStep builds the real sbc, starts it on loopback and runs one
// ramp step of 2 s at 20 cps through it with SIPp: 40 calls, every one
// answered, set-up times for each, and the daemon's CPU and memory read.
func TestSmokeSBCStep(t *testing.T) {
	testenv.LookPath(t, "sipp")
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(t.TempDir(), "sbc")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sbc")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	caller, callee := netip.MustParseAddr("127.0.9.110"), netip.MustParseAddr("127.0.9.120")
	port, err := sipptest.FreePort(callee)
	if err != nil {
		t.Fatal(err)
	}
	calleeAP := netip.AddrPortFrom(callee, port)
	sbc, err := StartSBC(ctx, SBCOptions{Bin: bin, Dir: t.TempDir(), Inside: netip.MustParseAddr("127.0.9.101"),
		Outside: netip.MustParseAddr("127.0.9.102"), Caller: caller, Callee: calleeAP, PortMin: 40000, PortMax: 40999})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sbc.Stop(); err != nil {
			t.Error(err)
		}
	})
	r := NewRunner(dir, filepath.Join(root, "scripts", "sipp"))
	defer r.Close()
	o := RampOptions{Rates: []float64{20}, Step: 2 * time.Second, Hold: 200 * time.Millisecond, Caller: caller,
		Callee: calleeAP, Criterion: Criterion{MaxP99: 50 * time.Millisecond}, Dir: dir,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	steps := Ramp(ctx, r, sbc, o)
	if len(steps) != 1 {
		t.Fatalf("%d steps, want 1", len(steps))
	}
	s := steps[0]
	if s.Error != "" || s.Calls != 40 || s.Successful != 40 || s.Failed != 0 {
		t.Fatalf("step: %+v", s)
	}
	if s.Setup.Samples != 40 || s.Setup.P99 < s.Setup.P50 || s.Setup.Max < s.Setup.P99 {
		t.Errorf("set-up latency: %+v", s.Setup)
	}
	if s.CPU <= 0 || s.RSS <= 0 {
		t.Errorf("CPU %.1f %%, RSS %d: the daemon's /proc figures were not read", s.CPU, s.RSS)
	}
	if s.Achieved < 10 || s.Achieved > 40 {
		t.Errorf("achieved rate %.1f for a 20 cps step", s.Achieved)
	}
	// Every call ended in the SBC too.
	if err := sbc.Idle(ctx); err != nil {
		t.Error(err)
	}
	m, err := sbc.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m[`sbc_calls_answered_total{trunk="callers"}`] != 40 {
		t.Errorf("sbc answered %v calls, want 40", m[`sbc_calls_answered_total{trunk="callers"}`])
	}
	if _, err := os.Stat(filepath.Join(dir, "sbc", "00020cps", "uac", "stat.csv")); err != nil {
		t.Errorf("SIPp statistics not kept: %v", err)
	}
}

func TestProcGroup(t *testing.T) {
	// A child of this test process: the group with children counts it.
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	self := ProcGroup{Root: os.Getpid(), Children: true}
	found := false
	for _, pid := range self.PIDs() {
		if pid == cmd.Process.Pid {
			found = true
		}
	}
	if !found {
		t.Errorf("child %d not in the group %v", cmd.Process.Pid, self.PIDs())
	}
	m, err := StartCPU(ProcGroup{Root: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	if pct, err := m.Percent(); err != nil || pct <= 0 {
		t.Errorf("CPU of a busy loop = %v %%, %v", pct, err)
	}
	if rss, err := (ProcGroup{Root: os.Getpid()}).Memory(); err != nil || rss <= 0 {
		t.Errorf("RSS = %d, %v", rss, err)
	}
	if pss, err := self.Memory(); err != nil || pss <= 0 {
		t.Errorf("PSS = %d, %v", pss, err)
	}
	if _, err := (ProcGroup{Root: 1 << 30}).CPUTime(); err == nil {
		t.Error("no error for a PID that does not exist")
	}
}
