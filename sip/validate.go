package sip

import (
	"errors"
	"strings"
)

// Action is what a receiver does with a message after validation.
type Action uint8

// Actions of a Verdict.
const (
	// Accept: the message is well-formed enough to process.
	Accept Action = iota
	// Respond: a request the UAS must answer statelessly with Verdict.Code
	// (see Verdict.Response) instead of processing it.
	Respond
	// Drop: discard silently (a malformed response, an ACK that cannot be
	// answered, an unframeable datagram; on a stream, close the connection
	// only for framing errors, which Parse and FrameLen report).
	Drop
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Respond:
		return "respond"
	case Drop:
		return "drop"
	}
	return "unknown"
}

// Verdict is the outcome of Validate: the answer a UAS owes.
type Verdict struct {
	Action Action
	// Code is the status code to answer with when Action is Respond: 400,
	// 416, 420, 483, 501 or 505.
	Code int
	// Reason is the reason phrase to send; for 400 it names the defect,
	// e.g. "Bad Request (Missing Call-ID)". For Drop it says why.
	Reason string
	// Unsupported lists the option tags of Require / Proxy-Require the
	// rules do not support (420, RFC 3261 §8.2.2.3); the response carries
	// them in an Unsupported header.
	Unsupported []string
	// Allow lists the methods supported, sent in an Allow header with 501
	// (RFC 4475 intmeth; RFC 3261 §8.2.1).
	Allow []string
}

// OK reports whether the verdict is Accept.
func (v Verdict) OK() bool { return v.Action == Accept }

func (v Verdict) String() string {
	switch v.Action {
	case Respond:
		return itoa(v.Code) + " " + v.Reason
	case Drop:
		return "drop (" + v.Reason + ")"
	}
	return "accept"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

// Response builds the stateless answer owed by a Respond verdict (nil
// otherwise): NewResponse(req, Code, Reason) plus Unsupported (420) or
// Allow (501). A To tag is left to the caller (RFC 3261 §8.2.6.2).
func (v Verdict) Response(req *Message) *Message {
	if v.Action != Respond {
		return nil
	}
	r := NewResponse(req, v.Code, v.Reason)
	if len(v.Unsupported) > 0 {
		r.AddHeader("Unsupported", strings.Join(v.Unsupported, ", "))
	}
	if len(v.Allow) > 0 {
		r.AddHeader("Allow", strings.Join(v.Allow, ", "))
	}
	return r
}

// DropVerdict is the verdict for bytes Parse rejects (err wraps
// ErrUnframeable): drop the datagram, close the stream connection.
func DropVerdict(err error) Verdict {
	return Verdict{Action: Drop, Reason: err.Error()}
}

// Rules parameterise Validate with what this element implements.
type Rules struct {
	// Methods are the methods the UAS implements; another method gets 501
	// (RFC 3261 §8.2.1).
	Methods []string
	// Supported are the option tags understood in Require and
	// Proxy-Require (RFC 3261 §8.2.2.3, §16.3 step 5: a B2BUA stands where
	// proxies stand, so both are checked).
	Supported []string
	// Schemes are the Request-URI schemes accepted; another scheme gets 416
	// (RFC 3261 §8.2.2.1).
	Schemes []string
	// Proxy makes Max-Forwards: 0 a 483 (RFC 3261 §16.3 step 3), as a
	// proxy or a B2BUA that would forward the request does. A pure
	// endpoint processes such a request.
	Proxy bool
}

// DefaultRules returns the rules of the SBC's B2BUA: the RFC 3261 methods and
// the common extensions (PRACK, SUBSCRIBE, NOTIFY, PUBLISH, INFO, REFER,
// MESSAGE, UPDATE), the option tags 100rel, timer and replaces, the sip,
// sips and tel schemes, and proxy behaviour for Max-Forwards.
func DefaultRules() *Rules {
	return &Rules{
		Methods: []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK",
			"SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"},
		Supported: []string{"100rel", "timer", "replaces"},
		Schemes:   []string{"sip", "sips", "tel"},
		Proxy:     true,
	}
}

