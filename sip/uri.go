package sip

import (
	"iter"
	"net/netip"
	"strconv"
	"strings"
)

// URI is a parsed SIP, SIPS (RFC 3261 §19.1), tel (RFC 3966) or other
// absolute URI (RFC 3261 §25.1 absoluteURI, kept opaque).
//
// Every string field is a view of the parsed text in wire form: User,
// Password, Params and Headers keep their %HH escapes exactly as received
// (use Unescape, or UserUnescaped, for the decoded text), so AppendTo writes
// back what was parsed, and ParseURI does not allocate. When building a URI
// by hand, escape the parts first (Escape).
type URI struct {
	// Scheme as written ("sip", "SIPS", "tel", "mailto", ...). Compare with
	// IsSIP, IsSIPS, IsTel or strings.EqualFold.
	Scheme string
	// User is the user part of a sip/sips URI (may hold ';', RFC 4475
	// §3.1.1.9 semiuri), or the telephone-subscriber number of a tel URI
	// ("+1-201-555-0123", visual separators kept).
	User string
	// Password of a sip/sips URI (discouraged by RFC 3261 §19.1.1).
	Password string
	// Host as written: a host name, an IPv4 address or a bracketed IPv6
	// reference ("[2001:db8::1]", RFC 5118). Empty for tel and opaque URIs.
	Host string
	// Port is 0 when absent (RFC 3261 §19.1.4: an absent port differs from
	// an explicit 5060); an explicit ":0" is refused by ParseURI.
	Port int
	// Params are the uri-parameters (transport, user, method, ttl, maddr,
	// lr, ...) or, for tel, the RFC 3966 par list (isub, ext,
	// phone-context, ...).
	Params Params
	// Headers are the "?hname=hvalue&..." components of a sip/sips URI.
	Headers URIHeaders
	// Opaque is everything after "scheme:" for schemes other than sip, sips
	// and tel.
	Opaque string
}

// IsSIP reports whether the scheme is sip or sips.
func (u URI) IsSIP() bool {
	return strings.EqualFold(u.Scheme, "sip") || strings.EqualFold(u.Scheme, "sips")
}

// IsSIPS reports whether the scheme is sips (RFC 3261 §19.1: TLS on every
// hop).
func (u URI) IsSIPS() bool { return strings.EqualFold(u.Scheme, "sips") }

// IsTel reports whether the scheme is tel (RFC 3966).
func (u URI) IsTel() bool { return strings.EqualFold(u.Scheme, "tel") }

// UserUnescaped returns User with its %HH escapes decoded.
func (u URI) UserUnescaped() string {
	s, err := Unescape(u.User)
	if err != nil {
		return u.User // unreachable for a parsed URI: escapes were checked
	}
	return s
}

// HostAddr returns the host as an IP address when it is an IPv4 address or
// an IPv6 reference (brackets removed; the RFC 5118 §4.10 three-colon form
// is read as the two-colon address).
func (u URI) HostAddr() (netip.Addr, bool) { return hostAddr(u.Host) }

func hostAddr(h string) (netip.Addr, bool) {
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
		if a, err := netip.ParseAddr(h); err == nil && a.Is6() && a.Zone() == "" {
			return a, true
		}
		if i := strings.Index(h, ":::"); i >= 0 {
			if a, err := netip.ParseAddr(h[:i] + h[i+1:]); err == nil && a.Is6() && a.Zone() == "" {
				return a, true
			}
		}
		return netip.Addr{}, false
	}
	if h == "" || h[0] < '0' || h[0] > '9' {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
		return a, true
	}
	return netip.Addr{}, false
}

// HostForAddr returns the host text for an address: dotted IPv4 or a
// bracketed IPv6 reference (RFC 3261 §25.1 IPv6reference).
func HostForAddr(a netip.Addr) string {
	a = a.WithZone("")
	if a.Is4() {
		return a.String()
	}
	return "[" + a.String() + "]"
}

