package sip

import (
	"errors"
	"strings"
	"testing"
)

func TestFrameLen(t *testing.T) {
	full := typicalInvite
	for _, tc := range []struct {
		name, in string
		n        int
		err      error
	}{
		{"complete", full, len(full), nil},
		{"two messages", full + full, len(full), nil},
		{"leading CRLFs", "\r\n\r\n" + full, 4 + len(full), nil},
		{"bare LF", "OPTIONS sip:a@b SIP/2.0\nl: 2\n\nabXYZ", 32, nil},
		{"compact l, odd case", "OPTIONS sip:a@b SIP/2.0\r\nCONTENT-length  :  3\r\n\r\nabc", 52, nil},
		{"empty", "", 0, nil},
		{"start line only", "INVITE sip:a@b SIP/2.0\r\n", 0, nil},
		{"half a header", full[:100], 0, nil},
		{"headers without body", full[:len(full)-238], 0, nil},
		{"body short by one", full[:len(full)-1], 0, nil},
		{"last header may still fold", "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n", 0, nil},
		{"CR at end", "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r", 0, nil},
		{"no Content-Length", "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", 0, ErrNoContentLength},
		{"negative", "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n", 0, ErrContentLength},
		{"two values", "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 13\r\nl: 5\r\n\r\n", 0, ErrContentLength},
		{"not a number", "OPTIONS sip:a@b SIP/2.0\r\nl: five\r\n\r\n", 0, ErrContentLength},
		{"folded", "OPTIONS sip:a@b SIP/2.0\r\nl:\r\n 5\r\n\r\nabcde", 0, ErrContentLength},
		{"too large", "OPTIONS sip:a@b SIP/2.0\r\nl: 131072\r\n\r\n", 0, ErrTooLarge},
		{"garbage", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, ErrStartLine},
		{"binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", 0, ErrStartLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := FrameLen([]byte(tc.in))
			if n != tc.n || !errors.Is(err, tc.err) || (tc.err != nil && !errors.Is(err, ErrUnframeable)) {
				t.Errorf("FrameLen = %d, %v; want %d, %v", n, err, tc.n, tc.err)
			}
		})
	}
}

func TestFrameLenBoundsHeaderSection(t *testing.T) {
	huge := "OPTIONS sip:a@b SIP/2.0\r\nX: " + strings.Repeat("a", MaxMessageSize) + "\r\n"
	if _, err := FrameLen([]byte(huge)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless header section: %v", err)
	}
}

// TestFrameThenParse feeds a stream byte by byte and checks that FrameLen
// cuts exactly the messages Parse then accepts.
func TestFrameThenParse(t *testing.T) {
	stream := "\r\n" + typicalInvite + "\r\n\r\n" + "SIP/2.0 100 Trying\r\nVia: x\r\nl: 0\r\n\r\n" + typicalInvite
	var buf []byte
	var got []string
	for i := range len(stream) {
		buf = append(buf, stream[i])
		for {
			n, err := FrameLen(buf)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			m, err := Parse(buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m.Method+itoa(m.StatusCode))
			buf = buf[n:]
		}
	}
	if strings.Join(got, ",") != "INVITE0,100,INVITE0" || len(buf) != 0 {
		t.Errorf("framed %q, %d octets left", got, len(buf))
	}
}
