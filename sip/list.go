package sip

// SplitList appends to dst the elements of a header field value that holds
// a comma-separated list (RFC 3261 §7.3.1: "field-name: value, value" is
// equivalent to separate header lines). Commas inside quoted strings
// (backslash escapes honoured) and inside <...> do not split. Each element
// is trimmed of LWS and is a view of v (no copy).
//
// An empty or all-blank v yields no elements. An empty element ("a,,b",
// a trailing comma) is an error (ErrBadValue): no RFC 3261 list allows it
// (RFC 4475 §3.1.2.1 badinv01). An unterminated quoted string or <...> is
// an error (ErrUnbalanced).
//
// WWW-Authenticate, Authorization, Proxy-Authenticate and
// Proxy-Authorization are NOT lists in this sense: one challenge or
// credential holds commas between its auth-params, so RFC 3261 §7.3.1
// exempts them; parse each such header line whole with ParseAuth.
func SplitList(dst []string, v string) ([]string, error) {
	if trimLWS(v) == "" {
		return dst, nil
	}
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			k := scanQuoted(v, i)
			if k < 0 {
				return dst, valErr("list", ErrUnbalanced, "unterminated quoted string")
			}
			i = k - 1
		case '<':
			k := i + 1
			for k < len(v) && v[k] != '>' {
				k++
			}
			if k == len(v) {
				return dst, valErr("list", ErrUnbalanced, "'<' without '>'")
			}
			i = k
		case '>':
			return dst, valErr("list", ErrUnbalanced, "'>' without '<'")
		case ',':
			e := trimLWS(v[start:i])
			if e == "" {
				return dst, valErr("list", ErrBadValue, "empty list element")
			}
			dst = append(dst, e)
			start = i + 1
		}
	}
	e := trimLWS(v[start:])
	if e == "" {
		return dst, valErr("list", ErrBadValue, "empty list element")
	}
	return append(dst, e), nil
}
