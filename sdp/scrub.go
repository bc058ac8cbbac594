package sdp

import (
	"errors"
	"net/netip"
	"strings"
)

// maxSecrets bounds what a scrubber remembers: a session names few
// addresses; past the bound the rest are not checked (the rewrite itself
// has replaced every line known to carry one).
const maxSecrets = 16

// minHostName is the shortest host name the scrubber looks for.
const minHostName = 4

// scrubber is Rewrite's safety net against topology leaks through lines it
// does not understand. Before the rewrite it collects the received
// identifiers: every c= address or host name, the o= address, username and
// session id, a=rtcp addresses. After the rewrite it removes every a=, b= and
// k= line that still contains one of them. Identifiers too short to be
// specific (an o= username under 4 characters such as "-", a session id
// under 6 digits, unspecified addresses) and the relay's own addresses are
// not collected, so ordinary lines are not removed by chance.
type scrubber struct {
	n       int
	secrets [maxSecrets]string
}

// add remembers v. An address literal is always specific enough (but for
// the unspecified ones, which are no topology, and the relay's own); a name
// or identifier needs min characters.
func (sc *scrubber) add(v string, min int, p *RewriteParams) {
	if sc.n == maxSecrets || v == "" {
		return
	}
	if a, err := parseAddrQuiet(v); err == nil {
		if a.IsUnspecified() || a == p.Addr {
			return
		}
		for _, sp := range p.Streams {
			if a == sp.Addr {
				return
			}
		}
	} else if len(v) < min {
		return
	}
	for _, s := range sc.secrets[:sc.n] {
		if s == v {
			return
		}
	}
	sc.secrets[sc.n] = v
	sc.n++
}

func (sc *scrubber) collectLines(lines []Line, p *RewriteParams) {
	for _, l := range lines {
		switch {
		case l.Type == 'c':
			if c, err := ParseConnection(l.Value); err == nil {
				sc.add(c.Address, minHostName, p)
			}
		case l.isAttr("rtcp"):
			if r, err := ParseRTCP(l.attrValue()); err == nil && r.Conn.NetType != "" {
				sc.add(r.Conn.Address, minHostName, p)
			}
		}
	}
}

func (sc *scrubber) collect(s *Session, p *RewriteParams) {
	sc.add(s.Origin.Address, minHostName, p)
	sc.add(s.Origin.Username, 4, p)
	sc.add(s.Origin.SessionID, 6, p)
	sc.collectLines(s.Lines, p)
	for i := range s.Media {
		sc.collectLines(s.Media[i].Lines, p)
	}
}

func (sc *scrubber) scrub(s *Session, p *RewriteParams) {
	if sc.n == 0 {
		return
	}
	s.Lines = sc.scrubLines(s.Lines, p)
	for i := range s.Media {
		s.Media[i].Lines = sc.scrubLines(s.Media[i].Lines, p)
	}
}

func (sc *scrubber) scrubLines(lines []Line, p *RewriteParams) []Line {
	w := 0
	for _, l := range lines {
		if sc.leaks(l, p) {
			continue
		}
		lines[w] = l
		w++
	}
	clear(lines[w:])
	return lines[:w]
}

func (sc *scrubber) leaks(l Line, p *RewriteParams) bool {
	switch l.Type {
	case 'a':
		if p.KeepICE && isICE(l) {
			return false // kept on purpose, candidates and all
		}
	case 'b', 'k':
	default:
		return false // c= was rewritten; t=, r=, z= hold times
	}
	for _, s := range sc.secrets[:sc.n] {
		if strings.Contains(l.Value, s) {
			return true
		}
	}
	return false
}

var errNotAddr = errors.New("not an address")

// parseAddrQuiet is netip.ParseAddr without its allocated error for what
// cannot be an address (a host name, a username).
func parseAddrQuiet(v string) (netip.Addr, error) {
	sep := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '.' || c == ':':
			sep = true
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return netip.Addr{}, errNotAddr
		}
	}
	if !sep {
		return netip.Addr{}, errNotAddr
	}
	return netip.ParseAddr(v)
}
