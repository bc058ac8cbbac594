package sip

import (
	"errors"
	"fmt"
)

// Sentinel errors of the URI and header-value parsers. Every error returned
// by ParseURI, ParseXxx and SplitList wraps exactly one of them (test with
// errors.Is); the text after it names the component and the offending part.
var (
	// ErrBadURI means a URI violates RFC 3261 §19.1/§25 or RFC 3966.
	ErrBadURI = errors.New("malformed URI")
	// ErrBadValue means a header field value violates its RFC grammar.
	ErrBadValue = errors.New("malformed header value")
	// ErrUnbalanced means a quoted string or <...> is not closed
	// (RFC 4475 §3.1.2.6 quotbal).
	ErrUnbalanced = errors.New("unbalanced quote or angle bracket")
	// ErrOverflow means a number does not fit the range its header allows
	// (RFC 4475 §3.1.2.4 scalar02).
	ErrOverflow = errors.New("number out of range")
	// ErrMissingHeader means a typed accessor of Message found no line of
	// the header it reads.
	ErrMissingHeader = errors.New("header missing")
)

var errBadEscape = fmt.Errorf("sip: uri: %w: bad %%HH escape", ErrBadURI)

// uriErr wraps ErrBadURI with the component prefix and a reason.
func uriErr(reason string) error { return fmt.Errorf("sip: uri: %w: %s", ErrBadURI, reason) }

// valErr wraps sentinel (ErrBadValue, ErrOverflow, ErrUnbalanced) with the
// header name and a reason.
func valErr(hdr string, sentinel error, reason string) error {
	return fmt.Errorf("sip: %s: %w: %s", hdr, sentinel, reason)
}
