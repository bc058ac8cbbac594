package sdp

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxSize is the largest SDP body Parse accepts, in bytes. A SIP message over
// UDP cannot carry more, and a WebRTC offer with many candidates stays far
// below it.
const MaxSize = 64 << 10

// Line is one SDP line other than v=, o=, s= and m=, kept verbatim: Type is
// the type letter and Value the text after "=". Unknown type letters are
// kept too, in their place.
type Line struct {
	Type  byte
	Value string
}

// Attr splits an a= line into attribute name and value. For a property
// attribute (a=rtcp-mux) value is empty and hasValue false. ok is false when
// the line is not an a= line.
func (l Line) Attr() (name, value string, hasValue, ok bool) {
	if l.Type != 'a' {
		return "", "", false, false
	}
	name, value, hasValue = strings.Cut(l.Value, ":")
	return name, value, hasValue, true
}

// isAttr reports whether l is an a= line whose name equals name (attribute
// names are case-sensitive tokens, RFC 8866 §5.13, but equipment varies in
// case, so the comparison ignores it).
func (l Line) isAttr(name string) bool {
	if l.Type != 'a' || name == "" || len(l.Value) < len(name) || l.Value[0]|0x20 != name[0]|0x20 {
		return false
	}
	if len(l.Value) > len(name) && l.Value[len(name)] != ':' {
		return false
	}
	return strings.EqualFold(l.Value[:len(name)], name)
}

// attrValue returns the value of an a=name:value line.
func (l Line) attrValue() string {
	_, v, _ := strings.Cut(l.Value, ":")
	return v
}

// OriginLine is the o= line (RFC 8866 §5.2). The fields are kept as written:
// sess-id and sess-version may exceed 64 bits in the wild.
type OriginLine struct {
	Username       string
	SessionID      string
	SessionVersion string
	NetType        string
	AddrType       string
	Address        string
}

// Media is one media description: its m= line (RFC 8866 §5.14) and the lines
// that follow it up to the next m= line, in order.
type Media struct {
	Type      string   // audio, video, text, application, message, image, ...
	Port      int      // transport port, 0 when the stream is rejected or disabled
	PortCount int      // the "/<number of ports>" suffix, 0 when absent
	Proto     string   // RTP/AVP, RTP/SAVP, RTP/AVPF, UDP/TLS/RTP/SAVPF, udptl, ...
	Formats   []string // payload type numbers for RTP protocols, else format names
	Lines     []Line   // i=, c=, b=, k=, a= and unknown lines, in order
}

// Session is a parsed SDP body. v= is always 0 and is not stored. Lines holds
// the session-level lines after s= (i= u= e= p= c= b= t= r= z= k= a= and
// unknown ones) in their order, so that Parse followed by AppendTo gives back
// the same bytes for well-formed input (with CRLF line ends and single spaces
// between the fields of o= and m=).
type Session struct {
	Origin OriginLine
	Name   string // s=
	Lines  []Line
	Media  []Media
}

// Parse parses an SDP body. Line ends may be CRLF or bare LF; blank lines are
// skipped. See Session.Unmarshal.
func Parse(b []byte) (*Session, error) {
	s := new(Session)
	if err := s.Unmarshal(b); err != nil {
		return nil, err
	}
	return s, nil
}

