package policy

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sbc-project/sbc/internal/hclutil"
	"github.com/zclconf/go-cty/cty"
)

const (
	fieldRURIUser = "ruri_user"
	fieldFromUser = "from_user"
	fieldToUser   = "to_user"
)

// defaultFailoverOn are the final responses that advance to the next trunk
// when a route does not say: timeout and server failures (RFC 3261 §21.4.9,
// §21.5), not rejections that another carrier would repeat.
var defaultFailoverOn = []int{408, 500, 502, 503, 504}

// managedHeaders are built by the B2BUA for each leg (RFC 3261 §8.1.1,
// §12, §16) and so may neither pass through nor be set by header rules:
// copying them would leak topology or break the dialog.
var managedHeaders = map[string]bool{
	"via": true, "v": true, "call-id": true, "i": true, "cseq": true,
	"from": true, "f": true, "to": true, "t": true, "contact": true, "m": true,
	"max-forwards": true, "content-length": true, "l": true,
	"content-type": true, "c": true, "record-route": true, "route": true,
}

type builder struct {
	opts LoadOptions
	srcs map[string][]byte
	// fileStart is the start of the first file, for whole-policy errors.
	fileStart hcl.Range
	diags     hcl.Diagnostics
	ctx       *hcl.EvalContext
}

func (b *builder) add(d hcl.Diagnostics) bool {
	b.diags = append(b.diags, d...)
	return !d.HasErrors()
}

func (b *builder) errf(rng hcl.Range, summary, format string, args ...any) {
	b.diags = append(b.diags, hclutil.Errorf(rng, summary, format, args...))
}

func (b *builder) build(raws []rawFile) *Policy {
	p := &Policy{
		trunkByName:   map[string]*Trunk{},
		sources:       map[string][]sourceMatch{},
		acls:          map[string]*ACL{},
		noRouteCode:   404,
		noRouteReason: "Not Found",
	}
	var vars []rawVariables
	var defs []rawDefaults
	var trunks []rawTrunk
	var routes []rawRoute
	var acls []rawACL
	for _, r := range raws {
		vars = append(vars, r.Variables...)
		defs = append(defs, r.Defaults...)
		trunks = append(trunks, r.Trunks...)
		routes = append(routes, r.Routes...)
		acls = append(acls, r.ACLs...)
	}
	vals, names, d := evalVariables(vars)
	b.add(d)
	p.variableNames = names
	p.variableValues = map[string]string{}
	for n, v := range vals {
		p.variableValues[n] = renderValue(v)
	}
	b.ctx = loadContext(vals)
	p.evalCtx = b.ctx

	if len(defs) > 1 {
		b.diags = append(b.diags, hclutil.ErrorCtx(defs[1].DefRange, defs[0].DefRange, "Duplicate defaults block",
			"Only one defaults block is allowed; the first is at %s.", defs[0].DefRange))
	}
	if len(defs) > 0 {
		b.defaults(p, &defs[0])
	}
	for i := range trunks {
		rt := &trunks[i]
		if prev, dup := p.trunkByName[rt.Name]; dup {
			b.diags = append(b.diags, hclutil.ErrorCtx(rt.NameRange, prev.rng, "Duplicate trunk",
				"A trunk named %q is already defined at %s.", rt.Name, prev.rng))
			continue
		}
		t := b.trunk(p, rt)
		p.trunks = append(p.trunks, t)
		p.trunkByName[t.Name] = t
	}
	b.sourceIndex(p)
	for i := range acls {
		b.acl(p, &acls[i])
	}
	sort.Strings(p.aclOrder)
	seen := map[string]hcl.Range{}
	for i := range routes {
		rr := &routes[i]
		if prev, dup := seen[rr.Name]; dup {
			b.diags = append(b.diags, hclutil.ErrorCtx(rr.NameRange, prev, "Duplicate route",
				"A route named %q is already defined at %s.", rr.Name, prev))
			continue
		}
		seen[rr.Name] = rr.DefRange
		r := b.route(p, rr)
		r.Index = len(p.routes)
		p.routes = append(p.routes, r)
	}
	if len(trunks) == 0 {
		// An empty policy is valid HCL but rejects every call: it is far
		// more likely a truncated file than an intent.
		b.diags = append(b.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No trunks",
			Detail:   "The policy defines no trunk, so every call would be rejected; a policy needs at least one trunk block.",
			Subject:  &b.fileStart,
		})
	}
	tb := newTableBuilder(p.selection)
	for _, r := range p.routes {
		idx := int32(r.Index)
		switch r.RURIUser.Kind {
		case MatchPrefix:
			for _, v := range r.RURIUser.Values {
				tb.addPrefix(v, idx)
			}
		case MatchExact:
			for _, v := range r.RURIUser.Values {
				tb.addExact(v, idx)
			}
		default:
			tb.addPrefix("", idx)
		}
	}
	p.table = tb.build()
	return p
}

