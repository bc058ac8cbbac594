package sip

import "strings"

// Contact is one element of a Contact header field (RFC 3261 §20.10):
// either the wildcard "*" (Star, only valid in a REGISTER with Expires: 0,
// RFC 3261 §10.2.2) or a NameAddr with contact-params (q, expires, ...).
type Contact struct {
	Star bool
	NameAddr
}

// ParseContact parses one contact-param or "*". q must be a qvalue
// (RFC 3261 §20.10: "0" to "1" with at most three decimals) and expires a
// delta-seconds that fits 32 bits (RFC 4475 §3.1.2.4 scalar02).
func ParseContact(s string) (Contact, error) {
	if t := trimLWS(s); t == "*" {
		return Contact{Star: true}, nil
	}
	n, err := parseNameAddr(s, "contact")
	if err != nil {
		return Contact{}, err
	}
	for name, v := range n.Params.All() {
		switch {
		case strings.EqualFold(name, "q"):
			if _, ok := parseQ(v); !ok {
				return Contact{}, valErr("contact", ErrBadValue, "bad q value")
			}
		case strings.EqualFold(name, "expires"):
			if !isDigits(v) {
				return Contact{}, valErr("contact", ErrBadValue, "bad expires")
			}
			if _, ok := parseUint(v, 1<<32-1); !ok {
				return Contact{}, valErr("contact", ErrOverflow, "expires above 2^32-1")
			}
		}
	}
	return Contact{NameAddr: n}, nil
}

// parseQ parses qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
// into thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || s[0] != '0' && s[0] != '1' {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return q, true
	}
	if s[1] != '.' || len(s) > 5 {
		return 0, false
	}
	scale := 100
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || q == 1000 && c != '0' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	return q, true
}

// Q returns the q parameter in thousandths (0..1000; "0.33" → 330) and
// whether it is present. Integer thousandths make ordering exact.
func (c Contact) Q() (int, bool) {
	v, ok := c.Params.Get("q")
	if !ok {
		return 0, false
	}
	q, ok := parseQ(v)
	return q, ok
}

// Expires returns the expires contact parameter in seconds and whether it
// is present.
func (c Contact) Expires() (uint32, bool) {
	v, ok := c.Params.Get("expires")
	if !ok {
		return 0, false
	}
	e, ok := parseUint(v, 1<<32-1)
	return uint32(e), ok
}

// AppendTo appends the contact value ("*" or canonical name-addr) to b.
func (c Contact) AppendTo(b []byte) []byte {
	if c.Star {
		return append(b, '*')
	}
	return c.NameAddr.AppendTo(b)
}

// String returns the contact value.
func (c Contact) String() string { return string(c.AppendTo(make([]byte, 0, 96))) }