var defaultRules = DefaultRules()

// Validate checks m with DefaultRules.
func Validate(m *Message) Verdict { return defaultRules.Validate(m) }

func badRequest(what string) Verdict {
	return Verdict{Action: Respond, Code: 400, Reason: "Bad Request (" + what + ")"}
}

// singleValued are the headers that may appear once with one value (RFC 3261
// §7.3.1, §20; RFC 4475 multi01). Content-Length is enforced by Parse.
var singleValued = [...]string{"From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Type"}

// Validate names the answer a UAS owes to m (RFC 3261 §8.2), separately from
// framing: Parse has already rejected what cannot be delimited. Checks run
// in this order, the first failing one deciding:
//
//  1. defects Parse recorded (a header line without colon, Content-Length
//     larger than the datagram, RFC 3261 §18.3): 400;
//  2. SIP-Version other than 2.0: 505 (RFC 3261 §7.1, §21.5.6; RFC 4475 badvers);
//  3. mandatory headers To, From, CSeq, Call-ID, Via (§8.1.1; Max-Forwards
//     may be absent for RFC 2543 peers, RFC 4475 inv2543): 400 naming all
//     missing; single-value headers repeated (multi01): 400; unparseable
//     Via, From, To, Call-ID, CSeq, Max-Forwards, Contact, Route,
//     Record-Route, Require, Proxy-Require: 400 naming the header; a top
//     Via branch that is only the magic cookie (badbranch): 400; a body
//     without Content-Type (§7.4.1): 400;
//  4. a malformed Request-URI (LWS, <>, bad syntax, embedded headers,
//     §19.1.1 table; ltgtruri, lwsruri, escruri): 400;
//  5. a method not in Rules.Methods: 501 with Allow (§8.2.1);
//  6. CSeq method differing from the request method (§8.1.1.5,
//     mismatch01): 400;
//  7. a Request-URI scheme not in Rules.Schemes: 416 (§8.2.2.1);
//  8. Require / Proxy-Require tags not in Rules.Supported: 420 with
//     Unsupported (§8.2.2.3; not for ACK and CANCEL);
//  9. Max-Forwards 0 with Rules.Proxy: 483 (§16.3).
//
// An ACK is never answered (RFC 3261 §17: ACK has no response): any answer
// becomes Drop. A response
// failing checks 1 to 3 is dropped (§18.1.2, RFC 4475 scalarlg, bigcode).
func (r *Rules) Validate(m *Message) Verdict {
	v := r.validate(m)
	if v.Action == Respond && (m.IsResponse() || m.Method == "ACK") {
		reason := strings.TrimSuffix(strings.TrimPrefix(v.Reason, "Bad Request ("), ")")
		return Verdict{Action: Drop, Reason: reason}
	}
	return v
}

