package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbc-project/sbc/internal/testenv"
)

// unitKeys parses a systemd unit into section.key -> values (a key may
// repeat).
func unitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: bad line %q", path, line)
			}
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	return keys
}

func TestUnit(t *testing.T) {
	keys := unitKeys(t, "sbc.service")
	want := map[string]string{
		"Service.User":                    "sbc",
		"Service.Group":                   "sbc",
		"Service.AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"Service.CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"Service.NoNewPrivileges":         "yes",
		"Service.ProtectSystem":           "strict",
		"Service.Restart":                 "on-failure",
		"Service.ExecReload":              "/bin/kill -HUP $MAINPID",
		"Service.ExecStart":               "/usr/local/bin/sbc run -config /etc/sbc/sbc.hcl",
		"Service.ReadWritePaths":          "-/var/lib/sbc/cdr -/var/lib/sbc/capture",
		"Service.StateDirectory":          "sbc sbc/cdr sbc/capture",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
		"Install.WantedBy":                "multi-user.target",
	}
	for k, v := range want {
		if got := keys[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if _, ok := keys["Service.PermissionsStartOnly"]; ok {
		t.Error("deprecated PermissionsStartOnly")
	}
	// systemd's own check, with the binary path pointed at an executable
	// that exists, so only real unit errors are reported.
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: unit syntax not verified by systemd")
		return
	}
	b, _ := os.ReadFile("sbc.service")
	tmp := filepath.Join(t.TempDir(), "sbc.service")
	os.WriteFile(tmp, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/sbc", "/bin/true")), 0o644)
	out, err := exec.Command(analyze, "verify", tmp).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func script(t *testing.T) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "scripts", "install.sh")
}

func runInstall(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(script(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}

func TestInstallDestDir(t *testing.T) {
	dest := t.TempDir()
	bin := filepath.Join(t.TempDir(), "sbc")
	os.WriteFile(bin, []byte("#!/bin/sh\necho sbc v1\n"), 0o755)
	examples := t.TempDir()
	os.WriteFile(filepath.Join(examples, "sbc.hcl"), []byte("# example\n"), 0o644)
	os.WriteFile(filepath.Join(examples, "policy.hcl"), []byte("# policy\n"), 0o644)

	out := runInstall(t, []string{"DESTDIR=" + dest}, "--binary", bin, "--config-examples", examples)
	if !strings.Contains(out, "not creating user") {
		t.Errorf("DESTDIR install did not skip the user:\n%s", out)
	}
	checks := map[string]os.FileMode{
		"usr/local/bin/sbc":              0o755,
		"etc/systemd/system/sbc.service": 0o644,
		"etc/sbc/sbc.hcl":                0o640,
		"etc/sbc/policy.hcl":             0o640,
		"etc/sbc":                        0o750 | os.ModeDir,
		"var/lib/sbc/cdr":                0o750 | os.ModeDir,
		"var/lib/sbc/capture":            0o750 | os.ModeDir,
	}
	for p, m := range checks {
		if got := mode(t, filepath.Join(dest, p)); got != m {
			t.Errorf("%s: mode %v, want %v", p, got, m)
		}
	}
	unit, _ := os.ReadFile(filepath.Join(dest, "etc/systemd/system/sbc.service"))
	orig, _ := os.ReadFile("sbc.service")
	if string(unit) != string(orig) {
		t.Error("installed unit differs from deploy/sbc.service")
	}

	// Second run: binary upgraded, operator's configuration kept.
	os.WriteFile(filepath.Join(dest, "etc/sbc/sbc.hcl"), []byte("# edited by the operator\n"), 0o640)
	os.WriteFile(bin, []byte("#!/bin/sh\necho sbc v2\n"), 0o755)
	out = runInstall(t, []string{"DESTDIR=" + dest}, "--binary", bin, "--config-examples", examples)
	if b, _ := os.ReadFile(filepath.Join(dest, "etc/sbc/sbc.hcl")); string(b) != "# edited by the operator\n" {
		t.Errorf("existing configuration overwritten: %q", b)
	}
	if !strings.Contains(out, "keeping existing /etc/sbc/sbc.hcl") {
		t.Errorf("no keep message:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "usr/local/bin/sbc")); !strings.Contains(string(b), "v2") {
		t.Error("binary not upgraded")
	}

	// Another prefix rewrites the unit's paths.
	dest2 := t.TempDir()
	runInstall(t, nil, "--destdir", dest2, "--prefix", "/opt/sbc", "--binary", bin, "--config-examples", filepath.Join(examples, "absent"))
	unit, _ = os.ReadFile(filepath.Join(dest2, "etc/systemd/system/sbc.service"))
	if !strings.Contains(string(unit), "ExecStart=/opt/sbc/bin/sbc run") || strings.Contains(string(unit), "/usr/local/bin") {
		t.Errorf("prefix not applied to the unit:\n%s", unit)
	}
	if mode(t, filepath.Join(dest2, "opt/sbc/bin/sbc")) != 0o755 {
		t.Error("binary not under the prefix")
	}
	if _, err := os.Stat(filepath.Join(dest2, "etc/sbc/sbc.hcl")); err == nil {
		t.Error("configuration installed without examples")
	}
}

func TestInstallDryRun(t *testing.T) {
	before := snapshot(t)
	out := runInstall(t, []string{"DESTDIR="}, "--dry-run")
	lines := strings.Split(out, "\n")
	want := []string{
		"go build -C",
		"-trimpath",
		"./cmd/sbc",
		"install -D -m 0755",
		"/usr/local/bin/sbc",
		"install -D -m 0644 " + filepath.Join(testenv.RepoRoot(t), "deploy", "sbc.service") + " /etc/systemd/system/sbc.service",
		"/var/lib/sbc/cdr",
		"/var/lib/sbc/capture",
		"dry run: nothing changed",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("dry run lacks %q:\n%s", w, out)
		}
	}
	if _, err := exec.Command("getent", "passwd", "sbc").Output(); err != nil && !strings.Contains(out, "useradd --system") {
		t.Errorf("no useradd planned for a missing user:\n%s", out)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "+ ") && strings.Contains(l, "rm ") {
			t.Errorf("dry run plans a removal: %s", l)
		}
	}
	if after := snapshot(t); after != before {
		t.Errorf("dry run changed the system: before %q, after %q", before, after)
	}
}

func TestInstallRefusesBadArgs(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"--dry-run", "--binary", "/nonexistent/sbc"}} {
		cmd := exec.Command(script(t), args...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("%v accepted:\n%s", args, out)
		}
	}
}

// snapshot records whether the paths an install touches exist.
func snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/usr/local/bin/sbc", "/etc/systemd/system/sbc.service", "/etc/sbc", "/var/lib/sbc"} {
		_, err := os.Stat(p)
		b.WriteString(p)
		if err == nil {
			b.WriteString("=present ")
		} else {
			b.WriteString("=absent ")
		}
	}
	out, _ := exec.Command("getent", "passwd", "sbc").Output()
	b.Write(out)
	return b.String()
}
