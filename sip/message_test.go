package sip

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"weak"
)

func names(m *Message) []string {
	var out []string
	for _, h := range m.Headers {
		out = append(out, h.Name+": "+h.Value)
	}
	return out
}

func TestCanonicalName(t *testing.T) {
	for in, want := range map[string]string{
		"v": "Via", "V": "Via", "VIA": "Via", "via": "Via", "i": "Call-ID", "call-id": "Call-ID",
		"l": "Content-Length", "m": "Contact", "f": "From", "t": "To", "c": "Content-Type",
		"e": "Content-Encoding", "k": "Supported", "s": "Subject", "o": "Event", "r": "Refer-To",
		"b": "Referred-By", "u": "Allow-Events", "x": "Session-Expires", "y": "Identity",
		"a": "Accept-Contact", "j": "Reject-Contact", "d": "Request-Disposition",
		"cseq": "CSeq", "www-authenticate": "WWW-Authenticate", "p-asserted-identity": "P-Asserted-Identity",
		"X-Custom": "X-Custom", "q": "q", "": "", "C%6Fntact": "C%6Fntact",
	} {
		if got := CanonicalName(in); got != want {
			t.Errorf("CanonicalName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"Via": "v", "call-ID": "i", "Content-Length": "l", "l": "l", "CSeq": "", "X-Foo": "", "x": "x"} {
		if got := CompactForm(in); got != want {
			t.Errorf("CompactForm(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(10, func() { _ = CanonicalName("CONTENT-TYPE") }); n != 0 {
		t.Errorf("CanonicalName allocates %v", n)
	}
}

func TestEditing(t *testing.T) {
	m := NewRequest("INVITE", "sip:bob@example.com")
	m.AddHeader("via", "SIP/2.0/UDP a;branch=z9hG4bK1")
	m.AddHeader("To", "<sip:bob@example.com>")
	m.AddHeader("X-A", "1")
	m.AddHeader("x-a", "2")
	m.PrependHeader("v", "SIP/2.0/UDP b;branch=z9hG4bK2")
	m.PrependHeader("Route", "<sip:p;lr>")
	want := []string{"Route: <sip:p;lr>", "Via: SIP/2.0/UDP b;branch=z9hG4bK2", "Via: SIP/2.0/UDP a;branch=z9hG4bK1",
		"To: <sip:bob@example.com>", "X-A: 1", "x-a: 2"}
	if got := names(m); !slices.Equal(got, want) {
		t.Fatalf("after Add/Prepend:\n%q\nwant\n%q", got, want)
	}
	m.SetHeader("X-A", "3")
	if got := names(m); !slices.Equal(got[4:], []string{"X-A: 3"}) {
		t.Errorf("SetHeader on unknown name did not replace both lines: %q", got)
	}
	m.SetHeader("Max-Forwards", "70")
	if v, _ := m.GetHeader("max-forwards"); v != "70" || m.Headers[len(m.Headers)-1].Name != "Max-Forwards" {
		t.Errorf("SetHeader of an absent header did not append: %q", names(m))
	}
	if n := m.DelHeader("VIA"); n != 2 || m.HeaderCount("Via") != 0 {
		t.Errorf("DelHeader removed %d, %d left", n, m.HeaderCount("Via"))
	}
	i := m.HeaderIndex("To", 0)
	m.ReplaceHeader(i, "<sip:carol@example.com>")
	if v, _ := m.GetHeader("t"); v != "<sip:carol@example.com>" {
		t.Errorf("ReplaceHeader: %q", v)
	}
	m.InsertHeader(1, "k", "timer")
	if m.Headers[1].Name != "Supported" || m.Headers[1].Value != "timer" {
		t.Errorf("InsertHeader: %q", names(m))
	}
	m.RemoveHeaderAt(1)
	m.RemoveHeaderAt(0)
	if _, ok := m.GetHeader("Route"); ok {
		t.Error("RemoveHeaderAt(0) kept Route")
	}
	m.SetBody("application/sdp", []byte("v=0\r\n"))
	out := m.String()
	wantOut := "INVITE sip:bob@example.com SIP/2.0\r\nTo: <sip:carol@example.com>\r\nX-A: 3\r\nMax-Forwards: 70\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"
	if out != wantOut {
		t.Errorf("serialized:\n%q\nwant\n%q", out, wantOut)
	}
	m.SetBody("", nil)
	if _, ok := m.GetHeader("Content-Type"); ok || !strings.HasSuffix(m.String(), "Content-Length: 0\r\n\r\n") {
		t.Errorf("SetBody(\"\", nil): %q", m.String())
	}
}

func TestEditingParsedMessageBeyondInline(t *testing.T) {
	m, err := Parse([]byte(typicalInvite))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * inlineHeaders {
		m.PrependHeader("Via", "SIP/2.0/UDP h"+itoa(i))
	}
	if m.HeaderCount("Via") != 3*inlineHeaders+1 || m.Headers[0].Value != "SIP/2.0/UDP h59" {
		t.Errorf("Vias: %d, top %q", m.HeaderCount("Via"), m.Headers[0].Value)
	}
	m2, err := Parse(m.AppendTo(nil))
	if err != nil || m2.HeaderCount("Via") != 3*inlineHeaders+1 {
		t.Fatalf("reparse: %v", err)
	}
}

func TestContentLengthPlacement(t *testing.T) {
	// The recomputed Content-Length takes the place of the received one; a
	// message without one gets it last.
	m, _ := Parse([]byte("OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\nVia: x\r\n\r\nabc"))
	if got := m.String(); got != "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 3\r\nVia: x\r\n\r\nabc" {
		t.Errorf("%q", got)
	}
	m.Body = []byte("abcdef")
	if got := m.String(); !strings.Contains(got, "Content-Length: 6\r\n") {
		t.Errorf("Content-Length not recomputed: %q", got)
	}
	m, _ = Parse([]byte("SIP/2.0 200 OK\nVia: x\n\nab"))
	if got := m.String(); got != "SIP/2.0 200 OK\r\nVia: x\r\nContent-Length: 2\r\n\r\nab" {
		t.Errorf("%q", got)
	}
}

func TestSerializerNeutralisesCRLFInjection(t *testing.T) {
	m := NewRequest("OPTIONS", "sip:a@b")
	m.AddHeader("Subject", "hi\r\nVia: SIP/2.0/UDP evil")
	out := m.String()
	if strings.Contains(out, "\r\nVia:") {
		t.Fatalf("header injection: %q", out)
	}
	m2, err := Parse([]byte(out))
	if err != nil || m2.HeaderCount("Via") != 0 {
		t.Errorf("reparse: %v %q", err, names(m2))
	}
}

func TestCloneIsIndependent(t *testing.T) {
	m, err := Parse([]byte(typicalInvite))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Clone()
	c.SetHeader("Max-Forwards", "69")
	c.PrependHeader("Via", "SIP/2.0/UDP sbc;branch=z9hG4bKx")
	c.Body[0] = 'X'
	c.RequestURI = "sip:other@example.com"
	if v, _ := m.GetHeader("Max-Forwards"); v != "70" || m.HeaderCount("Via") != 1 || m.Body[0] != 'v' || m.RequestURI == c.RequestURI {
		t.Error("editing the clone changed the original")
	}
	if m.String() != typicalInvite {
		t.Error("original no longer serializes to its input")
	}
}

func TestNewResponse(t *testing.T) {
	req, err := Parse([]byte("INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bK1\r\nv: SIP/2.0/UDP p2;branch=z9hG4bK2, SIP/2.0/UDP p3\r\n" +
		"Max-Forwards: 70\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\ni: cid\r\nCSeq: 1 INVITE\r\nTimestamp: 54\r\nContact: <sip:a@x>\r\n" +
		"Record-Route: <sip:rr;lr>\r\nContent-Type: application/sdp\r\nl: 3\r\n\r\nv=0"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewResponse(req, 100, "")
	want := []string{"Via: SIP/2.0/UDP p1;branch=z9hG4bK1", "Via: SIP/2.0/UDP p2;branch=z9hG4bK2, SIP/2.0/UDP p3",
		"From: <sip:a@h>;tag=1", "To: <sip:b@h>", "Call-ID: cid", "CSeq: 1 INVITE", "Timestamp: 54"}
	if got := names(r); !slices.Equal(got, want) || r.StatusCode != 100 || r.Reason != "Trying" || r.Body != nil {
		t.Errorf("100: %d %q %q", r.StatusCode, r.Reason, got)
	}
	r = NewResponse(req, 486, "Busy Here Now")
	if got := names(r); !slices.Equal(got, want[:6]) || r.Reason != "Busy Here Now" {
		t.Errorf("486: %q %q", r.Reason, got)
	}
	r.SetHeader("To", "<sip:b@h>;tag=xyz")
	if got := r.String(); !strings.HasPrefix(got, "SIP/2.0 486 Busy Here Now\r\n") || !strings.Contains(got, "\r\nTo: <sip:b@h>;tag=xyz\r\n") ||
		!strings.HasSuffix(got, "Content-Length: 0\r\n\r\n") {
		t.Errorf("%q", got)
	}
	if v, _ := req.GetHeader("To"); v != "<sip:b@h>" {
		t.Errorf("setting the response's To tag changed the request: %q", v)
	}
	for code, want := range map[int]string{183: "Session Progress", 199: "Early Dialog Terminated", 299: "OK", 420: "Bad Extension", 555: "Push Notification Service Not Supported", 699: "Global Failure"} {
		if got := ReasonPhrase(code); got != want {
			t.Errorf("ReasonPhrase(%d) = %q, want %q", code, got, want)
		}
	}
}

// TestDetach: a request built from another message's values serializes the
// same after Detach, and no longer keeps that message alive.
func TestDetach(t *testing.T) {
	src, err := Parse([]byte("INVITE sip:bob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n" +
		"From: \"Alice\" <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n" +
		"Call-ID: d1@x\r\nCSeq: 1 INVITE\r\nX-Carried: kept\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbody"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewRequest(src.Method, src.RequestURI)
	for _, h := range src.Headers {
		m.AddHeader(h.Name, h.Value)
	}
	m.Body = src.Body
	want := string(m.AppendTo(nil))
	w := weak.Make(src)
	src = nil
	m.Detach()
	for i := 0; i < 5 && w.Value() != nil; i++ {
		runtime.GC()
	}
	if w.Value() != nil {
		t.Fatal("the detached message still keeps the one its values came from")
	}
	if got := string(m.AppendTo(nil)); got != want {
		t.Fatalf("after Detach:\n%s\nwant\n%s", got, want)
	}
	if allocs := testing.AllocsPerRun(100, m.Detach); allocs != 1 {
		t.Fatalf("Detach: %v allocations, want 1", allocs)
	}
}
