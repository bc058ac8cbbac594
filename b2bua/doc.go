// Package b2bua is the SBC itself: a back-to-back user agent (RFC 3261 §6,
// RFC 7092) that terminates every call on one leg and regenerates it on the
// other, so that nothing of one side's topology reaches the other.
//
// # Calls
//
// Each accepted INVITE becomes a Call of two dialogs (RFC 3261 §12): the A
// leg, where the SBC is the UAS toward the caller, and the B leg, where it is
// the UAC toward the trunk the policy chose. The B-leg request is built, not
// copied (build, do not strip): new Call-ID, tags, CSeq and branch; the SBC's
// own Via (with rport, RFC 3581) and Contact on the outgoing interface (the
// advertised address behind a 1:1 NAT); Max-Forwards decremented; the
// route's numbers; P-Asserted-Identity and Privacy per the trunks' trust
// policy (RFC 3325, RFC 3323: identity.go); the semantic headers a method
// needs and the headers the source trunk's allowlist passes (headers.go).
//
// Responses and in-dialog requests are mapped across the legs by the call's
// state machine (call.go, bleg.go, indialog.go): provisional responses with
// early dialogs, reliable provisionals relayed with per-leg RSeq/RAck
// (RFC 3262), the 2xx and its end-to-end ACK (RFC 3261 §13.2.2.4), BYE,
// CANCEL and its race with the 2xx, re-INVITE and UPDATE from either side
// with 491 on glare (RFC 3261 §14.2, RFC 3311), INFO, MESSAGE, NOTIFY, REFER
// (Refer-To rewritten to name the SBC) and SUBSCRIBE. Failures move to the
// route's next trunk (408, 5xx, timeouts, or the route's own codes); 3xx
// responses are followed through the same trunk; 401/407 are answered with
// the trunk's credentials (digest.go) or relayed to the caller; trunk limits
// refuse calls with 503 and Retry-After (limits.go), and so does overload
// control: an out-of-dialog request that waited in the receive queue longer
// than Config.MaxQueueDelay (the transport's kernel receive timestamp) is
// refused before any work is done for it, while in-dialog traffic is always
// served, so a load beyond capacity is shed instead of collapsing the SBC. Out-of-dialog OPTIONS to
// the SBC are answered locally; MESSAGE, PUBLISH and OPTIONS to a user are
// relayed as single transactions; SUBSCRIBE and REFER create dialog pairs
// like calls without media; REGISTER goes to the registration relay
// (Registrar) and calls for registered UAs to their NAT binding (Locator).
//
// Every SDP crossing the SBC is rewritten by package sdp onto relay sessions
// of package mediarelay (media.go): one session per m= line, kept for the
// life of the call so ports never change across re-INVITEs; the relay's
// media timeout ends the call with BYE on both legs.
//
// # Concurrency
//
// A call's state is touched only inside its serial executor (serial.go): the
// transaction layer's callbacks and hooks enqueue work on the call, which
// runs in order on the submitting goroutine; no goroutine is parked per call
// or per transaction. Dialogs are found by (Call-ID, local tag) in a sharded
// table. Once a call is confirmed it drops what only its setup needed
// (compact), so a held call costs about 14 KiB with its media sessions'
// bookkeeping (BenchmarkMemoryPerCall in internal/daemon).
//
// When a call ends, one CDR (cdr.go) is written with both legs' Call-IDs,
// trunks, numbers before and after rewriting, times, disposition, final code,
// who hung up and the relay's packet and loss counters.
package b2bua
