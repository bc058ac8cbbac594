package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbc-project/sbc/internal/testenv"
	"github.com/sbc-project/sbc/policy"
)

// TestExamples checks every example deployment the way `sbc check` does.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "config", "examples", "*", "sbc.hcl"))
	if err != nil || len(dirs) < 3 {
		t.Fatalf("examples: %v %v", dirs, err)
	}
	for _, cfg := range dirs {
		t.Run(filepath.Base(filepath.Dir(cfg)), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := check(&out, &errb, commonFlags{configs: listFlag{cfg}}); code != 0 {
				t.Fatalf("exit %d:\n%s", code, errb.String())
			}
			if !strings.Contains(out.String(), "configuration OK") || !strings.Contains(out.String(), "policy OK") {
				t.Errorf("summary:\n%s", out.String())
			}
		})
	}
}

func TestCheckReportsFileLineColumn(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.hcl")
	if err := os.WriteFile(pol, []byte("trunk \"a\" {\n  interface = \"loopback\"\n}\nroute \"r\" {\n  trunks = [\"nosuch\"]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := check(&out, &errb, commonFlags{policies: listFlag{pol}})
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "policy.hcl line 5") && !strings.Contains(errb.String(), "policy.hcl:5") {
		t.Errorf("diagnostics do not point at line 5:\n%s", errb.String())
	}
	if !strings.Contains(errb.String(), `"nosuch"`) {
		t.Errorf("diagnostics do not name the unknown trunk:\n%s", errb.String())
	}
	cfg := filepath.Join(dir, "sbc.hcl")
	if err := os.WriteFile(cfg, []byte("interface \"x\" {\n  listen {\n    transport = \"udp\"\n    address = \"nowhere\"\n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := check(&out, &errb, commonFlags{configs: listFlag{cfg}}); code != 1 || !strings.Contains(errb.String(), "sbc.hcl line 4") {
		t.Errorf("config check exit %d:\n%s", code, errb.String())
	}
}

func TestRouteDryRun(t *testing.T) {
	root := testenv.RepoRoot(t)
	pol, err := policy.Load([]string{filepath.Join(root, "config", "examples", "wholesale", "policy.hcl")},
		policy.LoadOptions{Interfaces: []string{"customers", "suppliers"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ruri string
		want []string
	}{
		{"sip:+4930123456@sbc", []string{"route:        germany", "trunk 1:      lcr_1", "trunk 2:      lcr_2"}},
		{"sip:+4917012345@sbc", []string{"route:        germany_mobile", "trunk 1:      lcr_2"}},
		{"sip:+49900123@sbc", []string{"rejected:     403 Premium Destinations Blocked"}},
		{"sip:0044207123@sbc", []string{"R-URI user:   0044207123 -> +44207123"}},
		{"sip:+99912@sbc", []string{"route:        (none)", "rejected:     404 No Route To Destination"}},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		if code := route(&out, &errb, pol, routeArgs{fromTrunk: "customer_x", ruri: tc.ruri}); code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.ruri, code, errb.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.ruri, w, out.String())
			}
		}
	}
	var out, errb bytes.Buffer
	if code := route(&out, &errb, pol, routeArgs{source: "192.0.2.130:5060", transport: "udp", ruri: "sip:+4930@x"}); code != 0 ||
		!strings.Contains(out.String(), "source trunk: customer_x") {
		t.Errorf("match by source: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
