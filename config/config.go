package config

import (
	_ "embed"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/sbc-project/sbc/internal/hclutil"
)

//go:embed default.hcl
var defaultConfig []byte

// DefaultName is the file name diagnostics give the embedded default.
const DefaultName = "<default config>"

// DefaultSource returns the embedded default configuration text.
func DefaultSource() []byte { return defaultConfig }

// Config is the validated configuration of the daemon.
type Config struct {
	// Source is the file the configuration came from, or DefaultName.
	Source     string
	Interfaces []Interface
	SIP        SIP
	// AdminListen and MetricsListen may be the same address (one HTTP
	// server serves both).
	AdminListen   netip.AddrPort
	MetricsListen netip.AddrPort
	LogLevel      slog.Level
	LogFormat     string // "text" or "json"
	// CDRFile is where call detail records go: "" none, "-" stdout.
	CDRFile   string
	CDRFormat string // "jsonl" or "csv"
	// PolicyFiles are the policy files, resolved against the config file's
	// directory; empty means the embedded default policy.
	PolicyFiles []string
}

// Interface is one network side of the SBC (for example inside, outside).
type Interface struct {
	Name      string
	Listeners []Listener
	// Advertise is the address put in Via, Contact, Record-Route and SDP
	// instead of the listen address when the SBC sits behind a 1:1 NAT;
	// invalid (zero) when the listen address is used as is.
	Advertise netip.Addr
	Media     Media
}

// InterfaceNames lists the interface names, for policy.LoadOptions.
func (c *Config) InterfaceNames() []string {
	out := make([]string, len(c.Interfaces))
	for i, f := range c.Interfaces {
		out[i] = f.Name
	}
	return out
}

// InterfaceTransports maps each interface to the transports it listens on,
// for policy.LoadOptions.Transports.
func (c *Config) InterfaceTransports() map[string][]string {
	out := make(map[string][]string, len(c.Interfaces))
	for _, f := range c.Interfaces {
		list := []string{}
		for _, l := range f.Listeners {
			if !slices.Contains(list, l.Transport) {
				list = append(list, l.Transport)
			}
		}
		out[f.Name] = list
	}
	return out
}

// Listener is one SIP listening socket.
type Listener struct {
	Transport string // "udp", "tcp" or "tls"
	Addr      netip.AddrPort
	CertFile  string // TLS only
	KeyFile   string // TLS only
}

// Media is where an interface anchors RTP: Address and the port range
// [PortMin, PortMax]; RTP takes the even port, RTCP the next odd one
// (RFC 3550 §11).
type Media struct {
	Address   netip.Addr
	Advertise netip.Addr // zero: the interface's Advertise, else Address
	PortMin   uint16
	PortMax   uint16
}

// SIP holds the protocol settings.
type SIP struct {
	// T1, T2, T4 are the RFC 3261 §17.1.1.1 timers (RTT estimate,
	// maximum non-INVITE retransmit interval, maximum message lifetime).
	T1, T2, T4 time.Duration
	// MaxMessageSize bounds a SIP message in bytes (RFC 3261 §18.1.1).
	MaxMessageSize int
	// MaxConnections bounds the open TCP/TLS connections.
	MaxConnections int
}

// Overrides are command-line settings that replace the files' values.
// Empty fields override nothing.
type Overrides struct {
	PolicyFiles   []string
	LogLevel      string
	LogFormat     string
	AdminListen   string
	MetricsListen string
}

type rawConfig struct {
	Interfaces []rawInterface `hcl:"interface,block"`
	SIP        *rawSIP        `hcl:"sip,block"`
	Admin      *rawListen     `hcl:"admin,block"`
	Metrics    *rawListen     `hcl:"metrics,block"`
	Log        *rawLog        `hcl:"log,block"`
	CDR        *rawCDR        `hcl:"cdr,block"`
	Policy     *rawPolicy     `hcl:"policy,block"`
}

