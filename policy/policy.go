package policy

import (
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Policy is one validated, immutable generation of the operator's policy.
// It is safe for concurrent use by any number of goroutines; nothing in it
// changes after Load returns it. A call keeps the *Policy it got at call start
// for its whole life, so a reload never changes a call in progress.
type Policy struct {
	files      []string
	generation uint64

	trunks      []*Trunk
	trunkByName map[string]*Trunk
	// sources holds every trunk source match, per interface, most specific
	// first (longest prefix, then with port, then with transport).
	sources map[string][]sourceMatch

	routes         []*Route
	table          routeTable
	selection      RouteSelection
	noRouteCode    int
	noRouteReason  string
	defaultLimits  Limits
	acls           map[string]*ACL
	aclOrder       []string
	variableNames  []string
	variableValues map[string]string
	// evalCtx holds the variables and functions header rule expressions
	// are evaluated with; it is never modified after Load.
	evalCtx *hcl.EvalContext
}

// Files lists the policy files this generation was loaded from, in order.
func (p *Policy) Files() []string { return p.files }

// Generation counts the policies a Store has swapped in: 1 for the first.
// It is 0 for a policy made by Load outside a Store.
func (p *Policy) Generation() uint64 { return p.generation }

// Trunks returns every trunk in the order of the files. Do not modify.
func (p *Policy) Trunks() []*Trunk { return p.trunks }

// Trunk returns the trunk with that name.
func (p *Policy) Trunk(name string) (*Trunk, bool) {
	t, ok := p.trunkByName[name]
	return t, ok
}

// Routes returns every route in file order. Do not modify.
func (p *Policy) Routes() []*Route { return p.routes }

// RouteSelection is the way routes compete for a request.
func (p *Policy) RouteSelection() RouteSelection { return p.selection }

// DefaultLimits are the limits of a trunk that sets none.
func (p *Policy) DefaultLimits() Limits { return p.defaultLimits }

// ACLs returns the interface names that have an ACL, sorted.
func (p *Policy) ACLs() []string { return p.aclOrder }

// ACL returns the ACL of an interface.
func (p *Policy) ACL(iface string) (*ACL, bool) {
	a, ok := p.acls[iface]
	return a, ok
}

// TrunkKind tells a carrier or PBX peer from NATed user agents.
type TrunkKind uint8

const (
	// KindPeer is a carrier or PBX that sends and receives calls.
	KindPeer TrunkKind = iota
	// KindAccess is a group of NATed user agents that register through
	// the SBC towards a registrar.
	KindAccess
)

func (k TrunkKind) String() string {
	if k == KindAccess {
		return "access"
	}
	return "peer"
}

// Latching is the media latching mode of a trunk's RTP (the relay's
// defence against media from the wrong source behind NAT).
type Latching uint8

const (
	// LatchLearn follows the source of the latest valid RTP.
	LatchLearn Latching = iota
	// LatchStrict accepts media only from the address signalled in SDP.
	LatchStrict
	// LatchOnce latches on the first valid RTP packet and then holds.
	LatchOnce
)

func (l Latching) String() string {
	switch l {
	case LatchStrict:
		return "strict"
	case LatchOnce:
		return "once"
	}
	return "learn"
}

// Destination is one address a trunk is reached at.
type Destination struct {
	Host      string // host name or IP literal
	Port      uint16
	Transport string // "udp", "tcp" or "tls"
}

// Credentials are the digest credentials (RFC 3261 §22, RFC 8760) the SBC
// answers a trunk's 401/407 challenges with.
type Credentials struct {
	Username string
	Password string
	Realm    string // empty: answer any realm
}

// Limits bound a trunk's traffic. Zero means unlimited. Counting is runtime
// state owned by the B2BUA; policy only states the numbers.
type Limits struct {
	Calls    int // concurrent calls, both directions together
	CallsIn  int // concurrent calls from the trunk
	CallsOut int // concurrent calls to the trunk
	CPSIn    int // new calls per second from the trunk
	CPSOut   int // new calls per second to the trunk
}

// PAIMode is what P-Asserted-Identity the SBC sends toward a trunk.
type PAIMode uint8

const (
	// PAIForward forwards the caller's PAI when the source trunk is trusted.
	PAIForward PAIMode = iota
	// PAINone sends no PAI.
	PAINone
	// PAIFixed asserts a fixed identity (Identity.AssertURI).
	PAIFixed
)

func (m PAIMode) String() string {
	switch m {
	case PAINone:
		return "none"
	case PAIFixed:
		return "fixed"
	}
	return "forward"
}

// PrivacyMode is how the Privacy header (RFC 3323, RFC 3325 §7) is applied
// toward a trunk.
type PrivacyMode uint8

const (
	// PrivacyHonor applies RFC 3325 §7: a PAI is removed toward an
	// untrusted trunk when the request carries Privacy: id.
	PrivacyHonor PrivacyMode = iota
	// PrivacyForce treats every call toward the trunk as Privacy: id.
	PrivacyForce
	// PrivacyIgnore never withholds a PAI because of Privacy (only for
	// trusted trunks that apply privacy themselves).
	PrivacyIgnore
)

func (m PrivacyMode) String() string {
	switch m {
	case PrivacyForce:
		return "force"
	case PrivacyIgnore:
		return "ignore"
	}
	return "honor"
}

// Identity is a trunk's place in the RFC 3325 trust domain.
type Identity struct {
	// Trusted: the trunk is inside our Trust Domain (RFC 3325 §2.3); a PAI
	// it sends is believed, and PAI is sent to it even with Privacy: id.
	Trusted bool
	// Assert is what PAI is sent toward this trunk.
	Assert PAIMode
	// AssertURI is the identity asserted when Assert is PAIFixed.
	AssertURI string
	// Privacy is how the Privacy header is applied toward this trunk.
	Privacy PrivacyMode
}

// Keepalive is how the SBC checks a trunk is alive (OPTIONS, RFC 3261 §11)
// or keeps a NAT binding open (CRLF, RFC 5626 §3.5.1).
type Keepalive struct {
	Method   string        // "options", "crlf" or "" (none)
	Interval time.Duration // 0: none
}

// Registrar is where an access trunk's REGISTER requests go.
type Registrar struct {
	Destination
	// UAExpires is the expiry given to the NATed UA (short, to keep its
	// NAT binding fresh); RegistrarExpires is what the SBC asks of the
	// registrar.
	UAExpires        time.Duration
	RegistrarExpires time.Duration
}

// Trunk is a peer carrier or PBX, or a group of NATed access user agents.
type Trunk struct {
	Name      string
	Kind      TrunkKind
	Interface string
	// Sources, Transport and Port are the inbound match: traffic from a
	// source inside Sources (and on Transport/Port when set) is this trunk.
	Sources   []netip.Prefix
	Transport string
	Port      uint16
	// Destinations are the outbound addresses in order of preference; the
	// first is primary, the others alternates. Empty for inbound-only trunks.
	Destinations []Destination
	Credentials  *Credentials
	Limits       Limits
	// Codecs is the allow-list of SDP encoding names (RFC 8866 §6.6), in
	// order of preference; empty allows every codec.
	Codecs    []string
	Latching  Latching
	Identity  Identity
	Keepalive Keepalive
	// Registrar is set for KindAccess trunks.
	Registrar *Registrar

	headerPass []string // lower-case header names allowed through
	rng        hcl.Range
}

// HeaderPass lists, in lower case, the headers from this trunk that may
// pass through to the other side. Do not modify.
func (t *Trunk) HeaderPass() []string { return t.headerPass }

// PassesHeader reports whether a header from this trunk may pass through to
// the other leg. Header names compare case-insensitively (RFC 3261 §7.3.1).
// It does not allocate.
func (t *Trunk) PassesHeader(name string) bool {
	for _, h := range t.headerPass {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// AllowsCodec reports whether an SDP encoding name is allowed toward this
// trunk. Encoding names are case-insensitive (RFC 4855 §3).
func (t *Trunk) AllowsCodec(name string) bool {
	if len(t.Codecs) == 0 {
		return true
	}
	for _, c := range t.Codecs {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}

// Range is where the trunk is defined.
func (t *Trunk) Range() hcl.Range { return t.rng }

// RouteSelection is how routes compete for a request.
type RouteSelection uint8

const (
	// FirstMatch: the first route in file order whose match holds wins.
	FirstMatch RouteSelection = iota
	// LongestPrefix: among the routes whose match holds, an exact R-URI
	// user match wins, then the longest R-URI user prefix, then routes
	// without a prefix (regex or no R-URI condition); ties go to file order.
	LongestPrefix
)

func (s RouteSelection) String() string {
	if s == LongestPrefix {
		return "longest_prefix"
	}
	return "first_match"
}

// MatchKind is how a user part or header value is compared.
type MatchKind uint8

const (
	// MatchAny matches everything (no condition).
	MatchAny MatchKind = iota
	// MatchExact compares with any of Values.
	MatchExact
	// MatchPrefix checks for any of Values as a prefix.
	MatchPrefix
	// MatchRegex matches Regex.
	MatchRegex
	// MatchPresent checks a header is present (headers only).
	MatchPresent
	// MatchAbsent checks a header is absent (headers only).
	MatchAbsent
)

// Matcher is one condition on a string.
type Matcher struct {
	Kind   MatchKind
	Values []string
	Regex  *regexp.Regexp
}

func (m *Matcher) match(s string) bool {
	switch m.Kind {
	case MatchExact:
		for _, v := range m.Values {
			if s == v {
				return true
			}
		}
		return false
	case MatchPrefix:
		for _, v := range m.Values {
			if strings.HasPrefix(s, v) {
				return true
			}
		}
		return false
	case MatchRegex:
		return m.Regex.MatchString(s)
	}
	return true
}

// HeaderMatcher is a condition on a request header.
type HeaderMatcher struct {
	Name string
	Matcher
}

// Rewrite is a number rewriting rule applied to one user part: first Strip
// leading characters are removed, then Prefix is prepended, then Regex (when
// set) is replaced by Replace (Go regexp expansion, $1 etc.). It is how
// numbers are normalised to E.164 (ITU-T E.164, RFC 3966 §5.1.4).
type Rewrite struct {
	Field   string // "ruri_user", "from_user" or "to_user"
	Strip   int
	Prefix  string
	Regex   *regexp.Regexp
	Replace string
}

func (rw *Rewrite) apply(s string) string {
	if rw.Strip > 0 {
		if rw.Strip >= len(s) {
			s = ""
		} else {
			s = s[rw.Strip:]
		}
	}
	if rw.Prefix != "" {
		s = rw.Prefix + s
	}
	if rw.Regex != nil {
		if m := rw.Regex.FindStringSubmatchIndex(s); m != nil {
			var dst []byte
			dst = append(dst, s[:m[0]]...)
			dst = rw.Regex.ExpandString(dst, rw.Replace, s, m)
			dst = append(dst, s[m[1]:]...)
			s = string(dst)
		}
	}
	return s
}

// HeaderOpKind is what a header rule does to the outgoing request.
type HeaderOpKind uint8

const (
	// HeaderAdd appends a header field (keeping any present).
	HeaderAdd HeaderOpKind = iota + 1
	// HeaderSet replaces every field of that name with one.
	HeaderSet
	// HeaderRemove removes every field of that name.
	HeaderRemove
)

func (k HeaderOpKind) String() string {
	switch k {
	case HeaderAdd:
		return "add"
	case HeaderSet:
		return "set"
	case HeaderRemove:
		return "remove"
	}
	return "?"
}

// HeaderOp is one computed header operation for the outgoing request.
type HeaderOp struct {
	Op    HeaderOpKind
	Name  string
	Value string // empty for HeaderRemove
}

// headerRule is a header operation as written, with its value expression.
type headerRule struct {
	op   HeaderOpKind
	name string
	expr hcl.Expression // nil for remove; constant when static
	text string         // the expression's source text
	// static holds the value when expr references nothing of the request.
	static    string
	hasStatic bool
}

// Route is one routing rule.
type Route struct {
	Name  string
	Index int // position in file order

	FromTrunks []string // empty: any source trunk
	RURIUser   Matcher
	FromUser   Matcher
	ToUser     Matcher
	Headers    []HeaderMatcher

	// Trunks are the destination trunks in failover order.
	Trunks []*Trunk
	// FailoverOn lists the final response codes that advance to the next
	// trunk; FailoverTimeout is how long to wait for a final answer (0: the
	// transaction's own Timer B/F, RFC 3261 §17.1.1.2).
	FailoverOn      []int
	FailoverTimeout time.Duration

	Rewrites    []Rewrite
	headerRules []headerRule

	RejectCode   int // non-zero: reject instead of routing
	RejectReason string

	rng hcl.Range
}

// Range is where the route is defined.
func (r *Route) Range() hcl.Range { return r.rng }

// ACL is the address filter of one interface: the longest matching prefix
// decides; with no match, Default decides.
type ACL struct {
	Interface string
	Entries   []ACLEntry // most specific first
	Default   bool       // true: allow when nothing matches
}

// ACLEntry is one allow or deny prefix.
type ACLEntry struct {
	Prefix netip.Prefix
	Allow  bool
}

// Allows reports whether addr may send to this interface.
func (a *ACL) Allows(addr netip.Addr) bool {
	addr = addr.Unmap()
	for i := range a.Entries {
		if a.Entries[i].Prefix.Contains(addr) {
			return a.Entries[i].Allow
		}
	}
	return a.Default
}

// ACLAllows reports whether a packet from addr may be accepted on the
// interface. An interface without an ACL allows everything (the trunk match
// and the B2BUA still decide whether a request is served).
func (p *Policy) ACLAllows(iface string, addr netip.Addr) bool {
	a, ok := p.acls[iface]
	if !ok {
		return true
	}
	return a.Allows(addr)
}

type sourceMatch struct {
	prefix    netip.Prefix
	transport string
	port      uint16
	trunk     *Trunk
	rng       hcl.Range
}

// MatchTrunk returns the trunk that traffic from src, arriving over
// transport ("udp", "tcp", "tls") on interface iface, belongs to: the most
// specific source match wins (longest prefix, then a match that names the
// port, then one that names the transport). It does not allocate.
func (p *Policy) MatchTrunk(src netip.AddrPort, transport, iface string) (*Trunk, bool) {
	addr := src.Addr().Unmap()
	list := p.sources[iface]
	for i := range list {
		m := &list[i]
		if m.port != 0 && m.port != src.Port() {
			continue
		}
		if m.transport != "" && !strings.EqualFold(m.transport, transport) {
			continue
		}
		if m.prefix.Contains(addr) {
			return m.trunk, true
		}
	}
	return nil, false
}
