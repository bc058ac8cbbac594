// Package metrics owns the SBC's Prometheus registry: every call, SIP, media,
// relay and policy figure the operator scrapes from /metrics, named per the
// Prometheus naming conventions with an sbc_ prefix, behind a typed Go API
// (CallAttempted, CallAnswered, ...) so that callers never build label strings
// on their paths, plus pull hooks for gauges other components own. Status-code
// labels follow the SIP response classes of RFC 3261 §21.
package metrics
