package capture

import "errors"

var (
	// ErrTooLarge is returned for a message that does not fit the outer
	// format: a UDP datagram beyond the 65,535-byte IP limit, or a HEP
	// packet beyond its 16-bit total length.
	ErrTooLarge = errors.New("capture: message too large")
	// ErrAddressFamily is returned for a packet whose source or destination
	// address is missing (not a valid netip.Addr).
	ErrAddressFamily = errors.New("capture: invalid source or destination address")
	// ErrNoFile is returned by a PcapWriter whose file could not be
	// created, until its next attempt (once a second).
	ErrNoFile = errors.New("capture: no pcap file")
	// ErrClosed is returned by a sink written after Close.
	ErrClosed = errors.New("capture: closed")
)
