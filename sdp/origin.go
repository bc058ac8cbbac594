package sdp

import (
	"bytes"
	"net/netip"
	"strconv"
)

// Origin is the SBC's own o= line for one leg of a call (RFC 8866 §5.2) and
// the state that versions it (RFC 3264 §8): every SDP sent on the leg carries
// the same username, session id and address; the version goes up by one when
// the SDP differs from the previous one sent on the leg and stays the same
// when it does not (a retransmitted or repeated answer, a session refresh).
//
// The comparison is exact: the previous body (without o=) is kept, so an
// Origin holds about one SDP's worth of memory. An Origin belongs to one leg
// and is not safe for concurrent use.
type Origin struct {
	username   string
	sessionID  string
	version    uint64
	versionStr string
	addrType   string
	addr       string
	valid      bool
	stamped    bool
	last       []byte
	scratch    []byte

	// The state before the last Stamp, for Revert.
	canRevert   bool
	prevVersion uint64
	prevStamped bool
}

// NewOrigin returns the origin state for one leg. username "" becomes "-"
// (RFC 8866 §5.2: no user ids). sessionID and the first version are the
// caller's choice (RFC 8866 §5.2 suggests an NTP timestamp); they must not
// derive from the other leg's o= line. addr is the SBC's address on the leg.
func NewOrigin(username string, sessionID, version uint64, addr netip.Addr) *Origin {
	if username == "" {
		username = "-"
	}
	o := &Origin{
		username:   username,
		sessionID:  strconv.FormatUint(sessionID, 10),
		version:    version,
		versionStr: strconv.FormatUint(version, 10),
		valid:      addr.IsValid() && addr.Zone() == "",
	}
	if o.valid {
		o.addrType, o.addr = addrType(addr), addr.String()
	}
	return o
}

// Version returns the session version of the last SDP stamped (or the first
// version when none was).
func (o *Origin) Version() uint64 { return o.version }

// Stamp sets s.Origin to this leg's o= line, first incrementing the version
// when the rest of s differs from the SDP previously stamped (RFC 3264 §8).
// Call it once for each SDP sent on the leg, after every other change; Rewrite
// calls it.
func (o *Origin) Stamp(s *Session) {
	o.canRevert, o.prevVersion, o.prevStamped = true, o.version, o.stamped
	o.scratch = s.appendBody(o.scratch[:0])
	if o.stamped && !bytes.Equal(o.scratch, o.last) {
		o.version++
		o.versionStr = strconv.FormatUint(o.version, 10)
	}
	o.stamped = true
	o.last, o.scratch = o.scratch, o.last
	s.Origin = OriginLine{
		Username:       o.username,
		SessionID:      o.sessionID,
		SessionVersion: o.versionStr,
		NetType:        "IN",
		AddrType:       o.addrType,
		Address:        o.addr,
	}
}

// Revert undoes the last Stamp, for an SDP that was stamped but never sent
// (the B2BUA refused the offer, or the request was not sent): the next SDP is
// then compared with the one sent before, and the version moves by exactly
// one over what the peer has seen (RFC 3264 §8). Only one Stamp can be
// undone; Revert reports whether it undid one.
func (o *Origin) Revert() bool {
	if !o.canRevert {
		return false
	}
	o.canRevert = false
	o.last, o.scratch = o.scratch, o.last
	o.stamped = o.prevStamped
	if o.version != o.prevVersion {
		o.version = o.prevVersion
		o.versionStr = strconv.FormatUint(o.version, 10)
	}
	return true
}

func addrType(a netip.Addr) string {
	if a.Is4() {
		return "IP4"
	}
	return "IP6"
}
