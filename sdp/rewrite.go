package sdp

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// StreamParams is what the relay allocated on one leg for one m= line.
type StreamParams struct {
	// Port is the relay's RTP port. 0 rejects (answer, RFC 3264 §6) or
	// disables (offer, RFC 3264 §8.2) the stream. A stream that arrives with
	// port 0 keeps port 0 whatever Port says.
	Port uint16
	// RTCPPort is the relay's RTCP port; 0 means Port+1 (RFC 3550 §11).
	// When it is not Port+1 an a=rtcp line says so (RFC 3605 §2.1).
	RTCPPort uint16
	// Addr, when valid, overrides RewriteParams.Addr for this stream with a
	// media-level c= (a relay with per-family addresses, RFC 5118 §4.8).
	Addr netip.Addr
}

// RewriteParams says how Rewrite turns an SDP received on one leg into the
// SDP sent on the other. The zero values of the optional fields give the
// topology-hiding behaviour.
type RewriteParams struct {
	// Addr is the relay's address on the outgoing leg; c= lines become
	// "IN IP4 <Addr>" or "IN IP6 <Addr>" by its family. Required.
	Addr netip.Addr
	// Origin is the outgoing leg's origin state (o= and its version).
	// Required.
	Origin *Origin
	// Streams has one entry per m= line, in order. Required.
	Streams []StreamParams
	// Codecs is the allow-list of encoding names (case-insensitive:
	// "PCMU", "PCMA", "G722", "opus", "telephone-event"). Payload types
	// without rtpmap are named by the static table of RFC 3551 §6. nil
	// keeps every codec; an empty non-nil list keeps none. It applies to RTP
	// streams only (not image/udptl T.38 or application streams).
	Codecs []string
	// Offer marks the SDP as an offer. A stream left without codecs is then
	// disabled with port 0 (RFC 3264 §5.1) and Rewrite returns a *CodecError;
	// in an answer it is rejected with port 0 (RFC 3264 §6) silently.
	Offer bool
	// ICELite, when set, makes the relay an ICE-lite agent on the outgoing
	// leg (RFC 8445 §2.5, for WebRTC peers): the received ICE attributes are
	// removed and replaced by a=ice-lite, these credentials and one host
	// candidate per component on the relay's address and ports (RFC 8839
	// §5.1), then a=end-of-candidates (RFC 8840 §4.1). Excludes KeepICE.
	ICELite *ICECredentials
	// KeepICE keeps the ICE attributes (RFC 8839: candidate, ice-ufrag,
	// ice-pwd, ice-options, ice-lite, end-of-candidates, remote-candidates,
	// ice-mismatch, ice-pacing). Candidates carry the sender's addresses:
	// keeping them defeats topology hiding.
	KeepICE bool
	// DropRTCPMux removes a=rtcp-mux (RFC 5761), for a peer that must get
	// RTCP on its own port; a=rtcp then carries RTCPPort as usual.
	DropRTCPMux bool
	// SessionName replaces s= ("" gives "-", RFC 8866 §5.3), unless KeepInfo.
	SessionName string
	// KeepInfo keeps s=, i=, u=, e= and p= as received; by default s= is
	// replaced and the others, which name people and sites, are removed.
	KeepInfo bool
	// DropAttributes names further attributes to remove at every level
	// (case-insensitive), e.g. "tool" or vendor extensions.
	DropAttributes []string
	// NoScrub turns off the safety net that removes lines still naming a
	// received address, host name, o= username or session id.
	NoScrub bool
}

// ICECredentials are the relay's own ICE username fragment and password for
// one leg (RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/"; ufrag 4 to
// 256 characters, password 22 to 256).
type ICECredentials struct {
	Ufrag string
	Pwd   string
}

func (c *ICECredentials) valid() bool {
	return iceChars(c.Ufrag, 4) && iceChars(c.Pwd, 22)
}

