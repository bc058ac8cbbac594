package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// PerfProfile records the CPU profile of pid with perf for d (perf record
// -F 499 -g -p pid) and returns the top of `perf report` (self time, at
// least 1.5 %), as text for the report.
func PerfProfile(ctx context.Context, perf string, pid int, d time.Duration, dir string) (string, error) {
	data := filepath.Join(dir, "perf.data")
	rec := exec.CommandContext(ctx, perf, "record", "-F", "499", "-g", "-p", fmt.Sprint(pid), "-o", data,
		"--", "sleep", fmt.Sprintf("%.0f", d.Seconds()))
	if out, err := rec.CombinedOutput(); err != nil {
		return "", fmt.Errorf("harness: perf record: %v: %s", err, out)
	}
	rep := exec.CommandContext(ctx, perf, "report", "-i", data, "--stdio", "--no-children", "-g", "none",
		"--percent-limit", "1.5", "--sort", "symbol")
	out, err := rep.Output()
	if err != nil {
		return "", fmt.Errorf("harness: perf report: %v", err)
	}
	_ = os.WriteFile(filepath.Join(dir, "perf-report.txt"), out, 0o644)
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		lines = append(lines, t)
		if len(lines) == 25 {
			break
		}
	}
	return strings.Join(lines, "\n"), nil
}
