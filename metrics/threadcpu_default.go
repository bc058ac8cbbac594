//go:build !linux

package metrics

import (
	"errors"
	"time"
)

// ThreadCPU is only implemented on Linux; elsewhere it returns
// errors.ErrUnsupported.
func ThreadCPU() (time.Duration, error) { return 0, errors.ErrUnsupported }