// Unmarshal parses b into s, reusing the slices s already has. All strings in
// s are substrings of one copy of b, so s never aliases b. On error the
// content of s is unspecified. A Session is not safe for concurrent use.
//
// It is strict where garbage must be refused (missing v=/o=/s=, malformed o=,
// m=, c=, a=rtpmap or a=rtcp, bad ports, control characters) and lenient where
// real equipment deviates: a missing t=, runs of spaces or tabs between
// fields, o= and s= in either order, lines outside the RFC 8866 §5 order.
func (s *Session) Unmarshal(b []byte) error {
	s.reset()
	if len(b) > MaxSize {
		return fmt.Errorf("sdp: %w: %d bytes", ErrTooLarge, len(b))
	}
	text := string(b)
	var seenV, seenO, seenS bool
	cur := (*Media)(nil)
	for lineNo := 1; len(text) > 0; lineNo++ {
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		// RFC 8866 §5: a line is <type>=<value>, type one lower-case letter,
		// value free of NUL, CR and LF.
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' ||
			strings.IndexByte(line, '\r') >= 0 || strings.IndexByte(line, 0) >= 0 {
			return fmt.Errorf("sdp: line %d: %w: %.40q", lineNo, ErrSyntax, line)
		}
		typ, val := line[0], line[2:]
		if !seenV {
			// RFC 8866 §5.1: v= is the first line and its value is 0.
			if typ != 'v' {
				return fmt.Errorf("sdp: line %d: %w", lineNo, ErrNoVersion)
			}
			if strings.TrimSpace(val) != "0" {
				return fmt.Errorf("sdp: line %d: %w: %.20q", lineNo, ErrBadVersion, val)
			}
			seenV = true
			continue
		}
		switch typ {
		case 'v':
			return fmt.Errorf("sdp: line %d: %w: v=", lineNo, ErrDuplicate)
		case 'o':
			if seenO || cur != nil {
				return fmt.Errorf("sdp: line %d: %w: o=", lineNo, ErrDuplicate)
			}
			o, err := parseOrigin(val)
			if err != nil {
				return fmt.Errorf("sdp: line %d: %w", lineNo, err)
			}
			s.Origin, seenO = o, true
		case 's':
			if seenS || cur != nil {
				return fmt.Errorf("sdp: line %d: %w: s=", lineNo, ErrDuplicate)
			}
			s.Name, seenS = val, true
		case 'm':
			if !seenO {
				return fmt.Errorf("sdp: line %d: %w", lineNo, ErrNoOrigin)
			}
			if !seenS {
				return fmt.Errorf("sdp: line %d: %w", lineNo, ErrNoSessionName)
			}
			s.Media = s.growMedia()
			cur = &s.Media[len(s.Media)-1]
			if err := cur.parseMLine(val); err != nil {
				return fmt.Errorf("sdp: line %d: %w", lineNo, err)
			}
		default:
			if err := checkLine(typ, val); err != nil {
				return fmt.Errorf("sdp: line %d: %w", lineNo, err)
			}
			if cur != nil {
				cur.Lines = append(cur.Lines, Line{typ, val})
			} else {
				s.Lines = append(s.Lines, Line{typ, val})
			}
		}
	}
	switch {
	case !seenV:
		return fmt.Errorf("sdp: %w", ErrNoVersion)
	case !seenO:
		return fmt.Errorf("sdp: %w", ErrNoOrigin)
	case !seenS:
		return fmt.Errorf("sdp: %w", ErrNoSessionName)
	}
	// RFC 8866 §5.7: a c= line at session level or in every media
	// description. A rejected stream (port 0) is excused: it carries no media.
	if _, ok := findLine(s.Lines, 'c'); !ok {
		for i := range s.Media {
			m := &s.Media[i]
			if _, ok := findLine(m.Lines, 'c'); !ok && m.Port != 0 {
				return fmt.Errorf("sdp: media %d: %w", i, ErrNoConnection)
			}
		}
	}
	return nil
}

func (s *Session) reset() {
	s.Origin = OriginLine{}
	s.Name = ""
	clear(s.Lines)
	s.Lines = s.Lines[:0]
	for i := range s.Media {
		m := &s.Media[i]
		clear(m.Formats)
		clear(m.Lines)
		m.Formats, m.Lines = m.Formats[:0], m.Lines[:0]
	}
	s.Media = s.Media[:0]
}

// growMedia appends a Media, reusing the slices of a previously parsed one.
func (s *Session) growMedia() []Media {
	if len(s.Media) < cap(s.Media) {
		ms := s.Media[:len(s.Media)+1]
		m := &ms[len(ms)-1]
		*m = Media{Formats: m.Formats[:0], Lines: m.Lines[:0]}
		return ms
	}
	return append(s.Media, Media{})
}

// checkLine validates the lines whose content the SBC acts on.
func checkLine(typ byte, val string) error {
	switch typ {
	case 'c':
		_, err := ParseConnection(val)
		return err
	case 'a':
		l := Line{typ, val}
		switch {
		case l.isAttr("rtpmap"):
			_, err := ParseRTPMap(l.attrValue())
			return err
		case l.isAttr("rtcp"):
			_, err := ParseRTCP(l.attrValue())
			return err
		}
	}
	return nil
}

func findLine(lines []Line, typ byte) (int, bool) {
	for i := range lines {
		if lines[i].Type == typ {
			return i, true
		}
	}
	return -1, false
}

// nextField returns the first space- or tab-separated token of s and the rest.
func nextField(s string) (tok, rest string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' {
		j++
	}
	return s[i:j], s[j:]
}

// parseOrigin parses o=<username> <sess-id> <sess-version> <nettype>
// <addrtype> <unicast-address> (RFC 8866 §5.2).
func parseOrigin(v string) (OriginLine, error) {
	var f [6]string
	rest := v
	for i := range f {
		f[i], rest = nextField(rest)
		if f[i] == "" {
			return OriginLine{}, fmt.Errorf("%w: %.60q", ErrBadOrigin, v)
		}
	}
	if tok, _ := nextField(rest); tok != "" {
		return OriginLine{}, fmt.Errorf("%w: %.60q", ErrBadOrigin, v)
	}
	return OriginLine{f[0], f[1], f[2], f[3], f[4], f[5]}, nil
}

