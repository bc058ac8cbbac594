package sip

import (
	"strconv"
	"strings"
)

// RAck is the value of an RAck header field (RFC 3262 §7.2): the RSeq of
// the reliable provisional response being acknowledged, and its CSeq.
type RAck struct {
	RSeq   uint32
	CSeq   uint32
	Method string
}

// ParseRAck parses RAck = response-num LWS CSeq-num LWS Method.
func ParseRAck(s string) (RAck, error) {
	f := strings.Fields(s) // at most three fields; allocation-free for the error path is not needed
	if len(f) != 3 {
		return RAck{}, valErr("rack", ErrBadValue, "want response-num CSeq-num Method")
	}
	r, err := ParseRSeq(f[0])
	if err != nil {
		return RAck{}, err
	}
	c, err := parseDecimal(f[1], "rack", 1<<32-1)
	if err != nil {
		return RAck{}, err
	}
	if !IsToken(f[2]) {
		return RAck{}, valErr("rack", ErrBadValue, "bad method")
	}
	return RAck{RSeq: r, CSeq: uint32(c), Method: f[2]}, nil
}

// AppendTo appends "rseq cseq METHOD" to b.
func (r RAck) AppendTo(b []byte) []byte {
	b = strconv.AppendUint(b, uint64(r.RSeq), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(r.CSeq), 10)
	b = append(b, ' ')
	return append(b, r.Method...)
}

// String returns "rseq cseq METHOD".
func (r RAck) String() string { return string(r.AppendTo(nil)) }

// SessionExpires is the value of Session-Expires (RFC 4028 §4): the
// session interval in seconds and se-params (refresher).
type SessionExpires struct {
	Delta  uint32
	Params Params
}

// ParseSessionExpires parses delta-seconds *(SEMI se-params); refresher,
// when present, must be "uac" or "uas" (RFC 4028 §4).
func ParseSessionExpires(s string) (SessionExpires, error) {
	d, p, err := deltaWithParams(s, "session-expires")
	if err != nil {
		return SessionExpires{}, err
	}
	if r, ok := p.Get("refresher"); ok && !strings.EqualFold(r, "uac") && !strings.EqualFold(r, "uas") {
		return SessionExpires{}, valErr("session-expires", ErrBadValue, "refresher is neither uac nor uas")
	}
	return SessionExpires{Delta: d, Params: p}, nil
}

// Refresher returns "uac", "uas" (lower-cased) or "" when absent.
func (se SessionExpires) Refresher() string {
	r, _ := se.Params.Get("refresher")
	switch {
	case strings.EqualFold(r, "uac"):
		return "uac"
	case strings.EqualFold(r, "uas"):
		return "uas"
	}
	return ""
}

// AppendTo appends "delta;params" to b.
func (se SessionExpires) AppendTo(b []byte) []byte {
	b = strconv.AppendUint(b, uint64(se.Delta), 10)
	return se.Params.AppendTo(b)
}

// String returns "delta;params".
func (se SessionExpires) String() string { return string(se.AppendTo(nil)) }

// Replaces is the value of a Replaces header field (RFC 3891 §6.1): the
// Call-ID and tags of the dialog to replace.
type Replaces struct {
	CallID string
	Params Params
}

// ParseReplaces parses callid *(SEMI replaces-param); exactly one to-tag
// and one from-tag are required (RFC 3891 §6.1).
func ParseReplaces(s string) (Replaces, error) {
	i := skipLWS(s, 0)
	j := i
	for j < len(s) && s[j] != ';' && !isLWSByte(s[j]) {
		j++
	}
	id, err := ParseCallID(s[i:j])
	if err != nil {
		return Replaces{}, valErr("replaces", ErrBadValue, "bad call-id")
	}
	p, err := parseHeaderParams(s, j, "replaces")
	if err != nil {
		return Replaces{}, err
	}
	var to, from int
	for n, v := range p.All() {
		switch {
		case strings.EqualFold(n, "to-tag"):
			to++
		case strings.EqualFold(n, "from-tag"):
			from++
		case strings.EqualFold(n, "early-only"):
			if v != "" {
				return Replaces{}, valErr("replaces", ErrBadValue, "early-only takes no value")
			}
			continue
		default:
			continue
		}
		if !IsToken(v) {
			return Replaces{}, valErr("replaces", ErrBadValue, "bad tag")
		}
	}
	if to != 1 || from != 1 {
		return Replaces{}, valErr("replaces", ErrBadValue, "need exactly one to-tag and one from-tag")
	}
	return Replaces{CallID: id, Params: p}, nil
}

