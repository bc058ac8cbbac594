package sip

import (
	"strconv"
	"strings"
)

// AppendTo appends the canonical serialization of m to dst and returns the
// extended buffer: CRLF line ends, an upper-case SIP-Version (RFC 3261 §7.1),
// single SPs in the start line, one "Name: value" line per header in order
// (known names canonically spelled, unknown names and every value as they
// are, folding already undone by Parse, §7.3.1), and a Content-Length
// recomputed from Body in the place of the first received one (or last).
// CR and LF inside values are written as SP so an edited value cannot inject
// header lines. It allocates only when dst lacks capacity (see Size).
func (m *Message) AppendTo(dst []byte) []byte {
	if size := m.Size(); cap(dst)-len(dst) < size {
		n := make([]byte, len(dst), len(dst)+size)
		copy(n, dst)
		dst = n
	}
	if m.Method != "" {
		dst = append(dst, m.Method...)
		dst = append(dst, ' ')
		dst = appendClean(dst, m.RequestURI)
		dst = append(dst, ' ')
		dst = append(dst, m.proto()...)
	} else {
		dst = append(dst, m.proto()...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(m.StatusCode), 10)
		dst = append(dst, ' ')
		dst = appendClean(dst, m.Reason)
	}
	dst = append(dst, "\r\n"...)
	wroteCL := false
	for i := range m.Headers {
		h := &m.Headers[i]
		if h.Name == "Content-Length" {
			if !wroteCL {
				dst = m.appendContentLength(dst)
				wroteCL = true
			}
			continue
		}
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = appendClean(dst, h.Value)
		dst = append(dst, "\r\n"...)
	}
	if !wroteCL {
		dst = m.appendContentLength(dst)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, m.Body...)
}

func (m *Message) appendContentLength(dst []byte) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(m.Body)), 10)
	return append(dst, "\r\n"...)
}

// proto returns the SIP-Version to send: upper-case "SIP/2.0" for any
// spelling of it (RFC 3261 §7.1), other versions as they are.
func (m *Message) proto() string {
	if m.Proto == "" || equalFold(m.Proto, Proto) {
		return Proto
	}
	return m.Proto
}

// appendClean appends s with CR and LF replaced by SP.
func appendClean(dst []byte, s string) []byte {
	if strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// Size returns the exact length of m's canonical serialization.
func (m *Message) Size() int {
	n := 0
	if m.Method != "" {
		n += len(m.Method) + 1 + len(m.RequestURI) + 1 + len(m.proto())
	} else {
		n += len(m.proto()) + 1 + decLen(m.StatusCode) + 1 + len(m.Reason)
	}
	n += 2
	for i := range m.Headers {
		h := &m.Headers[i]
		if h.Name == "Content-Length" {
			continue
		}
		n += len(h.Name) + 2 + len(h.Value) + 2
	}
	n += len("Content-Length: ") + decLen(len(m.Body)) + 2
	n += 2 + len(m.Body)
	return n
}

func decLen(v int) int {
	if v < 0 {
		return 1 + decLen(-v)
	}
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
