package transport

import "errors"

// Sentinel errors of package transport; wrapped with the "transport:" prefix.
var (
	// ErrClosed is returned by operations on a Layer after Close.
	ErrClosed = errors.New("transport: closed")
	// ErrNoListener means no listener matches the transport, address family
	// or interface a message must leave from.
	ErrNoListener = errors.New("transport: no listener for destination")
	// ErrQueueFull means a connection's write queue is full: its peer is not
	// reading fast enough.
	ErrQueueFull = errors.New("transport: write queue full")
	// ErrConnClosed means the connection a flow names has closed.
	ErrConnClosed = errors.New("transport: connection closed")
	// ErrTooManyConns means a connection limit (total or per source) is
	// reached.
	ErrTooManyConns = errors.New("transport: too many connections")
	// ErrTooLarge means a message exceeds Limits.MaxMessageSize.
	ErrTooLarge = errors.New("transport: message too large")
	// ErrBadTarget means a target string or URI cannot be used as a
	// destination.
	ErrBadTarget = errors.New("transport: bad target")
	// ErrNoAddress means resolution produced no usable address.
	ErrNoAddress = errors.New("transport: no address for target")
	// ErrNoVia means a response has no usable top Via to route it by.
	ErrNoVia = errors.New("transport: response without usable Via")
	// ErrConfig means a listener or limit configuration is invalid.
	ErrConfig = errors.New("transport: bad configuration")
)
