package sip

import "strings"

// isReserved reports the RFC 3261 §25.1 reserved set, whose escaped form is
// NOT equivalent to the literal character (RFC 3261 §19.1.4).
func isReserved(c byte) bool { return strings.IndexByte(";/?:@&=+$,", c) >= 0 }

// escNext decodes the character at s[i]: c is the byte (a %HH triple
// decoded), lit reports whether it counts as a literal reserved character
// distinct from its escaped form, and n is the index after it.
func escNext(s string, i int) (c byte, esc bool, n int) {
	if s[i] == '%' && i+2 < len(s) && charClass[s[i+1]]&cHex != 0 && charClass[s[i+2]]&cHex != 0 {
		c = unhex(s[i+1])<<4 | unhex(s[i+2])
		return c, isReserved(c), i + 3
	}
	return s[i], false, i + 1
}

// escEqual compares two wire-form URI components with RFC 3261 §19.1.4
// rules: an escaped character equals its literal form unless it is in the
// reserved set; fold selects case-insensitive comparison. No allocation.
func escEqual(a, b string, fold bool) bool {
	if a == b {
		return true
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, ea, ni := escNext(a, i)
		cb, eb, nj := escNext(b, j)
		if ea != eb {
			return false
		}
		if ca != cb && (!fold || lowerASCII(ca) != lowerASCII(cb)) {
			return false
		}
		i, j = ni, nj
	}
	return i == len(a) && j == len(b)
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Equal reports whether u and v are equivalent: RFC 3261 §19.1.4 for sip
// and sips (a sip URI never equals a sips URI), RFC 3966 §4 for tel, and a
// case-insensitive scheme with an escape-aware exact opaque part otherwise.
func (u URI) Equal(v URI) bool {
	if !strings.EqualFold(u.Scheme, v.Scheme) {
		return false
	}
	switch {
	case u.IsSIP():
		return sipEqual(u, v)
	case u.IsTel():
		return telEqual(u, v)
	}
	return escEqual(u.Opaque, v.Opaque, false)
}

// isMustMatchParam reports the parameters that must match when present in
// either URI (RFC 3261 §19.1.4: user, ttl, method, maddr, transport); all
// others are compared only when in both.
func isMustMatchParam(n string) bool {
	if strings.IndexByte(n, '%') >= 0 {
		for _, m := range [...]string{"user", "ttl", "method", "maddr", "transport"} {
			if escEqual(n, m, true) {
				return true
			}
		}
		return false
	}
	switch len(n) {
	case 3:
		return strings.EqualFold(n, "ttl")
	case 4:
		return strings.EqualFold(n, "user")
	case 5:
		return strings.EqualFold(n, "maddr")
	case 6:
		return strings.EqualFold(n, "method")
	case 9:
		return strings.EqualFold(n, "transport")
	}
	return false
}

func sipEqual(u, v URI) bool {
	// Userinfo is case-sensitive; everything else is case-insensitive.
	if !escEqual(u.User, v.User, false) || !escEqual(u.Password, v.Password, false) {
		return false
	}
	if u.Port != v.Port || !hostEqual(u.Host, v.Host) {
		return false
	}
	// One pass over each side's parameters. A repeated name counts by its
	// first occurrence (the prefix before it does not hold the name).
	for r := u.Params.s; r != ""; {
		n, a, rest, _ := nextParam(r)
		first := !(Params{s: u.Params.s[:len(u.Params.s)-len(r)], uri: true}).Has(n)
		r = rest
		if !first {
			continue
		}
		b, ok := v.Params.Get(n)
		switch {
		case ok && !escEqual(a, b, true):
			return false
		case !ok && isMustMatchParam(n):
			return false
		}
	}
	for r := v.Params.s; r != ""; {
		n, _, rest, _ := nextParam(r)
		r = rest
		if isMustMatchParam(n) && !u.Params.Has(n) {
			return false
		}
	}
	// Header components are never ignored: each must be in both.
	if u.Headers.Len() != v.Headers.Len() {
		return false
	}
	for n, a := range u.Headers.All() {
		found := false
		for m, b := range v.Headers.All() {
			if escEqual(n, m, true) && escEqual(a, b, true) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// hostEqual compares hosts case-insensitively; IP addresses compare as
// addresses (so "[::1]" equals "[0:0::1]"), and a name never equals an
// address, even one it resolves to.
func hostEqual(a, b string) bool {
	aa, aok := hostAddr(a)
	ba, bok := hostAddr(b)
	if aok || bok {
		return aok && bok && aa == ba
	}
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// telEqual implements RFC 3966 §4: both global or both local, the numbers
// equal without visual separators, the same set of parameters (order
// ignored) with equal values, all case-insensitive.
func telEqual(u, v URI) bool {
	ug := strings.HasPrefix(u.User, "+")
	vg := strings.HasPrefix(v.User, "+")
	if ug != vg || !telDigitsEqual(u.User, v.User) {
		return false
	}
	if u.Params.Len() != v.Params.Len() {
		return false
	}
	for n, a := range u.Params.All() {
		b, ok := v.Params.Get(n)
		if !ok {
			return false
		}
		switch {
		case strings.EqualFold(n, "phone-context") && strings.HasPrefix(a, "+"),
			strings.EqualFold(n, "ext"):
			if !telDigitsEqual(a, b) {
				return false
			}
		default:
			if !escEqual(a, b, true) {
				return false
			}
		}
	}
	return true
}

// telDigitsEqual compares phone numbers ignoring visual separators and
// case (RFC 3966 §4).
func telDigitsEqual(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && isVisualSep(a[i]) {
			i++
		}
		for j < len(b) && isVisualSep(b[j]) {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if lowerASCII(a[i]) != lowerASCII(b[j]) {
			return false
		}
		i++
		j++
	}
}
