package sip

import (
	"bytes"
	"slices"
	"unsafe"
)

// MaxMessageSize bounds the size of a message accepted by Parse and the
// frame FrameLen will wait for. UDP datagrams cannot exceed 65535 octets;
// stream messages get twice that before the connection is deemed hostile.
const MaxMessageSize = 1 << 17

// Parse parses one SIP message: a UDP datagram, or one message framed by
// FrameLen on a stream. It keeps one owned copy of b (b may be reused by the
// caller afterwards) and every string of the result views that copy.
//
// Parse accepts what RFC 3261 §7 and RFC 4475 require a robust parser to
// accept: header names in any case and compact form (§7.3.1, §7.3.3), header
// folding and odd LWS (§7.3.1), several lines of one name, bare LF line
// ends, CRLFs before the start line (§7.5), extra SP between Request-Line
// elements and at its end (RFC 4475 lwsstart, trws; forwarded normalised).
// The body is framed by Content-Length; without it the body is the rest of
// the datagram (§18.3); octets beyond Content-Length are ignored (RFC 4475
// dblreq).
//
// Errors (all wrap ErrUnframeable) mean there is nothing to answer: drop the
// datagram or close the stream. Defects that still leave an answerable request
// (a header line without colon, Content-Length larger than the datagram,
// §18.3) are recorded in the message and reported by Validate as 400.
func Parse(b []byte) (*Message, error) {
	if len(b) > MaxMessageSize {
		return nil, errf(ErrTooLarge, "")
	}
	m := newMessage(len(b))
	m.buf = append(m.buf[:0], b...)
	if err := m.parse(); err != nil {
		return nil, err
	}
	return m, nil
}

// Messages with room for the input copy in the same allocation: one
// allocation per parsed message up to about 2 KiB. Each type fills a Go
// size class exactly (1792, 2304 and 3456 octets), counting the 8-octet
// malloc header of objects with pointers; a Message that outgrows these
// makes the array lengths negative and the build fails.
const (
	msgSize      = unsafe.Sizeof(Message{})
	mallocHeader = 8
)

type (
	messageBufS struct {
		m Message
		b [1792 - mallocHeader - msgSize]byte
	}
	messageBufM struct {
		m Message
		b [2304 - mallocHeader - msgSize]byte
	}
	messageBufL struct {
		m Message
		b [3456 - mallocHeader - msgSize]byte
	}
)

// newMessage returns a Message whose buf has capacity for n octets.
func newMessage(n int) *Message {
	switch {
	case n <= len(messageBufS{}.b):
		x := new(messageBufS)
		x.m.buf = x.b[:0:n]
		return &x.m
	case n <= len(messageBufM{}.b):
		x := new(messageBufM)
		x.m.buf = x.b[:0:n]
		return &x.m
	case n <= len(messageBufL{}.b):
		x := new(messageBufL)
		x.m.buf = x.b[:0:n]
		return &x.m
	}
	m := new(Message)
	m.buf = make([]byte, 0, n)
	return m
}

// view returns m.buf[i:j] as a string without copying (see the Message
// immutability invariant).
func (m *Message) view(i, j int) string {
	if j <= i {
		return ""
	}
	return unsafe.String(&m.buf[i], j-i)
}

func (m *Message) setDefect(s string) {
	if m.defect == "" {
		m.defect = s
	}
}

// lineEnd finds the end of the line starting at p: eol is the end of its
// content (before CRLF or bare LF) and next the start of the following line;
// next < 0 when no LF follows.
func lineEnd(b []byte, p int) (eol, next int) {
	i := bytes.IndexByte(b[p:], '\n')
	if i < 0 {
		return -1, -1
	}
	eol = p + i
	next = eol + 1
	if eol > p && b[eol-1] == '\r' {
		eol--
	}
	return eol, next
}

// field is one header field found by nextField.
type field struct {
	start, colon, eol, end, next int // colon < 0 when the first line has none
	folded                       bool
}

// nextField delimits the header field starting at p (a non-empty line not
// starting with WSP): its first line, its continuation lines (RFC 3261
// §7.3.1 folding) and the start of the next line. ok is false when the
// header section ends before a line end.
func nextField(b []byte, p int) (f field, ok bool) {
	eol, next := lineEnd(b, p)
	if next < 0 {
		return f, false
	}
	f.start, f.eol, f.end, f.next = p, eol, eol, next
	f.colon = bytes.IndexByte(b[p:eol], ':')
	if f.colon >= 0 {
		f.colon += p
	}
	for f.next < len(b) && (b[f.next] == ' ' || b[f.next] == '\t') {
		e2, n2 := lineEnd(b, f.next)
		if n2 < 0 {
			return f, false
		}
		f.end, f.next, f.folded = e2, n2, true
	}
	return f, true
}

// trimWSP returns the bounds of b[i:j] without leading and trailing SP/HTAB.
func trimWSP(b []byte, i, j int) (int, int) {
	for i < j && isSPHT(b[i]) {
		i++
	}
	for j > i && isSPHT(b[j-1]) {
		j--
	}
	return i, j
}

