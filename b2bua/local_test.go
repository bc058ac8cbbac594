package b2bua

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
)

// exchange sends one request from a socket on the caller's address and
// returns the final response.
func exchange(t *testing.T, to netip.AddrPort, req string) *sip.Message {
	t.Helper()
	return exchangeFrom(t, callerIP, to, req)
}

// exchangeFrom is exchange from a socket on src; LOCAL in req becomes the
// socket's address.
func exchangeFrom(t *testing.T, src netip.Addr, to netip.AddrPort, req string) *sip.Message {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	req = strings.ReplaceAll(req, "LOCAL", local.String())
	req = strings.ReplaceAll(req, "\n", "\r\n")
	if _, err := conn.WriteToUDPAddrPort([]byte(req), to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no final response: %v", err)
		}
		m, err := sip.Parse(buf[:n])
		if err != nil {
			t.Fatalf("bad response: %v", err)
		}
		if m.StatusCode >= 200 {
			return m
		}
	}
}

func TestLocalAnswers(t *testing.T) {
	sb := startSBC(t, 1, 1, 1)
	tests := []struct {
		name, req string
		code      int
		check     func(*testing.T, *sip.Message)
	}{
		{"OPTIONS to the SBC is answered locally with what it supports", `OPTIONS sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKopt1
Max-Forwards: 70
From: <sip:ping@127.0.0.10>;tag=o1
To: <sip:127.0.0.1>
Call-ID: opt-1
CSeq: 1 OPTIONS
Content-Length: 0

`, 200, func(t *testing.T, m *sip.Message) {
			for _, h := range []string{"Allow", "Supported", "Accept"} {
				if _, ok := m.GetHeader(h); !ok {
					t.Errorf("200 to OPTIONS lacks %s", h)
				}
			}
			if a, _ := m.GetHeader("Allow"); !strings.Contains(a, "INVITE") || !strings.Contains(a, "PRACK") {
				t.Errorf("Allow = %q", a)
			}
		}},
		{"BYE for an unknown dialog gets 481", `BYE sip:x@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKbye1
Max-Forwards: 70
From: <sip:a@127.0.0.10>;tag=b1
To: <sip:b@127.0.0.1>;tag=nosuch
Call-ID: no-such-call
CSeq: 2 BYE
Content-Length: 0

`, 481, nil},
		{"BYE outside a dialog gets 481", `BYE sip:x@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKbye2
Max-Forwards: 70
From: <sip:a@127.0.0.10>;tag=b2
To: <sip:b@127.0.0.1>
Call-ID: no-such-call-2
CSeq: 2 BYE
Content-Length: 0

`, 481, nil},
		{"unknown method gets 501 with Allow", `FROB sip:x@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKfrob
Max-Forwards: 70
From: <sip:a@127.0.0.10>;tag=f1
To: <sip:b@127.0.0.1>
Call-ID: frob-1
CSeq: 1 FROB
Content-Length: 0

`, 501, func(t *testing.T, m *sip.Message) {
			if _, ok := m.GetHeader("Allow"); !ok {
				t.Error("501 lacks Allow")
			}
		}},
		{"INVITE requiring an unsupported extension gets 420 with Unsupported", `INVITE sip:4930@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKreq
Max-Forwards: 70
From: <sip:a@127.0.0.10>;tag=r1
To: <sip:4930@127.0.0.1>
Call-ID: req-1
CSeq: 1 INVITE
Contact: <sip:a@LOCAL>
Require: foo, 100rel
Content-Length: 0

`, 420, func(t *testing.T, m *sip.Message) {
			if u, _ := m.GetHeader("Unsupported"); u != "foo" {
				t.Errorf("Unsupported = %q, want foo", u)
			}
		}},
		{"INVITE with a non-SDP body gets 415", `INVITE sip:4930@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKct
Max-Forwards: 70
From: <sip:a@127.0.0.10>;tag=c1
To: <sip:4930@127.0.0.1>
Call-ID: ct-1
CSeq: 1 INVITE
Contact: <sip:a@LOCAL>
Content-Type: text/plain
Content-Length: 5

hello`, 415, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := exchange(t, sb.inside, tc.req)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, resp.Reason, tc.code)
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
		})
	}
	// Requests from a source no trunk matches are refused.
	unknown := `INVITE sip:4930@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKunk
Max-Forwards: 70
From: <sip:a@x>;tag=u1
To: <sip:4930@127.0.0.1>
Call-ID: unk-1
CSeq: 1 INVITE
Contact: <sip:a@LOCAL>
Content-Length: 0

`
	if resp := exchangeFrom(t, netip.MustParseAddr("127.0.0.99"), sb.inside, unknown); resp.StatusCode != 403 {
		t.Errorf("unknown source: %d, want 403", resp.StatusCode)
	}
	if n := sb.srv.ActiveCalls(); n != 0 {
		t.Errorf("%d calls left after local answers", n)
	}
}
