package b2bua

import (
	"strings"
	"testing"

	"github.com/sbc-project/sbc/sip"
)

func mustParse(t *testing.T, s string) *sip.Message {
	t.Helper()
	m, err := sip.Parse([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

const inviteA = `INVITE sip:+4989123@sbc.example.net SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1
Record-Route: <sip:p1.inside.example;lr>, <sip:p2.inside.example;lr>
Max-Forwards: 70
From: "Alice" <sip:+4930111@pbx.inside.example>;tag=a1
To: <sip:+4989123@sbc.example.net>
Call-ID: inside-call-1@10.0.0.5
CSeq: 7 INVITE
Contact: <sip:alice@10.0.0.5:5060>
Content-Length: 0

`

func TestUASDialogFromInvite(t *testing.T) {
	req := mustParse(t, inviteA)
	d, err := uasDialog(req, "sbcTag")
	if err != nil {
		t.Fatal(err)
	}
	if d.remoteTag != "a1" || d.localTag != "sbcTag" || d.callID != "inside-call-1@10.0.0.5" {
		t.Fatalf("ids: %+v", d)
	}
	if d.remoteTarget != "sip:alice@10.0.0.5:5060" {
		t.Fatalf("remote target %q", d.remoteTarget)
	}
	// §12.1.1: the UAS keeps Record-Route in order.
	if len(d.routeSet) != 2 || !strings.Contains(d.routeSet[0], "p1.inside") {
		t.Fatalf("route set %q", d.routeSet)
	}
	bye := d.request("BYE", 0)
	out := bye.String()
	for _, want := range []string{
		"BYE sip:alice@10.0.0.5:5060 SIP/2.0\r\n",
		"Route: <sip:p1.inside.example;lr>\r\nRoute: <sip:p2.inside.example;lr>\r\n",
		"From: <sip:+4989123@sbc.example.net>;tag=sbcTag\r\n",
		"To: \"Alice\" <sip:+4930111@pbx.inside.example>;tag=a1\r\n",
		"CSeq: 1 BYE\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("BYE lacks %q:\n%s", want, out)
		}
	}
	// CSeq rules, §12.2.2.
	reinv := mustParse(t, strings.Replace(inviteA, "CSeq: 7 INVITE", "CSeq: 8 INVITE", 1))
	old := mustParse(t, strings.Replace(inviteA, "CSeq: 7 INVITE", "CSeq: 6 INVITE", 1))
	if d.checkRemoteSeq(old) {
		t.Error("lower CSeq accepted")
	}
	if !d.checkRemoteSeq(reinv) {
		t.Error("higher CSeq refused")
	}
	if d.checkRemoteSeq(reinv) {
		t.Error("repeated CSeq accepted")
	}
}

func TestUACDialogFromResponse(t *testing.T) {
	d := uacDialog("bleg-1", "ourTag", "<sip:+4930111@203.0.113.1>", "<sip:+4989123@carrier.example>", 1)
	resp := mustParse(t, `SIP/2.0 200 OK
Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKx
Record-Route: <sip:edge1.carrier.example;lr>
Record-Route: <sip:edge2.carrier.example;lr>
From: <sip:+4930111@203.0.113.1>;tag=ourTag
To: <sip:+4989123@carrier.example>;tag=b9
Call-ID: bleg-1
CSeq: 1 INVITE
Contact: <sip:gw@198.51.100.7:5070;transport=tcp>
Content-Length: 0

`)
	if err := d.fromResponse(resp); err != nil {
		t.Fatal(err)
	}
	// §12.1.2: reversed Record-Route.
	if len(d.routeSet) != 2 || !strings.Contains(d.routeSet[0], "edge2") {
		t.Fatalf("route set %q", d.routeSet)
	}
	ack := d.request("ACK", 1)
	out := ack.String()
	for _, want := range []string{
		"ACK sip:gw@198.51.100.7:5070;transport=tcp SIP/2.0\r\n",
		"Route: <sip:edge2.carrier.example;lr>\r\nRoute: <sip:edge1.carrier.example;lr>\r\n",
		"To: <sip:+4989123@carrier.example>;tag=b9\r\n",
		"CSeq: 1 ACK\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ACK lacks %q:\n%s", want, out)
		}
	}
	if bye := d.request("BYE", 0).String(); !strings.Contains(bye, "CSeq: 2 BYE") {
		t.Errorf("BYE CSeq not incremented:\n%s", bye)
	}
}

func TestStrictRouterFirstRoute(t *testing.T) {
	d := &dialog{callID: "c", localTag: "l", remoteTag: "r", localURI: "<sip:a@x>", remoteURI: "<sip:b@y>",
		remoteTarget: "sip:b@192.0.2.9", routeSet: []string{"<sip:strict.example>", "<sip:loose.example;lr>"}}
	out := d.request("INFO", 0).String()
	if !strings.HasPrefix(out, "INFO sip:strict.example SIP/2.0\r\n") {
		t.Fatalf("strict router not used as Request-URI:\n%s", out)
	}
	if !strings.Contains(out, "Route: <sip:loose.example;lr>\r\nRoute: <sip:b@192.0.2.9>\r\n") {
		t.Fatalf("remote target not appended as last Route:\n%s", out)
	}
}

func TestRouteWithoutBrackets(t *testing.T) {
	d := &dialog{callID: "c", localTag: "l", remoteTag: "r", localURI: "<sip:a@x>", remoteURI: "<sip:b@y>",
		remoteTarget: "sip:b@192.0.2.9", routeSet: []string{"sip:edge.example;lr"}}
	out := d.request("BYE", 0).String()
	if !strings.HasPrefix(out, "BYE sip:b@192.0.2.9 SIP/2.0\r\n") {
		t.Fatalf("a bracketless loose route was taken for a strict router:\n%s", out)
	}
}
