package sip

import "strings"

// ParseTokenList appends to dst the tokens of a comma-separated token list
// header value: Require, Proxy-Require, Supported, Unsupported (option-tag,
// RFC 3261 §20.29, §20.32, §20.37, §20.40) and Allow (Method, §20.5). An
// empty value is an empty list (Supported and Allow may be empty). Unlike
// the other parsers it takes the whole value (or one header line), since
// the elements are single tokens.
func ParseTokenList(dst []string, v string) ([]string, error) {
	n := len(dst)
	dst, err := SplitList(dst, v)
	if err != nil {
		return dst[:n], err
	}
	for _, t := range dst[n:] {
		if !IsToken(t) {
			return dst[:n], valErr("token list", ErrBadValue, "element is not a token")
		}
	}
	return dst, nil
}

// Privacy values of RFC 3323 §4.2 and RFC 3325 §9.3.
const (
	PrivacyHeader   = "header"
	PrivacySession  = "session"
	PrivacyUser     = "user"
	PrivacyNone     = "none"
	PrivacyCritical = "critical"
	PrivacyID       = "id"
)

// ParsePrivacy appends to dst the priv-values of a Privacy header value
// (RFC 3323 §4.2: priv-value *( ";" priv-value ), each "header" /
// "session" / "user" / "none" / "critical" / "id" (RFC 3325) or a token
// extension). "none" must stand alone.
func ParsePrivacy(dst []string, v string) ([]string, error) {
	n := len(dst)
	t := trimLWS(v)
	if t == "" {
		return dst, valErr("privacy", ErrBadValue, "empty value")
	}
	for e := range strings.SplitSeq(t, ";") {
		e = trimLWS(e)
		if !IsToken(e) {
			return dst[:n], valErr("privacy", ErrBadValue, "priv-value is not a token")
		}
		dst = append(dst, e)
	}
	return dst, nil
}

// HasToken reports whether list holds tok, compared case-insensitively
// (option-tags and priv-values are case-insensitive; methods are not, so
// use slices.Contains for Allow).
func HasToken(list []string, tok string) bool {
	for _, t := range list {
		if strings.EqualFold(t, tok) {
			return true
		}
	}
	return false
}
