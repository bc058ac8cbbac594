package sip

import (
	"iter"
	"strings"
)

// Auth is one challenge (WWW-Authenticate, Proxy-Authenticate) or one set
// of credentials (Authorization, Proxy-Authorization): an auth-scheme
// followed by comma-separated auth-params (RFC 3261 §20.7, §20.27, §20.28,
// §20.44, §25.1; RFC 7616 for Digest; RFC 7235 §2.1 token68 for schemes
// such as Bearer). Unknown schemes are kept with their parameters
// (RFC 4475 §3.3.7 regaut01).
//
// These header fields are NOT comma-separated lists (RFC 3261 §7.3.1): the
// commas separate parameters of one value. Parse each header line whole;
// a line carrying two challenges (allowed by RFC 7235 §4.1, never sent by
// RFC 3261 agents, which use one line each) is rejected as ErrBadValue.
type Auth struct {
	Scheme string // as written, e.g. "Digest"
	// Token68 is set instead of parameters for the token68 form.
	Token68 string
	// params holds "name=value,name=value" in wire form (quoted values keep
	// their quotes), without LWS.
	params string
}

// ParseAuth parses one challenge or credentials value.
func ParseAuth(s string) (Auth, error) {
	i := skipLWS(s, 0)
	j := i
	for j < len(s) && charClass[s[j]]&cToken != 0 {
		j++
	}
	if j == i {
		return Auth{}, valErr("auth", ErrBadValue, "missing scheme")
	}
	a := Auth{Scheme: s[i:j]}
	k := skipLWS(s, j)
	if k == len(s) {
		return a, nil // scheme alone (RFC 7235 allows it)
	}
	if k == j {
		return Auth{}, valErr("auth", ErrBadValue, "no LWS after scheme")
	}
	// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
	if t := trimLWS(s[k:]); isToken68(t) && !strings.Contains(strings.TrimRight(t, "="), "=") {
		a.Token68 = t
		return a, nil
	}
	start, clean := k, true
	for k < len(s) {
		n := k
		for n < len(s) && charClass[s[n]]&cToken != 0 {
			n++
		}
		if n == k {
			return Auth{}, valErr("auth", ErrBadValue, "empty auth-param name")
		}
		e := skipLWS(s, n)
		clean = clean && e == n
		if e == len(s) || s[e] != '=' {
			return Auth{}, valErr("auth", ErrBadValue, "auth-param without '='")
		}
		v := skipLWS(s, e+1)
		clean = clean && v == e+1
		var end int
		if v < len(s) && s[v] == '"' {
			if end = scanQuoted(s, v); end < 0 {
				return Auth{}, valErr("auth", ErrUnbalanced, "unterminated quoted auth-param")
			}
		} else {
			end = v
			for end < len(s) && charClass[s[end]]&cToken != 0 {
				end++
			}
			if end == v {
				return Auth{}, valErr("auth", ErrBadValue, "empty auth-param value")
			}
		}
		k = skipLWS(s, end)
		clean = clean && k == end
		if k == len(s) {
			break
		}
		if s[k] != ',' {
			return Auth{}, valErr("auth", ErrBadValue, "expected ',' between auth-params")
		}
		n = skipLWS(s, k+1)
		clean = clean && n == k+1
		if n == len(s) {
			return Auth{}, valErr("auth", ErrBadValue, "trailing ','")
		}
		k = n
	}
	a.params = s[start:]
	if !clean {
		a.params = normaliseParams(a.params)
	}
	return a, nil
}

func isToken68(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	for i < len(s) && (charClass[s[i]]&cAlnum != 0 || strings.IndexByte("-._~+/", s[i]) >= 0) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

// nextAuthParam splits "name=value[,rest]".
func nextAuthParam(s string) (name, value, rest string) {
	eq := strings.IndexByte(s, '=')
	name = s[:eq]
	v := s[eq+1:]
	end := len(v)
	if v != "" && v[0] == '"' {
		end = scanQuoted(v, 0)
	} else if c := strings.IndexByte(v, ','); c >= 0 {
		end = c
	}
	value, rest = v[:end], v[end:]
	if rest != "" {
		rest = rest[1:] // the ','
	}
	return name, value, rest
}

// Param returns the value of the auth-param called name (case-insensitive),
// unquoted, and whether it is present.
func (a Auth) Param(name string) (string, bool) {
	for n, v := range a.All() {
		if strings.EqualFold(n, name) {
			return Unquote(v), true
		}
	}
	return "", false
}

// All yields each auth-param's name and wire-form value (quotes kept).
func (a Auth) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for r := a.params; r != ""; {
			n, v, rest := nextAuthParam(r)
			if !yield(n, v) {
				return
			}
			r = rest
		}
	}
}

// SetParam replaces or appends an auth-param. quote selects the
// quoted-string form, which RFC 7616 §3.4 requires for username, realm,
// nonce, uri, response, cnonce and opaque, and forbids for algorithm, nc,
// qop (in credentials) and stale.
func (a *Auth) SetParam(name, value string, quote bool) {
	if quote {
		value = Quote(value)
	}
	var b strings.Builder
	done := false
	for n, v := range a.All() {
		if strings.EqualFold(n, name) {
			if done {
				continue
			}
			done, v = true, value
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(v)
	}
	if !done {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(value)
	}
	a.params = b.String()
	a.Token68 = ""
}

// IsDigest reports whether the scheme is Digest (case-insensitive).
func (a Auth) IsDigest() bool { return strings.EqualFold(a.Scheme, "Digest") }

// Realm returns the realm parameter, unquoted.
func (a Auth) Realm() string { v, _ := a.Param("realm"); return v }

// Nonce returns the nonce parameter, unquoted.
func (a Auth) Nonce() string { v, _ := a.Param("nonce"); return v }

// Username returns the username parameter, unquoted.
func (a Auth) Username() string { v, _ := a.Param("username"); return v }

// Algorithm returns the algorithm parameter ("" when absent: MD5 by
// default, RFC 7616 §3.3).
func (a Auth) Algorithm() string { v, _ := a.Param("algorithm"); return v }

// AppendTo appends the value canonically: "Scheme name=value, ..." (RFC
// 3261 §25.1 separates auth-params with COMMA; we write ", ").
func (a Auth) AppendTo(b []byte) []byte {
	b = append(b, a.Scheme...)
	if a.Token68 != "" {
		b = append(b, ' ')
		return append(b, a.Token68...)
	}
	first := true
	for n, v := range a.All() {
		if first {
			b = append(b, ' ')
			first = false
		} else {
			b = append(b, ',', ' ')
		}
		b = append(b, n...)
		b = append(b, '=')
		b = append(b, v...)
	}
	return b
}

// String returns the canonical value.
func (a Auth) String() string { return string(a.AppendTo(nil)) }