// ToTag returns the to-tag parameter.
func (r Replaces) ToTag() string { v, _ := r.Params.Get("to-tag"); return v }

// FromTag returns the from-tag parameter.
func (r Replaces) FromTag() string { v, _ := r.Params.Get("from-tag"); return v }

// EarlyOnly reports the early-only flag (RFC 3891 §3).
func (r Replaces) EarlyOnly() bool { return r.Params.Has("early-only") }

// AppendTo appends "callid;to-tag=..;from-tag=.." to b.
func (r Replaces) AppendTo(b []byte) []byte {
	b = append(b, r.CallID...)
	return r.Params.AppendTo(b)
}

// String returns "callid;params".
func (r Replaces) String() string { return string(r.AppendTo(nil)) }

// ReplacesFromURI extracts a Replaces header embedded in a URI's header
// component (a Refer-To target, RFC 3891 §7 / RFC 3515 §2.1), unescaping
// it once. ok is false when the URI carries none.
func ReplacesFromURI(u URI) (r Replaces, ok bool, err error) {
	v, ok := u.Headers.Get("Replaces")
	if !ok {
		return Replaces{}, false, nil
	}
	raw, err := Unescape(v)
	if err != nil {
		return Replaces{}, true, wrapIn("replaces", err)
	}
	r, err = ParseReplaces(raw)
	return r, true, err
}

// Event is the value of an Event header field (RFC 6665 §8.2.1): the event
// package (with templates, "presence.winfo") and params such as id.
type Event struct {
	Type   string
	Params Params
}

// ParseEvent parses event-type *( SEMI event-param ).
func ParseEvent(s string) (Event, error) {
	i := skipLWS(s, 0)
	j := i
	for j < len(s) && charClass[s[j]]&cToken != 0 {
		j++
	}
	t := s[i:j]
	// event-type = event-package *( "." event-template ), each a token-nodot.
	if t == "" || t[0] == '.' || t[len(t)-1] == '.' || strings.Contains(t, "..") {
		return Event{}, valErr("event", ErrBadValue, "bad event type")
	}
	p, err := parseHeaderParams(s, j, "event")
	if err != nil {
		return Event{}, err
	}
	if id, ok := p.Get("id"); ok && !IsToken(id) {
		return Event{}, valErr("event", ErrBadValue, "bad id")
	}
	return Event{Type: t, Params: p}, nil
}

// Package returns the event package (the part before any template).
func (e Event) Package() string {
	p, _, _ := strings.Cut(e.Type, ".")
	return p
}

// ID returns the id parameter ("" when absent).
func (e Event) ID() string { v, _ := e.Params.Get("id"); return v }

// AppendTo appends "type;params" to b.
func (e Event) AppendTo(b []byte) []byte {
	b = append(b, e.Type...)
	return e.Params.AppendTo(b)
}

// String returns "type;params".
func (e Event) String() string { return string(e.AppendTo(nil)) }

// Subscription states of RFC 6665 §4.1.3.
const (
	SubStateActive     = "active"
	SubStatePending    = "pending"
	SubStateTerminated = "terminated"
)

// SubscriptionState is the value of a Subscription-State header field
// (RFC 6665 §8.2.3).
type SubscriptionState struct {
	State  string // active, pending, terminated or an extension token
	Params Params // reason, expires, retry-after, ...
}

