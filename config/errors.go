package config

import "errors"

// ErrInvalid is wrapped by every error that carries configuration
// diagnostics (a *policy.DiagError).
var ErrInvalid = errors.New("config: invalid")
