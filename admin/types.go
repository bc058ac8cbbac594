package admin

import "time"

// CallInfo is one call as the admin API shows it.
type CallInfo struct {
	ID       string    `json:"id"`             // the SBC's call id (used in /api/calls/{id})
	State    string    `json:"state"`          // e.g. "trying", "ringing", "answered", "terminating"
	From     string    `json:"from,omitempty"` // calling party as received on the A leg
	To       string    `json:"to,omitempty"`   // called party as received on the A leg
	InTrunk  string    `json:"in_trunk"`       // trunk the call came from
	OutTrunk string    `json:"out_trunk"`      // trunk the call goes to ("" while routing)
	Start    time.Time `json:"start"`          // arrival of the initial INVITE
	Answered time.Time `json:"answered,omitzero"`
	// AgeSeconds is filled in by the server from Start at response time.
	AgeSeconds float64   `json:"age_seconds"`
	Legs       []LegInfo `json:"legs"`
}

// LegInfo is one of a call's two dialogs (RFC 3261 §12).
type LegInfo struct {
	Side      string      `json:"side"` // "a" (towards the caller) or "b" (towards the callee)
	Trunk     string      `json:"trunk,omitempty"`
	CallID    string      `json:"call_id"`
	LocalTag  string      `json:"local_tag,omitempty"`
	RemoteTag string      `json:"remote_tag,omitempty"`
	Transport string      `json:"transport"` // "udp", "tcp", "tls"
	Local     string      `json:"local"`     // the SBC's SIP address on this leg, ip:port
	Remote    string      `json:"remote"`    // the peer's SIP address, ip:port
	Media     []MediaInfo `json:"media,omitempty"`
}

// MediaInfo is one anchored media stream of a leg, with the relay's figures.
type MediaInfo struct {
	Kind        string    `json:"kind"`      // "audio", "video", ...
	Interface   string    `json:"interface"` // relay interface name
	Local       string    `json:"local"`     // relay address ip:port
	Remote      string    `json:"remote"`    // latched peer ip:port, "" before latching
	Codec       string    `json:"codec,omitempty"`
	PacketsIn   uint64    `json:"packets_in"`
	PacketsOut  uint64    `json:"packets_out"`
	BytesIn     uint64    `json:"bytes_in"`
	BytesOut    uint64    `json:"bytes_out"`
	PacketsLost uint64    `json:"packets_lost"` // RFC 3550 §6.4.1 cumulative number lost
	JitterMs    float64   `json:"jitter_ms"`    // RFC 3550 §6.4.1 interarrival jitter
	LastPacket  time.Time `json:"last_packet,omitzero"`
}

// RegistrationInfo is one binding of the registration cache (RFC 3261 §10).
type RegistrationInfo struct {
	AOR       string    `json:"aor"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source"` // address the REGISTER came from, ip:port
	Transport string    `json:"transport"`
	NAT       bool      `json:"nat"` // the UA is behind NAT (source differs from Contact)
	UserAgent string    `json:"user_agent,omitempty"`
	Expires   time.Time `json:"expires"`
	// ExpiresInSeconds is filled in by the server at response time.
	ExpiresInSeconds float64 `json:"expires_in_seconds"`
}

// Health is the answer of GET /api/health.
type Health struct {
	Status        string  `json:"status"` // "ok", or "draining" (answered with 503)
	Version       string  `json:"version,omitempty"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	ActiveCalls   int     `json:"active_calls"`
	PolicyHash    string  `json:"policy_hash,omitempty"`
}

// Health statuses.
const (
	StatusOK       = "ok"
	StatusDraining = "draining"
)

// ReloadResult is the answer of POST /api/reload: 200 with OK and Summary,
// or 422 with Error and the Diagnostics text (file:line: message, as the
// policy package prints them); the previous policy stays in force then.
type ReloadResult struct {
	OK          bool   `json:"ok"`
	Summary     string `json:"summary,omitempty"`
	Error       string `json:"error,omitempty"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// DrainResult is the answer of POST /api/drain (202 Accepted): the SBC
// refuses new calls and exits once the active ones have ended.
type DrainResult struct {
	Draining    bool `json:"draining"`
	ActiveCalls int  `json:"active_calls"`
}

// HangupResult is the answer of a successful hang-up (202 Accepted: the BYEs
// are on their way).
type HangupResult struct {
	ID     string `json:"id"`
	Hangup bool   `json:"hangup"`
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Calls is the call table as the admin API sees it; the B2BUA implements it.
// Hangup returns an error wrapping ErrNotFound for an unknown id.
type Calls interface {
	List() []CallInfo
	Get(id string) (CallInfo, bool)
	Hangup(id string) error
}

// Registrations is the registration cache as the admin API sees it.
type Registrations interface {
	List() []RegistrationInfo
}

// Reloader reloads the policy transactionally: on error the old policy stays
// and diagnostics says why, with file:line positions.
type Reloader interface {
	Reload() (summary, diagnostics string, err error)
}

// Drainer starts a graceful shutdown: new calls are refused, the process
// exits when the active calls have ended (or the drain timeout passed). Drain
// returns at once; calling it twice is harmless. It runs on the admin
// server's request goroutine, so it must not wait for Server.Shutdown
// itself: the daemon shuts the admin server down from its own goroutine.
type Drainer interface {
	Drain() (activeCalls int, err error)
}

// HealthChecker reports the daemon's health.
type HealthChecker interface {
	Health() Health
}