type rawInterface struct {
	Name      string         `hcl:"name,label"`
	NameRange hcl.Range      `hcl:"name,label_range"`
	Advertise *hcl.Attribute `hcl:"advertise,optional"`
	Listens   []rawListener  `hcl:"listen,block"`
	Media     *rawMedia      `hcl:"media,block"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawListener struct {
	Transport      string         `hcl:"transport,label"`
	TransportRange hcl.Range      `hcl:"transport,label_range"`
	Address        *hcl.Attribute `hcl:"address"`
	Port           *hcl.Attribute `hcl:"port,optional"`
	CertFile       *hcl.Attribute `hcl:"cert_file,optional"`
	KeyFile        *hcl.Attribute `hcl:"key_file,optional"`
	DefRange       hcl.Range      `hcl:",def_range"`
}

type rawMedia struct {
	Address   *hcl.Attribute `hcl:"address"`
	Advertise *hcl.Attribute `hcl:"advertise,optional"`
	PortMin   *hcl.Attribute `hcl:"port_min"`
	PortMax   *hcl.Attribute `hcl:"port_max"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawSIP struct {
	T1             *hcl.Attribute `hcl:"t1,optional"`
	T2             *hcl.Attribute `hcl:"t2,optional"`
	T4             *hcl.Attribute `hcl:"t4,optional"`
	MaxMessageSize *hcl.Attribute `hcl:"max_message_size,optional"`
	MaxConnections *hcl.Attribute `hcl:"max_connections,optional"`
	DefRange       hcl.Range      `hcl:",def_range"`
}

type rawListen struct {
	Listen   *hcl.Attribute `hcl:"listen,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawLog struct {
	Level    *hcl.Attribute `hcl:"level,optional"`
	Format   *hcl.Attribute `hcl:"format,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawCDR struct {
	File     *hcl.Attribute `hcl:"file,optional"`
	Format   *hcl.Attribute `hcl:"format,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawPolicy struct {
	Files    *hcl.Attribute `hcl:"files,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

// mergeAttrs copies every attribute user sets over def's (both *struct of
// the same raw type; a nil user changes nothing).
func mergeAttrs(def, user any) {
	dv, uv := reflect.ValueOf(def), reflect.ValueOf(user)
	if uv.IsNil() {
		return
	}
	dv, uv = dv.Elem(), uv.Elem()
	for i := 0; i < dv.NumField(); i++ {
		if f := uv.Field(i); f.Type() == reflect.TypeOf((*hcl.Attribute)(nil)) && !f.IsNil() {
			dv.Field(i).Set(f)
		}
	}
}

// Load reads the configuration: the embedded default, overridden by the
// file at path (when not "") and then by ov. In the file, each of the
// sip, admin, metrics, log, cdr and policy blocks overrides the default
// attribute by attribute; any interface block replaces all the default
// interfaces. On failure the error is a *hclutil.DiagError wrapping
// ErrInvalid.
func Load(path string, ov Overrides) (*Config, error) {
	var src []byte
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		src = b
	}
	return LoadBytes(path, src, ov)
}

// LoadBytes is Load with the file's contents already read.
func LoadBytes(path string, src []byte, ov Overrides) (*Config, error) {
	parser := hclparse.NewParser()
	fail := func(d hcl.Diagnostics) error {
		return &hclutil.DiagError{Sentinel: ErrInvalid, Diags: d, Files: parser.Files()}
	}
	var def rawConfig
	f, diags := parser.ParseHCL(defaultConfig, DefaultName)
	if !diags.HasErrors() {
		diags = append(diags, hclutil.Decode(f.Body, &def)...)
	}
	if diags.HasErrors() {
		return nil, fail(diags)
	}
	cfg := &Config{Source: DefaultName}
	dir := "."
	if path != "" {
		cfg.Source = path
		dir = filepath.Dir(path)
		var user rawConfig
		uf, d := parser.ParseHCL(src, path)
		diags = append(diags, d...)
		if !d.HasErrors() {
			diags = append(diags, hclutil.Decode(uf.Body, &user)...)
		}
		if diags.HasErrors() {
			return nil, fail(diags)
		}
		if len(user.Interfaces) > 0 {
			def.Interfaces = user.Interfaces
		}
		for _, pair := range [][2]any{{def.SIP, user.SIP}, {def.Admin, user.Admin}, {def.Metrics, user.Metrics}, {def.Log, user.Log}, {def.CDR, user.CDR}} {
			mergeAttrs(pair[0], pair[1])
		}
		if user.Policy != nil {
			def.Policy = user.Policy
		}
	}
	v := &validator{}
	v.build(cfg, &def, dir)
	v.overrides(cfg, ov)
	diags = append(diags, v.diags...)
	if diags.HasErrors() {
		return nil, fail(diags)
	}
	return cfg, nil
}

type validator struct {
	diags hcl.Diagnostics
}

func (v *validator) add(d hcl.Diagnostics) bool {
	v.diags = append(v.diags, d...)
	return !d.HasErrors()
}

func (v *validator) errf(rng hcl.Range, summary, format string, args ...any) {
	v.diags = append(v.diags, hclutil.Errorf(rng, summary, format, args...))
}

func (v *validator) addr(attr *hcl.Attribute) netip.Addr {
	s, d := hclutil.String(attr, nil, "")
	if !v.add(d) || attr == nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		v.errf(attr.Expr.Range(), "Invalid address", "%q is not an IP address.", s)
		return netip.Addr{}
	}
	return a.Unmap()
}

