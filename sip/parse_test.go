package sip

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sbc-project/sbc/sip/siptest"
)

const typicalInvite = siptest.TypicalInvite

func TestTypicalInviteBodyLength(t *testing.T) {
	i := strings.Index(typicalInvite, "\r\n\r\n")
	if got := len(typicalInvite) - i - 4; got != 238 {
		t.Fatalf("fixture body is %d octets, Content-Length says 238", got)
	}
}

func TestParseRequest(t *testing.T) {
	m, err := Parse([]byte(typicalInvite))
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != "INVITE" || m.RequestURI != "sip:+4930123456@sbc.example.net;user=phone" || m.Proto != "SIP/2.0" || !m.IsRequest() {
		t.Errorf("start line: %q %q %q", m.Method, m.RequestURI, m.Proto)
	}
	if len(m.Headers) != 14 {
		t.Errorf("got %d headers, want 14", len(m.Headers))
	}
	if v, ok := m.GetHeader("v"); !ok || v != "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport" {
		t.Errorf("GetHeader(v) = %q, %v", v, ok)
	}
	if v, ok := m.GetHeader("CALL-id"); !ok || v != "a84b4c76e66710@pc33.carrier.example.com" {
		t.Errorf("GetHeader(CALL-id) = %q, %v", v, ok)
	}
	if _, ok := m.GetHeader("Route"); ok {
		t.Error("GetHeader(Route) found a header that is absent")
	}
	if string(m.Headers[0].Raw) != "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport" {
		t.Errorf("Raw = %q", m.Headers[0].Raw)
	}
	if len(m.Body) != 238 || !strings.HasPrefix(string(m.Body), "v=0\r\n") {
		t.Errorf("body = %q", m.Body)
	}
	if got := string(m.AppendTo(nil)); got != typicalInvite {
		t.Errorf("canonical input did not serialize to itself:\n%s", got)
	}
	if m.Size() != len(typicalInvite) {
		t.Errorf("Size = %d, want %d", m.Size(), len(typicalInvite))
	}
}

func TestParseResponse(t *testing.T) {
	m, err := Parse([]byte("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nl:0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsResponse() || m.StatusCode != 180 || m.Reason != "Ringing" {
		t.Errorf("status line: %d %q", m.StatusCode, m.Reason)
	}
	if v, _ := m.GetHeader("Content-Length"); v != "0" {
		t.Errorf("compact l not expanded: %q", v)
	}
}

func TestParseFoldingAndCompact(t *testing.T) {
	in := "OPTIONS sip:a@b SIP/2.0\r\n" +
		"TO :\r\n sip:x@y ;   tag = 1\r\n" +
		"NewFangled:   first part   \r\n\t  second part\r\n" +
		"i: abc\r\nm: <sip:c@d>\r\nM: <sip:e@f>\r\n" +
		"\r\n"
	m, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Header{
		{Name: "To", Value: "sip:x@y ;   tag = 1"},
		{Name: "NewFangled", Value: "first part second part"},
		{Name: "Call-ID", Value: "abc"},
		{Name: "Contact", Value: "<sip:c@d>"},
		{Name: "Contact", Value: "<sip:e@f>"},
	}
	if len(m.Headers) != len(want) {
		t.Fatalf("headers: %+v", m.Headers)
	}
	for i, w := range want {
		if m.Headers[i].Name != w.Name || m.Headers[i].Value != w.Value {
			t.Errorf("header %d = %q: %q, want %q: %q", i, m.Headers[i].Name, m.Headers[i].Value, w.Name, w.Value)
		}
	}
	if string(m.Headers[0].Raw) != "TO :\r\n sip:x@y ;   tag = 1" {
		t.Errorf("Raw of folded header = %q", m.Headers[0].Raw)
	}
	if got := slices.Collect(m.HeaderLines("contact")); !slices.Equal(got, []string{"<sip:c@d>", "<sip:e@f>"}) {
		t.Errorf("HeaderLines(contact) = %q", got)
	}
	if got := slices.Collect(m.HeaderLines("newfangled")); !slices.Equal(got, []string{"first part second part"}) {
		t.Errorf("HeaderLines of unknown name, other case = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrNoHeaderEnd},
		{"only CRLF", "\r\n\r\n", ErrNoHeaderEnd},
		{"no header end", "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n", ErrNoHeaderEnd},
		{"no version", "INVITE sip:a@b\r\n\r\n", ErrStartLine},
		{"two parts", "INVITE SIP/2.0\r\n\r\n", ErrStartLine},
		{"bad method", "INV@ITE sip:a@b SIP/2.0\r\n\r\n", ErrStartLine},
		{"bad version", "INVITE sip:a@b SIP/2.x\r\n\r\n", ErrStartLine},
		{"big code", "SIP/2.0 4294967301 x\r\n\r\n", ErrStartLine},
		{"code 99", "SIP/2.0 099 x\r\n\r\n", ErrStartLine},
		{"code 700", "SIP/2.0 700 x\r\n\r\n", ErrStartLine},
		{"negative CL", "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n", ErrContentLength},
		{"CL not number", "OPTIONS sip:a@b SIP/2.0\r\nl: 1x\r\n\r\nx", ErrContentLength},
		{"CL overflow", "OPTIONS sip:a@b SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n", ErrContentLength},
		{"two CL", "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\nContent-Length: 0\r\n\r\n", ErrContentLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.in))
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrUnframeable) || m != nil {
				t.Errorf("Parse = %v, %v; want %v wrapped with ErrUnframeable", m, err, tc.want)
			}
		})
	}
}

func TestParseDefects(t *testing.T) {
	for _, tc := range []struct{ name, in, defect string }{
		{"no colon", "OPTIONS sip:a@b SIP/2.0\r\nFoobar roobar\r\n\r\n", "Header line without colon"},
		{"space in name", "OPTIONS sip:a@b SIP/2.0\r\nFoo bar: x\r\n\r\n", "Malformed header name"},
		{"leading continuation", "OPTIONS sip:a@b SIP/2.0\r\n x: y\r\n\r\n", "Continuation line without a header"},
		{"short body", "OPTIONS sip:a@b SIP/2.0\r\nl: 10\r\n\r\nabc", "Content-Length larger than message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if m.defect != tc.defect {
				t.Errorf("defect = %q, want %q", m.defect, tc.defect)
			}
		})
	}
}

func TestParseBodyFraming(t *testing.T) {
	// No Content-Length: the rest of the datagram (RFC 3261 §18.3).
	m, err := Parse([]byte("OPTIONS sip:a@b SIP/2.0\nVia: x\n\nhello"))
	if err != nil || string(m.Body) != "hello" {
		t.Fatalf("bare LF, no CL: %v %q", err, m.Body)
	}
	// Extra octets beyond Content-Length are ignored (RFC 4475 dblreq).
	m, err = Parse([]byte("\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhello"))
	if err != nil || string(m.Body) != "he" {
		t.Fatalf("trailing octets: %v %q", err, m.Body)
	}
}

func TestParseCopiesInput(t *testing.T) {
	in := []byte(typicalInvite)
	m, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'X'
	}
	if m.Method != "INVITE" || m.Headers[0].Name != "Via" || m.Body[0] != 'v' {
		t.Error("message changed when the caller reused its input buffer")
	}
}

func TestParseNoContentLengthPadding(t *testing.T) {
	m, err := Parse([]byte("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n\r\n\r\n"))
	if err != nil || m.Body != nil {
		t.Fatalf("CRLF padding without Content-Length taken as body: %v %q", err, m.Body)
	}
}