// ParseURI parses a SIP/SIPS URI (RFC 3261 §19.1.1), a tel URI (RFC 3966
// §3) or any other absoluteURI (kept opaque). LWS anywhere inside is an
// error (RFC 4475 §3.1.2.8 lwsruri), as is a URI enclosed in <> (RFC 4475
// §3.1.2.7 ltgtruri). The returned URI's fields are views of s.
func ParseURI(s string) (URI, error) {
	var u URI
	i := 0
	for i < len(s) && charClass[s[i]]&cScheme != 0 {
		i++
	}
	if i == 0 || i == len(s) || s[i] != ':' || !isAlpha(s[0]) {
		if s != "" && s[0] == '<' {
			return u, uriErr("URI enclosed in <>")
		}
		return u, uriErr("missing scheme")
	}
	u.Scheme = s[:i]
	rest := s[i+1:]
	switch {
	case strings.EqualFold(u.Scheme, "sip") || strings.EqualFold(u.Scheme, "sips"):
		return u, u.parseSIP(rest)
	case strings.EqualFold(u.Scheme, "tel"):
		return u, u.parseTel(rest)
	}
	// absoluteURI = scheme ":" ( hier-part / opaque-part ): uric characters
	// (RFC 2396) plus the '[' ']' of IPv6 literals and '#' fragments.
	if rest == "" {
		return u, uriErr("empty opaque part")
	}
	for j := 0; j < len(rest); j++ {
		c := rest[j]
		if charClass[c]&cURIC == 0 && c != '[' && c != ']' && c != '#' {
			if c != '%' || j+2 >= len(rest) || charClass[rest[j+1]]&cHex == 0 || charClass[rest[j+2]]&cHex == 0 {
				return u, uriErr("character not allowed in absoluteURI")
			}
			j += 2
		}
	}
	u.Opaque = rest
	return u, nil
}

// ParseRequestURI parses the Request-URI of a request line: ParseURI, with
// the <> and LWS cases named in the error (RFC 3261 §25.1 Request-URI =
// SIP-URI / SIPS-URI / absoluteURI).
func ParseRequestURI(s string) (URI, error) {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return URI{}, uriErr("Request-URI enclosed in <> (RFC 4475 ltgtruri)")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return URI{}, uriErr("LWS inside Request-URI (RFC 4475 lwsruri)")
	}
	return ParseURI(s)
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// parseSIP parses the part after "sip:" / "sips:".
func (u *URI) parseSIP(s string) error {
	// userinfo ends at the first '@': neither host, port, params nor
	// headers may hold an unescaped '@' (RFC 3261 §25.1), while the user
	// part may hold ';', '?' and '/' (user-unreserved).
	if at := strings.IndexByte(s, '@'); at >= 0 {
		ui := s[:at]
		s = s[at+1:]
		user, pass, hasPass := strings.Cut(ui, ":")
		if user == "" || !validEscaped(user, cUser) {
			return uriErr("bad user part")
		}
		if hasPass && !validEscaped(pass, cPassword) {
			return uriErr("bad password")
		}
		u.User, u.Password = user, pass
	}
	// hostport ends at ';' (params) or '?' (headers).
	end := len(s)
	for j := 0; j < len(s); j++ {
		if s[j] == ';' || s[j] == '?' {
			end = j
			break
		}
	}
	hp := s[:end]
	s = s[end:]
	host, port, err := splitHostPort(hp)
	if err != nil {
		return err
	}
	u.Host, u.Port = host, port
	pend := strings.IndexByte(s, '?')
	if pend < 0 {
		pend = len(s)
	}
	if u.Params, err = parseURIParams(s[:pend], true); err != nil {
		return err
	}
	if pend < len(s) {
		if u.Headers, err = parseURIHeaders(s[pend+1:]); err != nil {
			return err
		}
	}
	return nil
}

// splitHostPort parses hostport = host [ ":" port ] (RFC 3261 §25.1).
func splitHostPort(hp string) (host string, port int, err error) {
	if hp == "" {
		return "", 0, uriErr("missing host")
	}
	var ps string
	if hp[0] == '[' {
		k := strings.IndexByte(hp, ']')
		if k < 0 {
			return "", 0, uriErr("unterminated IPv6 reference")
		}
		host = hp[:k+1]
		switch r := hp[k+1:]; {
		case r == "":
		case r[0] == ':':
			ps = r[1:]
			if ps == "" {
				return "", 0, uriErr("empty port")
			}
		default:
			return "", 0, uriErr("text after IPv6 reference")
		}
	} else {
		host, ps, _ = strings.Cut(hp, ":")
		if strings.IndexByte(hp, ':') >= 0 && ps == "" {
			return "", 0, uriErr("empty port")
		}
	}
	if !validHost(host) {
		return "", 0, uriErr("bad host")
	}
	if ps != "" {
		// Port 0 is refused: it addresses nothing, and Port == 0 means
		// "absent". Leading zeros are accepted and not kept.
		p, ok := parseUint(ps, 65535)
		if !ok || p == 0 {
			return "", 0, uriErr("bad port")
		}
		port = int(p)
	}
	return host, port, nil
}

// validHost checks host = hostname / IPv4address / IPv6reference (RFC 3261
// §25.1; RFC 5118 §4.10: the ABNF bug's "[2001:db8:::192.0.2.1]" is
// tolerated). '%' is never allowed in a host (RFC 4475 §3.1.1.3).
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if h[0] == '[' {
		_, ok := hostAddr(h)
		return ok
	}
	if _, ok := hostAddr(h); ok {
		return true
	}
	return validHostname(h)
}

