package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/sbc-project/sbc/internal/hclutil"
)

//go:embed default.hcl
var defaultConfig []byte

// DefaultName is the name diagnostics give the embedded default.
const DefaultName = "<embedded default config>"

// Config is the daemon's validated configuration.
type Config struct {
	Interfaces   []Interface
	SIP          SIP
	Media        Media
	Admin        Admin
	Log          Log
	Runtime      Runtime
	CDR          CDR
	Capture      Capture
	PolicyFiles  []string // absolute, or relative to the working directory
	DrainTimeout time.Duration
	// RegistrarInterface is the interface the registrars of access trunks
	// are reached on ("": the access trunk's own).
	RegistrarInterface string
	Files              []string // the configuration files read ("" entries: embedded)
}

// Interface is one named network side of the SBC.
type Interface struct {
	Name      string
	Listeners []Listener
	// Advertise is the public address of a 1:1 NAT written in Via, Contact
	// and SDP instead of the local one (invalid: none).
	Advertise      netip.Addr
	MediaAddr      netip.Addr
	MediaAdvertise netip.Addr
	PortMin        uint16
	PortMax        uint16
}

// Listener is one SIP listening socket.
type Listener struct {
	Transport string // udp, tcp, tls
	Addr      netip.AddrPort
	CertFile  string
	KeyFile   string
}

// SIP holds the transaction timers and transport limits (zero: defaults).
type SIP struct {
	T1, T2, T4        time.Duration
	MaxMessageSize    int
	MaxConnections    int
	MaxConnsPerSource int
	IdleTimeout       time.Duration
	PartialTimeout    time.Duration
	// OverloadQueueDelay: an out-of-dialog request that waited longer than
	// this in the SBC's receive queue is refused with 503 and Retry-After
	// (overload control; 0 disables). Default DefaultOverloadQueueDelay.
	OverloadQueueDelay time.Duration
	// TryingDelay postpones the 100 Trying to an INVITE until the call's
	// far side has not answered for this long (0: at once). Default
	// DefaultTryingDelay.
	TryingDelay time.Duration
}

// DefaultTryingDelay is the 200 ms RFC 3261 §17.2.1 allows: when the far
// side rings within it (the usual case) the caller gets the 180 and no
// 100, one message fewer per call; otherwise the 100 still arrives well
// before the caller's first retransmission (T1 = 500 ms).
const DefaultTryingDelay = 200 * time.Millisecond

// DefaultOverloadQueueDelay is T1: a request that waited longer has already
// been retransmitted by its UAC over UDP (RFC 3261 §17.1.1.2), so the SBC is
// falling behind its load and more accepted calls would only deepen the
// queue that every call in progress waits in.
const DefaultOverloadQueueDelay = 500 * time.Millisecond

// Media holds the relay's settings.
type Media struct {
	Timeout time.Duration
	Workers int
	// IdleSockets bounds the media sockets kept open between calls for
	// reuse (mediarelay.Config.IdleSockets): 0 a quarter of the
	// open-files limit, -1 no pool.
	IdleSockets int
	// ReuseDelay is how long a pooled port pair rests before another call
	// reuses it while fresh ports are free (stale media protection); 0: no
	// rest. Default 2 s.
	ReuseDelay time.Duration
}

// Admin is the admin API and metrics listener.
type Admin struct {
	Listen string // "" disables it
	Token  string
	// Pprof serves the Go runtime profiles under /debug/pprof/ (behind
	// Token) for diagnosing load problems; off by default.
	Pprof bool
}

// Runtime tunes the Go runtime's memory management.
type Runtime struct {
	// GCPercent is the garbage collector's target (GOGC): the heap may grow
	// this many percent over the live heap before a collection. -1 turns
	// the collector off (then MemoryLimitMB should be set). The GOGC
	// environment variable, when set, wins.
	GCPercent int
	// MemoryLimitMB is a soft limit on the daemon's memory (GOMEMLIMIT):
	// near it the collector runs as often as needed, whatever GCPercent
	// says. 0: none. The GOMEMLIMIT environment variable, when set, wins.
	MemoryLimitMB int64
}

