//go:build !linux

package transport

import (
	"net"
	"time"
)

// enableRxTimestamps: kernel receive timestamps are used on Linux only;
// elsewhere Inbound.Received is the time the reader got the datagram.
func enableRxTimestamps(*net.UDPConn) bool { return false }

func rxTimestamp([]byte) time.Time { return time.Time{} }

const rxOOBSize = 0