func (b *builder) defaults(p *Policy, rd *rawDefaults) {
	sel, d := hclutil.String(rd.RouteSelection, b.ctx, "first_match")
	if b.add(d) && rd.RouteSelection != nil && b.add(hclutil.OneOf(rd.RouteSelection, sel, "first_match", "longest_prefix")) && sel == "longest_prefix" {
		p.selection = LongestPrefix
	}
	code, d := hclutil.Int(rd.NoRouteCode, b.ctx, 404, 400, 699)
	if b.add(d) {
		p.noRouteCode = int(code)
	}
	reason, d := hclutil.String(rd.NoRouteReason, b.ctx, reasonPhrase(p.noRouteCode))
	if b.add(d) {
		p.noRouteReason = b.reason(rd.NoRouteReason, reason)
	}
	if rd.Limits != nil {
		p.defaultLimits = b.limits(rd.Limits, Limits{})
	}
}

func (b *builder) reason(attr *hcl.Attribute, s string) string {
	// RFC 3261 §25.1: Reason-Phrase = *(reserved / unreserved / escaped /
	// UTF8-NONASCII / UTF8-CONT / SP / HTAB); no CR or LF.
	if strings.ContainsAny(s, "\r\n") || s == "" {
		b.errf(hclutil.AttrRange(attr, hcl.Range{}), "Invalid reason phrase", "A reason phrase must be non-empty text on one line.")
	}
	return s
}

func (b *builder) limits(rl *rawLimits, def Limits) Limits {
	l := def
	const max = 1_000_000
	get := func(attr *hcl.Attribute, dst *int) {
		n, d := hclutil.Int(attr, b.ctx, int64(*dst), 0, max)
		if b.add(d) {
			*dst = int(n)
		}
	}
	get(rl.Calls, &l.Calls)
	get(rl.CallsIn, &l.CallsIn)
	get(rl.CallsOut, &l.CallsOut)
	get(rl.CPSIn, &l.CPSIn)
	get(rl.CPSOut, &l.CPSOut)
	return l
}

func (b *builder) transport(attr *hcl.Attribute, def string) string {
	s, d := hclutil.String(attr, b.ctx, def)
	if !b.add(d) || attr == nil {
		return def
	}
	s = strings.ToLower(s)
	if !b.add(hclutil.OneOf(attr, s, "udp", "tcp", "tls")) {
		return def
	}
	return s
}

func (b *builder) port(attr *hcl.Attribute, def uint16) uint16 {
	n, d := hclutil.Int(attr, b.ctx, int64(def), 1, 65535)
	if !b.add(d) {
		return def
	}
	return uint16(n)
}

func (b *builder) iface(attr *hcl.Attribute, name string, rng hcl.Range) {
	if b.opts.Interfaces == nil {
		return
	}
	for _, i := range b.opts.Interfaces {
		if i == name {
			return
		}
	}
	b.errf(rng, "Unknown interface", "There is no interface %q in the configuration; it defines %q.", name, b.opts.Interfaces)
}

// served checks that interface iface listens on transport, when the
// configuration's transports are known.
func (b *builder) served(iface, transport string, rng hcl.Range) {
	if b.opts.Transports == nil || iface == "" {
		return
	}
	list, ok := b.opts.Transports[iface]
	if !ok {
		return // the unknown interface is reported on its own
	}
	for _, t := range list {
		if t == transport {
			return
		}
	}
	b.errf(rng, "Transport not served", "Interface %q has no %s listener (it listens on %q); add one to the configuration or use another transport.", iface, transport, list)
}

// prefix parses a CIDR or a bare address (a host prefix).
func (b *builder) prefix(it hclutil.Item) (netip.Prefix, bool) {
	s := strings.TrimSpace(it.Value)
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			b.errf(it.Range, "Invalid CIDR", "%q is not an address prefix such as \"192.0.2.0/24\" or \"2001:db8::/32\": %v.", it.Value, err)
			return netip.Prefix{}, false
		}
		if pfx.Addr().Is4In6() {
			b.errf(it.Range, "Invalid CIDR", "%q is an IPv4-mapped IPv6 prefix; write the IPv4 prefix instead.", it.Value)
			return netip.Prefix{}, false
		}
		if m := pfx.Masked(); m != pfx {
			b.errf(it.Range, "Invalid CIDR", "%q has host bits set; did you mean %q?", it.Value, m.String())
			return netip.Prefix{}, false
		}
		return pfx, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		b.errf(it.Range, "Invalid address", "%q is neither an IP address nor a CIDR prefix.", it.Value)
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

