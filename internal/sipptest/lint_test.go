package sipptest

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scenarioXML is the part of a SIPp scenario the lint reads.
type scenarioXML struct {
	Name  string `xml:"name,attr"`
	Sends []struct {
		Text string `xml:",chardata"`
	} `xml:"send"`
}

func readScenario(t *testing.T, path string) scenarioXML {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	// The files declare ISO-8859-1 (SIPp's habit) and hold only ASCII.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var s scenarioXML
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// TestScenarioLint checks the library statically: pairs are complete, the
// names another helper owns are not used, and every request a scenario sends
// inside a dialog goes to [next_url] with [routes] (RFC 3261 12.2.1.1), while
// only initial requests, CANCEL and the ACK of a non-2xx response use the
// address the call was started with (RFC 3261 9.1, 17.1.1.3).
func TestScenarioLint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(ScenarioDir(t), "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	names := map[string]bool{}
	for _, f := range files {
		names[strings.TrimSuffix(filepath.Base(f), ".xml")] = true
	}
	for _, owned := range []string{"options-uac", "message-uac"} {
		if names[owned] {
			t.Errorf("%s.xml is the transaction layer's; it lives in scripts/sipp/transaction/", owned)
		}
	}
	for n := range names {
		role, rest, ok := strings.Cut(n, "-")
		if !ok || (role != "uac" && role != "uas") {
			t.Errorf("%s.xml: name is not uac-* or uas-*", n)
			continue
		}
		other := map[string]string{"uac": "uas", "uas": "uac"}[role] + "-" + rest
		if !names[other] {
			t.Errorf("%s.xml has no %s.xml", n, other)
		}
	}
	for _, f := range files {
		s := readScenario(t, f)
		base := strings.TrimSuffix(filepath.Base(f), ".xml")
		if s.Name != base {
			t.Errorf("%s: scenario name %q", base, s.Name)
		}
		for i, send := range s.Sends {
			for _, problem := range lintSend(base, send.Text) {
				t.Errorf("%s send %d: %s", base, i, problem)
			}
		}
	}
}

// lintSend returns what is wrong with the text of one <send> of file.
func lintSend(file string, text string) (problems []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" || len(lines) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		bad("empty")
		return problems
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	head := strings.Join(lines, "\n")
	if b := strings.Index(head, "\n\n"); b >= 0 {
		body := head[b+2:]
		head = head[:b]
		if strings.Contains(head, "Content-Type: application/sdp") &&
			(!strings.Contains(body, "c=IN IP[media_ip_type] [media_ip]") || !strings.Contains(body, "m=audio [media_port] ")) {
			bad("SDP without [media_ip] / [media_port]")
		}
	}
	if strings.Contains(head, "Content-Length: [len]") != strings.Contains(head, "Content-Type:") {
		bad("Content-Type and Content-Length: [len] go together")
	}
	start := strings.Fields(lines[0])
	if len(start) != 3 || start[0] == "SIP/2.0" {
		return problems // a response
	}
	method, uri := start[0], start[1]
	hasRoutes := strings.Contains(head, "\n[routes]\n")
	inviteBranch := strings.Contains(head, "branch=z9hG4bK-[pid]-[call_number]-inv")
	switch {
	case uri == "[next_url]":
		if !hasRoutes {
			bad("%s to [next_url] without [routes]", method)
		}
	case method == "CANCEL" || (method == "ACK" && inviteBranch):
		// Same Request-URI, Call-ID and branch as the INVITE.
		if hasRoutes || uri != "sip:[service]@[remote_ip]:[remote_port]" || !inviteBranch {
			bad("%s must repeat the INVITE's Request-URI and branch", method)
		}
	case (method == "INVITE" || method == "OPTIONS") && strings.HasPrefix(file, "uac-") &&
		!strings.Contains(head, "[peer_tag_param]"):
		if uri != "sip:[service]@[remote_ip]:[remote_port]" {
			bad("initial %s to %s", method, uri)
		}
	default:
		bad("%s %s is neither initial nor routed by [next_url] / [routes]", method, uri)
	}
	return problems
}

// TestLintSend shows that the lint catches each broken rule.
func TestLintSend(t *testing.T) {
	const via = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
	const invVia = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-inv\n"
	const to = "To: <sip:[service]@[remote_ip]:[remote_port]>"
	for _, c := range []struct {
		name, file, text string
		ok               bool
	}{
		{"routed BYE", "uac-x", "BYE [next_url] SIP/2.0\n" + via + "[routes]\n" + to + "[peer_tag_param]\nContent-Length: 0\n", true},
		{"BYE without routes", "uac-x", "BYE [next_url] SIP/2.0\n" + via + to + "[peer_tag_param]\n", false},
		{"BYE to the start address", "uac-x", "BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n" + via + "[routes]\n" + to + "[peer_tag_param]\n", false},
		{"initial INVITE", "uac-x", "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n" + via + to + "\n", true},
		{"CANCEL", "uac-x", "CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n" + invVia + to + "\n", true},
		{"CANCEL new branch", "uac-x", "CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n" + via + to + "\n", false},
		{"non-2xx ACK", "uac-x", "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n" + invVia + to + "[peer_tag_param]\n", true},
		{"callee BYE to a fixed URI", "uas-x", "BYE sip:caller@[remote_ip] SIP/2.0\n" + via + "[routes]\n", false},
		{"SDP without media keywords", "uas-x", "SIP/2.0 200 OK\nContent-Type: application/sdp\nContent-Length: [len]\n\nv=0\nc=IN IP4 127.0.0.1\nm=audio 6000 RTP/AVP 0\n", false},
		{"SDP with media keywords", "uas-x", "SIP/2.0 200 OK\nContent-Type: application/sdp\nContent-Length: [len]\n\nv=0\nc=IN IP[media_ip_type] [media_ip]\nm=audio [media_port] RTP/AVP 0\n", true},
		{"body without length", "uas-x", "SIP/2.0 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\nhello\n", false},
	} {
		problems := lintSend(c.file, c.text)
		if (len(problems) == 0) != c.ok {
			t.Errorf("%s: problems %v, want ok=%v", c.name, problems, c.ok)
		}
	}
}
