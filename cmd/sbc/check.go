package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/sbc-project/sbc/config"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
)

// checkCmd validates the configuration and the policy it names; exit 1
// with diagnostics (file:line:column and the source line), exit 0 with a
// short summary.
func checkCmd(args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	return check(os.Stdout, os.Stderr, cf)
}

func check(stdout, stderr io.Writer, cf commonFlags) int {
	cfg, err := cf.load()
	if err != nil {
		printErr(stderr, err)
		return 1
	}
	pol, err := policy.Load(cfg.PolicyFiles, loadOptions(cfg))
	if err != nil {
		printErr(stderr, err)
		return 1
	}
	listeners := 0
	for _, ifc := range cfg.Interfaces {
		listeners += len(ifc.Listeners)
	}
	rules := 0
	for _, name := range pol.ACLs() {
		if a, ok := pol.ACL(name); ok {
			rules += len(a.Entries)
		}
	}
	cfgName := "embedded default"
	if len(cf.configs) > 0 {
		cfgName = strings.Join(cf.configs, ", ")
	}
	polName := "embedded default"
	if len(cfg.PolicyFiles) > 0 {
		polName = strings.Join(cfg.PolicyFiles, ", ")
	}
	fmt.Fprintf(stdout, "configuration OK (%s): %d interfaces, %d SIP listeners\n", cfgName, len(cfg.Interfaces), listeners)
	fmt.Fprintf(stdout, "policy OK (%s): %d trunks, %d routes, %d ACL rules\n", polName, len(pol.Trunks()), len(pol.Routes()), rules)
	return 0
}

// loadOptions lets the policy check its trunks against the configuration:
// interfaces that exist and transports they listen on.
func loadOptions(cfg *config.Config) policy.LoadOptions {
	o := policy.LoadOptions{Interfaces: ifaceNames(cfg), Transports: map[string][]string{}}
	for _, ifc := range cfg.Interfaces {
		for _, l := range ifc.Listeners {
			o.Transports[ifc.Name] = append(o.Transports[ifc.Name], l.Transport)
		}
	}
	return o
}

func ifaceNames(cfg *config.Config) []string {
	var out []string
	for _, ifc := range cfg.Interfaces {
		out = append(out, ifc.Name)
	}
	return out
}

type headerFlag []string

func (h *headerFlag) String() string     { return strings.Join(*h, "; ") }
func (h *headerFlag) Set(v string) error { *h = append(*h, v); return nil }

