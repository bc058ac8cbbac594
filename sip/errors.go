package sip

import "errors"

// Parse and framing errors. Every error returned by Parse and FrameLen wraps
// one of these sentinels with the "sip: " prefix; all of them mean the bytes
// are not a SIP message that can be answered: drop the datagram, close the
// stream connection.
var (
	// ErrUnframeable is wrapped by every error of Parse and FrameLen: the bytes
	// cannot be delimited as one SIP message (drop the datagram / close the
	// connection, RFC 3261 §18.3).
	ErrUnframeable = errors.New("sip: unframeable message")
	// ErrTooLarge means the message (or its header section) exceeds MaxMessageSize.
	ErrTooLarge = errors.New("sip: message too large")
	// ErrStartLine means the first line is neither a Request-Line nor a
	// Status-Line (RFC 3261 §7.1, §7.2).
	ErrStartLine = errors.New("sip: malformed start line")
	// ErrNoHeaderEnd means the empty line ending the header section is missing
	// (RFC 3261 §7: it is mandatory even without a body).
	ErrNoHeaderEnd = errors.New("sip: header section not terminated")
	// ErrContentLength means Content-Length is negative, not a number,
	// overflows, or appears more than once (RFC 3261 §20.14, RFC 4475 ncl, mcl01).
	ErrContentLength = errors.New("sip: bad Content-Length")
	// ErrNoContentLength means a stream message lacks Content-Length, which is
	// mandatory on stream transports (RFC 3261 §18.3, §20.14).
	ErrNoContentLength = errors.New("sip: Content-Length missing on a stream")
)

// parseError wraps a sentinel with ErrUnframeable so that both
// errors.Is(err, ErrUnframeable) and errors.Is(err, sentinel) hold.
type parseError struct {
	kind   error
	detail string
}

func (e *parseError) Error() string {
	if e.detail == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.detail
}

func (e *parseError) Is(target error) bool { return target == ErrUnframeable || target == e.kind }

func (e *parseError) Unwrap() error { return e.kind }

func errf(kind error, detail string) error { return &parseError{kind: kind, detail: detail} }
