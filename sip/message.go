package sip

import (
	"iter"
	"slices"
	"strings"
	"unsafe"
)

// inlineHeaders is the number of header lines a Message stores without a
// separate allocation; a typical INVITE has 10 to 16.
const inlineHeaders = 20

// Proto is the only SIP-Version this stack speaks (RFC 3261 §7.1).
const Proto = "SIP/2.0"

// Header is one header field line of a message, in received order.
type Header struct {
	// Name is the canonical spelling for known names (compact forms expanded,
	// case folded, see CanonicalName) and the received spelling otherwise.
	Name string
	// Value is the field value with leading and trailing LWS removed and
	// header folding replaced by a single SP (RFC 3261 §7.3.1). It is not
	// comma-split: a line carrying several list elements stays one Header.
	Value string
	// Raw is the exact received bytes of the field (name, colon, value and
	// any continuation lines, without the final CRLF); nil for headers added
	// by the building API. Raw aliases the message's immutable input copy:
	// it MUST NOT be modified.
	Raw []byte
}

// Message is a SIP request or response (RFC 3261 §7).
//
// Immutability invariant: Parse keeps one owned copy of the input and every
// string of the message (start line fields, header names and values) is a
// view of that copy made with unsafe.String. The copy is never written after
// Parse returns, so the strings stay valid and immutable for as long as any of
// them is reachable, including after Clone or after the header is copied into
// another message. Body is a slice of a separate region of the same copy;
// editing Body's bytes in place is allowed and touches no string. Header.Raw
// is read-only.
//
// A Message is not safe for concurrent mutation. Copying a Message by value
// aliases its header storage; use Clone.
type Message struct {
	// Method is the request method (case-sensitive, RFC 3261 §7.1); empty
	// for a response.
	Method string
	// RequestURI is the raw Request-URI text; parse it with ParseURI.
	RequestURI string
	// Proto is the SIP-Version as received ("SIP/2.0"); empty means "SIP/2.0".
	Proto string
	// StatusCode is the response status code (100–699); 0 for a request.
	StatusCode int
	// Reason is the response reason phrase (may be empty, RFC 4475 noreason).
	Reason string
	// Headers holds every header field line in received order.
	Headers []Header
	// Body is the message body, exactly Content-Length octets when that
	// header was present.
	Body []byte

	buf    []byte // owned copy of the parsed input; never written after Parse
	defect string // first non-fatal syntax defect seen by Parse; Validate answers it with 400
	inline [inlineHeaders]Header
}

// IsRequest reports whether m is a request.
func (m *Message) IsRequest() bool { return m.Method != "" }

// IsResponse reports whether m is a response.
func (m *Message) IsResponse() bool { return m.Method == "" }

// GetHeader returns the value of the first header line with the given name
// (any case, compact forms included) and whether there is one.
func (m *Message) GetHeader(name string) (string, bool) {
	c, known := lookupName(name)
	if !known {
		c = name
	}
	for i := range m.Headers {
		if headerIs(m.Headers[i].Name, c, known) {
			return m.Headers[i].Value, true
		}
	}
	return "", false
}

// HeaderLines yields the value of every header line with the given name, in
// order. Values are whole lines, not comma-split (use SplitList).
func (m *Message) HeaderLines(name string) iter.Seq[string] {
	c, known := lookupName(name)
	if !known {
		c = name
	}
	return func(yield func(string) bool) {
		for i := range m.Headers {
			if headerIs(m.Headers[i].Name, c, known) && !yield(m.Headers[i].Value) {
				return
			}
		}
	}
}

// HeaderCount returns the number of header lines with the given name.
func (m *Message) HeaderCount(name string) int {
	c, known := lookupName(name)
	if !known {
		c = name
	}
	n := 0
	for i := range m.Headers {
		if headerIs(m.Headers[i].Name, c, known) {
			n++
		}
	}
	return n
}

// HeaderIndex returns the index in m.Headers of the first line with the given
// name at or after index from, or -1.
func (m *Message) HeaderIndex(name string, from int) int {
	c, known := lookupName(name)
	if !known {
		c = name
	}
	for i := max(from, 0); i < len(m.Headers); i++ {
		if headerIs(m.Headers[i].Name, c, known) {
			return i
		}
	}
	return -1
}

func (m *Message) initHeaders() {
	if m.Headers == nil {
		m.Headers = m.inline[:0]
	}
}