func (b *builder) trunk(p *Policy, rt *rawTrunk) *Trunk {
	t := &Trunk{Name: rt.Name, rng: rt.DefRange}
	if !validName(rt.Name) {
		b.errf(rt.NameRange, "Invalid trunk name", "A trunk name is letters, digits, '_', '-' and '.', starting with a letter: %q is not.", rt.Name)
	}
	kind, d := hclutil.String(rt.Kind, b.ctx, "peer")
	if b.add(d) && rt.Kind != nil && b.add(hclutil.OneOf(rt.Kind, kind, "peer", "access")) && kind == "access" {
		t.Kind = KindAccess
	}
	if rt.Interface == nil {
		b.errf(rt.NameRange, "Missing interface", "Trunk %q must name the interface it is reached on: interface = \"outside\".", rt.Name)
	} else if s, d := hclutil.String(rt.Interface, b.ctx, ""); b.add(d) {
		t.Interface = s
		b.iface(rt.Interface, s, rt.Interface.Expr.Range())
	}
	if m := rt.Match; m != nil {
		items, d := hclutil.Strings(m.Sources, b.ctx)
		b.add(d)
		if m.Sources == nil || (len(items) == 0 && !d.HasErrors()) {
			b.errf(hclutil.AttrRange(m.Sources, m.DefRange), "Missing sources", "A trunk match needs at least one source address or CIDR.")
		}
		for _, it := range items {
			if pfx, ok := b.prefix(it); ok {
				t.Sources = append(t.Sources, pfx)
			}
		}
		t.Transport = b.transport(m.Transport, "")
		if m.Transport != nil && t.Transport != "" {
			b.served(t.Interface, t.Transport, m.Transport.Expr.Range())
		}
		if m.Port != nil {
			t.Port = b.port(m.Port, 0)
		}
	}
	for i := range rt.Destinations {
		rd := &rt.Destinations[i]
		dst := b.destination(rd.Host, rd.Port, rd.Transport)
		b.served(t.Interface, dst.Transport, hclutil.AttrRange(rd.Transport, rd.DefRange))
		t.Destinations = append(t.Destinations, dst)
	}
	if c := rt.Credentials; c != nil {
		cr := &Credentials{}
		var d hcl.Diagnostics
		cr.Username, d = hclutil.String(c.Username, b.ctx, "")
		b.add(d)
		cr.Password, d = hclutil.String(c.Password, b.ctx, "")
		b.add(d)
		cr.Realm, d = hclutil.String(c.Realm, b.ctx, "")
		b.add(d)
		if cr.Username == "" {
			b.errf(c.Username.Expr.Range(), "Empty username", "Digest credentials need a username (RFC 3261 §22.4).")
		}
		t.Credentials = cr
		if len(rt.Destinations) == 0 && rt.Registrar == nil {
			b.errf(c.DefRange, "Credentials without destination", "Trunk %q has credentials but no destination to send requests to.", rt.Name)
		}
	}
	t.Limits = p.defaultLimits
	if rt.Limits != nil {
		t.Limits = b.limits(rt.Limits, p.defaultLimits)
	}
	codecs, d := hclutil.Strings(rt.Codecs, b.ctx)
	b.add(d)
	seen := map[string]hcl.Range{}
	for _, c := range codecs {
		k := strings.ToLower(c.Value)
		if !validToken(c.Value) {
			b.errf(c.Range, "Invalid codec name", "%q is not an SDP encoding name (RFC 8866 §6.6).", c.Value)
			continue
		}
		if prev, dup := seen[k]; dup {
			b.diags = append(b.diags, hclutil.ErrorCtx(c.Range, prev, "Duplicate codec", "%q is already listed.", c.Value))
			continue
		}
		seen[k] = c.Range
		t.Codecs = append(t.Codecs, c.Value)
	}
	if rt.Media != nil {
		s, d := hclutil.String(rt.Media.Latching, b.ctx, "learn")
		if b.add(d) && rt.Media.Latching != nil && b.add(hclutil.OneOf(rt.Media.Latching, s, "learn", "strict", "once")) {
			switch s {
			case "strict":
				t.Latching = LatchStrict
			case "once":
				t.Latching = LatchOnce
			}
		}
	}
	b.identity(t, rt.Identity)
	if rt.Headers != nil {
		items, d := hclutil.Strings(rt.Headers.Pass, b.ctx)
		b.add(d)
		seen := map[string]hcl.Range{}
		for _, it := range items {
			if !b.headerName(it.Value, it.Range) {
				continue
			}
			k := strings.ToLower(it.Value)
			if prev, dup := seen[k]; dup {
				b.diags = append(b.diags, hclutil.ErrorCtx(it.Range, prev, "Duplicate header", "%q is already listed.", it.Value))
				continue
			}
			seen[k] = it.Range
			t.headerPass = append(t.headerPass, k)
		}
	}
	if ka := rt.Keepalive; ka != nil {
		m, d := hclutil.String(ka.Method, b.ctx, "options")
		if b.add(d) && ka.Method != nil {
			b.add(hclutil.OneOf(ka.Method, m, "options", "crlf"))
		}
		if m == "crlf" && t.Kind != KindAccess {
			b.errf(hclutil.AttrRange(ka.Method, ka.DefRange), "CRLF keepalive on a peer trunk",
				"CRLF keepalives (RFC 5626 §3.5.1) keep a NATed client's binding open; a peer trunk is checked with OPTIONS.")
		}
		iv, d := hclutil.Duration(ka.Interval, b.ctx, 30*time.Second, time.Second, time.Hour)
		b.add(d)
		t.Keepalive = Keepalive{Method: m, Interval: iv}
		if t.Kind == KindPeer && len(rt.Destinations) == 0 {
			b.errf(ka.DefRange, "Keepalive without destination", "Trunk %q has an OPTIONS keepalive but no destination to send it to.", rt.Name)
		}
	}
	switch {
	case t.Kind == KindAccess && rt.Registrar == nil:
		b.errf(rt.NameRange, "Missing registrar", "Access trunk %q needs a registrar block: where the NATed user agents' REGISTERs go.", rt.Name)
	case t.Kind == KindPeer && rt.Registrar != nil:
		b.errf(rt.Registrar.DefRange, "Registrar on a peer trunk", "Only a trunk with kind = \"access\" has a registrar.")
	case rt.Registrar != nil:
		rr := rt.Registrar
		reg := &Registrar{Destination: b.destination(rr.Host, rr.Port, rr.Transport)}
		var d hcl.Diagnostics
		reg.UAExpires, d = b.seconds(rr.UAExpires, 60)
		b.add(d)
		reg.RegistrarExpires, d = b.seconds(rr.RegistrarExpires, 3600)
		b.add(d)
		if reg.UAExpires > reg.RegistrarExpires {
			b.errf(hclutil.AttrRange(rr.UAExpires, rr.DefRange), "UA expiry above registrar expiry",
				"ua_expires (%s) must not exceed registrar_expires (%s): the SBC would keep a binding the registrar has dropped.",
				reg.UAExpires, reg.RegistrarExpires)
		}
		t.Registrar = reg
	}
	return t
}

