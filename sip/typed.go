package sip

import "fmt"

// Typed accessors of Message. Each one reads the header lines it needs
// through GetHeader / HeaderLines and parses them when called: nothing is
// parsed by Parse, and nothing is cached, so a caller that needs a value
// twice keeps the result. Values are views of the message text (see
// Message's immutability invariant) and stay valid as long as it does.
//
// Single-valued headers (From, To, Call-ID, CSeq, Max-Forwards,
// Content-Length, Content-Type, Expires, ...) read the first line with
// GetHeader, which costs no allocation, and return an error wrapping
// ErrMissingHeader when there is none. A repeated single-valued header
// (RFC 4475 §3.3.8 multi01) is Validate's to reject; use HeaderLines to
// see every line. List headers read every line through HeaderLines, split
// each with SplitList, and return nil without error when absent.

// parseSingle reads the first line of a single-valued header and parses
// it.
func parseSingle[T any](m *Message, name string, parse func(string) (T, error)) (T, error) {
	v, ok := m.GetHeader(name)
	if !ok {
		var zero T
		return zero, fmt.Errorf("sip: %s: %w", name, ErrMissingHeader)
	}
	return parse(v)
}

// parseList reads every line of a list header, splits it and parses each
// element, appending to dst.
func parseList[T any](m *Message, name string, dst []T, parse func(string) (T, error)) ([]T, error) {
	var buf [8]string
	for line := range m.HeaderLines(name) {
		elems, err := SplitList(buf[:0], line)
		if err != nil {
			return dst, fmt.Errorf("sip: %s: %w", name, err)
		}
		for _, e := range elems {
			v, err := parse(e)
			if err != nil {
				return dst, err
			}
			dst = append(dst, v)
		}
	}
	return dst, nil
}