// AddHeader appends a header line after all others. The name is stored in
// canonical spelling.
func (m *Message) AddHeader(name, value string) {
	m.initHeaders()
	m.Headers = append(m.Headers, Header{Name: CanonicalName(name), Value: value})
}

// PrependHeader inserts a header line before the first line with the same
// name, or at the top of the header section when there is none (e.g. a new
// top Via, RFC 3261 §16.6 step 8, or a Record-Route).
func (m *Message) PrependHeader(name, value string) {
	m.initHeaders()
	h := Header{Name: CanonicalName(name), Value: value}
	i := m.HeaderIndex(h.Name, 0)
	if i < 0 {
		i = 0
	}
	m.Headers = slices.Insert(m.Headers, i, h)
}

// InsertHeader inserts a header line at index i of m.Headers (0 ≤ i ≤
// len(m.Headers)).
func (m *Message) InsertHeader(i int, name, value string) {
	m.initHeaders()
	m.Headers = slices.Insert(m.Headers, i, Header{Name: CanonicalName(name), Value: value})
}

// SetHeader replaces the first line with the given name by value and removes
// any further lines of that name; without one it appends the header.
func (m *Message) SetHeader(name, value string) {
	m.initHeaders()
	c := CanonicalName(name)
	i := m.HeaderIndex(c, 0)
	if i < 0 {
		m.Headers = append(m.Headers, Header{Name: c, Value: value})
		return
	}
	m.Headers[i] = Header{Name: c, Value: value}
	m.delFrom(c, i+1)
}

// ReplaceHeader replaces the value of the header line at index i (an index
// into m.Headers), keeping its name and position.
func (m *Message) ReplaceHeader(i int, value string) {
	m.Headers[i].Value = value
	m.Headers[i].Raw = nil
}

// RemoveHeaderAt removes the header line at index i.
func (m *Message) RemoveHeaderAt(i int) {
	m.Headers = slices.Delete(m.Headers, i, i+1)
}

// DelHeader removes every line with the given name and returns how many it removed.
func (m *Message) DelHeader(name string) int {
	return m.delFrom(name, 0)
}

func (m *Message) delFrom(name string, from int) int {
	c, known := lookupName(name)
	if !known {
		c = name
	}
	out := m.Headers[:from]
	for _, h := range m.Headers[from:] {
		if !headerIs(h.Name, c, known) {
			out = append(out, h)
		}
	}
	clear(m.Headers[len(out):])
	removed := len(m.Headers) - len(out)
	m.Headers = out
	return removed
}

// SetBody sets the body and its Content-Type header (removed when
// contentType is empty). Content-Length is computed when serializing.
func (m *Message) SetBody(contentType string, body []byte) {
	m.Body = body
	if contentType == "" {
		m.DelHeader("Content-Type")
		return
	}
	m.SetHeader("Content-Type", contentType)
}

// Clone returns an independent copy of m: header storage and Body are
// copied, while strings keep viewing the immutable input copy (see Message),
// which therefore stays alive as long as the clone does. It allocates once
// (twice with a body, or with more than the inline number of headers).
func (m *Message) Clone() *Message {
	c := new(Message)
	c.Method, c.RequestURI, c.Proto = m.Method, m.RequestURI, m.Proto
	c.StatusCode, c.Reason = m.StatusCode, m.Reason
	c.buf, c.defect = m.buf, m.defect
	if len(m.Headers) <= inlineHeaders {
		c.Headers = append(c.inline[:0], m.Headers...)
	} else {
		c.Headers = slices.Clone(m.Headers)
	}
	if m.Body != nil {
		c.Body = slices.Clone(m.Body)
	}
	return c
}