// validHostname checks hostname = *( domainlabel "." ) toplabel [ "." ]
// where labels are alphanum with inner '-' and the toplabel starts with a
// letter (so "1.2.3.999" is neither an address nor a name).
func validHostname(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	if h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	if h == "" {
		return false
	}
	last, top := 0, 0
	for i := 0; i <= len(h); i++ {
		if i < len(h) && h[i] != '.' {
			c := h[i]
			if charClass[c]&cAlnum == 0 && c != '-' {
				return false
			}
			continue
		}
		l := h[last:i]
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		top, last = last, i+1
	}
	return isAlpha(h[top])
}

// checkKnownURIParam checks the value of a parameter whose syntax
// RFC 3261 §19.1.1 fixes: ttl = 1*3DIGIT (0-255), maddr = host,
// transport / user / method = token.
func checkKnownURIParam(n, v string, hv bool) error {
	if len(n) < 3 || len(n) > 9 || strings.IndexByte(n, '%') >= 0 {
		return nil // not a well-known name (escaped names never are on the wire)
	}
	switch {
	case strings.EqualFold(n, "ttl"):
		if _, ok := parseUint(v, 255); !ok || len(v) > 3 {
			return uriErr("bad ttl parameter")
		}
	case strings.EqualFold(n, "maddr"):
		if !hv || !validHost(v) {
			return uriErr("bad maddr parameter")
		}
	case strings.EqualFold(n, "transport"), strings.EqualFold(n, "user"), strings.EqualFold(n, "method"):
		if !IsToken(v) {
			return uriErr("bad " + n + " parameter")
		}
	}
	return nil
}

// parseTel parses telephone-subscriber (RFC 3966 §3): a global number
// ("+" digits with visual separators) or a local number, which must carry
// a phone-context parameter (RFC 3966 §5.1.5).
func (u *URI) parseTel(s string) error {
	end := strings.IndexByte(s, ';')
	if end < 0 {
		end = len(s)
	}
	num := s[:end]
	global := num != "" && num[0] == '+'
	if !validTelNumber(num) {
		return uriErr("bad telephone number")
	}
	p, err := parseURIParams(s[end:], false)
	if err != nil {
		return err
	}
	seen := 0
	for s := p.s; s != ""; {
		n, v, rest, hv := nextParam(s)
		s = rest
		if !isTelPname(n) {
			return uriErr("bad tel parameter name")
		}
		// RFC 3966 §3: no parameter name may appear more than once.
		if (Params{s: rest, uri: true}).Has(n) {
			return uriErr("repeated tel parameter")
		}
		switch {
		case strings.EqualFold(n, "phone-context"):
			seen = 1
			if !hv || !validPhoneContext(v) {
				return uriErr("bad phone-context")
			}
		case strings.EqualFold(n, "ext"):
			if !hv || !validTelDigits(v, false) {
				return uriErr("bad ext parameter")
			}
		case strings.EqualFold(n, "isub"):
			if !hv {
				return uriErr("bad isub parameter")
			}
		}
	}
	if global && seen > 0 || !global && seen != 1 {
		return uriErr("phone-context must appear once on a local number and never on a global one")
	}
	u.User, u.Params = num, p
	return nil
}

// isTelPname checks pname = 1*( alphanum / "-" ) (RFC 3966 §3).
func isTelPname(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&cAlnum == 0 && s[i] != '-' {
			return false
		}
	}
	return true
}

func isVisualSep(c byte) bool { return c == '-' || c == '.' || c == '(' || c == ')' }

// validTelNumber checks global-number-digits / local-number-digits.
func validTelNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '+' {
		return validTelDigits(s[1:], false)
	}
	return validTelDigits(s, true)
}

// validTelDigits checks *phonedigit with at least one digit (or, for local
// numbers, phonedigit-hex with at least one HEXDIG, '*' or '#').
func validTelDigits(s string, hex bool) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			n++
		case hex && (charClass[c]&cHex != 0 || c == '*' || c == '#'):
			n++
		case isVisualSep(c):
		default:
			return false
		}
	}
	return n > 0
}

// validPhoneContext checks descriptor = domainname / global-number-digits.
func validPhoneContext(v string) bool {
	if v != "" && v[0] == '+' {
		return validTelDigits(v[1:], false)
	}
	return validHostname(v)
}

