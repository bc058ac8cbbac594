package nat

import "errors"

// Sentinel errors of package nat; wrapped with the "nat:" prefix.
var (
	// ErrNotAccess means a REGISTER came from a source that is no access
	// trunk (or one without a registrar block).
	ErrNotAccess = errors.New("nat: source is not an access trunk")
	// ErrCacheFull means MaxBindings or MaxContactsPerAOR would be exceeded.
	ErrCacheFull = errors.New("nat: registration cache full")
	// ErrBadRegister means a REGISTER lacks what RFC 3261 §10.2 requires
	// (To, Call-ID, CSeq, a valid Contact or Expires).
	ErrBadRegister = errors.New("nat: malformed REGISTER")
	// ErrKeepalive means a keepalive to a binding failed (timeout or
	// transport error).
	ErrKeepalive = errors.New("nat: keepalive failed")
	// ErrConfig means a required Config field is missing.
	ErrConfig = errors.New("nat: incomplete configuration")
)
