package sip

import (
	"strings"
	"unicode/utf8"
)

// Character classes of RFC 3261 §25.1 and RFC 3966 §3, one bit each in
// charClass. A table lookup per byte keeps the scanners branch-light.
const (
	cAlnum    uint16 = 1 << iota // ALPHA / DIGIT
	cToken                       // token (RFC 3261 §25.1)
	cWord                        // word (Call-ID)
	cUnres                       // unreserved = alphanum / mark
	cUser                        // user = unreserved / user-unreserved (escaped handled apart)
	cPassword                    // password = unreserved / "&" / "=" / "+" / "$" / ","
	cParam                       // paramchar = param-unreserved / unreserved
	cHnv                         // hname / hvalue = hnv-unreserved / unreserved
	cURIC                        // uric = reserved / unreserved (absoluteURI, RFC 2396)
	cScheme                      // ALPHA / DIGIT / "+" / "-" / "."
	cHex                         // HEXDIG
	cHostVal                     // header gen-value: token / host chars ("[", "]", ":")
)

var charClass = func() (t [256]uint16) {
	set := func(chars string, c uint16) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= c
		}
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	const digit = "0123456789"
	const mark = "-_.!~*'()"
	set(alpha+digit, cAlnum|cToken|cWord|cUnres|cUser|cPassword|cParam|cHnv|cURIC|cScheme|cHostVal)
	set("-.!%*_+`'~", cToken|cHostVal)
	set("-.!%*_+`'~()<>:\\\"/[]?{}", cWord)
	set(mark, cUnres|cUser|cPassword|cParam|cHnv|cURIC)
	set("&=+$,;?/", cUser)
	set("&=+$,", cPassword)
	set("[]/:&+$", cParam)
	set("[]/?:+$", cHnv)
	set(";/?:@&=+$,", cURIC)
	set("+-.", cScheme)
	set(digit+"abcdefABCDEF", cHex)
	set("[]:", cHostVal)
	return t
}()

// IsToken reports whether s is a non-empty RFC 3261 §25.1 token.
func IsToken(s string) bool { return isAll(s, cToken) }

// IsWord reports whether s is a non-empty RFC 3261 §25.1 word (the
// characters allowed on either side of the "@" of a Call-ID).
func IsWord(s string) bool { return isAll(s, cWord) }

func isAll(s string, c uint16) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&c == 0 {
			return false
		}
	}
	return true
}

// isSPHT reports SP or HTAB.
func isSPHT(c byte) bool { return c == ' ' || c == '\t' }

// skipLWS returns the index of the first byte at or after i that is not
// linear white space (RFC 3261 §25.1 LWS = [*WSP CRLF] 1*WSP). Header values
// reach us unfolded, but a CRLF followed by WSP is still skipped so that raw
// folded text parses too.
func skipLWS(s string, i int) int {
	for i < len(s) {
		switch c := s[i]; {
		case isSPHT(c):
			i++
		case c == '\r' && i+2 < len(s) && s[i+1] == '\n' && isSPHT(s[i+2]):
			i += 3
		case c == '\n' && i+1 < len(s) && isSPHT(s[i+1]):
			i += 2
		default:
			return i
		}
	}
	return i
}

// trimLWS removes leading and trailing linear white space (SP, HTAB, CR, LF).
func trimLWS(s string) string {
	i, j := 0, len(s)
	for i < j && isLWSByte(s[i]) {
		i++
	}
	for j > i && isLWSByte(s[j-1]) {
		j--
	}
	return s[i:j]
}

func isLWSByte(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// scanQuoted scans an RFC 3261 §25.1 quoted-string starting at s[i] == '"'
// and returns the index just past the closing quote, or -1 when the string
// is unterminated or holds a byte that neither qdtext nor quoted-pair allows
// (RFC 4475 §3.1.2.6 quotbal).
func scanQuoted(s string, i int) int {
	if i >= len(s) || s[i] != '"' {
		return -1
	}
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			// quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
			i++
			if i >= len(s) || s[i] == '\n' || s[i] == '\r' || s[i] >= 0x80 {
				return -1
			}
		case c == '\r' || c == '\n':
			// Only folded LWS may appear; a bare CR or LF ends the line.
			j := skipLWS(s, i)
			if j == i {
				return -1
			}
			i = j - 1
		case c < 0x20 && c != '\t', c == 0x7f:
			return -1
		}
		// qdtext allows UTF8-NONASCII; validity of the UTF-8 is checked by
		// the callers that interpret the text.
	}
	return -1
}