// routeCmd prints what the policy would do with a call, without running
// anything: the operator's dry run before a reload.
func routeCmd(args []string) int {
	fs := flag.NewFlagSet("route", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	fromTrunk := fs.String("from-trunk", "", "source trunk name (or use -source)")
	source := fs.String("source", "", "source address ip:port to match a trunk by (with -transport and -interface)")
	tr := fs.String("transport", "udp", "transport of -source")
	iface := fs.String("interface", "", "interface of -source")
	ruri := fs.String("ruri", "", "Request-URI, e.g. sip:+4930123@sbc.example")
	from := fs.String("from", "", "From URI")
	to := fs.String("to", "", "To URI (default: the Request-URI)")
	var headers headerFlag
	fs.Var(&headers, "header", "a request header 'Name: value' (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		printErr(os.Stderr, err)
		return 1
	}
	pol, err := policy.Load(cfg.PolicyFiles, loadOptions(cfg))
	if err != nil {
		printErr(os.Stderr, err)
		return 1
	}
	return route(os.Stdout, os.Stderr, pol, routeArgs{fromTrunk: *fromTrunk, source: *source, transport: *tr,
		iface: *iface, ruri: *ruri, from: *from, to: *to, headers: headers})
}

type routeArgs struct {
	fromTrunk, source, transport, iface, ruri, from, to string
	headers                                             []string
}

func route(stdout, stderr io.Writer, pol *policy.Policy, a routeArgs) int {
	if a.ruri == "" {
		fmt.Fprintln(stderr, "sbc route: -ruri is required")
		return 2
	}
	trunk := a.fromTrunk
	if a.source != "" {
		ap, err := netip.ParseAddrPort(a.source)
		if err != nil {
			fmt.Fprintln(stderr, "sbc route: -source:", err)
			return 2
		}
		t, ok := pol.MatchTrunk(ap, a.transport, a.iface)
		if !ok && a.iface == "" {
			// Without -interface, try the source on every interface.
			for _, cand := range pol.Trunks() {
				if t, ok = pol.MatchTrunk(ap, a.transport, cand.Interface); ok {
					break
				}
			}
		}
		if !ok {
			fmt.Fprintf(stdout, "source %s matches no trunk: the call would be refused with 403\n", ap)
			return 0
		}
		trunk = t.Name
	}
	if trunk != "" {
		if _, ok := pol.Trunk(trunk); !ok {
			fmt.Fprintf(stderr, "sbc route: no trunk %q in the policy\n", trunk)
			return 1
		}
	}
	user := func(s string) (string, error) {
		if s == "" {
			return "", nil
		}
		u, err := sip.ParseURI(s)
		if err != nil {
			return "", err
		}
		if u.IsTel() {
			return u.Opaque, nil
		}
		return sip.Unescape(u.User)
	}
	ruser, err := user(a.ruri)
	if err != nil {
		fmt.Fprintln(stderr, "sbc route: -ruri:", err)
		return 2
	}
	fuser, err := user(a.from)
	if err != nil {
		fmt.Fprintln(stderr, "sbc route: -from:", err)
		return 2
	}
	tuser := ruser
	if a.to != "" {
		if tuser, err = user(a.to); err != nil {
			fmt.Fprintln(stderr, "sbc route: -to:", err)
			return 2
		}
	}
	hdrs := map[string]string{}
	for _, h := range a.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			fmt.Fprintf(stderr, "sbc route: -header %q: want 'Name: value'\n", h)
			return 2
		}
		hdrs[sip.CanonicalName(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	d := pol.Route(policy.RouteRequest{SourceTrunk: trunk, RURIUser: ruser, FromUser: fuser, ToUser: tuser,
		Header: func(name string) (string, bool) { v, ok := hdrs[sip.CanonicalName(name)]; return v, ok }})
	fmt.Fprintf(stdout, "source trunk: %s\n", orNone(trunk))
	fmt.Fprintf(stdout, "route:        %s\n", orNone(d.RouteName()))
	if d.Rejected() {
		fmt.Fprintf(stdout, "rejected:     %d %s\n", d.RejectCode, d.RejectReason)
		return 0
	}
	fmt.Fprintf(stdout, "R-URI user:   %s -> %s\n", ruser, d.RURIUser)
	fmt.Fprintf(stdout, "From user:    %s -> %s\n", orNone(fuser), orNone(d.FromUser))
	fmt.Fprintf(stdout, "To user:      %s -> %s\n", orNone(tuser), orNone(d.ToUser))
	for i, t := range d.Trunks {
		var dests []string
		for _, dst := range t.Destinations {
			dests = append(dests, fmt.Sprintf("%s:%d/%s", dst.Host, dst.Port, dst.Transport))
		}
		fmt.Fprintf(stdout, "trunk %d:      %s (%s) via interface %s\n", i+1, t.Name, strings.Join(dests, ", "), t.Interface)
	}
	if len(d.FailoverOn) > 0 || d.FailoverTimeout > 0 {
		fmt.Fprintf(stdout, "failover:     on %v, timeout %s\n", d.FailoverOn, d.FailoverTimeout)
	}
	for _, h := range d.Headers {
		if h.Op == policy.HeaderRemove {
			fmt.Fprintf(stdout, "header:       remove %s\n", h.Name)
			continue
		}
		fmt.Fprintf(stdout, "header:       %s %s: %s\n", h.Op, h.Name, h.Value)
	}
	if d.Err != nil {
		fmt.Fprintf(stdout, "warning:      %v\n", d.Err)
	}
	return 0
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
