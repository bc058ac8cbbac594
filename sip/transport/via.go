package transport

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/sbc-project/sbc/sip"
)

// firstElement splits a header value at its first top-level comma (outside
// quoted strings and angle brackets, RFC 3261 §7.3.1), returning the first
// element and the rest starting at the comma ("" when there is none).
func firstElement(s string) (first, rest string) {
	inQuote, angle := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			return strings.TrimSpace(s[:i]), s[i:]
		}
	}
	return strings.TrimSpace(s), ""
}

// TopVia returns the first via-parm of m's first Via line, the index of that
// line in m.Headers, and the rest of the line after the first element.
func TopVia(m *sip.Message) (v sip.Via, line int, rest string, ok bool) {
	line = m.HeaderIndex("Via", 0)
	if line < 0 {
		return v, -1, "", false
	}
	first, rest := firstElement(m.Headers[line].Value)
	v, err := sip.ParseVia(first)
	if err != nil {
		return v, line, rest, false
	}
	return v, line, rest, true
}

// stampVia adds received (when the sent-by host is not the source address)
// and fills a bare rport with the source port (RFC 3261 §18.2.1, RFC 3581 §4:
// with rport, received is added even when the host matches).
func stampVia(m *sip.Message, src netip.AddrPort) {
	v, line, rest, ok := TopVia(m)
	if !ok {
		return
	}
	ip := src.Addr().Unmap()
	changed := false
	if h, err := netip.ParseAddr(strings.Trim(v.Host, "[]")); err != nil || h.Unmap() != ip {
		v.Params.Set("received", ip.String())
		changed = true
	}
	if _, present := v.RPort(); present {
		v.Params.Set("received", ip.String())
		v.Params.Set("rport", strconv.Itoa(int(src.Port())))
		changed = true
	}
	if changed {
		m.ReplaceHeader(line, v.String()+rest)
	}
}

// responseDest is where a response goes by its top Via (RFC 3261 §18.2.2,
// RFC 3581 §4): the received address (else the sent-by address; a sent-by
// host name falls back to the request's source address instead of an
// RFC 3263 §5 lookup), and the rport value on UDP, else the sent-by port,
// else the default port.
func responseDest(resp *sip.Message, src netip.AddrPort, stream bool, defPort uint16) (netip.AddrPort, bool) {
	v, _, _, ok := TopVia(resp)
	if !ok {
		return netip.AddrPort{}, false
	}
	host := v.Received()
	if host == "" {
		host = strings.Trim(v.Host, "[]")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		if !src.IsValid() {
			return netip.AddrPort{}, false
		}
		a = src.Addr()
	}
	port := defPort
	if v.Port > 0 {
		port = uint16(v.Port)
	}
	if !stream {
		if p, present := v.RPort(); present && p > 0 {
			port = uint16(p)
		}
	}
	return netip.AddrPortFrom(a.Unmap(), port), true
}

// statelessResponse builds the answer a Respond verdict owes, with a To tag
// (RFC 3261 §8.2.6.2) when the request's To has none. It returns nil when
// the request cannot be answered (no Via).
func statelessResponse(req *sip.Message, vd sip.Verdict) *sip.Message {
	if req.HeaderIndex("Via", 0) < 0 {
		return nil
	}
	resp := vd.Response(req)
	if resp == nil {
		return nil
	}
	AddToTag(resp, "")
	return resp
}

// AddToTag appends ;tag= to resp's To header when it has none (RFC 3261
// §8.2.6.2); an empty tag takes a random one. It returns the tag in place.
func AddToTag(resp *sip.Message, tag string) string {
	i := resp.HeaderIndex("To", 0)
	if i < 0 {
		return ""
	}
	val := resp.Headers[i].Value
	if t, ok := TagOf(val); ok {
		return t
	}
	if tag == "" {
		tag = RandomToken(10)
	}
	resp.ReplaceHeader(i, val+";tag="+tag)
	return tag
}

// TagOf returns the tag parameter of a From or To header value without a
// full name-addr parse (RFC 3261 §20.20, §20.39): the header parameters
// follow the closing '>' of a name-addr, or the first ';' of an addr-spec
// (§20.10). Quoted display names are skipped. present is false without a
// tag.
func TagOf(v string) (tag string, present bool) {
	params := ""
	inQuote := false
	lt := -1
	for i := 0; i < len(v) && lt < 0; i++ {
		switch c := v[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '<':
			lt = i
		}
	}
	if lt >= 0 {
		gt := strings.IndexByte(v[lt:], '>')
		if gt < 0 {
			return "", false
		}
		params = v[lt+gt+1:]
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		params = v[i:]
	}
	for params != "" {
		i := strings.IndexByte(params, ';')
		if i < 0 {
			return "", false
		}
		params = params[i+1:]
		p := params
		if j := strings.IndexByte(p, ';'); j >= 0 {
			p = p[:j]
		}
		name, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "tag") {
			return strings.TrimSpace(val), true
		}
	}
	return "", false
}