// parseMLine parses m=<media> <port>[/<number of ports>] <proto> <fmt> ...
// (RFC 8866 §5.14).
func (m *Media) parseMLine(line string) error {
	var port string
	var v string
	m.Type, v = nextField(line)
	port, v = nextField(v)
	m.Proto, v = nextField(v)
	if m.Type == "" || port == "" || m.Proto == "" {
		return fmt.Errorf("%w: %.60q", ErrBadMedia, line)
	}
	p, count, hasCount := strings.Cut(port, "/")
	var ok bool
	if m.Port, ok = parseDecimal(p, 65535); !ok {
		return fmt.Errorf("%w: %.20q", ErrBadPort, port)
	}
	if hasCount {
		if m.PortCount, ok = parseDecimal(count, 65535); !ok || m.PortCount == 0 {
			return fmt.Errorf("%w: %.20q", ErrBadPort, port)
		}
	}
	rtp := IsRTP(m.Proto)
	for {
		var f string
		if f, v = nextField(v); f == "" {
			break
		}
		// RFC 3551 §3 / RFC 8866 §5.14: for RTP profiles the formats are
		// payload type numbers 0..127.
		if rtp {
			if _, ok := parseDecimal(f, 127); !ok {
				return fmt.Errorf("%w: payload type %.20q", ErrBadMedia, f)
			}
		}
		m.Formats = append(m.Formats, f)
	}
	// RFC 8866 §5.14 requires at least one format; equipment omits it on
	// rejected streams, which is tolerated.
	if len(m.Formats) == 0 && m.Port != 0 {
		return fmt.Errorf("%w: no formats", ErrBadMedia)
	}
	return nil
}

// IsRTP reports whether a media transport protocol is an RTP profile
// (RTP/AVP, RTP/SAVP, RTP/AVPF, RTP/SAVPF, UDP/TLS/RTP/SAVPF, TCP/RTP/AVP...),
// whose formats are RTP payload types.
func IsRTP(proto string) bool {
	return strings.HasPrefix(proto, "RTP/") || strings.Contains(proto, "/RTP/")
}

// parseDecimal parses a non-empty run of ASCII digits no greater than max.
func parseDecimal(s string, max int) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= max
}

// AppendTo appends the session in SDP form to dst, with CRLF line ends
// (RFC 8866 §5), and returns the extended slice.
func (s *Session) AppendTo(dst []byte) []byte {
	dst = append(dst, "v=0\r\n"...)
	dst = s.appendOrigin(dst)
	return s.appendBody(dst)
}

// String returns the session in SDP form.
func (s *Session) String() string { return string(s.AppendTo(nil)) }

func (s *Session) appendOrigin(dst []byte) []byte {
	o := &s.Origin
	dst = append(dst, "o="...)
	dst = append(dst, o.Username...)
	dst = append(dst, ' ')
	dst = append(dst, o.SessionID...)
	dst = append(dst, ' ')
	dst = append(dst, o.SessionVersion...)
	dst = append(dst, ' ')
	dst = append(dst, o.NetType...)
	dst = append(dst, ' ')
	dst = append(dst, o.AddrType...)
	dst = append(dst, ' ')
	dst = append(dst, o.Address...)
	return append(dst, "\r\n"...)
}

// appendBody appends everything after o=.
func (s *Session) appendBody(dst []byte) []byte {
	dst = append(dst, "s="...)
	dst = append(dst, s.Name...)
	dst = append(dst, "\r\n"...)
	dst = appendLines(dst, s.Lines)
	for i := range s.Media {
		m := &s.Media[i]
		dst = append(dst, "m="...)
		dst = append(dst, m.Type...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(m.Port), 10)
		if m.PortCount != 0 {
			dst = append(dst, '/')
			dst = strconv.AppendInt(dst, int64(m.PortCount), 10)
		}
		dst = append(dst, ' ')
		dst = append(dst, m.Proto...)
		for _, f := range m.Formats {
			dst = append(dst, ' ')
			dst = append(dst, f...)
		}
		dst = append(dst, "\r\n"...)
		dst = appendLines(dst, m.Lines)
	}
	return dst
}

func appendLines(dst []byte, lines []Line) []byte {
	for _, l := range lines {
		dst = append(dst, l.Type, '=')
		dst = append(dst, l.Value...)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// Attr returns the value of the first session-level attribute called name
// (a=name:value), and whether it is present.
func (s *Session) Attr(name string) (string, bool) { return attr(s.Lines, name) }

// Attr returns the value of the first attribute of the media description
// called name (a=name:value), and whether it is present.
func (m *Media) Attr(name string) (string, bool) { return attr(m.Lines, name) }

func attr(lines []Line, name string) (string, bool) {
	for _, l := range lines {
		if l.isAttr(name) {
			return l.attrValue(), true
		}
	}
	return "", false
}

// Connection returns the session-level c= line, if any.
func (s *Session) Connection() (Connection, bool) { return connection(s.Lines) }

// Connection returns the media-level c= line, if any (the first of several
// multicast layers).
func (m *Media) Connection() (Connection, bool) { return connection(m.Lines) }

func connection(lines []Line) (Connection, bool) {
	if i, ok := findLine(lines, 'c'); ok {
		c, err := ParseConnection(lines[i].Value)
		return c, err == nil
	}
	return Connection{}, false
}
