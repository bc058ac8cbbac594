package nat

import "errors"

// Sentinel errors of package nat; wrapped with the "nat:" prefix.
var (
	// ErrBadRegister means a REGISTER or an AOR lacks what RFC 3261 §10.2
	// requires (a sip or sips URI with a host).
	ErrBadRegister = errors.New("nat: malformed REGISTER or AOR")
	// ErrConfig means a required Config field (or the transaction layer,
	// see SetTx) is missing.
	ErrConfig = errors.New("nat: incomplete configuration")
)