// DefaultReuseDelay is the media relay's default rest for a pooled port
// pair (mediarelay.Config.ReuseDelay).
const DefaultReuseDelay = 2 * time.Second

// DefaultGCPercent trades memory for CPU: at 3,500 calls/s on two cores,
// 300 instead of Go's 100 took the SBC from 82% to 72% of a core and its p99
// set-up time from 68–112 ms to 36–44 ms, for about 1.6x the RSS (700 MB).
// A carrier's SBC has the memory; set memory_limit_mb to bound it.
const DefaultGCPercent = 300

// Log is the logging set-up.
type Log struct {
	Level  slog.Level
	Format string // text or json
}

// CDR is where call detail records go.
type CDR struct {
	File     string
	MaxBytes int64
	URL      string
}

// Capture is SIP capture to a pcap file and/or a Homer HEP v3 collector.
type Capture struct {
	Pcap     string
	HEP      string // host:port
	HEPID    int
	SampleN  int // 1 in N calls (1: all)
	Trunks   []string
	MaxBytes int64
}

// ErrInvalid is wrapped by every configuration that fails to load.
var ErrInvalid = errors.New("config: invalid configuration")

// DiagError is the error of a configuration that failed to load: its
// diagnostics and the parsed files they point into, printed compiler-style
// with the offending source lines (WriteText, Text).
type DiagError = hclutil.DiagError

func diagError(diags hcl.Diagnostics, files map[string]*hcl.File) *DiagError {
	return &DiagError{Sentinel: ErrInvalid, Diags: diags, Files: files}
}

// Default returns the embedded default configuration.
func Default() *Config {
	c, err := parse([]source{{name: DefaultName, data: defaultConfig}})
	if err != nil {
		panic("config: embedded default is invalid: " + err.Error())
	}
	return c
}

// DefaultText returns the embedded default's HCL text.
func DefaultText() []byte { return bytes.Clone(defaultConfig) }

// Load reads and validates configuration files (blocks may be split across
// them); with none it returns the embedded default. On failure the error is
// a *DiagError.
func Load(files ...string) (*Config, error) {
	if len(files) == 0 {
		return Default(), nil
	}
	var srcs []source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, diagError(hcl.Diagnostics{{Severity: hcl.DiagError,
				Summary: "Cannot read configuration file", Detail: err.Error()}}, nil)
		}
		srcs = append(srcs, source{name: f, data: b})
	}
	return parse(srcs)
}

// LoadBytes validates configuration text in memory (tests, `sbc check -`).
func LoadBytes(name string, data []byte) (*Config, error) {
	return parse([]source{{name: name, data: data}})
}

type source struct {
	name string
	data []byte
}

type rawFile struct {
	Interfaces   []rawInterface `hcl:"interface,block"`
	SIP          *rawSIP        `hcl:"sip,block"`
	Media        *rawMediaCfg   `hcl:"media,block"`
	Admin        *rawAdmin      `hcl:"admin,block"`
	Log          *rawLog        `hcl:"log,block"`
	Runtime      *rawRuntime    `hcl:"runtime,block"`
	CDR          *rawCDR        `hcl:"cdr,block"`
	Capture      *rawCapture    `hcl:"capture,block"`
	Policy       *rawPolicy     `hcl:"policy,block"`
	DrainTimeout *hcl.Attribute `hcl:"drain_timeout,optional"`
	RegistrarIf  *hcl.Attribute `hcl:"registrar_interface,optional"`
}

