package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/sbc-project/sbc/policy"
)

// routeMain prints what the policy would do with a call, so an operator can
// try a change before reloading it.
func routeMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sbc route", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addConfigFlags(fs)
	fromTrunk := fs.String("from-trunk", "", "name of the trunk the call comes from")
	src := fs.String("src", "", "source address:port of the call, to find the trunk (instead of -from-trunk)")
	transport := fs.String("transport", "udp", "transport of the call, with -src")
	iface := fs.String("iface", "", "interface the call arrives on, with -src (default: the first)")
	ruri := fs.String("ruri", "", "Request-URI, e.g. sip:+4930123@example.com (or a bare user part)")
	from := fs.String("from", "", "From URI or user part")
	to := fs.String("to", "", "To URI or user part (default: the Request-URI user)")
	var hdrs listFlag
	fs.Var(&hdrs, "header", "request header 'Name: value', repeatable")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *ruri == "" {
		fmt.Fprintln(stderr, "sbc route: -ruri is required")
		return 2
	}
	cfg, pol, code := loadAll(cf, stderr)
	if code != 0 {
		return code
	}
	req := policy.RouteRequest{SourceTrunk: *fromTrunk, RURIUser: userPart(*ruri), FromUser: userPart(*from), ToUser: userPart(*to)}
	if *to == "" {
		req.ToUser = req.RURIUser
	}
	if *fromTrunk != "" {
		if _, ok := pol.Trunk(*fromTrunk); !ok {
			fmt.Fprintf(stderr, "sbc route: no trunk %q in the policy\n", *fromTrunk)
			return 1
		}
	}
	if *src != "" {
		ap, err := netip.ParseAddrPort(*src)
		if err != nil {
			fmt.Fprintf(stderr, "sbc route: -src: %v\n", err)
			return 2
		}
		in := *iface
		if in == "" && len(cfg.Interfaces) > 0 {
			in = cfg.Interfaces[0].Name
		}
		if !pol.ACLAllows(in, ap.Addr()) {
			fmt.Fprintf(stdout, "acl: %s is denied on interface %q: the request is dropped\n", ap.Addr(), in)
			return 0
		}
		t, ok := pol.MatchTrunk(ap, *transport, in)
		if !ok {
			fmt.Fprintf(stdout, "source: %s over %s on %q matches no trunk\n", ap, *transport, in)
		} else {
			fmt.Fprintf(stdout, "source: %s over %s on %q is trunk %q\n", ap, *transport, in, t.Name)
			if req.SourceTrunk == "" {
				req.SourceTrunk = t.Name
			}
		}
	}
	headers := map[string]string{}
	for _, h := range hdrs {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			fmt.Fprintf(stderr, "sbc route: -header %q is not 'Name: value'\n", h)
			return 2
		}
		k := strings.ToLower(strings.TrimSpace(name))
		if _, dup := headers[k]; !dup {
			headers[k] = strings.TrimSpace(value)
		}
	}
	req.Header = func(name string) (string, bool) {
		v, ok := headers[strings.ToLower(name)]
		return v, ok
	}
	explain(stdout, req, pol.Route(req))
	return 0
}

// explain prints a decision for an operator.
func explain(w io.Writer, req policy.RouteRequest, d policy.Decision) {
	if d.Route == nil {
		fmt.Fprintf(w, "no route matched: reject %d %s\n", d.RejectCode, d.RejectReason)
		return
	}
	r := d.Route.Range()
	fmt.Fprintf(w, "route: %q (%s:%d)\n", d.Route.Name, r.Filename, r.Start.Line)
	if d.Rejected() {
		fmt.Fprintf(w, "reject: %d %s\n", d.RejectCode, d.RejectReason)
		return
	}
	fo := make([]string, len(d.FailoverOn))
	for i, c := range d.FailoverOn {
		fo[i] = fmt.Sprint(c)
	}
	fmt.Fprintf(w, "trunks (next on %s", strings.Join(fo, ","))
	if d.FailoverTimeout > 0 {
		fmt.Fprintf(w, " or after %s", d.FailoverTimeout)
	}
	fmt.Fprintln(w, "):")
	for i, t := range d.Trunks {
		var dst []string
		for _, x := range t.Destinations {
			host := x.Host
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			dst = append(dst, fmt.Sprintf("%s:%s:%d", x.Transport, host, x.Port))
		}
		if t.Kind == policy.KindAccess {
			dst = append(dst, "registered contacts")
		}
		fmt.Fprintf(w, "  %d. %s  %s\n", i+1, t.Name, strings.Join(dst, ", "))
	}
	change := func(what, before, after string) {
		if before == after {
			fmt.Fprintf(w, "%s: %s\n", what, after)
		} else {
			fmt.Fprintf(w, "%s: %s -> %s\n", what, before, after)
		}
	}
	change("ruri user", req.RURIUser, d.RURIUser)
	change("from user", req.FromUser, d.FromUser)
	change("to user", req.ToUser, d.ToUser)
	for _, h := range d.Headers {
		if h.Op == policy.HeaderRemove {
			fmt.Fprintf(w, "header remove %s\n", h.Name)
		} else {
			fmt.Fprintf(w, "header %s %s: %s\n", h.Op, h.Name, h.Value)
		}
	}
	if d.Err != nil {
		fmt.Fprintf(w, "warning: %v\n", d.Err)
	}
}

// userPart extracts the user part of a sip:, sips: or tel: URI (RFC 3261
// §19.1.1, RFC 3966), or returns a bare user as is.
func userPart(uri string) string {
	s := strings.TrimSpace(uri)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "sip:"):
		s = s[4:]
	case strings.HasPrefix(lower, "sips:"):
		s = s[5:]
	case strings.HasPrefix(lower, "tel:"):
		s = s[4:]
		if i := strings.IndexByte(s, ';'); i >= 0 {
			s = s[:i]
		}
		return s
	default:
		return s
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
		if j := strings.IndexByte(s, ':'); j >= 0 { // user:password
			s = s[:j]
		}
		return s
	}
	return ""
}
