package sip

import "bytes"

// FrameLen delimits the first message in a stream buffer (TCP, TLS): it
// returns the number of octets of the first complete message (including any
// CRLFs before its start line, RFC 3261 §7.5), 0 with a nil error when more
// data is needed, or an error wrapping ErrUnframeable when the stream cannot
// be framed and the connection must be closed: Content-Length missing (it is
// mandatory on streams, §18.3, §20.14), negative, unparseable or repeated
// (RFC 4475 ncl, mcl01), a start line that is not SIP, or a message larger
// than MaxMessageSize.
//
// A transport answering RFC 5626 keep-alives checks for a leading
// CRLFCRLF ping before calling FrameLen; FrameLen itself treats leading CRLFs
// as part of the next message.
func FrameLen(buf []byte) (int, error) {
	p := skipLeadingCRLF(buf)
	eol, next := lineEnd(buf, p)
	if next < 0 {
		return needMore(buf)
	}
	if !looksLikeStartLine(buf[p:eol]) {
		return 0, errf(ErrStartLine, "stream does not start with a SIP start line")
	}
	p = next
	clCount, cl := 0, 0
	for {
		if p >= len(buf) {
			return needMore(buf)
		}
		if buf[p] == '\n' || (buf[p] == '\r' && p+1 < len(buf) && buf[p+1] == '\n') {
			_, p = lineEnd(buf, p)
			break
		}
		if buf[p] == '\r' && p+1 >= len(buf) {
			return needMore(buf)
		}
		f, ok := nextField(buf, p)
		if !ok || (f.next == len(buf) && !f.folded) {
			// The field may still be continued by a folded line.
			return needMore(buf)
		}
		p = f.next
		if f.colon < 0 || isSPHT(buf[f.start]) {
			continue // Parse reports the defect
		}
		ns, ne := trimWSP(buf, f.start, f.colon)
		if ns != f.start || !isContentLengthName(buf[ns:ne]) {
			continue
		}
		clCount++
		if clCount > 1 {
			return 0, errf(ErrContentLength, "multiple Content-Length header fields")
		}
		vs, ve := trimWSP(buf, f.colon+1, f.eol)
		n, ok := parseLength(buf, vs, ve)
		if !ok || f.folded {
			return 0, errf(ErrContentLength, "")
		}
		cl = n
	}
	if clCount == 0 {
		return 0, errf(ErrNoContentLength, "")
	}
	total := p + cl
	if total > MaxMessageSize {
		return 0, errf(ErrTooLarge, "")
	}
	if len(buf) < total {
		return 0, nil // RFC 4475 clerr on a stream: wait for the rest
	}
	return total, nil
}

func needMore(buf []byte) (int, error) {
	if len(buf) >= MaxMessageSize {
		return 0, errf(ErrTooLarge, "header section exceeds the size limit")
	}
	return 0, nil
}

func isContentLengthName(b []byte) bool {
	switch len(b) {
	case 1:
		return b[0] == 'l' || b[0] == 'L'
	case len("Content-Length"):
		return equalFold(string(b), "Content-Length")
	}
	return false
}

// looksLikeStartLine reports whether line can be a Status-Line or a
// Request-Line (token method first, SIP-Version last).
func looksLikeStartLine(line []byte) bool {
	if len(line) >= 4 && equalFold(string(line[:4]), "SIP/") {
		return true
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !tokenBytes(line[:sp]) {
		return false
	}
	for len(line) > 0 && isSPHT(line[len(line)-1]) {
		line = line[:len(line)-1]
	}
	last := bytes.LastIndexByte(line, ' ')
	return last > sp && isVersion(line[last+1:])
}
