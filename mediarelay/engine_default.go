//go:build !linux

package mediarelay

import "fmt"

// newEngine returns the portable goroutine-per-socket engine: recvmmsg and
// epoll exist only on Linux.
func newEngine(r *Relay) (engine, error) {
	if r.cfg.Engine == EngineEpoll {
		return nil, fmt.Errorf("%w: the epoll engine needs Linux", ErrBadConfig)
	}
	return &goEngine{r: r}, nil
}
