package sip

import (
	"net/netip"
	"strconv"
	"strings"
)

// Via is one via-parm of a Via header field (RFC 3261 §20.42, §25.1):
// sent-protocol, sent-by and via-params. Strings are views of the parsed
// value.
type Via struct {
	Proto     string // protocol-name, "SIP"
	Version   string // protocol-version, "2.0"
	Transport string // as written: UDP, TCP, TLS, SCTP, WS, WSS or any token (RFC 4475 §3.1.1.10)
	Host      string // sent-by host; IPv6 bracketed
	Port      int    // sent-by port, 0 when absent
	Params    Params // via-params (branch, received, rport, maddr, ttl, ...)
}

// BranchMagic is the RFC 3261 §8.1.1.7 branch prefix of compliant
// transactions.
const BranchMagic = "z9hG4bK"

// Branch returns the branch parameter ("" when absent).
func (v Via) Branch() string { s, _ := v.Params.Get("branch"); return s }

// Received returns the received parameter (RFC 3261 §18.2.1), with the
// brackets of an IPv6 reference removed (RFC 5118 §4.5 allows both forms).
func (v Via) Received() string {
	s, _ := v.Params.Get("received")
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	return s
}

// RPort returns the RFC 3581 rport parameter: present reports whether the
// parameter is there at all, port is its value (0 when written bare, as a
// client does to ask for it).
func (v Via) RPort() (port int, present bool) {
	s, ok := v.Params.Get("rport")
	if !ok {
		return 0, false
	}
	p, _ := parseUint(s, 65535)
	return int(p), true
}

// MAddr returns the maddr parameter ("" when absent).
func (v Via) MAddr() string { s, _ := v.Params.Get("maddr"); return s }

// TTL returns the ttl parameter and whether it is present.
func (v Via) TTL() (int, bool) {
	s, ok := v.Params.Get("ttl")
	if !ok {
		return 0, false
	}
	t, _ := parseUint(s, 255)
	return int(t), true
}

// viaToken scans a token at s[i:] after LWS and returns it and the index
// after it.
func viaToken(s string, i int) (string, int) {
	i = skipLWS(s, i)
	j := i
	for j < len(s) && charClass[s[j]]&cToken != 0 {
		j++
	}
	return s[i:j], j
}

// ParseVia parses one via-parm (split a Via line with SplitList first).
// SWS is allowed around "/" and ":" and around parameters (RFC 3261 §25.1
// SLASH, COLON, SEMI; RFC 4475 §3.1.1.1 wsinv).
func ParseVia(s string) (Via, error) {
	var v Via
	var i int
	v.Proto, i = viaToken(s, 0)
	// sent-protocol = protocol-name SLASH protocol-version SLASH transport
	for _, f := range [2]*string{&v.Version, &v.Transport} {
		i = skipLWS(s, i)
		if i == len(s) || s[i] != '/' {
			return Via{}, valErr("via", ErrBadValue, "bad sent-protocol")
		}
		*f, i = viaToken(s, i+1)
	}
	if v.Proto == "" || v.Version == "" || v.Transport == "" {
		return Via{}, valErr("via", ErrBadValue, "bad sent-protocol")
	}
	// sent-by = host [ COLON port ], after LWS.
	j := skipLWS(s, i)
	if j == i {
		return Via{}, valErr("via", ErrBadValue, "no LWS before sent-by")
	}
	i = j
	if i < len(s) && s[i] == '[' {
		k := strings.IndexByte(s[i:], ']')
		if k < 0 {
			return Via{}, valErr("via", ErrUnbalanced, "unterminated IPv6 reference")
		}
		v.Host, i = s[i:i+k+1], i+k+1
	} else {
		k := i
		for k < len(s) && (charClass[s[k]]&cAlnum != 0 || s[k] == '-' || s[k] == '.') {
			k++
		}
		v.Host, i = s[i:k], k
	}
	if !validHost(v.Host) {
		return Via{}, valErr("via", ErrBadValue, "bad sent-by host")
	}
	if k := skipLWS(s, i); k < len(s) && s[k] == ':' {
		k = skipLWS(s, k+1)
		e := k
		for e < len(s) && s[e] >= '0' && s[e] <= '9' {
			e++
		}
		p, ok := parseUint(s[k:e], 65535)
		if !ok || p == 0 {
			return Via{}, valErr("via", ErrBadValue, "bad sent-by port")
		}
		v.Port, i = int(p), e
	}
	var err error
	if v.Params, err = parseHeaderParams(s, i, "via"); err != nil {
		return Via{}, err
	}
	// Known via-params (RFC 3261 §25.1, RFC 3581 §3).
	for n, val := range v.Params.All() {
		switch {
		case strings.EqualFold(n, "ttl"):
			if _, ok := parseUint(val, 255); !ok || len(val) > 3 {
				return Via{}, valErr("via", ErrBadValue, "bad ttl")
			}
		case strings.EqualFold(n, "maddr"):
			if !validHost(val) {
				return Via{}, valErr("via", ErrBadValue, "bad maddr")
			}
		case strings.EqualFold(n, "received"):
			// IPv4address / IPv6address, bracketed or not (RFC 5118 §4.5).
			if _, ok := hostAddr(val); !ok {
				a, err := netip.ParseAddr(val)
				if err != nil || !a.Is6() || a.Zone() != "" {
					return Via{}, valErr("via", ErrBadValue, "bad received address")
				}
			}
		case strings.EqualFold(n, "rport"):
			if val != "" {
				if p, ok := parseUint(val, 65535); !ok || p == 0 {
					return Via{}, valErr("via", ErrBadValue, "bad rport")
				}
			}
		case strings.EqualFold(n, "branch"):
			if !IsToken(val) {
				return Via{}, valErr("via", ErrBadValue, "bad branch")
			}
		}
	}
	return v, nil
}

// AppendTo appends the via-parm in canonical form
// ("SIP/2.0/UDP host:port;params") to b. An empty Proto or Version is
// written as "SIP" / "2.0", so a Via built by hand needs only Transport,
// Host, Port and Params.
func (v Via) AppendTo(b []byte) []byte {
	proto, version := v.Proto, v.Version
	if proto == "" {
		proto = "SIP" // a Via built by hand: RFC 3261 §20.42 sent-protocol
	}
	if version == "" {
		version = "2.0"
	}
	b = append(b, proto...)
	b = append(b, '/')
	b = append(b, version...)
	b = append(b, '/')
	b = append(b, v.Transport...)
	b = append(b, ' ')
	b = append(b, v.Host...)
	if v.Port > 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(v.Port), 10)
	}
	return v.Params.AppendTo(b)
}

// String returns the via-parm in canonical form.
func (v Via) String() string { return string(v.AppendTo(make([]byte, 0, 96))) }
