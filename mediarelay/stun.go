package mediarelay

import (
	"net"
	"net/netip"

	"github.com/pion/stun/v3"
)

// stunScratch holds reused STUN messages so that answering does not grow
// the heap once the buffers have their size.
type stunScratch struct {
	req, resp stun.Message
	ip        [16]byte
}

// answerSTUN decodes the STUN message in b and, when it is a Binding request
// (RFC 8489 §7.3), writes a Binding success response carrying the request's
// source as XOR-MAPPED-ADDRESS (§14.2) and a FINGERPRINT (§14.7) into b,
// returning its length. Anything else yields 0: it is dropped, never
// forwarded. The relay does not terminate ICE, so it adds no
// MESSAGE-INTEGRITY; endpoints using the answers as consent/keepalive or for
// address discovery accept that.
func answerSTUN(b []byte, n int, src netip.AddrPort, sc *stunScratch) int {
	if !stun.IsMessage(b[:n]) {
		return 0
	}
	sc.req.Raw = append(sc.req.Raw[:0], b[:n]...)
	if sc.req.Decode() != nil || sc.req.Type != stun.BindingRequest {
		return 0
	}
	r := &sc.resp
	r.Reset()
	r.Type = stun.BindingSuccess
	r.TransactionID = sc.req.TransactionID
	r.WriteHeader()
	var ip net.IP
	if a := src.Addr().Unmap(); a.Is4() {
		a4 := a.As4()
		copy(sc.ip[:4], a4[:])
		ip = sc.ip[:4]
	} else {
		sc.ip = a.As16()
		ip = sc.ip[:16]
	}
	if (stun.XORMappedAddress{IP: ip, Port: int(src.Port())}).AddTo(r) != nil {
		return 0
	}
	if stun.Fingerprint.AddTo(r) != nil {
		return 0
	}
	if len(r.Raw) > len(b) {
		return 0
	}
	return copy(b, r.Raw)
}
