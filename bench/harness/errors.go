package harness

import "errors"

// Sentinel errors of the bench harness.
var (
	// ErrTool is returned when an external tool (sipp, kamailio, sbc) is missing.
	ErrTool = errors.New("harness: tool missing")
	// ErrStart is returned when a system under test did not come up.
	ErrStart = errors.New("harness: system did not start")
	// ErrConfig is returned for an invalid bench configuration.
	ErrConfig = errors.New("harness: invalid configuration")
	// ErrProc is returned when /proc could not be read for a PID.
	ErrProc = errors.New("harness: /proc")
)
