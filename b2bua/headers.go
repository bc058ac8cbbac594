package b2bua

import (
	"strings"

	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
)

// Build, do not strip: every header of a message the SBC sends is either
// built by the SBC itself or copied by one of the rules below. Nothing else
// crosses from one leg to the other.

// builtHeaders are the headers the SBC always builds itself for each leg
// (RFC 3261 §8.1.1, §12, §16.6 and the extensions it implements), so they
// are never copied even when a trunk's allowlist names them: copying Via,
// Route, Record-Route, Contact, Call-ID or the tags would leak one side's
// topology to the other.
var builtHeaders = map[string]bool{
	"Via": true, "Route": true, "Record-Route": true, "Contact": true,
	"From": true, "To": true, "Call-ID": true, "CSeq": true,
	"Max-Forwards": true, "Content-Length": true, "Content-Type": true,
	"Require": true, "Proxy-Require": true, "Supported": true, "Unsupported": true,
	"Allow": true, "RSeq": true, "RAck": true,
	"P-Asserted-Identity": true, "P-Preferred-Identity": true, "Privacy": true,
	"Authorization": true, "Proxy-Authorization": true,
	"WWW-Authenticate": true, "Proxy-Authenticate": true, "Authentication-Info": true,
	"Path": true, "Service-Route": true, "Server": true, "User-Agent": true,
	"Warning": true, "Refer-To": true, "Referred-By": true, "Replaces": true,
	"Session-Expires": true, "Min-SE": true, "Timestamp": true, "Error-Info": true,
	"Call-Info": true, "Alert-Info": true, "Reply-To": true, "In-Reply-To": true,
	"History-Info": true, "Diversion": true, "Identity": true, "Organization": true,
}

// semanticHeaders carry what a method or response means, not where anything
// is, and are relayed end to end so the method keeps working across the SBC:
// RFC 3261 §20 (Accept*, Content-*, Expires, Priority, Subject, Retry-After,
// Min-Expires), RFC 3326 Reason, RFC 6665 Event / Subscription-State /
// Allow-Events, RFC 6086 Info-Package / Recv-Info.
var semanticHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Accept-Language": true,
	"Content-Disposition": true, "Content-Encoding": true, "Content-Language": true,
	"Expires": true, "Min-Expires": true, "Priority": true, "Subject": true,
	"Retry-After": true, "Reason": true, "Event": true, "Subscription-State": true,
	"Allow-Events": true, "Info-Package": true, "Recv-Info": true, "Date": true,
	"MIME-Version": true,
}

// copyHeaders copies from src to dst the semantic headers and the headers
// the source trunk's allowlist passes (policy trunk "headers { pass }").
// pass may be nil (no trunk: semantic headers only).
func copyHeaders(dst, src *sip.Message, pass *policy.Trunk) {
	for _, h := range src.Headers {
		if builtHeaders[h.Name] && !passesBuilt(h.Name, pass) {
			continue
		}
		if semanticHeaders[h.Name] || (pass != nil && pass.PassesHeader(h.Name)) {
			dst.AddHeader(h.Name, h.Value)
		}
	}
}

// passesBuilt lets an operator pass the few built headers that carry only
// numbers and identities, never our or their signalling topology, when the
// trunk's allowlist names them explicitly: History-Info, Diversion,
// Organization, Call-Info, Alert-Info, Session-Expires, Min-SE, Identity.
// The topology headers (Via, Route, Contact, ...) can never be passed.
func passesBuilt(name string, t *policy.Trunk) bool {
	if t == nil {
		return false
	}
	switch name {
	case "History-Info", "Diversion", "Organization", "Call-Info", "Alert-Info", "Identity":
		return t.PassesHeader(name)
	}
	return false
}

// applyHeaderOps applies a route's header rules (policy Decision.Headers) to
// the outgoing request. A rule may not touch a header the SBC builds.
func applyHeaderOps(m *sip.Message, ops []policy.HeaderOp) {
	for _, op := range ops {
		name := sip.CanonicalName(op.Name)
		if builtHeaders[name] && !isIdentityHeader(name) {
			continue
		}
		switch op.Op {
		case policy.HeaderAdd:
			m.AddHeader(name, op.Value)
		case policy.HeaderSet:
			m.SetHeader(name, op.Value)
		case policy.HeaderRemove:
			m.DelHeader(name)
		}
	}
}

// isIdentityHeader reports headers a route may set explicitly (an operator
// forcing a PAI or Privacy for a route).
func isIdentityHeader(name string) bool {
	return name == "P-Asserted-Identity" || name == "Privacy"
}

// allowMethods is the Allow header of every message the SBC builds: the
// methods it relays or answers (RFC 3261 §20.5).
const allowMethods = "INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE, INFO, MESSAGE, REFER, NOTIFY, SUBSCRIBE, PUBLISH"

// supportedByUs are the option tags the SBC itself implements end to end
// across the legs (RFC 3262 100rel, RFC 3891 replaces is mapped per leg).
var supportedByUs = []string{"100rel"}

// tokens drops the error of a typed token-list accessor (m.Require(),
// m.Supported()): a malformed list offers no option tag.
func tokens(list []string, _ error) []string { return list }

func hasTag(list []string, tag string) bool {
	for _, t := range list {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}
