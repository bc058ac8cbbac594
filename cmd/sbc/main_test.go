package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckDefault(t *testing.T) {
	code, out, errs := run("check")
	if code != 0 || !strings.Contains(out, "2 trunk(s)") || !strings.Contains(out, "1 route(s)") {
		t.Fatalf("code %d\n%s%s", code, out, errs)
	}
}

func TestCheckExamples(t *testing.T) {
	for _, ex := range []string{"two-carriers", "pbx-behind-nat", "wholesale"} {
		code, out, errs := run("check", "-config", filepath.Join("..", "..", "config", "examples", ex, "sbc.hcl"))
		if code != 0 || !strings.Contains(out, "OK") {
			t.Errorf("%s: code %d\n%s%s", ex, code, out, errs)
		}
	}
}

func TestCheckReportsPosition(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "p.hcl")
	src := "trunk \"a\" {\n  interface = \"loopback\"\n  destination {\n    host = \"127.0.0.1\"\n  }\n}\nroute \"r\" {\n  trunks = [\"a\", \"b\"]\n}\n"
	if err := os.WriteFile(pf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("check", "-policy", pf)
	if code != 1 || out != "" {
		t.Fatalf("code %d out %q", code, out)
	}
	for _, want := range []string{pf + ":8:18: error: Unknown trunk", `8:   trunks = ["a", "b"]`, "1 error(s)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, errs)
		}
	}
}

func TestRouteCommand(t *testing.T) {
	code, out, errs := run("route", "-policy", filepath.Join("..", "..", "policy", "testdata", "valid", "full.hcl"),
		"-config", filepath.Join("..", "..", "config", "examples", "two-carriers", "sbc.hcl"),
		"--from-trunk", "carrier_a", "--ruri", "sip:+4930123@x")
	// full.hcl's interfaces (inside, outside) are the two-carriers
	// config's, but its carrier_a alternate uses TLS, which "outside" does
	// not listen on there.
	if code != 1 || !strings.Contains(errs, "full.hcl:29:17: error: Transport not served") {
		t.Fatalf("code %d\n%s%s", code, out, errs)
	}
	code, out, errs = run("route", "-config", filepath.Join("..", "..", "config", "examples", "wholesale", "sbc.hcl"),
		"--from-trunk", "customer_1", "--ruri", "sip:+49900123@carrier.example")
	if code != 0 || !strings.Contains(out, `route: "germany_premium"`) || !strings.Contains(out, "reject: 403 Premium Rate Barred") {
		t.Fatalf("code %d\n%s%s", code, out, errs)
	}
	code, out, errs = run("route", "-config", filepath.Join("..", "..", "config", "examples", "wholesale", "sbc.hcl"),
		"--src", "192.0.2.130:5060", "--iface", "customers", "--ruri", "sip:030123@x", "--header", "X-Test: 1")
	for _, want := range []string{`is trunk "customer_1"`, `route: "national_dialling"`, "1. tier1", "ruri user: 030123 -> +4930123"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("lacks %q: code %d\n%s%s", want, code, out, errs)
		}
	}
}

func TestDispatch(t *testing.T) {
	if code, _, errs := run(); code != 1 || !strings.Contains(errs, "not wired yet") {
		t.Errorf("no args must mean run: %d %s", code, errs)
	}
	if code, _, errs := run("-log-level", "debug"); code != 1 || !strings.Contains(errs, "not wired yet") {
		t.Errorf("flags first must mean run: %d %s", code, errs)
	}
	if code, _, errs := run("frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown: %d %s", code, errs)
	}
	if code, out, _ := run("version"); code != 0 || !strings.HasPrefix(out, "sbc ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out, _ := run("help"); code != 0 || !strings.Contains(out, "check") {
		t.Errorf("help: %d %q", code, out)
	}
	if userPart("sip:+49301@x;user=phone") != "+49301" || userPart("<sips:alice:pw@h>") != "alice" || userPart("tel:+4930;phone-context=x") != "+4930" || userPart("0301") != "0301" {
		t.Error("userPart")
	}
}