type rawInterface struct {
	Name      string         `hcl:"name,label"`
	NameRange hcl.Range      `hcl:"name,label_range"`
	Listen    []rawListen    `hcl:"listen,block"`
	Advertise *hcl.Attribute `hcl:"advertise,optional"`
	Media     *rawIfMedia    `hcl:"media,block"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawListen struct {
	Transport *hcl.Attribute `hcl:"transport"`
	Address   *hcl.Attribute `hcl:"address"`
	CertFile  *hcl.Attribute `hcl:"cert_file,optional"`
	KeyFile   *hcl.Attribute `hcl:"key_file,optional"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawIfMedia struct {
	Address   *hcl.Attribute `hcl:"address"`
	Advertise *hcl.Attribute `hcl:"advertise,optional"`
	Ports     *hcl.Attribute `hcl:"ports"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawSIP struct {
	T1                *hcl.Attribute `hcl:"t1,optional"`
	T2                *hcl.Attribute `hcl:"t2,optional"`
	T4                *hcl.Attribute `hcl:"t4,optional"`
	MaxMessageSize    *hcl.Attribute `hcl:"max_message_size,optional"`
	MaxConnections    *hcl.Attribute `hcl:"max_connections,optional"`
	MaxConnsPerSource *hcl.Attribute `hcl:"max_connections_per_source,optional"`
	IdleTimeout       *hcl.Attribute `hcl:"idle_timeout,optional"`
	PartialTimeout    *hcl.Attribute `hcl:"partial_timeout,optional"`
	OverloadDelay     *hcl.Attribute `hcl:"overload_queue_delay,optional"`
	TryingDelay       *hcl.Attribute `hcl:"trying_delay,optional"`
}

type rawMediaCfg struct {
	Timeout     *hcl.Attribute `hcl:"timeout,optional"`
	Workers     *hcl.Attribute `hcl:"workers,optional"`
	IdleSockets *hcl.Attribute `hcl:"idle_sockets,optional"`
	ReuseDelay  *hcl.Attribute `hcl:"reuse_delay,optional"`
}

type rawAdmin struct {
	Listen *hcl.Attribute `hcl:"listen,optional"`
	Token  *hcl.Attribute `hcl:"token,optional"`
	Pprof  *hcl.Attribute `hcl:"pprof,optional"`
}

type rawRuntime struct {
	GCPercent     *hcl.Attribute `hcl:"gc_percent,optional"`
	MemoryLimitMB *hcl.Attribute `hcl:"memory_limit_mb,optional"`
}

type rawLog struct {
	Level  *hcl.Attribute `hcl:"level,optional"`
	Format *hcl.Attribute `hcl:"format,optional"`
}

type rawCDR struct {
	File     *hcl.Attribute `hcl:"file,optional"`
	MaxBytes *hcl.Attribute `hcl:"max_bytes,optional"`
	URL      *hcl.Attribute `hcl:"url,optional"`
}

type rawCapture struct {
	Pcap     *hcl.Attribute `hcl:"pcap,optional"`
	HEP      *hcl.Attribute `hcl:"hep,optional"`
	HEPID    *hcl.Attribute `hcl:"hep_id,optional"`
	Sample   *hcl.Attribute `hcl:"sample,optional"`
	Trunks   *hcl.Attribute `hcl:"trunks,optional"`
	MaxBytes *hcl.Attribute `hcl:"max_bytes,optional"`
}

type rawPolicy struct {
	Files *hcl.Attribute `hcl:"files"`
}

func parse(srcs []source) (*Config, error) {
	p := hclparse.NewParser()
	var diags hcl.Diagnostics
	var raws []rawFile
	var names []string
	for _, s := range srcs {
		f, d := p.ParseHCL(s.data, s.name)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		var r rawFile
		diags = append(diags, hclutil.Decode(f.Body, &r)...)
		raws = append(raws, r)
		names = append(names, s.name)
	}
	if diags.HasErrors() {
		return nil, diagError(diags, p.Files())
	}
	c, d := build(raws, names)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diagError(diags, p.Files())
	}
	return c, nil
}

// single reports a block given in more than one file.
func single[T any](what string, ptrs []*T, ranges []hcl.Range) (*T, hcl.Diagnostics) {
	var out *T
	var first hcl.Range
	var diags hcl.Diagnostics
	for i, p := range ptrs {
		if p == nil {
			continue
		}
		if out != nil {
			diags = append(diags, hclutil.ErrorCtx(ranges[i], first, "Duplicate "+what+" block",
				"The %s block is already defined at %s.", what, first))
			continue
		}
		out, first = p, ranges[i]
	}
	return out, diags
}

func build(raws []rawFile, files []string) (*Config, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	c := &Config{Files: files, Log: Log{Level: slog.LevelInfo, Format: "text"}, DrainTimeout: 30 * time.Second,
		Capture: Capture{SampleN: 1}, SIP: SIP{OverloadQueueDelay: DefaultOverloadQueueDelay, TryingDelay: DefaultTryingDelay},
		Media:   Media{ReuseDelay: DefaultReuseDelay},
		Runtime: Runtime{GCPercent: DefaultGCPercent}}
	seen := map[string]hcl.Range{}
	listeners := map[string]hcl.Range{}
	var regRange hcl.Range
	for fi, r := range raws {
		for _, ri := range r.Interfaces {
			if prev, dup := seen[ri.Name]; dup {
				diags = append(diags, hclutil.ErrorCtx(ri.NameRange, prev, "Duplicate interface",
					"Interface %q is already defined at %s.", ri.Name, prev))
				continue
			}
			seen[ri.Name] = ri.NameRange
			ifc, d := buildInterface(ri, listeners)
			diags = append(diags, d...)
			c.Interfaces = append(c.Interfaces, ifc)
		}
		if r.DrainTimeout != nil {
			v, d := hclutil.Duration(r.DrainTimeout, nil, 30*time.Second, time.Second, time.Hour)
			diags, c.DrainTimeout = append(diags, d...), v
		}
		if r.RegistrarIf != nil {
			v, d := hclutil.String(r.RegistrarIf, nil, "")
			diags, c.RegistrarInterface = append(diags, d...), v
			regRange = r.RegistrarIf.Expr.Range()
		}
		if r.Policy != nil {
			items, d := hclutil.Strings(r.Policy.Files, nil)
			diags = append(diags, d...)
			for _, it := range items {
				path := it.Value
				if !filepath.IsAbs(path) && files[fi] != DefaultName {
					path = filepath.Join(filepath.Dir(files[fi]), path)
				}
				c.PolicyFiles = append(c.PolicyFiles, path)
			}
		}
		if s := r.SIP; s != nil {
			var d hcl.Diagnostics
			c.SIP.T1, d = hclutil.Duration(s.T1, nil, 0, 10*time.Millisecond, 10*time.Second)
			diags = append(diags, d...)
			c.SIP.T2, d = hclutil.Duration(s.T2, nil, 0, 100*time.Millisecond, time.Minute)
			diags = append(diags, d...)
			c.SIP.T4, d = hclutil.Duration(s.T4, nil, 0, 100*time.Millisecond, time.Minute)
			diags = append(diags, d...)
			var n int64
			n, d = hclutil.Int(s.MaxMessageSize, nil, 0, 1500, 1<<20)
			diags, c.SIP.MaxMessageSize = append(diags, d...), int(n)
			n, d = hclutil.Int(s.MaxConnections, nil, 0, 1, 1<<22)
			diags, c.SIP.MaxConnections = append(diags, d...), int(n)
			n, d = hclutil.Int(s.MaxConnsPerSource, nil, 0, 1, 1<<20)
			diags, c.SIP.MaxConnsPerSource = append(diags, d...), int(n)
			c.SIP.IdleTimeout, d = hclutil.Duration(s.IdleTimeout, nil, 0, time.Second, 24*time.Hour)
			diags = append(diags, d...)
			c.SIP.PartialTimeout, d = hclutil.Duration(s.PartialTimeout, nil, 0, 100*time.Millisecond, time.Hour)
			diags = append(diags, d...)
			c.SIP.OverloadQueueDelay, d = hclutil.Duration(s.OverloadDelay, nil, DefaultOverloadQueueDelay, 0, time.Minute)
			diags = append(diags, d...)
			// RFC 3261 §17.2.1: the 100 may be skipped only when the TU
			// answers within 200 ms.
			c.SIP.TryingDelay, d = hclutil.Duration(s.TryingDelay, nil, DefaultTryingDelay, 0, 200*time.Millisecond)
			diags = append(diags, d...)
			if c.SIP.T1 > 0 && c.SIP.T2 > 0 && c.SIP.T2 < c.SIP.T1 {
				diags = append(diags, hclutil.Errorf(s.T2.Range, "Invalid SIP timers",
					"T2 (%s) must not be shorter than T1 (%s), RFC 3261 §17.1.2.2.", c.SIP.T2, c.SIP.T1))
			}
		}
		if m := r.Media; m != nil {
			var d hcl.Diagnostics
			c.Media.Timeout, d = hclutil.Duration(m.Timeout, nil, 0, time.Second, 24*time.Hour)
			diags = append(diags, d...)
			var n int64
			n, d = hclutil.Int(m.Workers, nil, 0, 1, 256)
			diags, c.Media.Workers = append(diags, d...), int(n)
			n, d = hclutil.Int(m.IdleSockets, nil, 0, -1, 1<<20)
			diags, c.Media.IdleSockets = append(diags, d...), int(n)
			c.Media.ReuseDelay, d = hclutil.Duration(m.ReuseDelay, nil, DefaultReuseDelay, 0, time.Hour)
			diags = append(diags, d...)
		}
		if a := r.Admin; a != nil {
			var d hcl.Diagnostics
			c.Admin.Listen, d = hclutil.String(a.Listen, nil, c.Admin.Listen)
			diags = append(diags, d...)
			if a.Listen != nil && c.Admin.Listen != "" {
				if _, err := netip.ParseAddrPort(c.Admin.Listen); err != nil {
					diags = append(diags, hclutil.Errorf(a.Listen.Expr.Range(), "Invalid admin address",
						"%q is not an address:port (%v).", c.Admin.Listen, err))
				}
			}
			c.Admin.Token, d = hclutil.String(a.Token, nil, "")
			diags = append(diags, d...)
			c.Admin.Pprof, d = hclutil.Bool(a.Pprof, nil, false)
			diags = append(diags, d...)
		}
		if rt := r.Runtime; rt != nil {
			n, d := hclutil.Int(rt.GCPercent, nil, DefaultGCPercent, -1, 10000)
			diags, c.Runtime.GCPercent = append(diags, d...), int(n)
			c.Runtime.MemoryLimitMB, d = hclutil.Int(rt.MemoryLimitMB, nil, 0, 0, 1<<30)
			diags = append(diags, d...)
		}
		if l := r.Log; l != nil {
			lv, d := hclutil.String(l.Level, nil, "info")
			diags = append(diags, d...)
			if err := c.Log.Level.UnmarshalText([]byte(lv)); err != nil {
				diags = append(diags, hclutil.Errorf(hclutil.AttrRange(l.Level, hcl.Range{}), "Invalid log level",
					"%q is not one of debug, info, warn, error.", lv))
			}
			c.Log.Format, d = hclutil.String(l.Format, nil, "text")
			diags = append(diags, d...)
			if l.Format != nil {
				diags = append(diags, hclutil.OneOf(l.Format, c.Log.Format, "text", "json")...)
			}
		}
		if cd := r.CDR; cd != nil {
			var d hcl.Diagnostics
			c.CDR.File, d = hclutil.String(cd.File, nil, "")
			diags = append(diags, d...)
			c.CDR.MaxBytes, d = hclutil.Int(cd.MaxBytes, nil, 100<<20, 4096, 1<<40)
			diags = append(diags, d...)
			c.CDR.URL, d = hclutil.String(cd.URL, nil, "")
			diags = append(diags, d...)
			if cd.URL != nil && c.CDR.URL != "" && !strings.HasPrefix(c.CDR.URL, "http://") && !strings.HasPrefix(c.CDR.URL, "https://") {
				diags = append(diags, hclutil.Errorf(cd.URL.Expr.Range(), "Invalid CDR URL", "%q is not an http(s) URL.", c.CDR.URL))
			}
		}
		if cp := r.Capture; cp != nil {
			var d hcl.Diagnostics
			c.Capture.Pcap, d = hclutil.String(cp.Pcap, nil, "")
			diags = append(diags, d...)
			c.Capture.HEP, d = hclutil.String(cp.HEP, nil, "")
			diags = append(diags, d...)
			if cp.HEP != nil && c.Capture.HEP != "" {
				if _, err := netip.ParseAddrPort(c.Capture.HEP); err != nil {
					diags = append(diags, hclutil.Errorf(cp.HEP.Expr.Range(), "Invalid HEP collector",
						"%q is not an address:port (%v).", c.Capture.HEP, err))
				}
			}
			var n int64
			n, d = hclutil.Int(cp.HEPID, nil, 2001, 0, 1<<31-1)
			diags, c.Capture.HEPID = append(diags, d...), int(n)
			n, d = hclutil.Int(cp.Sample, nil, 1, 1, 1<<20)
			diags, c.Capture.SampleN = append(diags, d...), int(n)
			c.Capture.MaxBytes, d = hclutil.Int(cp.MaxBytes, nil, 100<<20, 4096, 1<<40)
			diags = append(diags, d...)
			items, d := hclutil.Strings(cp.Trunks, nil)
			diags = append(diags, d...)
			for _, it := range items {
				c.Capture.Trunks = append(c.Capture.Trunks, it.Value)
			}
		}
	}
	if len(c.Interfaces) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No interface",
			Detail: "The configuration needs at least one interface block with a SIP listener."})
	}
	if c.RegistrarInterface != "" {
		if _, ok := seen[c.RegistrarInterface]; !ok {
			diags = append(diags, hclutil.Errorf(regRange, "Unknown interface",
				"registrar_interface names %q, which no interface block defines.", c.RegistrarInterface))
		}
	}
	diags = append(diags, checkMediaOverlap(raws, c.Interfaces)...)
	return c, diags
}

func buildInterface(ri rawInterface, listeners map[string]hcl.Range) (Interface, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	ifc := Interface{Name: ri.Name}
	if !isIdent(ri.Name) {
		diags = append(diags, hclutil.Errorf(ri.NameRange, "Invalid interface name",
			"%q must be letters, digits, '_' or '-'.", ri.Name))
	}
	if len(ri.Listen) == 0 {
		diags = append(diags, hclutil.Errorf(ri.DefRange, "Interface without listener",
			"Interface %q needs at least one listen block.", ri.Name))
	}
	for _, rl := range ri.Listen {
		tr, d := hclutil.String(rl.Transport, nil, "")
		diags = append(diags, d...)
		diags = append(diags, hclutil.OneOf(rl.Transport, tr, "udp", "tcp", "tls")...)
		as, d := hclutil.String(rl.Address, nil, "")
		diags = append(diags, d...)
		ap, err := netip.ParseAddrPort(as)
		if err != nil {
			diags = append(diags, hclutil.Errorf(rl.Address.Expr.Range(), "Invalid listen address",
				"%q is not an address:port (%v); IPv6 goes in brackets, e.g. \"[2001:db8::1]:5060\".", as, err))
		}
		l := Listener{Transport: tr, Addr: ap}
		l.CertFile, d = hclutil.String(rl.CertFile, nil, "")
		diags = append(diags, d...)
		l.KeyFile, d = hclutil.String(rl.KeyFile, nil, "")
		diags = append(diags, d...)
		if tr == "tls" && (l.CertFile == "" || l.KeyFile == "") {
			diags = append(diags, hclutil.Errorf(rl.DefRange, "TLS listener without certificate",
				"A tls listener needs cert_file and key_file."))
		}
		if tr != "tls" && (rl.CertFile != nil || rl.KeyFile != nil) {
			diags = append(diags, hclutil.Errorf(rl.DefRange, "Certificate on a non-TLS listener",
				"cert_file and key_file only apply to transport = \"tls\"."))
		}
		// UDP and TCP may share a port; two listeners of one transport may not.
		key := tr + "|" + ap.String()
		if prev, dup := listeners[key]; dup && err == nil {
			diags = append(diags, hclutil.ErrorCtx(rl.Address.Expr.Range(), prev, "Duplicate listener",
				"%s %s is already a listener at %s.", tr, ap, prev))
		}
		listeners[key] = rl.Address.Expr.Range()
		ifc.Listeners = append(ifc.Listeners, l)
	}
	if ri.Advertise != nil {
		ifc.Advertise, diags = addrAttr(ri.Advertise, "advertise", diags)
	}
	if m := ri.Media; m != nil {
		ifc.MediaAddr, diags = addrAttr(m.Address, "media address", diags)
		if m.Advertise != nil {
			ifc.MediaAdvertise, diags = addrAttr(m.Advertise, "media advertise", diags)
		}
		ps, d := hclutil.String(m.Ports, nil, "")
		diags = append(diags, d...)
		lo, hi, err := parseRange(ps)
		if err != nil {
			diags = append(diags, hclutil.Errorf(m.Ports.Expr.Range(), "Invalid media port range",
				"%q: %v. Write \"20000-29999\": at least 4 ports, within 1024-65535.", ps, err))
		}
		ifc.PortMin, ifc.PortMax = lo, hi
	} else {
		diags = append(diags, hclutil.Errorf(ri.DefRange, "Interface without media",
			"Interface %q needs a media block (address and ports): the SBC anchors all media.", ri.Name))
	}
	return ifc, diags
}

func addrAttr(a *hcl.Attribute, what string, diags hcl.Diagnostics) (netip.Addr, hcl.Diagnostics) {
	s, d := hclutil.String(a, nil, "")
	diags = append(diags, d...)
	ad, err := netip.ParseAddr(s)
	if err != nil || ad.Zone() != "" {
		diags = append(diags, hclutil.Errorf(a.Expr.Range(), "Invalid "+what, "%q is not an IP address.", s))
	}
	return ad, diags
}

func parseRange(s string) (uint16, uint16, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("want LOW-HIGH")
	}
	lo, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	hi, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("not numbers")
	case lo < 1024:
		return 0, 0, fmt.Errorf("ports below 1024 are privileged")
	case hi < lo+3:
		return 0, 0, fmt.Errorf("the range holds fewer than 4 ports")
	}
	return uint16(lo), uint16(hi), nil
}

// checkMediaOverlap rejects two interfaces whose media ranges overlap on
// the same address (or where either binds the unspecified address).
func checkMediaOverlap(raws []rawFile, ifs []Interface) hcl.Diagnostics {
	ranges := map[string]hcl.Range{}
	for _, r := range raws {
		for _, ri := range r.Interfaces {
			if ri.Media != nil && ri.Media.Ports != nil {
				ranges[ri.Name] = ri.Media.Ports.Expr.Range()
			}
		}
	}
	var diags hcl.Diagnostics
	for i := range ifs {
		for j := 0; j < i; j++ {
			a, b := ifs[i], ifs[j]
			if a.PortMin == 0 || b.PortMin == 0 {
				continue
			}
			sameAddr := a.MediaAddr == b.MediaAddr || a.MediaAddr.IsUnspecified() || b.MediaAddr.IsUnspecified()
			if sameAddr && a.PortMin <= b.PortMax && b.PortMin <= a.PortMax {
				diags = append(diags, hclutil.ErrorCtx(ranges[a.Name], ranges[b.Name], "Overlapping media port ranges",
					"Interface %q's range %d-%d overlaps interface %q's range %d-%d on %s.",
					a.Name, a.PortMin, a.PortMax, b.Name, b.PortMin, b.PortMax, a.MediaAddr))
			}
		}
	}
	return diags
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