// Unquote returns the content of an RFC 3261 quoted-string with its quoted
// pairs resolved ("\"a\\\"b\"" → `a"b`). A string that is not quoted is
// returned unchanged. It allocates only when the string holds a backslash.
func Unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b = append(b, s[i])
	}
	return string(b)
}

// Quote returns s as an RFC 3261 quoted-string, escaping '"', '\' and
// control characters with a backslash (quoted-pair). CR and LF, which a
// quoted-string cannot carry, become SP.
func Quote(s string) string { return string(AppendQuoted(nil, s)) }

// AppendQuoted appends s as an RFC 3261 quoted-string to b.
func AppendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\r', '\n':
			b = append(b, ' ')
		default:
			if c < 0x20 && c != '\t' || c == 0x7f {
				// Not qdtext; a quoted-pair carries it (RFC 3261 §25.1).
				b = append(b, '\\')
			}
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// EscapePart names the URI component whose character set decides which
// characters Escape must %HH-encode (RFC 3261 §25.1).
type EscapePart uint8

// The URI components where RFC 3261 §25.1 allows the escaped rule.
const (
	EscapeUser     EscapePart = iota // user (sip/sips userinfo)
	EscapePassword                   // password
	EscapeParam                      // uri-parameter name or value (paramchar)
	EscapeHeader                     // hname or hvalue of the ?headers part
)

func (p EscapePart) class() uint16 {
	switch p {
	case EscapeUser:
		return cUser
	case EscapePassword:
		return cPassword
	case EscapeParam:
		return cParam
	default:
		return cHnv
	}
}

// Escape returns s with every byte that the component's grammar does not
// allow literally written as %HH (upper-case hex). '%' itself is always
// escaped, so Escape(Unescape(x)) never changes meaning.
func Escape(s string, part EscapePart) string {
	c := part.class()
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&c == 0 {
			return string(AppendEscaped(make([]byte, 0, len(s)+8), s, part))
		}
	}
	return s
}

// AppendEscaped appends Escape(s, part) to b.
func AppendEscaped(b []byte, s string, part EscapePart) []byte {
	const hexdig = "0123456789ABCDEF"
	c := part.class()
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if charClass[ch]&c != 0 {
			b = append(b, ch)
			continue
		}
		b = append(b, '%', hexdig[ch>>4], hexdig[ch&15])
	}
	return b
}

// Unescape decodes every %HH triple of s exactly once (no recursive
// unescaping, RFC 4475 §3.1.1.3 esc01); %00 yields a NUL byte and never
// truncates (RFC 4475 §3.1.1.4 escnull). A '%' not followed by two hex
// digits is an error. It allocates only when s holds a '%'.
func Unescape(s string) (string, error) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) || charClass[s[i+1]]&cHex == 0 || charClass[s[i+2]]&cHex == 0 {
			return "", errBadEscape
		}
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// validEscaped reports whether s consists only of bytes of class c and
// well-formed %HH triples (the "escaped" rule of RFC 3261 §25.1).
func validEscaped(s string, c uint16) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if charClass[ch]&c != 0 {
			continue
		}
		if ch != '%' || i+2 >= len(s) || charClass[s[i+1]]&cHex == 0 || charClass[s[i+2]]&cHex == 0 {
			return false
		}
		i += 2
	}
	return true
}

// validText reports whether s is TEXT-UTF8-TRIM-like header text: valid
// UTF-8 without control characters other than HTAB (RFC 3261 §25.1).
func validText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

// parseUint parses 1*DIGIT into a value no greater than max; ok is false on
// an empty string, a non-digit, or a value above max (overflow is detected,
// never wrapped: RFC 4475 §3.1.2.4 scalar02).
func parseUint(s string, max uint64) (v uint64, ok bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// isDigits reports a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
