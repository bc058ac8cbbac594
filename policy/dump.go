package policy

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// renderValue renders a variable's value for the dump.
func renderValue(v cty.Value) string {
	if !v.IsWhollyKnown() {
		return "(unknown)"
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(b)
}

// Dump writes a stable, line-oriented text form of the runtime policy: what
// the validated policy is, as opposed to what the files say. Golden tests
// compare it; operators can diff it across reloads.
func (p *Policy) Dump(w io.Writer) error {
	var b strings.Builder
	pf := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	pf("route_selection %s\n", p.selection)
	pf("no_route %d %q\n", p.noRouteCode, p.noRouteReason)
	pf("default_limits %s\n", limitsString(p.defaultLimits))
	for _, n := range p.variableNames {
		pf("var %s = %s\n", n, p.variableValues[n])
	}
	for _, t := range p.trunks {
		pf("trunk %q kind=%s interface=%q\n", t.Name, t.Kind, t.Interface)
		for _, s := range t.Sources {
			pf("  source %s", s)
			if t.Transport != "" {
				pf(" transport=%s", t.Transport)
			}
			if t.Port != 0 {
				pf(" port=%d", t.Port)
			}
			pf("\n")
		}
		for i, d := range t.Destinations {
			role := "primary"
			if i > 0 {
				role = "alternate"
			}
			pf("  destination %s %s\n", role, destString(d))
		}
		if c := t.Credentials; c != nil {
			pf("  credentials user=%q realm=%q password=(%d chars)\n", c.Username, c.Realm, len(c.Password))
		}
		pf("  limits %s\n", limitsString(t.Limits))
		if len(t.Codecs) > 0 {
			pf("  codecs %s\n", strings.Join(t.Codecs, ","))
		}
		pf("  latching %s\n", t.Latching)
		pf("  identity trusted=%t assert=%s", t.Identity.Trusted, t.Identity.Assert)
		if t.Identity.Assert == PAIFixed {
			pf(" uri=%q", t.Identity.AssertURI)
		}
		pf(" privacy=%s\n", t.Identity.Privacy)
		if len(t.headerPass) > 0 {
			pf("  headers_pass %s\n", strings.Join(t.headerPass, ","))
		}
		if t.Keepalive.Method != "" {
			pf("  keepalive %s every %s\n", t.Keepalive.Method, t.Keepalive.Interval)
		}
		if r := t.Registrar; r != nil {
			pf("  registrar %s ua_expires=%s registrar_expires=%s\n", destString(r.Destination), r.UAExpires, r.RegistrarExpires)
		}
	}
	for _, r := range p.routes {
		pf("route %q #%d\n", r.Name, r.Index)
		if len(r.FromTrunks) > 0 {
			pf("  from_trunk %s\n", strings.Join(r.FromTrunks, ","))
		}
		matcherLine(&b, "ruri_user", &r.RURIUser)
		matcherLine(&b, "from_user", &r.FromUser)
		matcherLine(&b, "to_user", &r.ToUser)
		for i := range r.Headers {
			h := &r.Headers[i]
			switch h.Kind {
			case MatchPresent:
				pf("  header %q present\n", h.Name)
			case MatchAbsent:
				pf("  header %q absent\n", h.Name)
			default:
				matcherLine(&b, "header "+strconv.Quote(h.Name), &h.Matcher)
			}
		}
		for _, rw := range r.Rewrites {
			pf("  rewrite %s", rw.Field)
			if rw.Strip > 0 {
				pf(" strip=%d", rw.Strip)
			}
			if rw.Prefix != "" {
				pf(" prefix=%q", rw.Prefix)
			}
			if rw.Regex != nil {
				pf(" regex=%q replace=%q", rw.Regex.String(), rw.Replace)
			}
			pf("\n")
		}
		for _, hr := range r.headerRules {
			switch {
			case hr.op == HeaderRemove:
				pf("  header_rule remove %q\n", hr.name)
			case hr.hasStatic:
				pf("  header_rule %s %q = %q\n", hr.op, hr.name, hr.static)
			default:
				pf("  header_rule %s %q = expr %s\n", hr.op, hr.name, exprText(hr))
			}
		}
		if r.RejectCode != 0 {
			pf("  reject %d %q\n", r.RejectCode, r.RejectReason)
			continue
		}
		names := make([]string, len(r.Trunks))
		for i, t := range r.Trunks {
			names[i] = t.Name
		}
		pf("  trunks %s\n", strings.Join(names, ","))
		pf("  failover_on %s", intsString(r.FailoverOn))
		if r.FailoverTimeout > 0 {
			pf(" timeout=%s", r.FailoverTimeout)
		}
		pf("\n")
	}
	for _, name := range p.aclOrder {
		a := p.acls[name]
		def := "deny"
		if a.Default {
			def = "allow"
		}
		pf("acl %q default=%s\n", name, def)
		for _, e := range a.Entries {
			act := "deny"
			if e.Allow {
				act = "allow"
			}
			pf("  %s %s\n", act, e.Prefix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func exprText(hr headerRule) string {
	return strings.Join(strings.Fields(hr.text), " ")
}

func matcherLine(b *strings.Builder, what string, m *Matcher) {
	switch m.Kind {
	case MatchExact:
		fmt.Fprintf(b, "  %s exact %s\n", what, quoteAll(m.Values))
	case MatchPrefix:
		fmt.Fprintf(b, "  %s prefix %s\n", what, quoteAll(m.Values))
	case MatchRegex:
		fmt.Fprintf(b, "  %s regex %q\n", what, m.Regex.String())
	}
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ",")
}

func intsString(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func destString(d Destination) string {
	host := d.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s:%s:%d", d.Transport, host, d.Port)
}

func limitsString(l Limits) string {
	f := func(n int) string {
		if n == 0 {
			return "-"
		}
		return strconv.Itoa(n)
	}
	return fmt.Sprintf("calls=%s in=%s out=%s cps_in=%s cps_out=%s", f(l.Calls), f(l.CallsIn), f(l.CallsOut), f(l.CPSIn), f(l.CPSOut))
}