func iceChars(s string, min int) bool {
	if len(s) < min || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// CodecError is returned (wrapping ErrNoCodec) by Rewrite on an offer in
// which some streams kept no allowed codec. The session was rewritten in
// full, those streams with port 0; the B2BUA may send it or refuse the
// offer (488, RFC 3261 §13.3.1.4) when every stream is disabled.
type CodecError struct {
	Streams []int // indices of the disabled m= lines
}

func (e *CodecError) Error() string {
	return fmt.Sprintf("sdp: %v: streams %v", ErrNoCodec, e.Streams)
}

// Unwrap returns ErrNoCodec.
func (e *CodecError) Unwrap() error { return ErrNoCodec }

// iceAttrs are the ICE attributes of RFC 8839 §5 (and RFC 8840
// end-of-candidates).
var iceAttrs = [...]string{
	"candidate", "remote-candidates", "end-of-candidates", "ice-ufrag",
	"ice-pwd", "ice-options", "ice-lite", "ice-mismatch", "ice-pacing",
}

// Rewrite turns s, as received on one leg, into the SDP to send on the other,
// in place; serialise it with AppendTo. It is the one mechanism the B2BUA uses
// for every offer and answer:
//
//   - every c= (session and media level) names p.Addr, or the stream's own
//     Addr; a session-level c= is added when a media description would
//     otherwise have none (RFC 8866 §5.7); multicast TTL/count are dropped;
//   - each m= port becomes the stream's relay port (a port-count suffix is
//     dropped: the relay anchors one port pair per stream); streams received
//     with port 0 stay rejected (RFC 3264 §6, §8.2);
//   - a=rtcp names the relay's RTCP port (and address, if it had one), is
//     added when the RTCP port is not RTP+1 (RFC 3605), and is removed when
//     the stream uses rtcp-mux (RFC 5761 §5.1.3) or is rejected;
//   - ICE attributes are removed unless KeepICE; with ICELite they are
//     replaced by the relay's own (a=ice-lite, credentials, host candidates);
//   - codecs not in p.Codecs are removed with their rtpmap, fmtp and rtcp-fb
//     lines; m= lines are never removed or reordered (RFC 3264 §6, §8);
//   - s= is replaced and i=, u=, e=, p= and unknown line types are removed
//     (unless KeepInfo; unknown types always); a missing t= becomes "t=0 0";
//   - as a safety net (unless NoScrub), any remaining a=, b= or k= line
//     that still names one of the received addresses or host names (c=, o=,
//     a=rtcp), or the received o= username or session id, is removed
//     (an a=X-Nat, an a=ssrc cname of user@host...); see scrubber;
//   - o= becomes the leg's own (p.Origin.Stamp, RFC 3264 §8 versioning).
//
// On ErrParams s is unchanged. A *CodecError is returned after a complete
// rewrite.
func Rewrite(s *Session, p RewriteParams) error {
	if err := checkParams(s, &p); err != nil {
		return err
	}
	conn := connValue(p.Addr)
	sessConn, hasSessConn := s.Connection()
	sessionICE := hasAttr(s.Lines, "ice-ufrag")
	var sc scrubber
	if !p.NoScrub {
		sc.collect(s, &p)
	}

	// Session level.
	if !p.KeepInfo {
		s.Name = p.SessionName
		if s.Name == "" {
			s.Name = "-"
		}
	}
	s.Lines = rewriteSessionLines(s.Lines, conn, &p)
	// RFC 8866 §5.9: t= is mandatory; equipment that omits it means "0 0".
	if _, ok := findLine(s.Lines, 't'); !ok {
		s.Lines = slices.Insert(s.Lines, firstOf(s.Lines, "zka"), Line{'t', "0 0"})
	}

	var noCodec []int
	needSessionConn := false
	for i := range s.Media {
		m := &s.Media[i]
		sp := p.Streams[i]
		held := heldByAddress(sessConn, hasSessConn, m) && !icePlaceholder(sessionICE, m)
		rejected := m.Port == 0 || sp.Port == 0
		if !rejected && p.Codecs != nil && m.filterCodecs(p.Codecs) == 0 {
			rejected = true
			noCodec = append(noCodec, i)
		}
		m.PortCount = 0
		if rejected {
			m.Port = 0
		} else {
			m.Port = int(sp.Port)
		}
		mconn := conn
		if sp.Addr.IsValid() {
			mconn = connValue(sp.Addr)
		}
		if held {
			// RFC 3264 §8.4: hold signalled by c=0.0.0.0 is kept as such
			// (the unspecified address of the relay's family reveals
			// nothing); the relay's address would take the hold away.
			mconn = unspecifiedConn(p.Addr, sp.Addr)
		}
		rtcpPort := int(sp.RTCPPort)
		if rtcpPort == 0 {
			rtcpPort = m.Port + 1
		}
		rtcpAddr := p.Addr
		if sp.Addr.IsValid() {
			rtcpAddr = sp.Addr
		}
		mux := hasAttr(m.Lines, "rtcp-mux") && !p.DropRTCPMux
		var hasConn, hasRTCP bool
		m.Lines, hasConn, hasRTCP = rewriteMediaLines(m.Lines, mconn, &p, mediaState{
			rejected: rejected, mux: mux, rtcpPort: rtcpPort, rtcpAddr: rtcpAddr,
		})
		if !hasConn {
			if sp.Addr.IsValid() || held {
				m.Lines = slices.Insert(m.Lines, firstOf(m.Lines, "bka"), Line{'c', mconn})
			} else {
				needSessionConn = true
			}
		}
		// RFC 3605 §2.1: a=rtcp is needed when RTCP is not on RTP port + 1.
		if !rejected && !mux && !hasRTCP && rtcpPort != m.Port+1 {
			m.Lines = append(m.Lines, Line{'a', "rtcp:" + strconv.Itoa(rtcpPort)})
		}
		if p.ICELite != nil && !rejected {
			m.Lines = appendICELite(m.Lines, p.ICELite, rtcpAddr, m.Port, rtcpPort, mux)
		}
	}
	if p.ICELite != nil {
		// RFC 8839 §5.3: ice-lite is a session-level attribute.
		s.Lines = append(s.Lines, Line{'a', "ice-lite"})
	}
	if _, ok := findLine(s.Lines, 'c'); !ok && needSessionConn {
		s.Lines = slices.Insert(s.Lines, firstOf(s.Lines, "btrzka"), Line{'c', conn})
	}

	if !p.NoScrub {
		sc.scrub(s, &p)
	}
	p.Origin.Stamp(s)
	if len(noCodec) > 0 && p.Offer {
		return &CodecError{Streams: noCodec}
	}
	return nil
}

func checkParams(s *Session, p *RewriteParams) error {
	switch {
	case !p.Addr.IsValid() || p.Addr.Zone() != "":
		return fmt.Errorf("sdp: %w: relay address %v", ErrParams, p.Addr)
	case p.Origin == nil || !p.Origin.valid:
		return fmt.Errorf("sdp: %w: no origin (or origin without address)", ErrParams)
	case len(p.Streams) != len(s.Media):
		return fmt.Errorf("sdp: %w: %d stream params for %d m= lines", ErrParams, len(p.Streams), len(s.Media))
	}
	if p.ICELite != nil && (p.KeepICE || !p.ICELite.valid()) {
		return fmt.Errorf("sdp: %w: ICE-lite credentials invalid or KeepICE also set", ErrParams)
	}
	for i, sp := range p.Streams {
		if sp.Addr.IsValid() && sp.Addr.Zone() != "" {
			return fmt.Errorf("sdp: %w: stream %d address %v", ErrParams, i, sp.Addr)
		}
	}
	return nil
}

// heldByAddress reports whether the c= in force for m (media level, else
// session level) is an unspecified address: hold in the RFC 2543 manner that
// RFC 3264 §8.4 still asks answerers to understand.
func heldByAddress(sessConn Connection, hasSessConn bool, m *Media) bool {
	c, ok := m.Connection()
	if !ok {
		c, ok = sessConn, hasSessConn
	}
	return ok && c.Addr.IsValid() && c.Addr.IsUnspecified()
}

// icePlaceholder reports whether m's port is the RFC 8840 §4.3.1 placeholder
// (9, with 0.0.0.0) of an ICE offer whose candidates are to be trickled: not
// a hold, so the relay's address replaces it.
func icePlaceholder(sessionICE bool, m *Media) bool {
	return m.Port == 9 && (sessionICE || hasAttr(m.Lines, "ice-ufrag"))
}

// unspecifiedConn is the c= value of the unspecified address in the family
// of the stream's relay address.
func unspecifiedConn(addr, streamAddr netip.Addr) string {
	if streamAddr.IsValid() {
		addr = streamAddr
	}
	if addr.Is4() {
		return "IN IP4 0.0.0.0"
	}
	return "IN IP6 ::"
}

// connValue formats a c= value for a; the family decides IP4 or IP6
// (RFC 8866 §5.7; an IPv4-mapped IPv6 address stays IP6, RFC 5118 §4.9).
func connValue(a netip.Addr) string {
	var buf [64]byte
	return string(appendConn(buf[:0], a))
}

func appendConn(b []byte, a netip.Addr) []byte {
	b = append(b, "IN "...)
	b = append(b, addrType(a)...)
	b = append(b, ' ')
	return a.AppendTo(b)
}

// firstOf returns the index of the first line whose type is in types, or
// len(lines): the place to insert a line of the type before them in the
// RFC 8866 §5 order.
func firstOf(lines []Line, types string) int {
	for i, l := range lines {
		if strings.IndexByte(types, l.Type) >= 0 {
			return i
		}
	}
	return len(lines)
}

func hasAttr(lines []Line, name string) bool {
	for _, l := range lines {
		if l.isAttr(name) {
			return true
		}
	}
	return false
}

func isICE(l Line) bool {
	for _, n := range iceAttrs {
		if l.isAttr(n) {
			return true
		}
	}
	return false
}

// dropAttr reports whether an a= line is removed at any level: ICE unless
// kept, or named in DropAttributes.
func dropAttr(l Line, p *RewriteParams) bool {
	if !p.KeepICE && isICE(l) {
		return true
	}
	for _, n := range p.DropAttributes {
		if l.isAttr(n) {
			return true
		}
	}
	return false
}

func rewriteSessionLines(lines []Line, conn string, p *RewriteParams) []Line {
	w := 0
	hasConn := false
	for _, l := range lines {
		switch l.Type {
		case 'c':
			// RFC 8866 §5.7: one c= at session level.
			if hasConn {
				continue
			}
			hasConn, l.Value = true, conn
		case 'i', 'u', 'e', 'p':
			if !p.KeepInfo {
				continue
			}
		case 'b', 't', 'r', 'z', 'k':
		case 'a':
			// RFC 3605 §2.1: a=rtcp is a media-level attribute; at session
			// level nothing rewrites its address.
			if dropAttr(l, p) || l.isAttr("rtcp") {
				continue
			}
		default:
			// Not an RFC 8866 type: nothing vouches for its content.
			continue
		}
		lines[w] = l
		w++
	}
	clear(lines[w:])
	return lines[:w]
}

type mediaState struct {
	rejected bool
	mux      bool
	rtcpPort int
	rtcpAddr netip.Addr
}

func rewriteMediaLines(lines []Line, conn string, p *RewriteParams, st mediaState) (_ []Line, hasConn, hasRTCP bool) {
	w := 0
	for _, l := range lines {
		switch l.Type {
		case 'c':
			// Several c= lines are multicast layers (RFC 8866 §5.7); the
			// relay is one unicast address.
			if hasConn {
				continue
			}
			hasConn, l.Value = true, conn
		case 'i':
			if !p.KeepInfo {
				continue
			}
		case 'b', 'k':
		case 'a':
			switch {
			case dropAttr(l, p):
				continue
			case l.isAttr("rtcp"):
				// RFC 5761 §5.1.3: with rtcp-mux RTCP shares the RTP port.
				if st.rejected || st.mux || hasRTCP {
					continue
				}
				hasRTCP = true
				l.Value = rtcpValue(l, st)
			case l.isAttr("rtcp-mux"):
				if p.DropRTCPMux {
					continue
				}
			}
		default:
			continue
		}
		lines[w] = l
		w++
	}
	clear(lines[w:])
	return lines[:w], hasConn, hasRTCP
}

// rtcpValue rewrites an a=rtcp value (RFC 3605 §2.1), naming the relay's
// address only when the original named one.
func rtcpValue(l Line, st mediaState) string {
	var buf [80]byte
	b := strconv.AppendInt(append(buf[:0], "rtcp:"...), int64(st.rtcpPort), 10)
	if r, err := ParseRTCP(l.attrValue()); err == nil && r.Conn.NetType != "" {
		b = appendConn(append(b, ' '), st.rtcpAddr)
	}
	return string(b)
}

// CheckAnswer verifies that answer has the m= lines of offer: the same
// number, and the same media type at each position (RFC 3264 §6).
func CheckAnswer(offer, answer *Session) error {
	if len(offer.Media) != len(answer.Media) {
		return fmt.Errorf("sdp: %w: %d m= lines for %d offered", ErrAnswerMismatch, len(answer.Media), len(offer.Media))
	}
	for i := range offer.Media {
		if offer.Media[i].Type != answer.Media[i].Type {
			return fmt.Errorf("sdp: %w: m= line %d is %q, offered %q", ErrAnswerMismatch, i, answer.Media[i].Type, offer.Media[i].Type)
		}
	}
	return nil
}

// appendICELite adds the relay's ICE-lite attributes to one stream: its
// credentials (RFC 8839 §5.4), a host candidate for RTP (component 1) and,
// without rtcp-mux, for RTCP (component 2) (RFC 8839 §5.1), and
// end-of-candidates (RFC 8840 §4.1).
func appendICELite(lines []Line, c *ICECredentials, addr netip.Addr, port, rtcpPort int, mux bool) []Line {
	lines = append(lines,
		Line{'a', "ice-ufrag:" + c.Ufrag},
		Line{'a', "ice-pwd:" + c.Pwd},
		Line{'a', hostCandidate(1, addr, port)})
	if !mux {
		lines = append(lines, Line{'a', hostCandidate(2, addr, rtcpPort)})
	}
	return append(lines, Line{'a', "end-of-candidates"})
}

// hostCandidate formats a=candidate for a host candidate. Priority per
// RFC 8445 §5.1.2.1: 2^24·126 (host) + 2^8·65535 (sole local preference) +
// (256 − component).
func hostCandidate(component int, addr netip.Addr, port int) string {
	var buf [96]byte
	b := append(buf[:0], "candidate:1 "...)
	b = strconv.AppendInt(b, int64(component), 10)
	b = append(b, " UDP "...)
	b = strconv.AppendInt(b, 1<<24*126+1<<8*65535+256-int64(component), 10)
	b = append(b, ' ')
	b = addr.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(port), 10)
	b = append(b, " typ host"...)
	return string(b)
}