// parseLines parses every line of a header whole (no comma split).
func parseLines[T any](m *Message, name string, parse func(string) (T, error)) ([]T, error) {
	var dst []T
	for line := range m.HeaderLines(name) {
		v, err := parse(line)
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// tokens reads every line of a token-list header.
func (m *Message) tokens(name string, parse func([]string, string) ([]string, error)) ([]string, error) {
	var dst []string
	for line := range m.HeaderLines(name) {
		var err error
		if dst, err = parse(dst, line); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// ParsedRequestURI parses the Request-URI of a request (ParseRequestURI).
func (m *Message) ParsedRequestURI() (URI, error) { return ParseRequestURI(m.RequestURI) }

// Via returns every via-parm of every Via line, topmost first.
func (m *Message) Via() ([]Via, error) { return parseList(m, "Via", nil, ParseVia) }

// TopVia returns the first via-parm of the first Via line (RFC 3261
// §8.2.6.2, §18.2.1), without parsing the others.
func (m *Message) TopVia() (Via, error) {
	line, ok := m.GetHeader("Via")
	if !ok {
		return Via{}, fmt.Errorf("sip: Via: %w", ErrMissingHeader)
	}
	var buf [4]string
	elems, err := SplitList(buf[:0], line)
	if err != nil {
		return Via{}, fmt.Errorf("sip: Via: %w", err)
	}
	if len(elems) == 0 {
		return Via{}, valErr("Via", ErrBadValue, "empty")
	}
	return ParseVia(elems[0])
}

// From returns the From header (RFC 3261 §20.20).
func (m *Message) From() (NameAddr, error) { return parseSingle(m, "From", ParseNameAddr) }

// To returns the To header (RFC 3261 §20.39).
func (m *Message) To() (NameAddr, error) { return parseSingle(m, "To", ParseNameAddr) }

// CallID returns the Call-ID (RFC 3261 §20.8).
func (m *Message) CallID() (string, error) { return parseSingle(m, "Call-ID", ParseCallID) }

// CSeq returns the CSeq header (RFC 3261 §20.16).
func (m *Message) CSeq() (CSeq, error) { return parseSingle(m, "CSeq", ParseCSeq) }

// MaxForwards returns Max-Forwards (RFC 3261 §20.22); absent is
// ErrMissingHeader (RFC 2543 peers omit it, RFC 4475 §3.4.1 inv2543).
func (m *Message) MaxForwards() (int, error) {
	return parseSingle(m, "Max-Forwards", ParseMaxForwards)
}

// ContentLength returns Content-Length (RFC 3261 §20.14).
func (m *Message) ContentLength() (int, error) {
	return parseSingle(m, "Content-Length", ParseContentLength)
}

// ContentType returns Content-Type (RFC 3261 §20.15).
func (m *Message) ContentType() (ContentType, error) {
	return parseSingle(m, "Content-Type", ParseContentType)
}

// Expires returns the Expires header (RFC 3261 §20.19).
func (m *Message) Expires() (uint32, error) { return parseSingle(m, "Expires", ParseExpires) }

// Contacts returns every Contact element of every Contact line (RFC 3261
// §20.10), "*" included as Star.
func (m *Message) Contacts() ([]Contact, error) { return parseList(m, "Contact", nil, ParseContact) }

// Routes returns the Route set, topmost first (RFC 3261 §20.34).
func (m *Message) Routes() ([]NameAddr, error) {
	return parseList(m, "Route", nil, ParseRoute)
}

// RecordRoutes returns the Record-Route entries, topmost first (RFC 3261
// §20.30).
func (m *Message) RecordRoutes() ([]NameAddr, error) {
	return parseList(m, "Record-Route", nil, ParseRoute)
}

// Path returns the Path entries (RFC 3327 §4).
func (m *Message) Path() ([]NameAddr, error) { return parseList(m, "Path", nil, ParseRoute) }

// ServiceRoute returns the Service-Route entries (RFC 3608 §5).
func (m *Message) ServiceRoute() ([]NameAddr, error) {
	return parseList(m, "Service-Route", nil, ParseRoute)
}

// PAssertedIdentity returns the P-Asserted-Identity entries (RFC 3325
// §9.1: at most one sip/sips and one tel URI).
func (m *Message) PAssertedIdentity() ([]NameAddr, error) {
	return parseList(m, "P-Asserted-Identity", nil, ParseNameAddr)
}

// PPreferredIdentity returns the P-Preferred-Identity entries (RFC 3325
// §9.2).
func (m *Message) PPreferredIdentity() ([]NameAddr, error) {
	return parseList(m, "P-Preferred-Identity", nil, ParseNameAddr)
}

// ReferTo returns the Refer-To header (RFC 3515 §2.1); an embedded
// Replaces is read with ReplacesFromURI.
func (m *Message) ReferTo() (NameAddr, error) { return parseSingle(m, "Refer-To", ParseNameAddr) }

// ReferredBy returns the Referred-By header (RFC 3892 §3).
func (m *Message) ReferredBy() (NameAddr, error) {
	return parseSingle(m, "Referred-By", ParseNameAddr)
}

// Diversions returns the Diversion entries, most recent first (RFC 5806).
func (m *Message) Diversions() ([]Diversion, error) {
	return parseList(m, "Diversion", nil, ParseDiversion)
}

// HistoryInfo returns the History-Info entries in order (RFC 7044).
func (m *Message) HistoryInfo() ([]HistoryInfo, error) {
	return parseList(m, "History-Info", nil, ParseHistoryInfo)
}

// Require returns the Require option-tags (RFC 3261 §20.32).
func (m *Message) Require() ([]string, error) { return m.tokens("Require", ParseTokenList) }

// ProxyRequire returns the Proxy-Require option-tags (RFC 3261 §20.29).
func (m *Message) ProxyRequire() ([]string, error) {
	return m.tokens("Proxy-Require", ParseTokenList)
}

// Supported returns the Supported option-tags (RFC 3261 §20.37).
func (m *Message) Supported() ([]string, error) { return m.tokens("Supported", ParseTokenList) }

// Unsupported returns the Unsupported option-tags (RFC 3261 §20.40).
func (m *Message) Unsupported() ([]string, error) {
	return m.tokens("Unsupported", ParseTokenList)
}

// Allow returns the Allow methods (RFC 3261 §20.5).
func (m *Message) Allow() ([]string, error) { return m.tokens("Allow", ParseTokenList) }

// Privacy returns the Privacy priv-values (RFC 3323 §4.2).
func (m *Message) Privacy() ([]string, error) { return m.tokens("Privacy", ParsePrivacy) }

// RSeq returns the RSeq header (RFC 3262 §7.1).
func (m *Message) RSeq() (uint32, error) { return parseSingle(m, "RSeq", ParseRSeq) }

// RAck returns the RAck header (RFC 3262 §7.2).
func (m *Message) RAck() (RAck, error) { return parseSingle(m, "RAck", ParseRAck) }

// SessionExpires returns Session-Expires (RFC 4028 §4).
func (m *Message) SessionExpires() (SessionExpires, error) {
	return parseSingle(m, "Session-Expires", ParseSessionExpires)
}

// MinSE returns the Min-SE seconds (RFC 4028 §5).
func (m *Message) MinSE() (uint32, error) {
	return parseSingle(m, "Min-SE", func(s string) (uint32, error) {
		d, _, err := ParseMinSE(s)
		return d, err
	})
}

// Replaces returns the Replaces header (RFC 3891).
func (m *Message) Replaces() (Replaces, error) { return parseSingle(m, "Replaces", ParseReplaces) }

// Event returns the Event header (RFC 6665 §8.2.1).
func (m *Message) Event() (Event, error) { return parseSingle(m, "Event", ParseEvent) }

// SubscriptionState returns Subscription-State (RFC 6665 §8.2.3).
func (m *Message) SubscriptionState() (SubscriptionState, error) {
	return parseSingle(m, "Subscription-State", ParseSubscriptionState)
}

// Reasons returns the Reason entries (RFC 3326; one per protocol).
func (m *Message) Reasons() ([]Reason, error) { return parseList(m, "Reason", nil, ParseReason) }

// Authorization returns one Auth per Authorization line (RFC 3261
// §20.7); these lines are never comma-split (RFC 3261 §7.3.1).
func (m *Message) Authorization() ([]Auth, error) {
	return parseLines(m, "Authorization", ParseAuth)
}

// ProxyAuthorization returns one Auth per Proxy-Authorization line
// (RFC 3261 §20.28).
func (m *Message) ProxyAuthorization() ([]Auth, error) {
	return parseLines(m, "Proxy-Authorization", ParseAuth)
}

// WWWAuthenticate returns one Auth per WWW-Authenticate line (RFC 3261
// §20.44).
func (m *Message) WWWAuthenticate() ([]Auth, error) {
	return parseLines(m, "WWW-Authenticate", ParseAuth)
}

// ProxyAuthenticate returns one Auth per Proxy-Authenticate line
// (RFC 3261 §20.27).
func (m *Message) ProxyAuthenticate() ([]Auth, error) {
	return parseLines(m, "Proxy-Authenticate", ParseAuth)
}

// Identity returns the Identity headers (RFC 8224 §4.1; several may be
// present, one per PASSporT).
func (m *Message) Identity() ([]Identity, error) {
	return parseList(m, "Identity", nil, ParseIdentity)
}

// UserAgent returns the User-Agent text (RFC 3261 §20.41).
func (m *Message) UserAgent() (string, error) { return parseSingle(m, "User-Agent", ParseText) }

// Server returns the Server text (RFC 3261 §20.35).
func (m *Message) Server() (string, error) { return parseSingle(m, "Server", ParseText) }
