package transaction

import "errors"

// Sentinel errors of package transaction; wrapped with the "transaction:"
// prefix.
var (
	// ErrTimeout is reported when Timer B or F fires without a final
	// response (RFC 3261 §17.1.1.2, §17.1.2.2); the TU treats it as 408.
	ErrTimeout = errors.New("transaction: timeout")
	// ErrNoACK is reported when an INVITE server transaction ends without
	// the ACK for its final response (Timer H, RFC 3261 §17.2.1; Timer L for
	// 2xx, RFC 6026 §8.7 and RFC 3261 §13.3.1.4).
	ErrNoACK = errors.New("transaction: no ACK")
	// ErrClosed is returned after the Manager is closed.
	ErrClosed = errors.New("transaction: closed")
	// ErrTerminated means the transaction has already terminated.
	ErrTerminated = errors.New("transaction: terminated")
	// ErrBadMessage means a message lacks what a transaction needs (top
	// Via with branch, CSeq, Call-ID, From, To).
	ErrBadMessage = errors.New("transaction: malformed message")
	// ErrState means the operation is not allowed in the transaction's
	// state (for example a second final response).
	ErrState = errors.New("transaction: not allowed in this state")
	// ErrACK means an ACK was given to Request: ACK never creates a client
	// transaction (RFC 3261 §17.1); send it with Manager.Send.
	ErrACK = errors.New("transaction: ACK is not a transaction")
	// ErrNoSentBy means the request has no Via and the flow's local address
	// is unspecified, so no sent-by can be filled in.
	ErrNoSentBy = errors.New("transaction: no Via and no address for sent-by")
	// ErrNotCanceled means a CANCEL was not sent because the INVITE got its
	// final response first (RFC 3261 §9.1).
	ErrNotCanceled = errors.New("transaction: final response before CANCEL")
)
