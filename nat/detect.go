package nat

import (
	"net/netip"
	"strings"

	"github.com/sbc-project/sbc/sip"
)

// Reason is a bit set of the observations that made Detect decide a party
// is behind NAT.
type Reason uint16

// The observations Detect makes.
const (
	// ViaAddr: the first Via's sent-by host is an IP literal other than the
	// packet's source address (RFC 3261 §18.2.1: the received test).
	ViaAddr Reason = 1 << iota
	// ViaPort: over UDP, the first Via's sent-by port (default 5060/5061)
	// differs from the source port (RFC 3581 §4: the rport test).
	ViaPort
	// ContactAddr: the Contact host is an IP literal other than the source.
	ContactAddr
	// ContactPort: over UDP, the Contact port differs from the source port
	// (the UA's symmetric-signalling port was translated).
	ContactPort
	// SDPAddr: an SDP connection address differs from the source address.
	SDPAddr
	// Private: one of the addresses above is private (RFC 1918, RFC 6598,
	// RFC 4193, link-local) while the source address is not.
	Private
)

var reasonNames = [...]string{"via-addr", "via-port", "contact-addr", "contact-port", "sdp-addr", "private"}

// String lists the set bits as "via-addr,contact-port"; "" for none.
func (r Reason) String() string {
	var b strings.Builder
	for i, n := range reasonNames {
		if r&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// Detection is the verdict of Detect for one request; the B2BUA keeps it
// with the dialog (issue 7: "the result is remembered for the dialog").
type Detection struct {
	// NATed is set when any observation holds.
	NATed bool
	// Reasons are the observations that held.
	Reasons Reason
}

// Detect decides whether the sender of req is behind NAT by comparing the
// addresses it wrote about itself with the address its packet came from
// (src, as the transport saw it): the first Via's sent-by (RFC 3261
// §18.2.1, RFC 3581 §4), every Contact (RFC 3261 §8.1.1.8) and the given SDP
// connection addresses (RFC 8866 §5.7). Any mismatch means NAT. Host names
// are not resolved and count as no evidence either way; ports are compared
// on UDP only, since a stream's source port is ephemeral by design
// (RFC 3261 §18.2.1). Unspecified SDP addresses (0.0.0.0, the RFC 3264 §8.4
// hold) are ignored. Detect does not allocate.
func Detect(req *sip.Message, src netip.AddrPort, udp bool, sdpAddrs ...netip.Addr) Detection {
	d := detector{src: netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), udp: udp}
	d.srcPrivate = IsPrivate(d.src.Addr())
	if v, err := req.TopVia(); err == nil {
		port := v.Port
		if port == 0 && strings.EqualFold(v.Transport, "TLS") {
			port = 5061 // RFC 3261 §18.2.1 default port of the transport
		}
		if a, ok := hostIP(v.Host); ok {
			d.check(a, port, ViaAddr, ViaPort)
		}
	}
	var buf [4]string
	for i := range req.Headers {
		// Indexed, not HeaderLines: the iterator's closure would move the
		// detector to the heap. Names are canonical after Parse (§7.3.3).
		if req.Headers[i].Name != "Contact" {
			continue
		}
		elems, err := sip.SplitList(buf[:0], req.Headers[i].Value)
		if err != nil {
			continue
		}
		for _, e := range elems {
			c, err := sip.ParseContact(e)
			if err != nil || c.Star {
				continue
			}
			port := c.URI.Port
			if port == 0 && c.URI.IsSIPS() {
				port = 5061
			}
			if a, ok := hostIP(c.URI.Host); ok {
				d.check(a, port, ContactAddr, ContactPort)
			}
		}
	}
	for _, a := range sdpAddrs {
		a = a.Unmap()
		if !a.IsValid() || a.IsUnspecified() {
			continue
		}
		d.check(a, 0, SDPAddr, 0)
	}
	return Detection{NATed: d.r != 0, Reasons: d.r}
}

type detector struct {
	src        netip.AddrPort
	srcPrivate bool
	udp        bool
	r          Reason
}

// check compares one address the party wrote with the packet's source.
func (d *detector) check(a netip.Addr, port int, addrBit, portBit Reason) {
	if a != d.src.Addr() {
		d.r |= addrBit
		if IsPrivate(a) && !d.srcPrivate {
			d.r |= Private
		}
	}
	if d.udp && portBit != 0 {
		if port == 0 {
			port = 5060
		}
		if uint16(port) != d.src.Port() {
			d.r |= portBit
		}
	}
}

// hostIP parses a host as written in a URI or Via (IPv6 in brackets).
func hostIP(h string) (netip.Addr, bool) {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

var privatePrefixes = [...]netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),     // RFC 1918
	netip.MustParsePrefix("172.16.0.0/12"),  // RFC 1918
	netip.MustParsePrefix("192.168.0.0/16"), // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),  // RFC 6598 shared address space (CGN)
	netip.MustParsePrefix("169.254.0.0/16"), // RFC 3927 link-local
	netip.MustParsePrefix("fc00::/7"),       // RFC 4193 unique local
	netip.MustParsePrefix("fe80::/10"),      // RFC 4291 link-local
}

// IsPrivate reports whether a is in a range that is never routed on the
// public Internet and so betrays a NAT when a party writes it: RFC 1918,
// RFC 6598 (carrier-grade NAT), RFC 4193 unique local and link-local
// (RFC 3927, RFC 4291). IPv4-mapped IPv6 addresses are unmapped first.
func IsPrivate(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range privatePrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
