//go:build !linux

package rtpload

import "errors"

// Run needs Linux (recvmmsg/sendmmsg and /proc for the relay's CPU).
func Run(cfg Config) (Result, error) {
	return Result{}, errors.New("rtpload: the load generator runs on Linux only")
}