// AppendTo appends the URI in its wire form to b.
func (u URI) AppendTo(b []byte) []byte {
	b = append(b, u.Scheme...)
	b = append(b, ':')
	switch {
	case u.Opaque != "":
		return append(b, u.Opaque...)
	case u.IsTel():
		b = append(b, u.User...)
		return append(b, u.Params.s...)
	}
	if u.User != "" {
		b = append(b, u.User...)
		if u.Password != "" {
			b = append(b, ':')
			b = append(b, u.Password...)
		}
		b = append(b, '@')
	}
	b = append(b, u.Host...)
	if u.Port > 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(u.Port), 10)
	}
	b = append(b, u.Params.s...)
	if u.Headers.s != "" {
		b = append(b, '?')
		b = append(b, u.Headers.s...)
	}
	return b
}

// String returns the URI in its wire form.
func (u URI) String() string { return string(u.AppendTo(make([]byte, 0, 64))) }

// URIHeaders are the "hname=hvalue&..." headers of a SIP URI (RFC 3261
// §19.1.1), held as a view of the wire text (escapes kept; names compare
// case-insensitively after unescaping).
type URIHeaders struct {
	s string // "a=b&c=d" without the '?'
}

// parseURIHeaders checks headers = header *( "&" header ), header = hname
// "=" hvalue (RFC 3261 §25.1).
func parseURIHeaders(s string) (URIHeaders, error) {
	for r, i := s, 0; ; i++ {
		if i == MaxURIParams {
			return URIHeaders{}, uriErr("too many header components")
		}
		h, rest, more := strings.Cut(r, "&")
		n, v, ok := strings.Cut(h, "=")
		if !ok || n == "" || !validEscaped(n, cHnv) || !validHvalue(v) {
			return URIHeaders{}, uriErr("bad header component")
		}
		if !more {
			break
		}
		r = rest
	}
	return URIHeaders{s: s}, nil
}

// validHvalue checks hvalue = *( hnv-unreserved / unreserved / escaped ).
// A literal '@' is tolerated: user agents often leave the '@' of a
// Call-ID unescaped in an embedded Replaces (RFC 3891 §6.1 asks for %40).
func validHvalue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if charClass[c]&cHnv != 0 || c == '@' {
			continue
		}
		if c != '%' || i+2 >= len(v) || charClass[v[i+1]]&cHex == 0 || charClass[v[i+2]]&cHex == 0 {
			return false
		}
		i += 2
	}
	return true
}

// Get returns the value (wire form, escapes kept) of the first header
// called name, and whether it is present.
func (h URIHeaders) Get(name string) (string, bool) {
	for n, v := range h.All() {
		if escEqual(n, name, true) {
			return v, true
		}
	}
	return "", false
}

// Len returns the number of header components.
func (h URIHeaders) Len() int {
	if h.s == "" {
		return 0
	}
	return strings.Count(h.s, "&") + 1
}

// All yields each header's name and value (wire form) in order.
func (h URIHeaders) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for r := h.s; r != ""; {
			hv, rest, _ := strings.Cut(r, "&")
			n, v, _ := strings.Cut(hv, "=")
			if !yield(n, v) {
				return
			}
			r = rest
		}
	}
}

// Add appends a header component; name and value are in wire form (see
// Escape with EscapeHeader).
func (h *URIHeaders) Add(name, value string) {
	if h.s != "" {
		h.s += "&"
	}
	h.s += name + "=" + value
}

// Del removes every header component called name (compared as Get does).
// To drop them all (RFC 4475 §3.1.2.11 escruri: never forward escaped
// headers of a Request-URI), assign URIHeaders{}.
func (h *URIHeaders) Del(name string) {
	var b strings.Builder
	for n, v := range h.All() {
		if escEqual(n, name, true) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(v)
	}
	h.s = b.String()
}

// String returns "hname=hvalue&..." (without the leading '?').
func (h URIHeaders) String() string { return h.s }

// Transport returns the transport parameter lower-cased ("udp", "tcp",
// "tls", "sctp", "ws", "wss" or another token), or "" when absent
// (RFC 3261 §19.1.1; RFC 3263 chooses one then).
func (u URI) Transport() string {
	v, ok := u.Params.Get("transport")
	if !ok {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(v)
		}
	}
	return v
}

// LR reports the lr parameter: the URI is a loose-routing proxy
// (RFC 3261 §16.12, §19.1.1).
func (u URI) LR() bool { return u.Params.Has("lr") }

// MAddr returns the maddr parameter ("" when absent): the address that
// overrides the host for sending (RFC 3261 §19.1.1).
func (u URI) MAddr() string { v, _ := u.Params.Get("maddr"); return v }

// UserParam returns the user parameter ("phone", "ip", ... or "").
func (u URI) UserParam() string { v, _ := u.Params.Get("user"); return v }
