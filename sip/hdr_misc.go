package sip

import "strings"

// ContentType is the value of Content-Type (RFC 3261 §20.15): m-type "/"
// m-subtype *( SEMI m-parameter ).
type ContentType struct {
	Type, Subtype string
	Params        Params
}

// ParseContentType parses a media type; SWS is allowed around "/"
// (RFC 3261 §25.1 SLASH).
func ParseContentType(s string) (ContentType, error) {
	var c ContentType
	var i int
	c.Type, i = viaToken(s, 0)
	i = skipLWS(s, i)
	if c.Type == "" || i == len(s) || s[i] != '/' {
		return ContentType{}, valErr("content-type", ErrBadValue, "want type/subtype")
	}
	c.Subtype, i = viaToken(s, i+1)
	if c.Subtype == "" {
		return ContentType{}, valErr("content-type", ErrBadValue, "missing subtype")
	}
	var err error
	if c.Params, err = parseHeaderParams(s, i, "content-type"); err != nil {
		return ContentType{}, err
	}
	return c, nil
}

// Is reports whether the media type is typ/sub (case-insensitive), e.g.
// c.Is("application", "sdp").
func (c ContentType) Is(typ, sub string) bool {
	return strings.EqualFold(c.Type, typ) && strings.EqualFold(c.Subtype, sub)
}

// Param returns the unquoted value of a media-type parameter (charset,
// boundary, ...).
func (c ContentType) Param(name string) (string, bool) {
	v, ok := c.Params.Get(name)
	return Unquote(v), ok
}

// AppendTo appends "type/subtype;params" to b.
func (c ContentType) AppendTo(b []byte) []byte {
	b = append(b, c.Type...)
	b = append(b, '/')
	b = append(b, c.Subtype...)
	return c.Params.AppendTo(b)
}

// String returns "type/subtype;params".
func (c ContentType) String() string { return string(c.AppendTo(nil)) }

// Identity is the value of an Identity header field (RFC 8224 §4.1): a
// signed-identity-digest (a compact-form PASSporT, RFC 8225) and its
// parameters (info=<uri>, alg, ppt).
type Identity struct {
	Digest string
	Params Params
}

// ParseIdentity parses signed-identity-digest *( SEMI ident-info-params ),
// where the digest is base64url characters and '.' and info is an
// absoluteURI in <> (RFC 8224 §4.1).
func ParseIdentity(s string) (Identity, error) {
	i := skipLWS(s, 0)
	j := i
	for j < len(s) && (charClass[s[j]]&cAlnum != 0 || s[j] == '-' || s[j] == '_' || s[j] == '.' || s[j] == '=' || s[j] == '+' || s[j] == '/') {
		j++
	}
	if j == i {
		return Identity{}, valErr("identity", ErrBadValue, "missing signed-identity-digest")
	}
	p, err := parseHeaderParamsOpt(s, j, "identity", true)
	if err != nil {
		return Identity{}, err
	}
	if v, ok := p.Get("info"); ok && (len(v) < 2 || v[0] != '<') {
		return Identity{}, valErr("identity", ErrBadValue, "info must be <absoluteURI>")
	}
	return Identity{Digest: s[i:j], Params: p}, nil
}

// Info returns the ident-info URI without its angle brackets.
func (id Identity) Info() string {
	v, _ := id.Params.Get("info")
	return strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
}

// Alg returns the alg parameter ("" when absent; ES256 by default).
func (id Identity) Alg() string { v, _ := id.Params.Get("alg"); return v }

// PPT returns the ppt (PASSporT type) parameter, unquoted.
func (id Identity) PPT() string { v, _ := id.Params.Get("ppt"); return Unquote(v) }

// AppendTo appends "digest;params" to b.
func (id Identity) AppendTo(b []byte) []byte {
	b = append(b, id.Digest...)
	return id.Params.AppendTo(b)
}

// String returns "digest;params".
func (id Identity) String() string { return string(id.AppendTo(nil)) }

// ParseText checks a free-text header value (User-Agent, Server,
// Subject, Organization: RFC 3261 §20.35, §20.41) and returns it trimmed:
// valid UTF-8 without control characters. Products and comments are not
// interpreted.
func ParseText(s string) (string, error) {
	t := trimLWS(s)
	if !validText(t) {
		return "", valErr("text", ErrBadValue, "control character or invalid UTF-8")
	}
	return t, nil
}

// HistoryInfo is one History-Info entry (RFC 7044 §5): a name-addr with a
// mandatory index parameter.
type HistoryInfo struct{ NameAddr }

// ParseHistoryInfo parses one hi-entry; the URI must be in <> and index
// must be 1*DIGIT *( "." 1*DIGIT ) (RFC 7044 §5).
func ParseHistoryInfo(s string) (HistoryInfo, error) {
	n, err := parseNameAddr(s, "history-info")
	if err != nil {
		return HistoryInfo{}, err
	}
	if !n.Angle {
		return HistoryInfo{}, valErr("history-info", ErrBadValue, "hi-targeted-to-uri must be a name-addr")
	}
	idx, ok := n.Params.Get("index")
	if !ok {
		return HistoryInfo{}, valErr("history-info", ErrBadValue, "missing index")
	}
	for p := range strings.SplitSeq(idx, ".") {
		if !isDigits(p) {
			return HistoryInfo{}, valErr("history-info", ErrBadValue, "bad index")
		}
	}
	return HistoryInfo{n}, nil
}

// Index returns the index parameter ("1.1.2").
func (h HistoryInfo) Index() string { v, _ := h.Params.Get("index"); return v }

// Diversion is one Diversion entry (RFC 5806 §4): a name-addr with
// reason, counter, limit, privacy and screen parameters.
type Diversion struct{ NameAddr }

// ParseDiversion parses one diversion value: a name-addr (URI in <>) whose
// counter and limit must be 1*2DIGIT (RFC 5806 §4).
func ParseDiversion(s string) (Diversion, error) {
	n, err := parseNameAddr(s, "diversion")
	if err != nil {
		return Diversion{}, err
	}
	if !n.Angle {
		return Diversion{}, valErr("diversion", ErrBadValue, "URI must be a name-addr (in <>)")
	}
	for _, name := range [...]string{"counter", "limit"} {
		if v, ok := n.Params.Get(name); ok && (!isDigits(v) || len(v) > 2) {
			return Diversion{}, valErr("diversion", ErrBadValue, "bad "+name)
		}
	}
	return Diversion{n}, nil
}

// Reason returns the diversion reason ("unconditional", "user-busy", ...),
// unquoted.
func (d Diversion) Reason() string { v, _ := d.Params.Get("reason"); return Unquote(v) }

// Counter returns the counter parameter (1 when absent, RFC 5806 §4).
func (d Diversion) Counter() int {
	v, ok := d.Params.Get("counter")
	if !ok {
		return 1
	}
	n, _ := parseUint(v, 99)
	return int(n)
}