func (r *Rules) validate(m *Message) Verdict {
	if m.defect != "" {
		return badRequest(m.defect)
	}
	if !equalFold(m.proto(), Proto) {
		return Verdict{Action: Respond, Code: 505, Reason: "Version Not Supported"}
	}
	if v := checkHeaders(m); !v.OK() {
		return v
	}
	if m.IsResponse() {
		return Verdict{}
	}
	uri, err := ParseRequestURI(m.RequestURI)
	if err != nil {
		return badRequest("Malformed Request-URI")
	}
	if uri.Headers.Len() > 0 {
		return badRequest("Headers in Request-URI") // RFC 3261 §19.1.1 table
	}
	if !containsExact(r.Methods, m.Method) { // methods are case-sensitive (§7.1)
		return Verdict{Action: Respond, Code: 501, Reason: "Not Implemented", Allow: r.Methods}
	}
	cseq, _ := m.GetHeader("CSeq")
	if cs, _ := ParseCSeq(cseq); cs.Method != m.Method {
		return badRequest("CSeq method does not match the request method")
	}
	if !hasToken(r.Schemes, uri.Scheme) {
		return Verdict{Action: Respond, Code: 416, Reason: "Unsupported URI Scheme"}
	}
	if m.Method != "ACK" && m.Method != "CANCEL" {
		var unsup []string
		var buf [8]string
		for _, name := range [...]string{"Require", "Proxy-Require"} {
			for i := range m.Headers {
				if m.Headers[i].Name != name {
					continue
				}
				tags, _ := ParseTokenList(buf[:0], m.Headers[i].Value)
				for _, t := range tags {
					if !hasToken(r.Supported, t) && !hasToken(unsup, t) {
						unsup = append(unsup, t)
					}
				}
			}
		}
		if len(unsup) > 0 {
			return Verdict{Action: Respond, Code: 420, Reason: "Bad Extension", Unsupported: unsup}
		}
	}
	if mf, ok := m.GetHeader("Max-Forwards"); ok && r.Proxy {
		if n, _ := ParseMaxForwards(mf); n == 0 {
			return Verdict{Action: Respond, Code: 483, Reason: "Too Many Hops"}
		}
	}
	return Verdict{}
}

func containsExact(list []string, s string) bool {
	for _, t := range list {
		if t == s {
			return true
		}
	}
	return false
}

// checkHeaders runs check 3 of Validate.
func checkHeaders(m *Message) Verdict {
	var missing []string
	for _, name := range [...]string{"To", "From", "Call-ID", "CSeq", "Via"} {
		if _, ok := m.GetHeader(name); !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return badRequest("Missing " + strings.Join(missing, ", "))
	}
	for _, name := range singleValued {
		if m.HeaderCount(name) > 1 {
			return badRequest("Multiple " + name + " header fields")
		}
	}
	var buf [16]string
	topVia := true
	for i := range m.Headers {
		h := &m.Headers[i]
		var err error
		switch h.Name {
		case "Via":
			var vias []string
			if vias, err = SplitList(buf[:0], h.Value); err == nil && len(vias) == 0 {
				err = errEmptyVia
			} else if err == nil {
				for _, s := range vias {
					var via Via
					if via, err = ParseVia(s); err != nil {
						break
					}
					// RFC 4475 badbranch: a branch that is only the magic
					// cookie identifies no transaction (RFC 3261 §8.1.1.7).
					if topVia && via.Branch() == BranchMagic {
						return badRequest("Via branch is only the magic cookie")
					}
					topVia = false
				}
			}
		case "From", "To":
			_, err = ParseNameAddr(h.Value)
		case "Call-ID":
			_, err = ParseCallID(h.Value)
		case "CSeq":
			if _, err = ParseCSeq(h.Value); errors.Is(err, ErrOverflow) {
				return badRequest("CSeq number out of range") // RFC 4475 scalar02
			}
		case "Max-Forwards":
			_, err = ParseMaxForwards(h.Value)
		case "Contact":
			err = eachElement(buf[:0], h.Value, func(s string) error { _, err := ParseContact(s); return err })
		case "Route", "Record-Route":
			err = eachElement(buf[:0], h.Value, func(s string) error { _, err := ParseNameAddr(s); return err })
		case "Require", "Proxy-Require":
			_, err = ParseTokenList(buf[:0], h.Value)
		}
		if err != nil {
			return badRequest("Malformed " + h.Name + " header field")
		}
	}
	if len(m.Body) > 0 {
		if _, ok := m.GetHeader("Content-Type"); !ok {
			return badRequest("Missing Content-Type") // RFC 3261 §7.4.1
		}
	}
	return Verdict{}
}

var errEmptyVia = errors.New("empty Via")

func eachElement(buf []string, v string, f func(string) error) error {
	elems, err := SplitList(buf, v)
	if err != nil {
		return err
	}
	for _, s := range elems {
		if err := f(s); err != nil {
			return err
		}
	}
	return nil
}