func (v *validator) addrPort(attr *hcl.Attribute, def string) netip.AddrPort {
	s, d := hclutil.String(attr, nil, def)
	if !v.add(d) {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		v.errf(hclutil.AttrRange(attr, hcl.Range{}), "Invalid listen address", "%q is not an address:port such as \"127.0.0.1:9060\".", s)
	}
	return ap
}

// overlaps reports whether two listen addresses can collide: equal, or
// either is the unspecified address of the same family.
func overlaps(a, b netip.Addr) bool {
	if a == b {
		return true
	}
	if a.Is4() != b.Is4() {
		return a.IsUnspecified() && a.Is6() || b.IsUnspecified() && b.Is6()
	}
	return a.IsUnspecified() || b.IsUnspecified()
}

func (v *validator) build(cfg *Config, raw *rawConfig, dir string) {
	if len(raw.Interfaces) == 0 {
		v.diags = append(v.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No interfaces", Detail: "The configuration defines no interface block."})
	}
	type used struct {
		socket string // "udp" or "tcp" (TLS listens on TCP)
		ap     netip.AddrPort
		rng    hcl.Range
	}
	var socks []used
	type mrange struct {
		addr     netip.Addr
		min, max uint16
		iface    string
		rng      hcl.Range
	}
	var media []mrange
	names := map[string]hcl.Range{}
	for i := range raw.Interfaces {
		ri := &raw.Interfaces[i]
		if prev, dup := names[ri.Name]; dup {
			v.diags = append(v.diags, hclutil.ErrorCtx(ri.NameRange, prev, "Duplicate interface", "Interface %q is already defined at %s.", ri.Name, prev))
			continue
		}
		names[ri.Name] = ri.NameRange
		itf := Interface{Name: ri.Name, Advertise: v.addr(ri.Advertise)}
		if len(ri.Listens) == 0 {
			v.errf(ri.NameRange, "No listener", "Interface %q needs at least one listen block.", ri.Name)
		}
		for j := range ri.Listens {
			rl := &ri.Listens[j]
			l := Listener{Transport: strings.ToLower(rl.Transport)}
			switch l.Transport {
			case "udp", "tcp", "tls":
			default:
				v.errf(rl.TransportRange, "Invalid transport", "A listener's transport is \"udp\", \"tcp\" or \"tls\", not %q.", rl.Transport)
				continue
			}
			a := v.addr(rl.Address)
			def := int64(5060)
			if l.Transport == "tls" {
				def = 5061 // RFC 3261 §19.1.2
			}
			port, d := hclutil.Int(rl.Port, nil, def, 1, 65535)
			v.add(d)
			l.Addr = netip.AddrPortFrom(a, uint16(port))
			if l.Transport == "tls" {
				l.CertFile = v.file(rl.CertFile, rl.DefRange, dir, "cert_file")
				l.KeyFile = v.file(rl.KeyFile, rl.DefRange, dir, "key_file")
			} else if rl.CertFile != nil || rl.KeyFile != nil {
				v.errf(rl.DefRange, "Certificate on a plain listener", "cert_file and key_file belong to a \"tls\" listener.")
			}
			sock := "udp"
			if l.Transport != "udp" {
				sock = "tcp"
			}
			rng := hclutil.AttrRange(rl.Port, rl.DefRange)
			for _, u := range socks {
				if u.socket == sock && u.ap.Port() == l.Addr.Port() && overlaps(u.ap.Addr(), a) {
					v.diags = append(v.diags, hclutil.ErrorCtx(rng, u.rng, "Listen address in use",
						"%s %s collides with the %s listener %s defined at %s.", l.Transport, l.Addr, u.socket, u.ap, u.rng))
				}
			}
			socks = append(socks, used{sock, l.Addr, rng})
			itf.Listeners = append(itf.Listeners, l)
		}
		if rm := ri.Media; rm == nil {
			v.errf(ri.NameRange, "No media", "Interface %q needs a media block: the address and port range RTP is anchored on.", ri.Name)
		} else {
			m := Media{Address: v.addr(rm.Address), Advertise: v.addr(rm.Advertise)}
			lo, d := hclutil.Int(rm.PortMin, nil, 0, 1024, 65534)
			v.add(d)
			hi, d2 := hclutil.Int(rm.PortMax, nil, 0, 1025, 65535)
			v.add(d2)
			m.PortMin, m.PortMax = uint16(lo), uint16(hi)
			ok := !d.HasErrors() && !d2.HasErrors()
			if ok && lo%2 != 0 {
				// RFC 3550 §11: RTP on an even port, RTCP on the next.
				v.errf(rm.PortMin.Expr.Range(), "Odd media port", "port_min must be even: RTP uses even ports and RTCP the odd port above (RFC 3550 §11).")
				ok = false
			}
			if ok && hi <= lo {
				v.errf(rm.PortMax.Expr.Range(), "Empty media port range", "port_max (%d) must be above port_min (%d).", hi, lo)
				ok = false
			}
			if ok {
				rng := hcl.RangeBetween(rm.PortMin.Range, rm.PortMax.Range)
				for _, o := range media {
					if overlaps(o.addr, m.Address) && lo <= int64(o.max) && int64(o.min) <= hi {
						v.diags = append(v.diags, hclutil.ErrorCtx(rng, o.rng, "Overlapping media port ranges",
							"Interface %q's media ports %d-%d on %s overlap interface %q's %d-%d on %s.", ri.Name, lo, hi, m.Address, o.iface, o.min, o.max, o.addr))
					}
				}
				for _, u := range socks {
					if u.socket == "udp" && overlaps(u.ap.Addr(), m.Address) && int64(u.ap.Port()) >= lo && int64(u.ap.Port()) <= hi {
						v.diags = append(v.diags, hclutil.ErrorCtx(rng, u.rng, "Media ports include a SIP port",
							"Interface %q's media ports %d-%d include the SIP UDP listener %s.", ri.Name, lo, hi, u.ap))
					}
				}
				media = append(media, mrange{m.Address, m.PortMin, m.PortMax, ri.Name, rng})
			}
			itf.Media = m
		}
		cfg.Interfaces = append(cfg.Interfaces, itf)
	}
	if s := raw.SIP; s != nil {
		var d hcl.Diagnostics
		cfg.SIP.T1, d = hclutil.Duration(s.T1, nil, 500*time.Millisecond, 10*time.Millisecond, 10*time.Second)
		v.add(d)
		cfg.SIP.T2, d = hclutil.Duration(s.T2, nil, 4*time.Second, 10*time.Millisecond, time.Minute)
		v.add(d)
		cfg.SIP.T4, d = hclutil.Duration(s.T4, nil, 5*time.Second, 10*time.Millisecond, time.Minute)
		v.add(d)
		if cfg.SIP.T2 < cfg.SIP.T1 {
			v.errf(hclutil.AttrRange(s.T2, s.DefRange), "T2 below T1", "T2 (%s) must not be below T1 (%s) (RFC 3261 §17.1.2.2).", cfg.SIP.T2, cfg.SIP.T1)
		}
		// RFC 3261 §18.1.1: a UDP request within 200 bytes of the path
		// MTU (1300 bytes assumed) must go over a congestion-controlled
		// transport; below that, SIP cannot work at all.
		n, d := hclutil.Int(s.MaxMessageSize, nil, 65535, 1300, 1<<20)
		v.add(d)
		cfg.SIP.MaxMessageSize = int(n)
		n, d = hclutil.Int(s.MaxConnections, nil, 4096, 1, 1_000_000)
		v.add(d)
		cfg.SIP.MaxConnections = int(n)
	}
	if raw.Admin != nil {
		cfg.AdminListen = v.addrPort(raw.Admin.Listen, "127.0.0.1:9060")
	}
	if raw.Metrics != nil {
		cfg.MetricsListen = v.addrPort(raw.Metrics.Listen, "127.0.0.1:9060")
	}
	if l := raw.Log; l != nil {
		lv, d := hclutil.String(l.Level, nil, "info")
		if v.add(d) {
			v.level(cfg, lv, hclutil.AttrRange(l.Level, l.DefRange))
		}
		f, d := hclutil.String(l.Format, nil, "text")
		if v.add(d) && (l.Format == nil || v.add(hclutil.OneOf(l.Format, f, "text", "json"))) {
			cfg.LogFormat = f
		}
	}
	if c := raw.CDR; c != nil {
		var d hcl.Diagnostics
		cfg.CDRFile, d = hclutil.String(c.File, nil, "")
		v.add(d)
		if cfg.CDRFile != "" && cfg.CDRFile != "-" && !filepath.IsAbs(cfg.CDRFile) {
			cfg.CDRFile = filepath.Join(dir, cfg.CDRFile)
		}
		f, d := hclutil.String(c.Format, nil, "jsonl")
		if v.add(d) && (c.Format == nil || v.add(hclutil.OneOf(c.Format, f, "jsonl", "csv"))) {
			cfg.CDRFormat = f
		}
	}
	if p := raw.Policy; p != nil {
		items, d := hclutil.Strings(p.Files, nil)
		v.add(d)
		for _, it := range items {
			f := it.Value
			if !filepath.IsAbs(f) {
				f = filepath.Join(dir, f)
			}
			if _, err := os.Stat(f); err != nil {
				v.errf(it.Range, "Policy file not found", "%v.", err)
			}
			cfg.PolicyFiles = append(cfg.PolicyFiles, f)
		}
	}
}

func (v *validator) level(cfg *Config, s string, rng hcl.Range) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		v.errf(rng, "Invalid log level", "The log level is \"debug\", \"info\", \"warn\" or \"error\", not %q.", s)
		return
	}
	cfg.LogLevel = l
}

