package sip

import (
	"iter"
	"strings"
)

// Params is an ordered list of ";name[=value]" parameters: the
// uri-parameters of a SIP or tel URI (RFC 3261 §19.1.1, RFC 3966 §3) or the
// generic-params of a header field value (RFC 3261 §25.1).
//
// It is a view of the parameter text in wire form: names and values are
// exactly as written (URI parameters keep their %HH escapes, quoted header
// values keep their quotes; see Unescape and Unquote). Parsing never copies
// unless the header text held linear white space around ";" or "=", in
// which case the parser stores a normalised copy. Names compare
// case-insensitively; for URI parameters, %HH escapes in names are resolved
// before comparison (RFC 4475 §3.1.1.3 esc01: ";%6C%72" is ";lr").
//
// The zero value is an empty list of header parameters.
type Params struct {
	s   string // ";a=b;c" or ""
	uri bool   // URI parameters: names may be %HH escaped
}

// MaxURIParams bounds the parameters (and, separately, the header
// components) of one URI. Comparison is quadratic in their number, so an
// unbounded count would let one crafted URI cost seconds; no real URI comes
// near it.
const MaxURIParams = 64

// URIParams returns an empty parameter list whose names follow URI rules.
func URIParams() Params { return Params{uri: true} }

// nextParam splits the first parameter off s (which starts with ';').
func nextParam(s string) (name, value, rest string, hasValue bool) {
	s = s[1:]
	i := 0
	for i < len(s) && s[i] != '=' && s[i] != ';' {
		i++
	}
	name = s[:i]
	if i == len(s) || s[i] == ';' {
		return name, "", s[i:], false
	}
	j := i + 1
	if j < len(s) && s[j] == '"' {
		if k := scanQuoted(s, j); k > 0 {
			return name, s[j:k], s[k:], true
		}
	}
	if j < len(s) && s[j] == '<' {
		// <absoluteURI> value (RFC 8224 ident-info); URIs never hold '>'.
		if k := strings.IndexByte(s[j:], '>'); k > 0 {
			return name, s[j : j+k+1], s[j+k+1:], true
		}
	}
	for j < len(s) && s[j] != ';' {
		j++
	}
	return name, s[i+1 : j], s[j:], true
}

func (p Params) nameIs(n, want string) bool {
	if p.uri && strings.IndexByte(n, '%') >= 0 {
		return escEqual(n, want, true)
	}
	return strings.EqualFold(n, want)
}

// Get returns the value of the first parameter called name (wire form) and
// whether it is present. A parameter without "=" has the value "".
func (p Params) Get(name string) (string, bool) {
	for s := p.s; s != ""; {
		n, v, rest, _ := nextParam(s)
		if p.nameIs(n, name) {
			return v, true
		}
		s = rest
	}
	return "", false
}

// Has reports whether a parameter called name is present.
func (p Params) Has(name string) bool {
	_, ok := p.Get(name)
	return ok
}

// Len returns the number of parameters.
func (p Params) Len() int {
	n := 0
	for s := p.s; s != ""; n++ {
		_, _, s, _ = nextParam(s)
	}
	return n
}

// All yields every parameter's name and value (wire form) in order.
func (p Params) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for s := p.s; s != ""; {
			n, v, rest, _ := nextParam(s)
			if !yield(n, v) {
				return
			}
			s = rest
		}
	}
}