// ParseSubscriptionState parses substate-value *( SEMI subexp-params );
// expires and retry-after must be delta-seconds.
func ParseSubscriptionState(s string) (SubscriptionState, error) {
	i := skipLWS(s, 0)
	j := i
	for j < len(s) && charClass[s[j]]&cToken != 0 {
		j++
	}
	if j == i {
		return SubscriptionState{}, valErr("subscription-state", ErrBadValue, "missing state")
	}
	p, err := parseHeaderParams(s, j, "subscription-state")
	if err != nil {
		return SubscriptionState{}, err
	}
	for n, v := range p.All() {
		if strings.EqualFold(n, "expires") || strings.EqualFold(n, "retry-after") {
			if _, err := parseDecimal(v, "subscription-state", 1<<32-1); err != nil {
				return SubscriptionState{}, err
			}
		}
	}
	return SubscriptionState{State: s[i:j], Params: p}, nil
}

// Expires returns the expires parameter and whether it is present.
func (ss SubscriptionState) Expires() (uint32, bool) { return paramSeconds(ss.Params, "expires") }

// RetryAfter returns the retry-after parameter and whether it is present.
func (ss SubscriptionState) RetryAfter() (uint32, bool) {
	return paramSeconds(ss.Params, "retry-after")
}

// Reason returns the reason parameter (deactivated, probation, rejected,
// timeout, giveup, noresource, invariant, ...) or "".
func (ss SubscriptionState) Reason() string { v, _ := ss.Params.Get("reason"); return v }

// AppendTo appends "state;params" to b.
func (ss SubscriptionState) AppendTo(b []byte) []byte {
	b = append(b, ss.State...)
	return ss.Params.AppendTo(b)
}

// String returns "state;params".
func (ss SubscriptionState) String() string { return string(ss.AppendTo(nil)) }

func paramSeconds(p Params, name string) (uint32, bool) {
	v, ok := p.Get(name)
	if !ok {
		return 0, false
	}
	n, ok := parseUint(v, 1<<32-1)
	return uint32(n), ok
}

// Reason is one element of a Reason header field (RFC 3326 §2): a protocol
// ("SIP", "Q.850", or a token) with cause and text parameters.
type Reason struct {
	Protocol string
	Params   Params
}

// ParseReason parses protocol *(SEMI reason-params); cause must be
// 1*DIGIT and text a quoted-string (RFC 3326 §2).
func ParseReason(s string) (Reason, error) {
	i := skipLWS(s, 0)
	j := i
	for j < len(s) && charClass[s[j]]&cToken != 0 {
		j++
	}
	if j == i {
		return Reason{}, valErr("reason", ErrBadValue, "missing protocol")
	}
	p, err := parseHeaderParams(s, j, "reason")
	if err != nil {
		return Reason{}, err
	}
	for n, v := range p.All() {
		switch {
		case strings.EqualFold(n, "cause"):
			if _, err := parseDecimal(v, "reason", 1<<31-1); err != nil {
				return Reason{}, err
			}
		case strings.EqualFold(n, "text"):
			if len(v) < 2 || v[0] != '"' {
				return Reason{}, valErr("reason", ErrBadValue, "text must be a quoted-string")
			}
		}
	}
	return Reason{Protocol: s[i:j], Params: p}, nil
}

// Cause returns the cause parameter and whether it is present.
func (r Reason) Cause() (int, bool) {
	v, ok := r.Params.Get("cause")
	if !ok {
		return 0, false
	}
	n, ok := parseUint(v, 1<<31-1)
	return int(n), ok
}

// Text returns the text parameter unquoted ("" when absent).
func (r Reason) Text() string { v, _ := r.Params.Get("text"); return Unquote(v) }

// AppendTo appends "protocol;cause=..;text=.." to b.
func (r Reason) AppendTo(b []byte) []byte {
	b = append(b, r.Protocol...)
	return r.Params.AppendTo(b)
}

// String returns "protocol;params".
func (r Reason) String() string { return string(r.AppendTo(nil)) }
