package sip

import (
	"fmt"
	"strings"
)

// NameAddr is the value of From, To, Route, Record-Route, Reply-To,
// P-Asserted-Identity, P-Preferred-Identity, Refer-To, Referred-By,
// Diversion, History-Info and (through Contact) Contact: ( name-addr /
// addr-spec ) *( SEMI param ) (RFC 3261 §20.10, §25.1). Strings are views
// of the parsed value.
type NameAddr struct {
	// Display is the display-name in wire form: a quoted-string with its
	// quotes and escapes, or the token sequence as written. Use
	// DisplayName for the text.
	Display string
	// URI is the addr-spec.
	URI URI
	// Params are the header parameters (tag, expires, q, index, reason,
	// ...), never the URI's own parameters.
	Params Params
	// Angle reports whether the URI was enclosed in <>; AppendTo always
	// writes the <> form, which is never ambiguous.
	Angle bool
}

// Tag returns the tag parameter ("" when absent, RFC 3261 §19.3).
func (n NameAddr) Tag() string { s, _ := n.Params.Get("tag"); return s }

// DisplayName returns the display name with quotes and quoted pairs
// resolved.
func (n NameAddr) DisplayName() string { return Unquote(n.Display) }

// ParseNameAddr parses one ( name-addr / addr-spec ) *( SEMI param ) value.
//
//   - The display name is a quoted-string or tokens separated by LWS; no
//     LWS is needed before "<" (RFC 4475 §3.1.1.6 lwsdisp). An
//     unterminated quote is an error (RFC 4475 §3.1.2.6 quotbal).
//   - Without <>, everything after the first ';' is a header parameter,
//     not a URI parameter, and a URI holding ',', '?' or ';' must be
//     enclosed in <> (RFC 3261 §20.10; RFC 4475 §3.1.2.13 regbadct).
//   - No LWS is allowed inside <> (RFC 4475 §3.1.2.14 badaspec).
func ParseNameAddr(s string) (NameAddr, error) {
	return parseNameAddr(s, "name-addr")
}

// ParseRoute parses one Route, Record-Route, Path or Service-Route entry:
// name-addr *( SEMI rr-param ), where the URI MUST be in <> (RFC 3261
// §20.30, §20.34; RFC 3327 §4; RFC 3608 §5). Accepting the addr-spec form
// would silently turn ";lr" into a header parameter and break loose
// routing.
func ParseRoute(s string) (NameAddr, error) {
	n, err := parseNameAddr(s, "route")
	if err == nil && !n.Angle {
		return NameAddr{}, valErr("route", ErrBadValue, "route URI must be enclosed in <>")
	}
	return n, err
}

func parseNameAddr(s, hdr string) (NameAddr, error) {
	var n NameAddr
	i := skipLWS(s, 0)
	if i == len(s) {
		return n, valErr(hdr, ErrBadValue, "empty value")
	}
	lt := -1
	switch {
	case s[i] == '"':
		k := scanQuoted(s, i)
		if k < 0 {
			return n, valErr(hdr, ErrUnbalanced, "unterminated quoted display name")
		}
		n.Display = s[i:k]
		lt = skipLWS(s, k)
		if lt == len(s) || s[lt] != '<' {
			return n, valErr(hdr, ErrBadValue, "quoted display name without <addr-spec>")
		}
	case s[i] == '<':
		lt = i
	default:
		// *(token LWS) then "<", or an addr-spec: tokens stop at the
		// scheme's ':' in the latter case.
		k := i
		for k < len(s) && (charClass[s[k]]&cToken != 0 || isLWSByte(s[k])) {
			k++
		}
		if k < len(s) && s[k] == '<' {
			n.Display = trimLWS(s[i:k])
			lt = k
		}
	}
	var rest int
	if lt >= 0 {
		gt := strings.IndexByte(s[lt:], '>')
		if gt < 0 {
			return NameAddr{}, valErr(hdr, ErrUnbalanced, "'<' without '>'")
		}
		gt += lt
		u, err := ParseURI(s[lt+1 : gt])
		if err != nil {
			return NameAddr{}, wrapIn(hdr, err)
		}
		n.URI, n.Angle, rest = u, true, gt+1
	} else {
		// addr-spec: the URI ends at LWS or ';' (RFC 3261 §20.10).
		k := i
		for k < len(s) && s[k] != ';' && !isLWSByte(s[k]) {
			switch s[k] {
			case ',', '?':
				return NameAddr{}, valErr(hdr, ErrBadValue, "URI with ',' or '?' must be enclosed in <>")
			case '<', '>', '"':
				return NameAddr{}, valErr(hdr, ErrBadValue, "bad addr-spec")
			}
			k++
		}
		u, err := ParseURI(s[i:k])
		if err != nil {
			return NameAddr{}, wrapIn(hdr, err)
		}
		n.URI, rest = u, k
	}
	var err error
	if n.Params, err = parseHeaderParams(s, rest, hdr); err != nil {
		return NameAddr{}, err
	}
	return n, nil
}

// wrapIn prefixes a URI error with the header it was found in; the result
// wraps both ErrBadValue and the URI error (ErrBadURI).
func wrapIn(hdr string, err error) error {
	return fmt.Errorf("sip: %s: %w: %w", hdr, ErrBadValue, err)
}

// AppendTo appends the value in canonical name-addr form
// (`"Display" <uri>;params` or `<uri>;params`) to b.
func (n NameAddr) AppendTo(b []byte) []byte {
	if n.Display != "" {
		b = append(b, n.Display...)
		b = append(b, ' ')
	}
	b = append(b, '<')
	b = n.URI.AppendTo(b)
	b = append(b, '>')
	return n.Params.AppendTo(b)
}

// String returns the value in canonical name-addr form.
func (n NameAddr) String() string { return string(n.AppendTo(make([]byte, 0, 96))) }

// SetDisplayName sets the display name from plain text, quoting it unless
// it is a single token.
func (n *NameAddr) SetDisplayName(text string) {
	if text == "" || IsToken(text) {
		n.Display = text
		return
	}
	n.Display = Quote(text)
}
