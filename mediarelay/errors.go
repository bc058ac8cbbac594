package mediarelay

import "errors"

// ErrClosed is returned by operations on a relay or session that has been closed.
var ErrClosed = errors.New("mediarelay: closed")

// ErrNoPorts is returned when an interface's port range has no free RTP/RTCP pair left.
var ErrNoPorts = errors.New("mediarelay: no free ports")

// ErrUnknownInterface is returned when a leg names an interface the relay was not configured with.
var ErrUnknownInterface = errors.New("mediarelay: unknown interface")

// ErrBadConfig is returned by New for an invalid Config (empty or odd port range, duplicate name, ...).
var ErrBadConfig = errors.New("mediarelay: invalid configuration")

// ErrBadRemote is returned by SetRemote for an address that cannot be used as a media destination.
var ErrBadRemote = errors.New("mediarelay: invalid remote address")
