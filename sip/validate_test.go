package sip

import (
	"strings"
	"testing"
)

// req builds a valid OPTIONS with the given header lines replacing the
// defaults of the same name ("-Name" deletes one).
func req(method string, edits ...string) []byte {
	hdrs := []string{
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKabc",
		"Max-Forwards: 70",
		"To: <sip:b@example.com>",
		"From: <sip:a@example.com>;tag=1",
		"Call-ID: cid@192.0.2.1",
		"CSeq: 1 " + method,
	}
	for _, e := range edits {
		name, _, _ := strings.Cut(strings.TrimPrefix(e, "-"), ":")
		kept := hdrs[:0]
		for _, h := range hdrs {
			if !strings.HasPrefix(h, name+":") {
				kept = append(kept, h)
			}
		}
		hdrs = kept
		if !strings.HasPrefix(e, "-") {
			hdrs = append(hdrs, e)
		}
	}
	return []byte(method + " sip:b@example.com SIP/2.0\r\n" + strings.Join(hdrs, "\r\n") + "\r\n\r\n")
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		msg    []byte
		action Action
		code   int
		reason string
	}{
		{"valid", req("OPTIONS"), Accept, 0, ""},
		{"no Max-Forwards (RFC 2543)", req("OPTIONS", "-Max-Forwards"), Accept, 0, ""},
		{"missing Via", req("OPTIONS", "-Via"), Respond, 400, "Missing Via"},
		{"empty Via", req("OPTIONS", "Via: "), Respond, 400, "Malformed Via"},
		{"missing CSeq", req("OPTIONS", "-CSeq"), Respond, 400, "Missing CSeq"},
		{"two Call-IDs", req("OPTIONS", "Call-ID: x", "i: y"), Respond, 400, "Multiple Call-ID"},
		{"bad Call-ID", req("OPTIONS", "Call-ID: a b"), Respond, 400, "Malformed Call-ID"},
		{"two To values on one line", req("OPTIONS", "To: <sip:a@b>, <sip:c@d>"), Respond, 400, "Malformed To"},
		{"two CSeq values on one line", req("OPTIONS", "CSeq: 1 OPTIONS, 2 OPTIONS"), Respond, 400, "Malformed CSeq"},
		{"two Call-ID values on one line", req("OPTIONS", "Call-ID: a, b"), Respond, 400, "Malformed Call-ID"},
		{"Max-Forwards 256", req("OPTIONS", "Max-Forwards: 256"), Respond, 400, "Malformed Max-Forwards"},
		{"Max-Forwards 0", req("OPTIONS", "Max-Forwards: 0"), Respond, 483, "Too Many Hops"},
		{"bad Route", req("OPTIONS", "Route: <sip:a;lr"), Respond, 400, "Malformed Route"},
		{"bad Require", req("OPTIONS", "Require: a b"), Respond, 400, "Malformed Require"},
		{"supported Require", req("INVITE", "Require: 100rel, timer"), Accept, 0, ""},
		{"unsupported Require", req("INVITE", "Require: 100rel, foo"), Respond, 420, "Bad Extension"},
		{"Require on CANCEL", req("CANCEL", "Require: foo"), Accept, 0, ""},
		{"tel R-URI", []byte(strings.Replace(string(req("OPTIONS")), "sip:b@example.com SIP", "tel:+4930123 SIP", 1)), Accept, 0, ""},
		{"mailto R-URI", []byte(strings.Replace(string(req("OPTIONS")), "sip:b@example.com SIP", "mailto:b@example.com SIP", 1)), Respond, 416, ""},
		{"lower-case method", req("options"), Respond, 501, "Not Implemented"},
		{"CSeq method case", req("OPTIONS", "CSeq: 1 options"), Respond, 400, "CSeq method"},
		{"body without Content-Type", append(req("MESSAGE"), "hello"...), Respond, 400, "Missing Content-Type"},
		{"short body", append(req("MESSAGE", "Content-Type: text/plain", "Content-Length: 9"), "hello"...), Respond, 400, "Content-Length larger"},
		{"header without colon", req("OPTIONS", "Foobar roobar"), Respond, 400, "Header line without colon"},
		{"bare CR", req("OPTIONS", "Subject: a\rb"), Respond, 400, "Bare CR"},
		{"SIP/3.0", []byte(strings.Replace(string(req("OPTIONS")), "SIP/2.0\r\nVia", "SIP/3.0\r\nVia", 1)), Respond, 505, ""},
		{"ACK is never answered", req("ACK", "-Call-ID"), Drop, 0, "Missing Call-ID"},
		{"ACK with Max-Forwards 0", req("ACK", "Max-Forwards: 0"), Drop, 0, ""},
		{"response ok", []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@h>;tag=2\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"), Accept, 0, ""},
		{"response without Call-ID", []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@h>;tag=2\r\nFrom: <sip:a@h>;tag=1\r\nCSeq: 1 INVITE\r\n\r\n"), Drop, 0, "Missing Call-ID"},
		{"response SIP/3.0", []byte("SIP/3.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@h>;tag=2\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"), Drop, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			v := Validate(m)
			if v.Action != tc.action || v.Code != tc.code || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("Validate = %v (%s %d %q), want %s %d %q", v, v.Action, v.Code, v.Reason, tc.action, tc.code, tc.reason)
			}
			if (v.Action == Accept) != v.OK() {
				t.Error("OK() disagrees with Action")
			}
			r := v.Response(m)
			if (r != nil) != (v.Action == Respond) {
				t.Fatalf("Response() = %v for %s", r, v.Action)
			}
			if r != nil && (r.StatusCode != v.Code || r.Reason != v.Reason) {
				t.Errorf("response %d %q", r.StatusCode, r.Reason)
			}
		})
	}
}

func TestValidateRules(t *testing.T) {
	m, err := Parse(req("INVITE", "Require: foo", "Proxy-Require: bar, foo"))
	if err != nil {
		t.Fatal(err)
	}
	r := DefaultRules()
	if v := r.Validate(m); v.Code != 420 || strings.Join(v.Unsupported, ",") != "foo,bar" {
		t.Errorf("420 Unsupported %q", v.Unsupported)
	}
	r.Supported = append(r.Supported, "FOO", "bar")
	if v := r.Validate(m); !v.OK() {
		t.Errorf("option tags compare case-insensitively: %v", v)
	}
	r.Methods = []string{"OPTIONS"}
	v := r.Validate(m)
	if v.Code != 501 {
		t.Fatalf("%v", v)
	}
	if a, _ := v.Response(m).GetHeader("Allow"); a != "OPTIONS" {
		t.Errorf("Allow %q", a)
	}
	if DropVerdict(ErrStartLine).Action != Drop {
		t.Error("DropVerdict")
	}
}

func TestValidateAllocs(t *testing.T) {
	m, err := Parse([]byte(typicalInvite))
	if err != nil {
		t.Fatal(err)
	}
	if v := Validate(m); !v.OK() {
		t.Fatalf("typical INVITE: %v", v)
	}
	if n := testing.AllocsPerRun(50, func() { _ = Validate(m) }); n > 0 {
		t.Errorf("Validate(typical INVITE) allocates %v times, want 0", n)
	}
}
