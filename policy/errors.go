package policy

import "errors"

var (
	// ErrInvalid is wrapped by every error that carries policy diagnostics.
	ErrInvalid = errors.New("policy: invalid")
	// ErrHeaderRule reports a header rule whose value could not be
	// computed for a request; the rule is skipped for that request.
	ErrHeaderRule = errors.New("policy: header rule")
	// ErrNoPolicy is returned by a Store that has never loaded a policy.
	ErrNoPolicy = errors.New("policy: no policy loaded")
)
