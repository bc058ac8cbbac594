package metrics

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// ThreadCPU returns the CPU time (user + system) consumed so far by the
// calling OS thread (clock_gettime CLOCK_THREAD_CPUTIME_ID, POSIX.1-2008).
// A relay worker locked to its thread with runtime.LockOSThread calls it now
// and then (once a second, not per packet) and publishes the value for the
// SetRelayCPU provider. Elsewhere it measures whatever thread the goroutine
// happens to run on.
func ThreadCPU() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("metrics: thread cpu clock: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}