// seconds reads an expiry in whole seconds (RFC 3261 §10.2.1.1 Expires).
func (b *builder) seconds(attr *hcl.Attribute, def int64) (time.Duration, hcl.Diagnostics) {
	n, d := hclutil.Int(attr, b.ctx, def, 10, 86400)
	return time.Duration(n) * time.Second, d
}

func (b *builder) destination(host, port, transport *hcl.Attribute) Destination {
	var dst Destination
	h, d := hclutil.String(host, b.ctx, "")
	if b.add(d) {
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, " /:@;") && !isIPv6(h) {
			b.errf(hclutil.AttrRange(host, hcl.Range{}), "Invalid host", "%q is not a host name or IP address; give the port separately with port = 5060.", h)
		}
		dst.Host = h
	}
	dst.Transport = b.transport(transport, "udp")
	// RFC 3263 §4.2: the default port is 5060, or 5061 for TLS.
	def := uint16(5060)
	if dst.Transport == "tls" {
		def = 5061
	}
	dst.Port = b.port(port, def)
	return dst
}

func isIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

func (b *builder) identity(t *Trunk, ri *rawIdentity) {
	if ri == nil {
		return
	}
	var d hcl.Diagnostics
	t.Identity.Trusted, d = hclutil.Bool(ri.Trusted, b.ctx, false)
	b.add(d)
	as, d := hclutil.String(ri.Assert, b.ctx, "forward")
	if b.add(d) {
		switch {
		case as == "forward":
		case as == "none":
			t.Identity.Assert = PAINone
		case strings.HasPrefix(as, "sip:") || strings.HasPrefix(as, "sips:") || strings.HasPrefix(as, "tel:"):
			// RFC 3325 §9.1: PAI is a name-addr or addr-spec with a SIP,
			// SIPS or TEL URI.
			if len(as) < 5 || strings.ContainsAny(as, " <>\r\n") {
				b.errf(ri.Assert.Expr.Range(), "Invalid asserted identity", "%q is not a SIP, SIPS or TEL URI.", as)
			}
			t.Identity.Assert, t.Identity.AssertURI = PAIFixed, as
		default:
			b.errf(ri.Assert.Expr.Range(), "Invalid asserted identity",
				"assert must be \"forward\", \"none\" or a sip:, sips: or tel: URI (RFC 3325 §9.1), not %q.", as)
		}
	}
	pv, d := hclutil.String(ri.Privacy, b.ctx, "honor")
	if b.add(d) && ri.Privacy != nil && b.add(hclutil.OneOf(ri.Privacy, pv, "honor", "force", "ignore")) {
		switch pv {
		case "force":
			t.Identity.Privacy = PrivacyForce
		case "ignore":
			t.Identity.Privacy = PrivacyIgnore
			if !t.Identity.Trusted {
				b.errf(ri.Privacy.Expr.Range(), "Privacy ignored toward an untrusted trunk",
					"RFC 3325 §7 forbids sending an identity with Privacy: id outside the trust domain; privacy = \"ignore\" needs trusted = true.")
			}
		}
	}
}

