package config_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/config"
	"github.com/sbc-project/sbc/internal/hclutil"
	"github.com/sbc-project/sbc/policy"
)

func diagText(err error) string {
	var de *hclutil.DiagError
	if errors.As(err, &de) {
		return de.Text()
	}
	return err.Error()
}

// TestDefault: the embedded default is the README demo on loopback, and
// the embedded default policy validates against its interfaces.
func TestDefault(t *testing.T) {
	c, err := config.Load("", config.Overrides{})
	if err != nil {
		t.Fatal(diagText(err))
	}
	if len(c.Interfaces) != 1 || c.Interfaces[0].Name != "loopback" {
		t.Fatalf("interfaces %+v", c.Interfaces)
	}
	want := []config.Listener{
		{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:5060")},
		{Transport: "tcp", Addr: netip.MustParseAddrPort("127.0.0.1:5060")},
	}
	if got := c.Interfaces[0].Listeners; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("listeners %+v", got)
	}
	if c.Interfaces[0].Media.Address != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("media %+v", c.Interfaces[0].Media)
	}
	if c.AdminListen.String() != "127.0.0.1:9060" || c.MetricsListen.String() != "127.0.0.1:9060" {
		t.Errorf("admin %s metrics %s", c.AdminListen, c.MetricsListen)
	}
	if c.SIP.T1 != 500*time.Millisecond || c.SIP.T2 != 4*time.Second || c.SIP.T4 != 5*time.Second {
		t.Errorf("timers %+v", c.SIP)
	}
	if len(c.PolicyFiles) != 0 {
		t.Errorf("policy files %v", c.PolicyFiles)
	}
	if _, err := policy.Load(c.PolicyFiles, policy.LoadOptions{Interfaces: c.InterfaceNames(), Transports: c.InterfaceTransports()}); err != nil {
		t.Fatal(diagText(err))
	}
}

