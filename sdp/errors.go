package sdp

import "errors"

// Parse errors. Each is wrapped with the "sdp:" prefix and the offending line
// number; test for them with errors.Is.
var (
	// ErrTooLarge: the body exceeds MaxSize bytes.
	ErrTooLarge = errors.New("body too large")
	// ErrSyntax: a line is not of the form <letter>=<value> or holds a
	// control character (NUL, bare CR); RFC 8866 §5.
	ErrSyntax = errors.New("malformed line")
	// ErrNoVersion: the first line is not v= (RFC 8866 §5.1).
	ErrNoVersion = errors.New("missing v= line")
	// ErrBadVersion: v= is not 0 (RFC 8866 §5.1).
	ErrBadVersion = errors.New("unsupported v= version")
	// ErrNoOrigin: the session has no o= line (RFC 8866 §5.2).
	ErrNoOrigin = errors.New("missing o= line")
	// ErrBadOrigin: o= does not have six fields (RFC 8866 §5.2).
	ErrBadOrigin = errors.New("malformed o= line")
	// ErrNoSessionName: the session has no s= line (RFC 8866 §5.3).
	ErrNoSessionName = errors.New("missing s= line")
	// ErrDuplicate: a line that may appear once (v=, o=, s=) appears again, or
	// appears inside a media description.
	ErrDuplicate = errors.New("misplaced or repeated line")
	// ErrBadMedia: an m= line is malformed (RFC 8866 §5.14).
	ErrBadMedia = errors.New("malformed m= line")
	// ErrBadPort: a port is not a decimal number in 0..65535, or a port count
	// is zero or too large.
	ErrBadPort = errors.New("bad port")
	// ErrBadConnection: a c= line is malformed, names a network type other
	// than IN or an address type other than IP4/IP6, or its address does not
	// match its address type (RFC 8866 §5.7).
	ErrBadConnection = errors.New("malformed c= line")
	// ErrNoConnection: a media description with a non-zero port has no c=
	// line and neither has the session (RFC 8866 §5.7).
	ErrNoConnection = errors.New("no c= line for media")
	// ErrBadAttribute: an attribute the SBC relies on (a=rtpmap, a=rtcp) is
	// malformed.
	ErrBadAttribute = errors.New("malformed attribute")
)

// Rewrite and offer/answer errors, wrapped with the "sdp:" prefix.
var (
	// ErrParams: RewriteParams are incomplete or inconsistent with the
	// session (no address, no origin, stream count mismatch, bad ICE-lite
	// credentials).
	ErrParams = errors.New("bad rewrite parameters")
	// ErrNoCodec: in an offer, at least one stream kept no codec of the
	// allow-list; those streams were disabled with port 0 (RFC 3264 §5.1).
	// The error is a *CodecError naming the streams.
	ErrNoCodec = errors.New("no allowed codec")
	// ErrAnswerMismatch: an answer does not have the offer's m= lines
	// (RFC 3264 §6).
	ErrAnswerMismatch = errors.New("answer does not match offer")
)
