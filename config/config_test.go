package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c := Default()
	if c.Media.IdleSockets != 0 || c.Media.ReuseDelay != DefaultReuseDelay {
		t.Errorf("media pool %+v, want the relay's defaults", c.Media)
	}
	if c.Runtime.GCPercent != DefaultGCPercent || c.Runtime.MemoryLimitMB != 0 {
		t.Errorf("runtime %+v, want gc_percent %d and no memory limit", c.Runtime, DefaultGCPercent)
	}
	if c.SIP.TryingDelay != DefaultTryingDelay {
		t.Errorf("trying delay %v, want the default %v", c.SIP.TryingDelay, DefaultTryingDelay)
	}
	if c.SIP.OverloadQueueDelay != DefaultOverloadQueueDelay {
		t.Errorf("overload queue delay %v, want the default %v", c.SIP.OverloadQueueDelay, DefaultOverloadQueueDelay)
	}
	if len(c.Interfaces) != 1 || c.Interfaces[0].Name != "loopback" {
		t.Fatalf("interfaces %+v", c.Interfaces)
	}
	ifc := c.Interfaces[0]
	want := map[string]string{"udp": "127.0.0.1:5060", "tcp": "127.0.0.1:5060"}
	for _, l := range ifc.Listeners {
		if want[l.Transport] != l.Addr.String() {
			t.Errorf("listener %s %s", l.Transport, l.Addr)
		}
		delete(want, l.Transport)
	}
	if len(want) != 0 {
		t.Errorf("missing listeners %v", want)
	}
	if ifc.MediaAddr != netip.MustParseAddr("127.0.0.1") || ifc.PortMin != 20000 || ifc.PortMax != 29999 {
		t.Errorf("media %s %d-%d", ifc.MediaAddr, ifc.PortMin, ifc.PortMax)
	}
	if c.Admin.Listen != "127.0.0.1:9060" {
		t.Errorf("admin %q", c.Admin.Listen)
	}
	if len(c.PolicyFiles) != 0 {
		t.Errorf("policy files %v, want none (embedded default policy)", c.PolicyFiles)
	}
}

func TestFullConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sbc.hcl")
	src := `
interface "inside" {
  listen {
    transport = "udp"
    address   = "10.0.0.1:5060"
  }
  media {
    address = "10.0.0.1"
    ports   = "20000-29999"
  }
}
interface "outside" {
  advertise = "203.0.113.10"
  listen {
    transport = "tls"
    address   = "[2001:db8::1]:5061"
    cert_file = "/etc/sbc/cert.pem"
    key_file  = "/etc/sbc/key.pem"
  }
  media {
    address   = "192.0.2.1"
    advertise = "203.0.113.10"
    ports     = "20000-29999"
  }
}
sip {
  t1 = "250ms"
  t2 = "4s"
  max_message_size = 8192
  overload_queue_delay = "0s"
  trying_delay = "0s"
}
runtime {
  gc_percent      = 150
  memory_limit_mb = 2048
}
media {
  timeout = "45s"
  workers = 2
  idle_sockets = 4096
  reuse_delay  = "0s"
}
admin {
  listen = "127.0.0.1:9061"
  token  = "s3cret"
  pprof  = true
}
log {
  level  = "debug"
  format = "json"
}
cdr {
  file = "/var/lib/sbc/cdr.jsonl"
  url  = "https://cdr.example/ingest"
}
capture {
  pcap   = "/var/lib/sbc/sip.pcap"
  hep    = "127.0.0.1:9060"
  sample = 10
  trunks = ["carrier_a"]
}
policy {
  files = ["policy.hcl", "/abs/routes.hcl"]
}
drain_timeout = "2m"
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("%v", err)
	}
	out := c.Interfaces[1]
	if out.Advertise != netip.MustParseAddr("203.0.113.10") || out.Listeners[0].Transport != "tls" ||
		out.Listeners[0].Addr != netip.MustParseAddrPort("[2001:db8::1]:5061") {
		t.Errorf("outside %+v", out)
	}
	if c.SIP.T1 != 250*time.Millisecond || c.SIP.MaxMessageSize != 8192 || c.Media.Timeout != 45*time.Second || c.SIP.OverloadQueueDelay != 0 || c.SIP.TryingDelay != 0 ||
		c.Runtime.GCPercent != 150 || c.Runtime.MemoryLimitMB != 2048 ||
		c.Media.IdleSockets != 4096 || c.Media.ReuseDelay != 0 {
		t.Errorf("sip/media %+v %+v", c.SIP, c.Media)
	}
	if c.Log.Format != "json" || c.Log.Level.String() != "DEBUG" || c.Admin.Token != "s3cret" || !c.Admin.Pprof {
		t.Errorf("log/admin %+v %+v", c.Log, c.Admin)
	}
	if c.Capture.SampleN != 10 || c.Capture.HEP != "127.0.0.1:9060" || c.CDR.URL == "" {
		t.Errorf("capture/cdr %+v %+v", c.Capture, c.CDR)
	}
	if want := []string{filepath.Join(dir, "policy.hcl"), "/abs/routes.hcl"}; strings.Join(c.PolicyFiles, ",") != strings.Join(want, ",") {
		t.Errorf("policy files %v, want %v (relative to the config file)", c.PolicyFiles, want)
	}
	if c.DrainTimeout != 2*time.Minute {
		t.Errorf("drain %v", c.DrainTimeout)
	}
}

// TestDiagnostics: every semantic error points at file:line:column.
func TestDiagnostics(t *testing.T) {
	base := func(extra string) string {
		return `interface "inside" {
  listen {
    transport = "udp"
    address   = "127.0.0.1:5060"
  }
  media {
    address = "127.0.0.1"
    ports   = "20000-20999"
  }
}
` + extra
	}
	tests := []struct {
		name, src, want string
	}{
		{"bad listen address", strings.Replace(base(""), `"127.0.0.1:5060"`, `"127.0.0.1"`, 1), "t.hcl:4,17-28: Invalid listen address"},
		{"unknown transport", strings.Replace(base(""), `"udp"`, `"sctp"`, 1), "t.hcl:3,17-23"},
		{"bad port range", strings.Replace(base(""), `"20000-20999"`, `"30000-20000"`, 1), "t.hcl:8,15-28: Invalid media port range"},
		{"privileged ports", strings.Replace(base(""), `"20000-20999"`, `"80-2000"`, 1), "t.hcl:8,15-24: Invalid media port range"},
		{"overlapping media ranges", base(`interface "outside" {
  listen {
    transport = "udp"
    address   = "127.0.0.1:5070"
  }
  media {
    address = "127.0.0.1"
    ports   = "20500-21999"
  }
}
`), "t.hcl:18,15-28: Overlapping media port ranges"},
		{"duplicate listener", base(`interface "outside" {
  listen {
    transport = "udp"
    address   = "127.0.0.1:5060"
  }
  media {
    address = "127.0.0.2"
    ports   = "20000-20999"
  }
}
`), "t.hcl:14,17-33: Duplicate listener"},
		{"duplicate interface", base(`interface "inside" {
  listen {
    transport = "tcp"
    address   = "127.0.0.1:5060"
  }
}
`), "t.hcl:11,11-19: Duplicate interface"},
		{"tls without certificate", strings.Replace(base(""), `"udp"`, `"tls"`, 1), "t.hcl:2,3-9: TLS listener without certificate"},
		{"bad duration", base("sip {\n  t1 = \"fast\"\n}\n"), "t.hcl:12,"},
		{"idle_sockets below -1", base("media {\n  idle_sockets = -2\n}\n"), "t.hcl:12,18-20: "},
		{"gc_percent below -1", base("runtime {\n  gc_percent = -5\n}\n"), "t.hcl:12,16-18: "},
		{"trying delay above 200 ms", base("sip {\n  trying_delay = \"1s\"\n}\n"), "t.hcl:12,18-22: Duration out of range"},
		{"negative overload delay", base("sip {\n  overload_queue_delay = \"-1s\"\n}\n"), "t.hcl:12,26-31: Duration out of range"},
		{"T2 shorter than T1", base("sip {\n  t1 = \"2s\"\n  t2 = \"1s\"\n}\n"), "t.hcl:13,3-12: Invalid SIP timers"},
		{"bad log level", base("log {\n  level = \"loud\"\n}\n"), "t.hcl:12,11-17: Invalid log level"},
		{"unknown attribute", base("admin {\n  listen = \"127.0.0.1:9060\"\n  colour = \"red\"\n}\n"), "t.hcl:13,"},
		{"interface without media", `interface "x" {
  listen {
    transport = "udp"
    address   = "127.0.0.1:5060"
  }
}
`, "t.hcl:1,1-14: Interface without media"},
		{"bad admin address", base("admin {\n  listen = \"localhost\"\n}\n"), "t.hcl:12,12-23: Invalid admin address"},
		{"unknown registrar interface", base("registrar_interface = \"core\"\n"), "t.hcl:11,23-29: Unknown interface"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadBytes("t.hcl", []byte(tc.src))
			de, ok := err.(*DiagError)
			if !ok {
				t.Fatalf("err = %v, want *DiagError", err)
			}
			if !strings.Contains(de.Error(), tc.want) {
				t.Errorf("diagnostics:\n%s\nwant %q", de.Error(), tc.want)
			}
			if txt := de.Text(); !strings.Contains(txt, "│") && !strings.Contains(txt, "on t.hcl line") {
				t.Errorf("text has no source snippet:\n%s", txt)
			}
		})
	}
	if _, err := LoadBytes("ok.hcl", []byte(base(""))); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}