// Set replaces the value of the first parameter called name, or appends the
// parameter. value is in wire form (escape or quote it first); an empty
// value writes the name alone (";lr"). Other parameters of that name are
// removed.
func (p *Params) Set(name, value string) {
	var b strings.Builder
	b.Grow(len(p.s) + len(name) + len(value) + 2)
	done := false
	for s := p.s; s != ""; {
		n, v, rest, hv := nextParam(s)
		s = rest
		if p.nameIs(n, name) {
			if done {
				continue
			}
			done = true
			n, v, hv = name, value, value != ""
		}
		b.WriteByte(';')
		b.WriteString(n)
		if hv {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	if !done {
		b.WriteByte(';')
		b.WriteString(name)
		if value != "" {
			b.WriteByte('=')
			b.WriteString(value)
		}
	}
	p.s = b.String()
}

// Del removes every parameter called name.
func (p *Params) Del(name string) {
	if !p.Has(name) {
		return
	}
	var b strings.Builder
	for s := p.s; s != ""; {
		n, v, rest, hv := nextParam(s)
		s = rest
		if p.nameIs(n, name) {
			continue
		}
		b.WriteByte(';')
		b.WriteString(n)
		if hv {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	p.s = b.String()
}

// AppendTo appends the parameters as ";name=value..." to b.
func (p Params) AppendTo(b []byte) []byte { return append(b, p.s...) }

// String returns the parameters as ";name=value...".
func (p Params) String() string { return p.s }

// parseURIParams validates URI parameters (RFC 3261 §19.1.1: pname /
// pvalue of paramchar and escaped; no LWS) in s, which is "" or starts with
// ';', and returns them as a view of s. sip selects the checks of the
// well-known SIP URI parameters (checkKnownURIParam).
func parseURIParams(s string, sip bool) (Params, error) {
	for r, n := s, 0; r != ""; n++ {
		if n == MaxURIParams {
			return Params{}, uriErr("too many parameters")
		}
		name, v, rest, hv := nextParam(r)
		if name == "" || !validEscaped(name, cParam) {
			return Params{}, uriErr("bad parameter name")
		}
		if hv && (v == "" || !validEscaped(v, cParam)) {
			return Params{}, uriErr("bad parameter value")
		}
		if sip {
			if err := checkKnownURIParam(name, v, hv); err != nil {
				return Params{}, err
			}
		}
		r = rest
	}
	return Params{s: s, uri: true}, nil
}

// parseHeaderParams parses *( SEMI generic-param ) (RFC 3261 §25.1: token
// [ EQUAL ( token / host / quoted-string ) ], with SWS around ";" and "=")
// from s[i:], stopping at the end of s. It returns the parameters and an
// error naming hdr when the text does not match.
func parseHeaderParams(s string, i int, hdr string) (Params, error) {
	return parseHeaderParamsOpt(s, i, hdr, false)
}

// parseHeaderParamsOpt is parseHeaderParams; angle also allows a
// "<absoluteURI>" parameter value (RFC 8224 ident-info).
func parseHeaderParamsOpt(s string, i int, hdr string, angle bool) (Params, error) {
	i = skipLWS(s, i)
	if i == len(s) {
		return Params{}, nil
	}
	if s[i] != ';' {
		return Params{}, valErr(hdr, ErrBadValue, "unexpected text after value")
	}
	start, clean := i, true
	for i < len(s) {
		if s[i] != ';' {
			return Params{}, valErr(hdr, ErrBadValue, "expected ';' before parameter")
		}
		j := skipLWS(s, i+1)
		clean = clean && j == i+1
		k := j
		for k < len(s) && charClass[s[k]]&cToken != 0 {
			k++
		}
		if k == j {
			return Params{}, valErr(hdr, ErrBadValue, "empty parameter name")
		}
		i = skipLWS(s, k)
		clean = clean && i == k
		if i < len(s) && s[i] == '=' {
			j = skipLWS(s, i+1)
			clean = clean && j == i+1
			if j < len(s) && s[j] == '"' {
				k = scanQuoted(s, j)
				if k < 0 {
					return Params{}, valErr(hdr, ErrUnbalanced, "unterminated quoted parameter value")
				}
			} else if angle && j < len(s) && s[j] == '<' {
				k = strings.IndexByte(s[j:], '>')
				if k < 0 {
					return Params{}, valErr(hdr, ErrUnbalanced, "'<' without '>'")
				}
				if _, err := ParseURI(s[j+1 : j+k]); err != nil {
					return Params{}, wrapIn(hdr, err)
				}
				k += j + 1
			} else {
				k = j
				for k < len(s) && charClass[s[k]]&cHostVal != 0 {
					k++
				}
				if k == j {
					return Params{}, valErr(hdr, ErrBadValue, "empty parameter value")
				}
			}
			i = skipLWS(s, k)
			clean = clean && i == k
		}
	}
	if clean {
		return Params{s: s[start:]}, nil
	}
	return Params{s: normaliseParams(s[start:])}, nil
}

// normaliseParams rewrites already validated header parameters without the
// LWS around ";" and "=" (quoted values are kept byte for byte).
func normaliseParams(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			k := scanQuoted(s, i)
			b = append(b, s[i:k]...)
			i = k
		case c == '<':
			k := i + strings.IndexByte(s[i:], '>') + 1
			b = append(b, s[i:k]...)
			i = k
		case isLWSByte(c):
			i++
		default:
			b = append(b, c)
			i++
		}
	}
	return string(b)
}
