package sip

import (
	"strconv"
	"strings"
)

// CSeq is the value of a CSeq header field (RFC 3261 §20.16): a 32-bit
// sequence number and the request method.
type CSeq struct {
	Seq    uint32
	Method string
}

// ParseCSeq parses CSeq = 1*DIGIT LWS Method. A number above 2^32-1 is
// ErrOverflow (RFC 3261 §8.1.1.5, RFC 4475 §3.1.2.4 scalar02); leading
// zeros are accepted (RFC 4475 §3.1.1.1 wsinv).
func ParseCSeq(s string) (CSeq, error) {
	i := skipLWS(s, 0)
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return CSeq{}, valErr("cseq", ErrBadValue, "missing sequence number")
	}
	n, ok := parseUint(s[i:j], 1<<32-1)
	if !ok {
		return CSeq{}, valErr("cseq", ErrOverflow, "sequence number above 2^32-1")
	}
	k := skipLWS(s, j)
	if k == j {
		return CSeq{}, valErr("cseq", ErrBadValue, "no LWS before method")
	}
	m := trimLWS(s[k:])
	if !IsToken(m) {
		return CSeq{}, valErr("cseq", ErrBadValue, "bad method")
	}
	return CSeq{Seq: uint32(n), Method: m}, nil
}

// AppendTo appends "seq METHOD" to b.
func (c CSeq) AppendTo(b []byte) []byte {
	b = strconv.AppendUint(b, uint64(c.Seq), 10)
	b = append(b, ' ')
	return append(b, c.Method...)
}

// String returns "seq METHOD".
func (c CSeq) String() string { return string(c.AppendTo(make([]byte, 0, 24))) }

// parseDecimal parses a header that is 1*DIGIT (with surrounding LWS) no
// larger than max.
func parseDecimal(s, hdr string, max uint64) (uint64, error) {
	t := trimLWS(s)
	if !isDigits(t) {
		return 0, valErr(hdr, ErrBadValue, "not a decimal number")
	}
	v, ok := parseUint(t, max)
	if !ok {
		return 0, valErr(hdr, ErrOverflow, "value too large")
	}
	return v, nil
}

// ParseMaxForwards parses Max-Forwards = 1*DIGIT, an integer 0-255
// (RFC 3261 §20.22); leading zeros are accepted ("0068", RFC 4475 wsinv).
func ParseMaxForwards(s string) (int, error) {
	v, err := parseDecimal(s, "max-forwards", 255)
	return int(v), err
}

// MaxContentLength bounds ParseContentLength: no SIP message is larger
// (a bigger value is an error, never a length to allocate).
const MaxContentLength = 1<<31 - 1

// ParseContentLength parses Content-Length = 1*DIGIT (RFC 3261 §20.14). A
// sign (RFC 4475 §3.1.2.3 ncl) is ErrBadValue; a value above
// MaxContentLength is ErrOverflow.
func ParseContentLength(s string) (int, error) {
	v, err := parseDecimal(s, "content-length", MaxContentLength)
	return int(v), err
}

// ParseExpires parses Expires = delta-seconds (RFC 3261 §20.19), a 32-bit
// number of seconds; above 2^32-1 it is ErrOverflow.
func ParseExpires(s string) (uint32, error) {
	v, err := parseDecimal(s, "expires", 1<<32-1)
	return uint32(v), err
}

// ParseRSeq parses RSeq = 1*DIGIT, 1 to 2^31-1 (RFC 3262 §7.1).
func ParseRSeq(s string) (uint32, error) {
	v, err := parseDecimal(s, "rseq", 1<<31-1)
	if err == nil && v == 0 {
		return 0, valErr("rseq", ErrBadValue, "zero")
	}
	return uint32(v), err
}

// ParseMinSE parses Min-SE = delta-seconds *(SEMI generic-param)
// (RFC 4028 §5) and returns the seconds.
func ParseMinSE(s string) (uint32, Params, error) {
	d, p, err := deltaWithParams(s, "min-se")
	return d, p, err
}

func deltaWithParams(s, hdr string) (uint32, Params, error) {
	i := skipLWS(s, 0)
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, Params{}, valErr(hdr, ErrBadValue, "missing delta-seconds")
	}
	v, ok := parseUint(s[i:j], 1<<32-1)
	if !ok {
		return 0, Params{}, valErr(hdr, ErrOverflow, "delta-seconds above 2^32-1")
	}
	p, err := parseHeaderParams(s, j, hdr)
	if err != nil {
		return 0, Params{}, err
	}
	return uint32(v), p, nil
}

// ParseCallID parses Call-ID = word [ "@" word ] (RFC 3261 §20.8) and
// returns the trimmed value.
func ParseCallID(s string) (string, error) {
	t := trimLWS(s)
	a, b, at := strings.Cut(t, "@")
	if !IsWord(a) || at && !IsWord(b) {
		return "", valErr("call-id", ErrBadValue, "not word[@word]")
	}
	return t, nil
}