// sourceIndex builds the per-interface source match lists, most specific
// first, and reports matches that two trunks share exactly.
func (b *builder) sourceIndex(p *Policy) {
	type key struct {
		iface     string
		prefix    netip.Prefix
		transport string
		port      uint16
	}
	owner := map[key]*Trunk{}
	for _, t := range p.trunks {
		for _, pfx := range t.Sources {
			k := key{t.Interface, pfx, t.Transport, t.Port}
			if prev, dup := owner[k]; dup && prev != t {
				b.diags = append(b.diags, hclutil.ErrorCtx(t.rng, prev.rng, "Ambiguous trunk match",
					"Trunks %q and %q both match source %s on interface %q with the same transport and port; traffic from there cannot be told apart.",
					prev.Name, t.Name, pfx, t.Interface))
				continue
			}
			owner[k] = t
			p.sources[t.Interface] = append(p.sources[t.Interface], sourceMatch{prefix: pfx, transport: t.Transport, port: t.Port, trunk: t, rng: t.rng})
		}
	}
	for _, list := range p.sources {
		sort.SliceStable(list, func(i, j int) bool {
			a, c := list[i], list[j]
			if a.prefix.Bits() != c.prefix.Bits() {
				return a.prefix.Bits() > c.prefix.Bits()
			}
			if (a.port != 0) != (c.port != 0) {
				return a.port != 0
			}
			return a.transport != "" && c.transport == ""
		})
	}
}

func (b *builder) acl(p *Policy, ra *rawACL) {
	if prev, dup := p.acls[ra.Interface]; dup {
		_ = prev
		b.errf(ra.InterfaceRange, "Duplicate ACL", "Interface %q already has an ACL; put all its entries in one acl block.", ra.Interface)
		return
	}
	b.iface(nil, ra.Interface, ra.InterfaceRange)
	a := &ACL{Interface: ra.Interface}
	def, d := hclutil.String(ra.Default, b.ctx, "deny")
	if b.add(d) && ra.Default != nil {
		b.add(hclutil.OneOf(ra.Default, def, "allow", "deny"))
	}
	a.Default = def == "allow"
	type entry struct {
		ACLEntry
		rng hcl.Range
	}
	var entries []entry
	for _, side := range []struct {
		attr  *hcl.Attribute
		allow bool
	}{{ra.Allow, true}, {ra.Deny, false}} {
		items, d := hclutil.Strings(side.attr, b.ctx)
		b.add(d)
		for _, it := range items {
			if pfx, ok := b.prefix(it); ok {
				entries = append(entries, entry{ACLEntry{pfx, side.allow}, it.Range})
			}
		}
	}
	word := func(allow bool) string {
		if allow {
			return "allowed"
		}
		return "denied"
	}
	// Every entry must change the outcome for some address: its action
	// must differ from what the nearest broader entry (or the default)
	// decides. An equal prefix twice is a duplicate or a conflict.
	ok := true
	for i, e := range entries {
		var parent *entry
		dupe := false
		for j := range entries {
			o := &entries[j]
			if i == j || o.Prefix.Addr().Is4() != e.Prefix.Addr().Is4() {
				continue
			}
			if o.Prefix == e.Prefix {
				dupe = true
				if j < i {
					ok = false
					if o.Allow == e.Allow {
						b.diags = append(b.diags, hclutil.ErrorCtx(e.rng, o.rng, "Duplicate ACL entry", "%s is listed twice.", e.Prefix))
					} else {
						b.diags = append(b.diags, hclutil.ErrorCtx(e.rng, o.rng, "Overlapping ACL entries",
							"%s is both allowed and denied on interface %q.", e.Prefix, ra.Interface))
					}
				}
				continue
			}
			if o.Prefix.Bits() < e.Prefix.Bits() && o.Prefix.Contains(e.Prefix.Addr()) && (parent == nil || o.Prefix.Bits() > parent.Prefix.Bits()) {
				parent = o
			}
		}
		switch {
		case dupe:
		case parent != nil && parent.Allow == e.Allow:
			ok = false
			b.diags = append(b.diags, hclutil.ErrorCtx(e.rng, parent.rng, "Overlapping ACL entries",
				"%s is inside %s, which is already %s on interface %q; the entry has no effect.", e.Prefix, parent.Prefix, word(e.Allow), ra.Interface))
		case parent == nil && a.Default == e.Allow:
			ok = false
			b.errf(e.rng, "ACL entry has no effect",
				"%s is %s, but so is every address on interface %q by default (default = %q).", e.Prefix, word(e.Allow), ra.Interface, def)
		}
	}
	if !ok {
		return
	}
	for _, e := range entries {
		a.Entries = append(a.Entries, e.ACLEntry)
	}
	sort.SliceStable(a.Entries, func(i, j int) bool { return a.Entries[i].Prefix.Bits() > a.Entries[j].Prefix.Bits() })
	p.acls[a.Interface] = a
	p.aclOrder = append(p.aclOrder, a.Interface)
}