func (v *validator) file(attr *hcl.Attribute, def hcl.Range, dir, what string) string {
	if attr == nil {
		v.errf(def, "Missing "+what, "A TLS listener needs cert_file and key_file (PEM).")
		return ""
	}
	s, d := hclutil.String(attr, nil, "")
	if !v.add(d) {
		return ""
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(dir, s)
	}
	if _, err := os.Stat(s); err != nil {
		v.errf(attr.Expr.Range(), "File not found", "%v.", err)
	}
	return s
}

func (v *validator) overrides(cfg *Config, ov Overrides) {
	flagErr := func(summary, format string, args ...any) {
		v.diags = append(v.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...)})
	}
	if len(ov.PolicyFiles) > 0 {
		cfg.PolicyFiles = append([]string(nil), ov.PolicyFiles...)
	}
	if ov.LogLevel != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(ov.LogLevel)); err != nil {
			flagErr("Invalid -log-level", "%q is not debug, info, warn or error.", ov.LogLevel)
		}
		cfg.LogLevel = l
	}
	if ov.LogFormat != "" {
		if ov.LogFormat != "text" && ov.LogFormat != "json" {
			flagErr("Invalid -log-format", "%q is not text or json.", ov.LogFormat)
		}
		cfg.LogFormat = ov.LogFormat
	}
	for _, x := range []struct {
		flag string
		s    string
		dst  *netip.AddrPort
	}{{"-admin", ov.AdminListen, &cfg.AdminListen}, {"-metrics", ov.MetricsListen, &cfg.MetricsListen}} {
		if x.s == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(x.s)
		if err != nil {
			flagErr("Invalid "+x.flag, "%q is not an address:port.", x.s)
		}
		*x.dst = ap
	}
}
