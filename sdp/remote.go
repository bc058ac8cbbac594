package sdp

import "net/netip"

// StreamInfo is what the sender of an SDP signalled for one m= line: where it
// wants to receive media and how. The relay uses it to latch and send.
type StreamInfo struct {
	Index int    // position of the m= line
	Media string // audio, video, image, ...
	Proto string // RTP/AVP, UDP/TLS/RTP/SAVPF, udptl, ...
	// Addr is the RTP destination: the media-level c= address, else the
	// session-level one (RFC 8866 §5.7), and the m= port. When c= names a
	// host instead of an address, Addr's address is invalid (its port is
	// still set) and Host holds the name.
	Addr netip.AddrPort
	Host string
	// RTCP is the RTCP destination: a=rtcp's port and address when given
	// (RFC 3605 §2.1), else the RTP address and port + 1 (RFC 3550 §11).
	// Invalid when the stream is rejected or Addr is.
	RTCP netip.AddrPort
	// RTCPMux is true when a=rtcp-mux is present (RFC 5761 §5.1.1): in an
	// offer, offered; in an answer, accepted (RTCP then goes to Addr).
	RTCPMux bool
	// Direction is the stream's direction attribute, else the session's,
	// else sendrecv (RFC 8866 §6.7).
	Direction Direction
	// Hold is true when the sender puts the stream on hold: sendonly or
	// inactive, or a c= address of 0.0.0.0 (RFC 3264 §8.4) or "::" — but
	// not the ICE placeholder 0.0.0.0 with port 9 of an offer whose
	// candidates are still to be trickled (RFC 8840 §4.3.1).
	Hold bool
	// ICE is true when the sender does ICE (a=ice-ufrag at media or
	// session level, RFC 8839 §5.4): it will send STUN connectivity checks.
	ICE bool
	// ICEUfrag and ICEPwd are the sender's ICE credentials (media level,
	// else session level), which its connectivity checks use.
	ICEUfrag, ICEPwd string
	// Rejected is true for port 0 (RFC 3264 §6 rejected, §8.2 disabled).
	Rejected bool
	// Codecs are the stream's RTP payload types in m= order, resolved by
	// rtpmap or the static table (Name empty when unknown); nil for a
	// non-RTP stream.
	Codecs []Codec
	// Ptime is a=ptime in milliseconds (RFC 8866 §6.4), 0 when absent.
	Ptime int
}

// Remote returns, for each m= line of s in order, what its sender signalled.
// Call it on the SDP as received, before Rewrite.
func Remote(s *Session) []StreamInfo {
	return AppendRemote(make([]StreamInfo, 0, len(s.Media)), s)
}

// AppendRemote is Remote appending to dst, for callers that reuse a slice.
func AppendRemote(dst []StreamInfo, s *Session) []StreamInfo {
	sessConn, hasSessConn := s.Connection()
	for i := range s.Media {
		m := &s.Media[i]
		info := StreamInfo{
			Index:     i,
			Media:     m.Type,
			Proto:     m.Proto,
			Rejected:  m.Port == 0,
			RTCPMux:   hasAttr(m.Lines, "rtcp-mux"),
			Direction: s.Direction(i),
		}
		c, ok := m.Connection()
		if !ok && hasSessConn {
			c, ok = sessConn, true
		}
		if ok {
			info.Addr = netip.AddrPortFrom(c.Addr, uint16(m.Port))
			if !c.Addr.IsValid() {
				info.Host = c.Address
			}
		} else {
			info.Addr = netip.AddrPortFrom(netip.Addr{}, uint16(m.Port))
		}
		info.ICEUfrag, info.ICE = m.Attr("ice-ufrag")
		if !info.ICE {
			info.ICEUfrag, info.ICE = s.Attr("ice-ufrag")
		}
		if pwd, ok := m.Attr("ice-pwd"); ok {
			info.ICEPwd = pwd
		} else {
			info.ICEPwd, _ = s.Attr("ice-pwd")
		}
		// RFC 3264 §8.4: hold by direction, or by the RFC 2543 0.0.0.0.
		info.Hold = info.Direction == SendOnly || info.Direction == Inactive ||
			(c.Addr.IsValid() && c.Addr.IsUnspecified() && !(info.ICE && m.Port == 9))
		if !info.Rejected && info.Addr.Addr().IsValid() {
			rtcpAddr, rtcpPort := info.Addr.Addr(), m.Port+1
			if v, ok := m.Attr("rtcp"); ok {
				if r, err := ParseRTCP(v); err == nil {
					rtcpPort = r.Port
					if r.Conn.Addr.IsValid() {
						rtcpAddr = r.Conn.Addr
					}
				}
			}
			if rtcpPort <= 65535 {
				info.RTCP = netip.AddrPortFrom(rtcpAddr, uint16(rtcpPort))
			}
		}
		if v, ok := m.Attr("ptime"); ok {
			info.Ptime, _ = parseDecimal(trimSpace(v), 10000)
		}
		if IsRTP(m.Proto) {
			var tbl codecTable
			tbl.fill(m)
			info.Codecs = make([]Codec, 0, len(m.Formats))
			for _, f := range m.Formats {
				c, ok := tbl.lookup(f)
				if !ok {
					c = Codec{Fmtp: c.Fmtp}
					c.PT, _ = parseDecimal(f, 127)
				}
				info.Codecs = append(info.Codecs, c)
			}
		}
		dst = append(dst, info)
	}
	return dst
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
