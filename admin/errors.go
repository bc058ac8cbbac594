package admin

import "errors"

var (
	// ErrNotFound is returned by a Calls implementation for an unknown call
	// id (served as 404), and by the Client for a 404 answer.
	ErrNotFound = errors.New("admin: not found")
	// ErrUnauthorized is returned by the Client when the server refused its
	// token (401).
	ErrUnauthorized = errors.New("admin: unauthorized")
	// ErrUnavailable is returned by the Client when the server answered 503,
	// e.g. a health check while draining, or a feature that is not wired.
	ErrUnavailable = errors.New("admin: unavailable")
	// ErrReloadFailed is wrapped by the *ReloadError the Client returns for a
	// reload the server rejected (422) with diagnostics.
	ErrReloadFailed = errors.New("admin: policy reload failed")
	// ErrInsecureBind is returned by New for a non-loopback address without
	// a token, unless Config.AllowInsecure is set.
	ErrInsecureBind = errors.New("admin: refusing a non-loopback address without a token")
)
