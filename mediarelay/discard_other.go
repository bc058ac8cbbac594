//go:build !unix

package mediarelay

// discardFD cannot empty a socket's queue without blocking here; the
// goroutine engine's arrival-time check (Session.live) is then what keeps
// datagrams that arrived before a session went live from being forwarded.
func discardFD(fd, rcvbuf int) (n, bytes uint64) { return 0, 0 }
