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
	var b strings.Builder
	for _, view := range []struct {
		title, file string
		args        []string
		limit       int
	}{
		{"Self time by symbol (≥ 1 %)", "perf-self.txt", []string{"--no-children", "--percent-limit", "1"}, 25},
		{"Inclusive time (children) by symbol (≥ 8 %)", "perf-children.txt", []string{"--children", "--percent-limit", "8"}, 40},
	} {
		args := append([]string{"report", "-i", data, "--stdio", "-g", "none", "--sort", "symbol"}, view.args...)
		out, err := exec.CommandContext(ctx, perf, args...).Output()
		if err != nil {
			return "", fmt.Errorf("harness: perf report: %v", err)
		}
		_ = os.WriteFile(filepath.Join(dir, view.file), out, 0o644)
		fmt.Fprintf(&b, "%s:\n\n```\n%s```\n\n", view.title, perfLines(string(out), view.limit))
	}
	return strings.TrimSpace(b.String()), nil
}

// perfLines keeps the sample lines of a perf report, without the comment
// header and the empty trailing columns.
func perfLines(out string, limit int) string {
	var b strings.Builder
	n := 0
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		t = strings.TrimSpace(strings.TrimRight(t, " -"))
		b.WriteString(strings.Join(strings.Fields(t), " "))
		b.WriteByte('\n')
		if n++; n == limit {
			break
		}
	}
	return b.String()
}