// Detach copies everything m refers to (Method, Request-URI, Proto,
// Reason, header names and values, body) into one buffer of its own, in one
// allocation. A message built from values taken from other messages (as a
// B2BUA builds one leg's request from the other's) views their buffers and
// keeps them all alive; detached, it keeps only its own bytes, which
// matters for a message held long (an INVITE client transaction keeps its
// request for 64*T1 after the 2xx, RFC 6026 §7.2). m must not be in use
// elsewhere while it is detached.
func (m *Message) Detach() {
	n := len(m.Method) + len(m.RequestURI) + len(m.Proto) + len(m.Reason) + len(m.Body)
	for i := range m.Headers {
		n += len(m.Headers[i].Name) + len(m.Headers[i].Value)
	}
	buf := make([]byte, 0, n)
	own := func(v string) string {
		if v == "" {
			return ""
		}
		i := len(buf)
		buf = append(buf, v...) // within capacity: never moves
		return unsafe.String(&buf[i], len(v))
	}
	m.Method, m.RequestURI, m.Proto, m.Reason = own(m.Method), own(m.RequestURI), own(m.Proto), own(m.Reason)
	for i := range m.Headers {
		m.Headers[i].Name, m.Headers[i].Value = own(m.Headers[i].Name), own(m.Headers[i].Value)
	}
	if m.Body != nil {
		i := len(buf)
		buf = append(buf, m.Body...)
		m.Body = buf[i:len(buf):len(buf)]
	}
	// The parse buffer (if m was parsed) is no longer viewed by anything.
	m.buf = nil
}

// NewRequest returns a request with the given method and Request-URI and no
// headers. The caller adds Via, Max-Forwards, From, To, Call-ID, CSeq and
// Contact as RFC 3261 §8.1.1 requires.
func NewRequest(method, requestURI string) *Message {
	m := &Message{Method: method, RequestURI: requestURI, Proto: Proto}
	m.Headers = m.inline[:0]
	return m
}

// NewResponse returns a response to req per RFC 3261 §8.2.6.2: every Via line
// in order, From, To, Call-ID and CSeq are copied; for 100 Trying the
// Timestamp too (§8.2.6.1). A To tag is left to the caller (add one with
// SetHeader when req's To has none and code > 100, §8.2.6.2). An empty
// reason uses the default phrase for code.
func NewResponse(req *Message, code int, reason string) *Message {
	if reason == "" {
		reason = ReasonPhrase(code)
	}
	m := &Message{Proto: Proto, StatusCode: code, Reason: reason}
	m.Headers = m.inline[:0]
	for _, h := range req.Headers {
		switch h.Name {
		case "Via", "From", "To", "Call-ID", "CSeq":
			m.Headers = append(m.Headers, Header{Name: h.Name, Value: h.Value})
		case "Timestamp":
			if code == 100 {
				m.Headers = append(m.Headers, Header{Name: h.Name, Value: h.Value})
			}
		}
	}
	return m
}

// String returns the canonical serialization (for logs and tests).
func (m *Message) String() string { return string(m.AppendTo(nil)) }

// ReasonPhrase returns the RFC 3261 §21 default reason phrase for a status
// code, or a class default.
func ReasonPhrase(code int) string {
	if r, ok := reasonPhrases[code]; ok {
		return r
	}
	switch code / 100 {
	case 1:
		return "Trying"
	case 2:
		return "OK"
	case 3:
		return "Redirection"
	case 4:
		return "Client Error"
	case 5:
		return "Server Error"
	case 6:
		return "Global Failure"
	}
	return "Unknown"
}

var reasonPhrases = map[int]string{
	100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
	183: "Session Progress", 199: "Early Dialog Terminated",
	200: "OK", 202: "Accepted", 204: "No Notification",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
	305: "Use Proxy", 380: "Alternative Service",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
	404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
	407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
	412: "Conditional Request Failed", 413: "Request Entity Too Large",
	414: "Request-URI Too Long", 415: "Unsupported Media Type",
	416: "Unsupported URI Scheme", 417: "Unknown Resource-Priority", 420: "Bad Extension",
	421: "Extension Required", 422: "Session Interval Too Small", 423: "Interval Too Brief",
	428: "Use Identity Header", 429: "Provide Referrer Identity", 433: "Anonymity Disallowed",
	436: "Bad Identity Info", 437: "Unsupported Credential", 438: "Invalid Identity Header",
	439: "First Hop Lacks Outbound Support", 440: "Max-Breadth Exceeded",
	469: "Bad Info Package", 470: "Consent Needed",
	480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
	482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete",
	485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
	488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
	493: "Undecipherable", 494: "Security Agreement Required",
	500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
	513: "Message Too Large", 555: "Push Notification Service Not Supported",
	580: "Precondition Failure",
	600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
	606: "Not Acceptable", 607: "Unwanted", 608: "Rejected",
}

// hasToken reports whether list contains tok, compared case-insensitively
// (option tags, RFC 3261 §19.2).
func hasToken(list []string, tok string) bool {
	for _, t := range list {
		if strings.EqualFold(t, tok) {
			return true
		}
	}
	return false
}