// TestOverride: a file overrides the default attribute by attribute, its
// interfaces replace the default's, and flags override the file.
func TestOverride(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "p.hcl")
	if err := os.WriteFile(pf, []byte("# empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `
sip {
  t1 = "250ms"
}
log {
  format = "json"
}
policy {
  files = ["p.hcl"]
}`
	c, err := config.LoadBytes(filepath.Join(dir, "sbc.hcl"), []byte(src), config.Overrides{LogLevel: "debug", AdminListen: "127.0.0.1:9999"})
	if err != nil {
		t.Fatal(diagText(err))
	}
	if c.SIP.T1 != 250*time.Millisecond || c.SIP.T2 != 4*time.Second {
		t.Errorf("timers %+v", c.SIP)
	}
	if c.LogFormat != "json" || c.LogLevel.String() != "DEBUG" || c.AdminListen.Port() != 9999 || c.MetricsListen.Port() != 9060 {
		t.Errorf("log %s %s admin %s", c.LogFormat, c.LogLevel, c.AdminListen)
	}
	if len(c.PolicyFiles) != 1 || c.PolicyFiles[0] != pf {
		t.Errorf("policy files %v", c.PolicyFiles)
	}
	if len(c.Interfaces) != 1 || c.Interfaces[0].Name != "loopback" {
		t.Errorf("default interfaces not kept: %+v", c.Interfaces)
	}
	c, err = config.LoadBytes("x.hcl", []byte(`
interface "outside" {
  listen "udp" {
    address = "192.0.2.1"
  }
  media {
    address  = "192.0.2.1"
    port_min = 30000
    port_max = 30099
  }
}`), config.Overrides{})
	if err != nil {
		t.Fatal(diagText(err))
	}
	if len(c.Interfaces) != 1 || c.Interfaces[0].Name != "outside" {
		t.Errorf("interfaces not replaced: %+v", c.Interfaces)
	}
}

func TestNegative(t *testing.T) {
	iface := func(name, addr, extra string, lo, hi int) string {
		return `interface "` + name + `" {
  listen "udp" {
    address = "` + addr + `"
  }
  media {
    address  = "` + addr + `"
    port_min = ` + itoa(lo) + `
    port_max = ` + itoa(hi) + `
  }
` + extra + `}
`
	}
	cases := []struct {
		name, src, summary string
		line, col          int
	}{
		{"overlapping media ranges", iface("a", "192.0.2.1", "", 20000, 29999) + iface("b", "0.0.0.0", "", 29000, 39999),
			"Overlapping media port ranges", 17, 5},
		{"media range includes SIP port", iface("a", "192.0.2.1", "", 5000, 5999), "Media ports include a SIP port", 7, 5},
		{"odd port_min", iface("a", "192.0.2.1", "", 20001, 29999), "Odd media port", 7, 16},
		{"empty range", iface("a", "192.0.2.1", "", 30000, 29998), "Empty media port range", 8, 16},
		{"listen collision", iface("a", "0.0.0.0", "", 20000, 20999) + iface("b", "192.0.2.9", "", 30000, 30999),
			"Listen address in use", 12, 3},
		{"bad address", iface("a", "192.0.2.300", "", 20000, 20999), "Invalid address", 3, 15},
		{"tls without cert", iface("a", "192.0.2.1", "  listen \"tls\" {\n    address = \"192.0.2.1\"\n  }\n", 20000, 20999),
			"Missing cert_file", 10, 3},
		{"bad transport", iface("a", "192.0.2.1", "  listen \"sctp\" {\n    address = \"192.0.2.1\"\n  }\n", 20000, 20999),
			"Invalid transport", 10, 10},
		{"t2 below t1", "sip {\n  t1 = \"2s\"\n  t2 = \"1s\"\n}\n", "T2 below T1", 3, 8},
		{"bad duration", "sip {\n  t4 = \"5\"\n}\n", "Invalid duration", 2, 8},
		{"log level", "log {\n  level = \"loud\"\n}\n", "Invalid log level", 2, 11},
		{"admin listen", "admin {\n  listen = \"localhost\"\n}\n", "Invalid listen address", 2, 12},
		{"missing policy file", "policy {\n  files = [\"/nonexistent/p.hcl\"]\n}\n", "Policy file not found", 2, 12},
		{"unknown block", "sipp {\n}\n", "Unsupported block type", 1, 1},
		{"duplicate interface", iface("a", "192.0.2.1", "", 20000, 20999) + iface("a", "192.0.2.2", "", 30000, 30999),
			"Duplicate interface", 11, 11},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.LoadBytes("neg.hcl", []byte(c.src), config.Overrides{})
			var de *hclutil.DiagError
			if !errors.As(err, &de) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("error %v", err)
			}
			for _, d := range de.Diags {
				if d.Summary == c.summary && d.Subject != nil {
					s := d.Subject.Start
					if d.Subject.Filename != "neg.hcl" || s.Line != c.line || s.Column != c.col {
						t.Fatalf("at %s:%d:%d, want neg.hcl:%d:%d\n%s", d.Subject.Filename, s.Line, s.Column, c.line, c.col, de.Text())
					}
					return
				}
			}
			t.Fatalf("no %q diagnostic:\n%s", c.summary, de.Text())
		})
	}
	if _, err := config.LoadBytes("", nil, config.Overrides{LogFormat: "xml"}); err == nil || !strings.Contains(err.Error(), "-log-format") {
		t.Errorf("bad flag: %v", err)
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

// TestExamples loads every example deployment: its configuration, then
// its policy against the configuration's interfaces, and routes a call
// the deployment exists for.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("examples/*/sbc.hcl")
	if err != nil || len(dirs) != 3 {
		t.Fatalf("want 3 examples, got %v %v", dirs, err)
	}
	calls := map[string]struct {
		req   policy.RouteRequest
		route string
		trunk string
		ruri  string
	}{
		"two-carriers":   {policy.RouteRequest{SourceTrunk: "carrier_b", RURIUser: "004930123"}, "b_to_a", "carrier_a", "+4930123"},
		"pbx-behind-nat": {policy.RouteRequest{SourceTrunk: "pbx", RURIUser: "030123456", FromUser: "201"}, "pbx_out", "carrier", "+4930123456"},
		"wholesale":      {policy.RouteRequest{SourceTrunk: "customer_1", RURIUser: "+491701234567"}, "germany_mobile", "mobile_de", "+491701234567"},
	}
	for _, f := range dirs {
		name := filepath.Base(filepath.Dir(f))
		t.Run(name, func(t *testing.T) {
			c, err := config.Load(f, config.Overrides{})
			if err != nil {
				t.Fatal(diagText(err))
			}
			p, err := policy.Load(c.PolicyFiles, policy.LoadOptions{Interfaces: c.InterfaceNames(), Transports: c.InterfaceTransports()})
			if err != nil {
				t.Fatal(diagText(err))
			}
			call, ok := calls[name]
			if !ok {
				t.Fatalf("no call for example %s", name)
			}
			d := p.Route(call.req)
			if d.RouteName() != call.route || len(d.Trunks) == 0 || d.Trunks[0].Name != call.trunk || d.RURIUser != call.ruri {
				t.Fatalf("route %q trunks %v ruri %q", d.RouteName(), d.Trunks, d.RURIUser)
			}
		})
	}
}