// skipLeadingCRLF returns the index of the first octet that is not CR or LF
// (RFC 3261 §7.5: CRLFs before the start line are ignored).
func skipLeadingCRLF(b []byte) int {
	p := 0
	for p < len(b) && (b[p] == '\r' || b[p] == '\n') {
		p++
	}
	return p
}

func (m *Message) parse() error {
	b := m.buf
	p := skipLeadingCRLF(b)
	eol, next := lineEnd(b, p)
	if next < 0 {
		return errf(ErrNoHeaderEnd, "no line end after the start line")
	}
	if err := m.parseStartLine(p, eol); err != nil {
		return err
	}
	p = next
	m.Headers = m.inline[:0]
	clCount, clStart, clEnd := 0, 0, 0
	for {
		if p >= len(b) {
			return errf(ErrNoHeaderEnd, "")
		}
		if b[p] == '\n' || (b[p] == '\r' && p+1 < len(b) && b[p+1] == '\n') {
			_, p = lineEnd(b, p)
			break // the empty line ending the header section
		}
		// Fast path: a token name directly followed by ':' on one line
		// without folding or stray CR, which is nearly every header line.
		i := p
		for i < len(b) && tokenChars[b[i]] {
			i++
		}
		if i > p && i < len(b) && b[i] == ':' {
			eol, next := lineEnd(b, i)
			if next >= 0 && (next >= len(b) || !isSPHT(b[next])) {
				vs, ve := trimWSP(b, i+1, eol)
				if bytes.IndexByte(b[vs:ve], '\r') < 0 {
					name := m.view(p, i)
					if c, known := lookupName(name); known {
						name = c
						if c == "Content-Length" {
							clCount++
							clStart, clEnd = vs, ve
						}
					}
					m.addParsed(Header{Name: name, Value: m.view(vs, ve), Raw: b[p:eol:eol]}, b[next:])
					p = next
					continue
				}
			}
		}
		f, ok := nextField(b, p)
		if !ok {
			return errf(ErrNoHeaderEnd, "")
		}
		p = f.next
		if isSPHT(b[f.start]) {
			m.setDefect("Continuation line without a header")
			continue
		}
		if f.colon < 0 {
			m.setDefect("Header line without colon")
			continue
		}
		ns, ne := trimWSP(b, f.start, f.colon)
		if ns != f.start || ne == ns || !tokenBytes(b[ns:ne]) {
			m.setDefect("Malformed header name")
			continue
		}
		name := m.view(ns, ne)
		if c, known := lookupName(name); known {
			name = c
		}
		var value string
		bareCR := bytes.IndexByte(b[f.start:f.end], '\r') >= 0 && lineHasBareCR(b[f.start:f.end])
		if bareCR {
			// CR outside CRLF is never valid (RFC 3261 §25.1, not even
			// in a quoted-pair): 400, and the value keeps an SP for it.
			m.setDefect("Bare CR in header " + name)
		}
		if f.folded || bareCR {
			value = unfold(b[f.colon+1 : f.end])
		} else {
			vs, ve := trimWSP(b, f.colon+1, f.eol)
			value = m.view(vs, ve)
		}
		if name == "Content-Length" {
			clCount++
			clStart, clEnd = trimWSP(b, f.colon+1, f.eol)
			if f.folded {
				clStart, clEnd = 0, -1 // a folded Content-Length is not a number
			}
		}
		m.addParsed(Header{Name: name, Value: value, Raw: b[f.start:f.end:f.end]}, b[p:])
	}
	rest := b[p:]
	switch clCount {
	case 0:
		// RFC 3261 §18.3: on UDP a missing Content-Length means the body
		// runs to the end of the datagram. (Streams are framed by FrameLen,
		// which requires the header.) Stray CRLFs after the header
		// section of such a datagram are padding, not a body.
		if skipLeadingCRLF(rest) < len(rest) {
			m.Body = rest
		}
	case 1:
		n, ok := parseLength(b, clStart, clEnd)
		if !ok {
			return errf(ErrContentLength, "")
		}
		if n > len(rest) {
			// RFC 3261 §18.3: a datagram shorter than Content-Length
			// SHOULD be answered 400 (RFC 4475 clerr).
			m.setDefect("Content-Length larger than message")
			m.Body = rest
		} else {
			// Octets beyond Content-Length are ignored (RFC 4475 dblreq).
			m.Body = rest[:n:n]
		}
	default:
		// RFC 4475 mcl01: several Content-Length values leave the body
		// boundary unknowable.
		return errf(ErrContentLength, "multiple Content-Length header fields")
	}
	if len(m.Body) == 0 {
		m.Body = nil
	}
	return nil
}