func (b *builder) route(p *Policy, rr *rawRoute) *Route {
	r := &Route{Name: rr.Name, rng: rr.DefRange}
	if !validName(rr.Name) {
		b.errf(rr.NameRange, "Invalid route name", "A route name is letters, digits, '_', '-' and '.', starting with a letter: %q is not.", rr.Name)
	}
	if m := rr.Match; m != nil {
		items, d := hclutil.Strings(m.FromTrunk, b.ctx)
		b.add(d)
		for _, it := range items {
			if _, ok := p.trunkByName[it.Value]; !ok {
				b.errf(it.Range, "Unknown trunk", "Route %q matches calls from trunk %q, which is not defined.%s", rr.Name, it.Value, b.suggest(p, it.Value))
				continue
			}
			r.FromTrunks = append(r.FromTrunks, it.Value)
		}
		r.RURIUser = b.userMatch(m.RURIUser, true)
		r.FromUser = b.userMatch(m.FromUser, false)
		r.ToUser = b.userMatch(m.ToUser, false)
		for i := range m.Headers {
			r.Headers = append(r.Headers, b.headerMatch(&m.Headers[i]))
		}
	}
	if rr.Trunks != nil && rr.Reject != nil {
		b.diags = append(b.diags, hclutil.ErrorCtx(rr.Reject.DefRange, rr.Trunks.Range, "Route both routes and rejects",
			"Route %q has trunks and a reject block; give one of them.", rr.Name))
	}
	if rr.Trunks == nil && rr.Reject == nil {
		b.errf(rr.NameRange, "Route does nothing", "Route %q needs trunks = [...] to route to, or a reject block.", rr.Name)
	}
	if rr.Trunks != nil {
		items, d := hclutil.Strings(rr.Trunks, b.ctx)
		b.add(d)
		if len(items) == 0 && !d.HasErrors() {
			b.errf(rr.Trunks.Expr.Range(), "No trunks", "Route %q lists no destination trunk.", rr.Name)
		}
		seen := map[string]hcl.Range{}
		for _, it := range items {
			t, ok := p.trunkByName[it.Value]
			if !ok {
				b.errf(it.Range, "Unknown trunk", "Route %q sends calls to trunk %q, which is not defined.%s", rr.Name, it.Value, b.suggest(p, it.Value))
				continue
			}
			if prev, dup := seen[it.Value]; dup {
				b.diags = append(b.diags, hclutil.ErrorCtx(it.Range, prev, "Duplicate trunk", "Trunk %q is already in this route's list.", it.Value))
				continue
			}
			seen[it.Value] = it.Range
			if t.Kind == KindPeer && len(t.Destinations) == 0 {
				b.diags = append(b.diags, hclutil.ErrorCtx(it.Range, t.rng, "Trunk has no destination",
					"Route %q sends calls to trunk %q, which has no destination block.", rr.Name, it.Value))
				continue
			}
			r.Trunks = append(r.Trunks, t)
		}
		r.FailoverOn = defaultFailoverOn
	}
	if f := rr.Failover; f != nil {
		if rr.Trunks == nil {
			b.errf(f.DefRange, "Failover without trunks", "A failover block only applies to a route with trunks.")
		}
		if f.On != nil {
			codes, rngs, d := hclutil.Ints(f.On, b.ctx, 300, 699)
			b.add(d)
			seen := map[int]hcl.Range{}
			r.FailoverOn = nil
			for i, c := range codes {
				if prev, dup := seen[c]; dup {
					b.diags = append(b.diags, hclutil.ErrorCtx(rngs[i], prev, "Duplicate response code", "%d is already listed.", c))
					continue
				}
				seen[c] = rngs[i]
				r.FailoverOn = append(r.FailoverOn, c)
			}
			sort.Ints(r.FailoverOn)
		}
		to, d := hclutil.Duration(f.Timeout, b.ctx, 0, 100*time.Millisecond, 5*time.Minute)
		b.add(d)
		r.FailoverTimeout = to
	}
	if rj := rr.Reject; rj != nil {
		code, d := hclutil.Int(rj.Code, b.ctx, 403, 400, 699)
		if b.add(d) {
			r.RejectCode = int(code)
		}
		reason, d := hclutil.String(rj.Reason, b.ctx, reasonPhrase(r.RejectCode))
		if b.add(d) {
			r.RejectReason = b.reason(rj.Reason, reason)
		}
	}
	for i := range rr.Rewrites {
		r.Rewrites = append(r.Rewrites, b.rewrite(&rr.Rewrites[i]))
	}
	for i := range rr.Headers {
		if hr, ok := b.headerRule(&rr.Headers[i]); ok {
			r.headerRules = append(r.headerRules, hr)
		}
	}
	if rr.Reject != nil && (len(rr.Rewrites) > 0 || len(rr.Headers) > 0) {
		b.errf(rr.Reject.DefRange, "Reject with rewrites", "Route %q rejects; its rewrite and header rules would never apply.", rr.Name)
	}
	return r
}

