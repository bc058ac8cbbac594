//go:build unix

package mediarelay

import (
	"math"
	"syscall"
)

// softNOFILE is the process's soft limit on open descriptors (0: unknown
// or unlimited).
func softNOFILE() int {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil || rl.Cur > math.MaxInt32 { // RLIM_INFINITY included
		return 0
	}
	return int(rl.Cur)
}