// lineHasBareCR reports whether b contains a CR not followed by LF.
// addParsed appends a parsed header. When the inline storage is full it
// grows m.Headers once to fit every line left in rest (an upper bound on the
// header lines still to come) instead of doubling repeatedly.
func (m *Message) addParsed(h Header, rest []byte) {
	if len(m.Headers) == cap(m.Headers) {
		m.Headers = slices.Grow(m.Headers, bytes.Count(rest, []byte{'\n'})+1)
	}
	m.Headers = append(m.Headers, h)
}

func lineHasBareCR(b []byte) bool {
	for i, c := range b {
		if c == '\r' && (i+1 >= len(b) || b[i+1] != '\n') {
			return true
		}
	}
	return false
}

// parseLength parses a Content-Length value b[i:j] (1*DIGIT, RFC 3261
// §20.14) bounded by MaxMessageSize.
func parseLength(b []byte, i, j int) (int, bool) {
	if j <= i {
		return 0, false
	}
	n := 0
	for _, c := range b[i:j] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > MaxMessageSize {
			return 0, false
		}
	}
	return n, true
}

// trimCRSP trims SP, HTAB and bare CR at both ends of line.
func trimCRSP(line []byte) []byte {
	for len(line) > 0 && (isSPHT(line[0]) || line[0] == '\r') {
		line = line[1:]
	}
	for len(line) > 0 && (isSPHT(line[len(line)-1]) || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line
}

// unfold joins the lines of a folded header value with single SPs (RFC 3261
// §7.3.1: LWS including a line fold is equivalent to one SP), trims it and
// turns bare CRs into SP.
func unfold(v []byte) string {
	out := make([]byte, 0, len(v))
	for len(v) > 0 {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		line = trimCRSP(line)
		if len(line) == 0 {
			continue
		}
		if len(out) > 0 {
			out = append(out, ' ')
		}
		for _, c := range line {
			if c == '\r' {
				c = ' ' // a bare CR (a defect) is kept as SP
			}
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return unsafe.String(&out[0], len(out))
}

// parseStartLine parses the Request-Line or Status-Line in m.buf[p:eol]
// (RFC 3261 §7.1, §7.2).
func (m *Message) parseStartLine(p, eol int) error {
	b := m.buf
	line := b[p:eol]
	if lineHasBareCR(line) {
		// CR is allowed only in CRLF (RFC 3261 §25.1); a start line
		// holding one is not SIP.
		return errf(ErrStartLine, "bare CR in start line")
	}
	if len(line) >= 4 && equalFold(m.view(p, p+4), "SIP/") {
		// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 || !isVersion(line[:sp]) {
			return errf(ErrStartLine, "bad SIP-Version in Status-Line")
		}
		m.Proto = m.view(p, p+sp)
		c := p + sp + 1
		if eol-c < 3 || (eol-c > 3 && b[c+3] != ' ') {
			return errf(ErrStartLine, "Status-Code is not 3 digits") // RFC 4475 bigcode
		}
		code := 0
		for _, d := range b[c : c+3] {
			if d < '0' || d > '9' {
				return errf(ErrStartLine, "Status-Code is not 3 digits")
			}
			code = code*10 + int(d-'0')
		}
		if code < 100 || code > 699 {
			return errf(ErrStartLine, "Status-Code out of range")
		}
		m.StatusCode = code
		if eol-c > 4 {
			m.Reason = m.view(c+4, eol)
		}
		return nil
	}
	// Request-Line = Method SP Request-URI SP SIP-Version CRLF. Extra SPs
	// between the elements and at the end are tolerated (RFC 4475 lwsstart,
	// trws); LWS inside the Request-URI stays in it and Validate answers 400
	// (RFC 4475 lwsruri).
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 || !tokenBytes(line[:sp1]) {
		return errf(ErrStartLine, "bad Method")
	}
	_, e := trimWSP(b, p, eol)
	sp2 := bytes.LastIndexByte(b[p:e], ' ')
	if sp2 <= sp1 {
		return errf(ErrStartLine, "Request-Line has no SIP-Version")
	}
	sp2 += p
	if !isVersion(b[sp2+1 : e]) {
		return errf(ErrStartLine, "bad SIP-Version in Request-Line")
	}
	us, ue := trimWSP(b, p+sp1+1, sp2)
	if us == ue {
		return errf(ErrStartLine, "empty Request-URI")
	}
	m.Method = m.view(p, p+sp1)
	m.RequestURI = m.view(us, ue)
	m.Proto = m.view(sp2+1, e)
	return nil
}

// isVersion matches SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, with "SIP"
// case-insensitive (RFC 3261 §7.1).
func isVersion(v []byte) bool {
	if len(v) < 7 || !equalFold(unsafe.String(&v[0], 4), "SIP/") {
		return false
	}
	v = v[4:]
	dot := bytes.IndexByte(v, '.')
	if dot <= 0 || dot == len(v)-1 {
		return false
	}
	for i, c := range v {
		if i != dot && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// tokenChars marks the octets of RFC 3261 §25.1 token: alphanum and
// "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
var tokenChars = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-.!%*_+`'~" {
		t[c] = true
	}
	return t
}()

func tokenBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return true
}

func tokenString(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return true
}
