package sdp

import (
	"fmt"
	"net/netip"
	"strings"
)

// Connection is a c= line (RFC 8866 §5.7): "IN IP4 192.0.2.1",
// "IN IP6 2001:db8::1", "IN IP4 224.2.1.1/127/3", "IN IP4 host.example.com".
type Connection struct {
	NetType  string     // always "IN"
	AddrType string     // "IP4" or "IP6"
	Address  string     // the address or host name, without /ttl and /count
	TTL      int        // IPv4 multicast TTL, 0 when absent
	Count    int        // multicast address count, 0 when absent
	Addr     netip.Addr // the address when Address is a literal, else invalid
}

// ParseConnection parses the value of a c= line. The address must match the
// address type: an IPv4 literal for IP4, an IPv6 literal (an IPv4-mapped one
// included, RFC 5118 §4.9) for IP6, or a host name for either.
func ParseConnection(v string) (Connection, error) {
	var c Connection
	var addr, extra string
	c.NetType, v = nextField(v)
	c.AddrType, v = nextField(v)
	addr, v = nextField(v)
	if extra, _ = nextField(v); extra != "" || addr == "" {
		return c, fmt.Errorf("%w: field count", ErrBadConnection)
	}
	if c.NetType != "IN" {
		return c, fmt.Errorf("%w: network type %.10q", ErrBadConnection, c.NetType)
	}
	var ok bool
	host, suffix, hasSuffix := strings.Cut(addr, "/")
	c.Address = host
	if hasSuffix {
		first, second, hasSecond := strings.Cut(suffix, "/")
		n1, ok1 := parseDecimal(first, 255)
		if !ok1 {
			return c, fmt.Errorf("%w: %.60q", ErrBadConnection, addr)
		}
		switch {
		case c.AddrType == "IP6" && !hasSecond:
			// RFC 8866 §5.7: IPv6 multicast has no TTL, only a count.
			c.Count = n1
		case c.AddrType == "IP4":
			c.TTL = n1
			if hasSecond {
				if c.Count, ok = parseDecimal(second, 65535); !ok {
					return c, fmt.Errorf("%w: %.60q", ErrBadConnection, addr)
				}
			}
		default:
			return c, fmt.Errorf("%w: %.60q", ErrBadConnection, addr)
		}
	}
	ip, err := netip.ParseAddr(host)
	switch c.AddrType {
	case "IP4":
		if err == nil && !ip.Is4() {
			return c, fmt.Errorf("%w: %q is not IPv4", ErrBadConnection, host)
		}
	case "IP6":
		if err == nil && !ip.Is6() {
			return c, fmt.Errorf("%w: %q is not IPv6", ErrBadConnection, host)
		}
	default:
		return c, fmt.Errorf("%w: address type %.10q", ErrBadConnection, c.AddrType)
	}
	if err == nil {
		// An IPv6 zone names an interface of the sender: meaningless to
		// anyone else (RFC 4007 §6).
		if ip.Zone() != "" {
			return c, fmt.Errorf("%w: zoned address %.60q", ErrBadConnection, host)
		}
		c.Addr = ip
	} else if !isHostName(host) {
		return c, fmt.Errorf("%w: bad address %.60q", ErrBadConnection, host)
	}
	return c, nil
}

// isHostName reports whether s is a plausible DNS name (RFC 1123 §2.1): labels
// of letters, digits and hyphens, the last one not all digits (which would be
// a mistyped IPv4 address).
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	digitsOnly := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if i == 0 || s[i-1] == '.' {
				return false
			}
			digitsOnly = true
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
			digitsOnly = false
		default:
			return false
		}
	}
	return !digitsOnly
}

// RTPMap is an a=rtpmap value (RFC 8866 §6.6):
// "<payload type> <encoding name>/<clock rate>[/<encoding parameters>]".
// ClockRate is 0 when the rate is missing (tolerated, see ParseRTPMap).
type RTPMap struct {
	PT        int
	Name      string
	ClockRate int
	Params    string // channels for audio, "" when absent
}

// ParseRTPMap parses the value of an a=rtpmap attribute.
func ParseRTPMap(v string) (RTPMap, error) {
	var r RTPMap
	pt, rest := nextField(v)
	enc, tail := nextField(rest)
	var ok bool
	if r.PT, ok = parseDecimal(pt, 127); !ok {
		return r, fmt.Errorf("%w: rtpmap payload type %.20q", ErrBadAttribute, pt)
	}
	if t, _ := nextField(tail); t != "" {
		return r, fmt.Errorf("%w: rtpmap %.60q", ErrBadAttribute, v)
	}
	name, rate, hasRate := strings.Cut(enc, "/")
	rate, params, _ := strings.Cut(rate, "/")
	r.Name, r.Params = name, params
	if name == "" {
		return r, fmt.Errorf("%w: rtpmap %.60q", ErrBadAttribute, v)
	}
	// RFC 8866 §6.6 requires the clock rate, but RFC 4475's own messages
	// ("a=rtpmap:31 LPC") and older equipment omit it: ClockRate stays 0.
	if !hasRate {
		return r, nil
	}
	if r.ClockRate, ok = parseDecimal(rate, 1<<31-1); !ok || r.ClockRate == 0 {
		return r, fmt.Errorf("%w: rtpmap clock rate %.60q", ErrBadAttribute, v)
	}
	return r, nil
}

// RTCP is an a=rtcp value (RFC 3605 §2.1): "<port> [IN IP4|IP6 <address>]".
type RTCP struct {
	Port int
	Conn Connection // NetType is empty when the address is absent
}

// ParseRTCP parses the value of an a=rtcp attribute.
func ParseRTCP(v string) (RTCP, error) {
	var r RTCP
	port, rest := nextField(v)
	var ok bool
	if r.Port, ok = parseDecimal(port, 65535); !ok {
		return r, fmt.Errorf("%w: rtcp port %.20q", ErrBadAttribute, port)
	}
	if t, _ := nextField(rest); t == "" {
		return r, nil
	}
	c, err := ParseConnection(rest)
	if err != nil {
		return r, fmt.Errorf("%w: rtcp: %w", ErrBadAttribute, err)
	}
	r.Conn = c
	return r, nil
}

// Direction is the media direction attribute (RFC 8866 §6.7, RFC 3264 §5.1),
// seen from the side that wrote the SDP.
type Direction uint8

// Directions. The zero value is SendRecv, the default (RFC 8866 §6.7.3).
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

var directionNames = [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}

// String returns the attribute name of the direction.
func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return fmt.Sprintf("Direction(%d)", d)
}

// direction returns the direction attribute in lines, if any (the last one
// wins: a body with several is malformed, and the last is what most stacks
// act on).
func direction(lines []Line) (Direction, bool) {
	d, found := SendRecv, false
	for _, l := range lines {
		if l.Type != 'a' {
			continue
		}
		for i, n := range directionNames {
			if strings.EqualFold(l.Value, n) {
				d, found = Direction(i), true
			}
		}
	}
	return d, found
}

// Direction returns the direction of media description i: its own direction
// attribute, else the session-level one, else sendrecv (RFC 8866 §6.7).
func (s *Session) Direction(i int) Direction {
	if d, ok := direction(s.Media[i].Lines); ok {
		return d
	}
	d, _ := direction(s.Lines)
	return d
}
