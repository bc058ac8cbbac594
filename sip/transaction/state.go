package transaction

// State is a state of the RFC 3261 §17 machines, with Accepted from
// RFC 6026 §7.
type State uint8

// States of client and server transactions.
const (
	Calling    State = iota + 1 // INVITE client, request sent
	Trying                      // non-INVITE client and server, before any response
	Proceeding                  // provisional response seen or sent
	Completed                   // final (non-2xx for INVITE) response seen or sent
	Confirmed                   // INVITE server, ACK received
	Accepted                    // INVITE, 2xx seen or sent (RFC 6026)
	Terminated
)

// String returns the RFC 3261 name of the state.
func (s State) String() string {
	switch s {
	case Calling:
		return "Calling"
	case Trying:
		return "Trying"
	case Proceeding:
		return "Proceeding"
	case Completed:
		return "Completed"
	case Confirmed:
		return "Confirmed"
	case Accepted:
		return "Accepted"
	case Terminated:
		return "Terminated"
	}
	return "?"
}