// suggest names a defined trunk close to a misspelt one.
func (b *builder) suggest(p *Policy, name string) string {
	best, bestD := "", 3
	for _, t := range p.trunks {
		if d := editDistance(strings.ToLower(name), strings.ToLower(t.Name)); d < bestD {
			best, bestD = t.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return " Did you mean \"" + best + "\"?"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (b *builder) regex(attr *hcl.Attribute) *regexp.Regexp {
	s, d := hclutil.String(attr, b.ctx, "")
	if !b.add(d) {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		b.errf(attr.Expr.Range(), "Invalid regular expression", "%q does not compile: %v.", s, err)
		return nil
	}
	return re
}

// matcher reads the exact/prefix/regex conditions of a match block; exactly
// one must be given.
func (b *builder) matcher(exact, prefix, regex *hcl.Attribute, def hcl.Range, what string, trie bool) Matcher {
	n := 0
	for _, a := range []*hcl.Attribute{exact, prefix, regex} {
		if a != nil {
			n++
		}
	}
	if n != 1 {
		b.errf(def, "Ambiguous match", "%s needs exactly one of exact, prefix or regex.", what)
		return Matcher{}
	}
	switch {
	case regex != nil:
		if re := b.regex(regex); re != nil {
			return Matcher{Kind: MatchRegex, Regex: re}
		}
		return Matcher{}
	case exact != nil:
		items, d := hclutil.Strings(exact, b.ctx)
		b.add(d)
		m := Matcher{Kind: MatchExact}
		for _, it := range items {
			m.Values = append(m.Values, it.Value)
		}
		return m
	default:
		items, d := hclutil.Strings(prefix, b.ctx)
		b.add(d)
		m := Matcher{Kind: MatchPrefix}
		for _, it := range items {
			if it.Value == "" {
				b.errf(it.Range, "Empty prefix", "An empty prefix matches everything; leave the condition out instead.")
				continue
			}
			if trie && len(it.Value) > maxPrefixLen {
				b.errf(it.Range, "Prefix too long", "A prefix is at most %d characters.", maxPrefixLen)
				continue
			}
			m.Values = append(m.Values, it.Value)
		}
		if len(m.Values) == 0 && !d.HasErrors() {
			b.errf(prefix.Expr.Range(), "No prefix", "The prefix list is empty.")
		}
		return m
	}
}

func (b *builder) userMatch(um *rawUserMatch, trie bool) Matcher {
	if um == nil {
		return Matcher{}
	}
	return b.matcher(um.Exact, um.Prefix, um.Regex, um.DefRange, "A user match", trie)
}

func (b *builder) headerMatch(hm *rawHeaderMatch) HeaderMatcher {
	b.headerNameAny(hm.Name, hm.NameRange)
	h := HeaderMatcher{Name: hm.Name}
	if hm.Present != nil {
		if hm.Exact != nil || hm.Prefix != nil || hm.Regex != nil {
			b.errf(hm.Present.Range, "Ambiguous match", "A header match needs exactly one of present, exact, prefix or regex.")
			return h
		}
		present, d := hclutil.Bool(hm.Present, b.ctx, true)
		b.add(d)
		h.Kind = MatchAbsent
		if present {
			h.Kind = MatchPresent
		}
		return h
	}
	h.Matcher = b.matcher(hm.Exact, hm.Prefix, hm.Regex, hm.DefRange, "A header match", false)
	return h
}

func (b *builder) rewrite(rw *rawRewrite) Rewrite {
	out := Rewrite{Field: rw.Field}
	switch rw.Field {
	case fieldRURIUser, fieldFromUser, fieldToUser:
	default:
		b.errf(rw.FieldRange, "Unknown rewrite field", "A rewrite applies to \"ruri_user\", \"from_user\" or \"to_user\", not %q.", rw.Field)
	}
	if rw.Strip == nil && rw.Prefix == nil && rw.Regex == nil {
		b.errf(rw.DefRange, "Empty rewrite", "A rewrite needs strip, prefix or regex with replace.")
	}
	n, d := hclutil.Int(rw.Strip, b.ctx, 0, 0, maxPrefixLen)
	b.add(d)
	out.Strip = int(n)
	out.Prefix, d = hclutil.String(rw.Prefix, b.ctx, "")
	b.add(d)
	if (rw.Regex == nil) != (rw.Replace == nil) {
		b.errf(rw.DefRange, "Incomplete regex rewrite", "regex and replace go together.")
	}
	if rw.Regex != nil {
		out.Regex = b.regex(rw.Regex)
		out.Replace, d = hclutil.String(rw.Replace, b.ctx, "")
		b.add(d)
	}
	return out
}

func (b *builder) headerRule(rh *rawHeaderOp) (headerRule, bool) {
	hr := headerRule{name: rh.Name}
	ok := b.headerName(rh.Name, rh.NameRange)
	var attr *hcl.Attribute
	n := 0
	if rh.Add != nil {
		hr.op, attr = HeaderAdd, rh.Add
		n++
	}
	if rh.Set != nil {
		hr.op, attr = HeaderSet, rh.Set
		n++
	}
	if rh.Remove != nil {
		hr.op, attr = HeaderRemove, nil
		n++
	}
	if n != 1 {
		b.errf(rh.DefRange, "Ambiguous header rule", "A header rule needs exactly one of add, set or remove = true.")
		return hr, false
	}
	if hr.op == HeaderRemove {
		rm, d := hclutil.Bool(rh.Remove, b.ctx, true)
		if b.add(d) && !rm {
			b.errf(rh.Remove.Expr.Range(), "Header rule does nothing", "remove = false does nothing; leave the rule out.")
			ok = false
		}
		return hr, ok
	}
	hr.expr = attr.Expr
	hr.text = b.text(attr.Expr.Range())
	// Probe the expression with unknown request values: unknown names,
	// unknown functions and type errors show up now, at the expression.
	v, d := attr.Expr.Value(probeContext(b.ctx))
	if !b.add(d) {
		return hr, false
	}
	if v.IsNull() {
		b.errf(attr.Expr.Range(), "Null header value", "The value of header %q is null.", rh.Name)
		return hr, false
	}
	if v.IsKnown() {
		s, err := ctyString(v)
		if err != nil {
			b.errf(attr.Expr.Range(), "Invalid header value", "The value of header %q must be a string: %v.", rh.Name, err)
			return hr, false
		}
		hr.static, hr.hasStatic = s, true
		if strings.ContainsAny(s, "\r\n") {
			b.errf(attr.Expr.Range(), "Invalid header value", "A header value must be on one line (RFC 3261 §7.3.1).")
			return hr, false
		}
	} else if !v.Type().Equals(cty.String) && v.Type() != cty.DynamicPseudoType && v.Type().IsPrimitiveType() == false {
		b.errf(attr.Expr.Range(), "Invalid header value", "The value of header %q must be a string, not %s.", rh.Name, v.Type().FriendlyName())
		return hr, false
	}
	return hr, ok
}

// text is the source text of a range, for dumps and explanations.
func (b *builder) text(r hcl.Range) string {
	src := b.srcs[r.Filename]
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
		return "?"
	}
	return string(src[r.Start.Byte:r.End.Byte])
}

// headerName checks a header name for header rules and pass-through lists:
// an RFC 3261 §25.1 token, and not one the B2BUA builds itself.
func (b *builder) headerName(name string, rng hcl.Range) bool {
	if !b.headerNameAny(name, rng) {
		return false
	}
	if managedHeaders[strings.ToLower(name)] {
		b.errf(rng, "Header managed by the B2BUA", "%s is built by the SBC for each leg (RFC 3261 §8.1.1) and cannot be passed through or rewritten.", name)
		return false
	}
	return true
}

func (b *builder) headerNameAny(name string, rng hcl.Range) bool {
	if !validToken(name) {
		b.errf(rng, "Invalid header name", "%q is not a header name (an RFC 3261 §25.1 token).", name)
		return false
	}
	return true
}

// validToken reports whether s is an RFC 3261 §25.1 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// reasonPhrase is the RFC 3261 §21 reason phrase of common final responses.
func reasonPhrase(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 484:
		return "Address Incomplete"
	case 486:
		return "Busy Here"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	case 604:
		return "Does Not Exist Anywhere"
	}
	return "Rejected"
}
