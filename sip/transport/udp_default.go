//go:build !linux

package transport

import (
	"net"
	"time"
)

// newRawUDP: raw datagram I/O is Linux only; elsewhere the listener uses
// the *net.UDPConn (see udp_linux.go).
func newRawUDP(*net.UDPConn) rawSocket { return nil }

// enableRxTimestamps: kernel receive timestamps are used on Linux only;
// elsewhere Inbound.Received is the time the reader got the datagram.
func enableRxTimestamps(*net.UDPConn) bool { return false }

func rxTimestamp([]byte) time.Time { return time.Time{} }

const rxOOBSize = 0
