package sipptest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// testProxy is a record-routing SIP proxy over UDP, a test double standing
// where the SBC will stand, to prove that the scenarios route in-dialog
// requests by the route set and remote target and not by addresses they
// were started with. It forwards statelessly (RFC 3261 16.11) except for the
// INVITE transactions of its targets: a 503 from one target is ACKed there
// and the INVITE goes to the next target (RFC 3261 16.7), like an SBC's
// trunk failover. It records every routing rule a peer breaks.
type testProxy struct {
	conn    *net.UDPConn
	self    netip.AddrPort
	targets []netip.AddrPort
	done    chan struct{}

	// Owned by the serve goroutine.
	invites map[string]*proxyInvite // by the caller's INVITE branch

	mu         sync.Mutex
	violations []string
	inDialog   int // in-dialog requests that carried our Route
	failovers  int
	forwarded  int
}

// proxyInvite is the state of one INVITE the proxy forwarded.
type proxyInvite struct {
	msg     *sipMsg // the INVITE as received
	attempt int     // index of the target it was last sent to
}

func startTestProxy(t *testing.T, ip netip.Addr, targets ...netip.AddrPort) *testProxy {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	p := &testProxy{conn: conn, self: conn.LocalAddr().(*net.UDPAddr).AddrPort(), targets: targets,
		done: make(chan struct{}), invites: map[string]*proxyInvite{}}
	go p.serve()
	t.Cleanup(func() {
		conn.Close()
		<-p.done
	})
	return p
}

// serve reads until the socket is closed by the test's cleanup.
func (p *testProxy) serve() {
	defer close(p.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		m, err := parseSIP(string(buf[:n]))
		if err != nil {
			p.violate("unparsable message: %v", err)
			continue
		}
		if m.isResponse() {
			p.response(m)
		} else {
			p.request(m)
		}
	}
}

func (p *testProxy) violate(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.violations = append(p.violations, fmt.Sprintf(format, args...))
}

func (p *testProxy) report() (violations []string, inDialog, failovers, forwarded int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.violations...), p.inDialog, p.failovers, p.forwarded
}

func (p *testProxy) request(m *sipMsg) {
	method := m.method()
	branch := m.topBranch()
	inDialog := hasTag(m.get("to"))
	// RFC 3261 16.4: a Route naming this proxy is removed.
	ourRoute := false
	if r := m.get("route"); r != "" && uriHostPort(firstValue(r)) == p.self {
		ourRoute = true
		m.popFirstValue("route")
	}
	next := netip.AddrPort{}
	if r := m.get("route"); r != "" {
		next = uriHostPort(firstValue(r))
	} else {
		next = uriHostPort(m.requestURI())
	}
	toSelf := next == p.self

	switch {
	case inDialog && method == "ACK" && !ourRoute:
		// Only the ACK of a non-2xx response is sent like its INVITE:
		// to the proxy, in the INVITE's transaction (RFC 3261 17.1.1.3).
		if inv := p.invites[branch]; inv == nil || !toSelf {
			p.violate("ACK without the route set and not for a known INVITE: %s", m.start)
		}
		// The proxy ACKed the failure itself (ackUpstreamFailure); the
		// caller's ACK ends at this hop (RFC 3261 17.2.1).
		return
	case inDialog && method != "CANCEL":
		// RFC 3261 12.2.1.1: an in-dialog request goes to the remote
		// target (the peer's Contact) through the route set.
		if !ourRoute {
			p.violate("%s in a dialog without the Route of the route set: %s", method, m.start)
		}
		if toSelf {
			p.violate("%s in a dialog sent to the proxy instead of the remote target: %s", method, m.start)
			return
		}
		p.mu.Lock()
		p.inDialog++
		p.mu.Unlock()
	}

	attempt := 0
	if toSelf {
		// Out-of-dialog request (or CANCEL / non-2xx ACK) for a target.
		if inv := p.invites[branch]; inv != nil {
			attempt = inv.attempt
		} else if method == "INVITE" {
			p.invites[branch] = &proxyInvite{msg: m.clone()}
		}
		next = p.targets[attempt]
		if method == "CANCEL" && p.invites[branch] == nil {
			// RFC 3261 9.1: the CANCEL carries the INVITE's branch.
			p.violate("CANCEL for an unknown INVITE (branch %s)", branch)
			return
		}
	}
	if method == "INVITE" && !inDialog {
		// Stay on the path of the dialog (RFC 3261 16.6 step 4).
		m.insertFirst("Record-Route", "<sip:"+p.self.String()+";lr>")
	}
	p.forward(m, next, attempt, branch)
}

// forward sends a request on with this proxy's Via; the branch is derived
// from the caller's so that CANCEL and a non-2xx ACK match their INVITE
// (RFC 3261 16.11), and from the attempt so that a failover is a new
// transaction.
func (p *testProxy) forward(m *sipMsg, next netip.AddrPort, attempt int, branch string) {
	if mf, err := strconv.Atoi(m.get("max-forwards")); err == nil {
		if mf <= 0 {
			p.violate("Max-Forwards exhausted: %s", m.start)
			return
		}
		m.set("Max-Forwards", strconv.Itoa(mf-1))
	}
	m.insertFirst("Via", fmt.Sprintf("SIP/2.0/UDP %s;branch=z9hG4bK-p%d-%s", p.self, attempt,
		strings.TrimPrefix(branch, "z9hG4bK")))
	p.send(m, next)
}

func (p *testProxy) send(m *sipMsg, to netip.AddrPort) {
	if !to.IsValid() {
		p.violate("no next hop for %s", m.start)
		return
	}
	if _, err := p.conn.WriteToUDPAddrPort([]byte(m.String()), to); err != nil {
		p.violate("send to %s: %v", to, err)
		return
	}
	p.mu.Lock()
	p.forwarded++
	p.mu.Unlock()
}

func (p *testProxy) response(m *sipMsg) {
	top := m.get("via")
	if !strings.Contains(top, " "+p.self.String()+";") {
		p.violate("response whose top Via is not the proxy's: %s", firstValue(top))
		return
	}
	ourBranch := m.topBranch()
	m.popFirstValue("via")
	code := m.statusCode()
	cseq := strings.Fields(m.get("cseq"))
	if len(cseq) == 2 && cseq[1] == "INVITE" {
		attempt, callerBranch := splitProxyBranch(ourBranch)
		if inv := p.invites[callerBranch]; inv != nil {
			if code == 100 {
				return // hop by hop (RFC 3261 16.7 step 3)
			}
			if code < 300 && m.statusCode() > 100 && hasTag(m.get("to")) &&
				!strings.Contains(m.get("record-route"), "sip:"+p.self.String()+";lr") {
				// RFC 3261 12.1.1: a dialog-creating response copies
				// the Record-Route of the request.
				p.violate("%s to the initial INVITE without the proxy's Record-Route", m.start)
			}
			if code >= 300 && attempt < len(p.targets) {
				// The proxy ACKs a non-2xx final response of its client
				// transaction itself (RFC 3261 17.1.1.3).
				p.ackUpstreamFailure(inv, m, attempt)
			}
			if code == 503 && attempt == inv.attempt && attempt+1 < len(p.targets) {
				// RFC 3261 16.7: try the next target instead of
				// forwarding the failure.
				inv.attempt++
				p.mu.Lock()
				p.failovers++
				p.mu.Unlock()
				again := inv.msg.clone()
				again.insertFirst("Record-Route", "<sip:"+p.self.String()+";lr>")
				p.forward(again, p.targets[inv.attempt], inv.attempt, callerBranch)
				return
			}
			if code >= 300 && attempt != inv.attempt {
				return // a retransmission from a target already failed over
			}
		}
	}
	p.send(m, viaHostPort(m.get("via")))
}

// ackUpstreamFailure ACKs a non-2xx final response from a target: the
// INVITE's Request-URI, Call-ID, From and CSeq number, the response's To, and
// the proxy's Via of that attempt (RFC 3261 17.1.1.3).
func (p *testProxy) ackUpstreamFailure(inv *proxyInvite, resp *sipMsg, attempt int) {
	if hasTag(inv.msg.get("to")) {
		return
	}
	n := strings.Fields(inv.msg.get("cseq"))[0]
	ack := &sipMsg{start: "ACK " + inv.msg.requestURI() + " SIP/2.0"}
	ack.add("Via", fmt.Sprintf("SIP/2.0/UDP %s;branch=z9hG4bK-p%d-%s", p.self, attempt,
		strings.TrimPrefix(inv.msg.topBranch(), "z9hG4bK")))
	ack.add("From", inv.msg.get("from"))
	ack.add("To", resp.get("to"))
	ack.add("Call-ID", inv.msg.get("call-id"))
	ack.add("CSeq", n+" ACK")
	ack.add("Max-Forwards", "70")
	ack.add("Content-Length", "0")
	if _, err := p.conn.WriteToUDPAddrPort([]byte(ack.String()), p.targets[attempt]); err != nil {
		p.violate("ack to %s: %v", p.targets[attempt], err)
	}
}

func splitProxyBranch(b string) (attempt int, callerBranch string) {
	rest, ok := strings.CutPrefix(b, "z9hG4bK-p")
	if !ok {
		return -1, ""
	}
	num, orig, ok := strings.Cut(rest, "-")
	if !ok {
		return -1, ""
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return -1, ""
	}
	return n, "z9hG4bK" + orig
}

// sipMsg is a SIP message as lines, enough for the proxy: headers in order,
// compact names expanded, the body untouched.
type sipMsg struct {
	start   string
	headers []sipHeader
	body    string
}

type sipHeader struct{ name, value string }

var compact = map[string]string{"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
	"l": "content-length", "c": "content-type"}

func parseSIP(s string) (*sipMsg, error) {
	head, body, ok := strings.Cut(s, "\r\n\r\n")
	if !ok {
		return nil, errors.New("no end of headers")
	}
	lines := strings.Split(head, "\r\n")
	m := &sipMsg{start: lines[0], body: body}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("header line %q", l)
		}
		m.add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return m, nil
}

func key(name string) string {
	k := strings.ToLower(name)
	if long, ok := compact[k]; ok {
		return long
	}
	return k
}

func (m *sipMsg) clone() *sipMsg {
	c := *m
	c.headers = append([]sipHeader(nil), m.headers...)
	return &c
}

func (m *sipMsg) add(name, value string) { m.headers = append(m.headers, sipHeader{name, value}) }

// get returns the first header of that name.
func (m *sipMsg) get(name string) string {
	k := key(name)
	for _, h := range m.headers {
		if key(h.name) == k {
			return h.value
		}
	}
	return ""
}

func (m *sipMsg) set(name, value string) {
	k := key(name)
	for i, h := range m.headers {
		if key(h.name) == k {
			m.headers[i].value = value
			return
		}
	}
	m.add(name, value)
}

// insertFirst puts a header before the first one of its name (or first).
func (m *sipMsg) insertFirst(name, value string) {
	k := key(name)
	at := 0
	for i, h := range m.headers {
		if key(h.name) == k {
			at = i
			break
		}
	}
	m.headers = append(m.headers[:at], append([]sipHeader{{name, value}}, m.headers[at:]...)...)
}

// popFirstValue removes the first value of the first header of that name
// (a comma-separated list, RFC 3261 7.3.1).
func (m *sipMsg) popFirstValue(name string) {
	k := key(name)
	for i, h := range m.headers {
		if key(h.name) != k {
			continue
		}
		if _, rest, ok := strings.Cut(h.value, ","); ok && strings.TrimSpace(rest) != "" {
			m.headers[i].value = strings.TrimSpace(rest)
		} else {
			m.headers = append(m.headers[:i], m.headers[i+1:]...)
		}
		return
	}
}

func (m *sipMsg) String() string {
	var b strings.Builder
	b.WriteString(m.start + "\r\n")
	for _, h := range m.headers {
		b.WriteString(h.name + ": " + h.value + "\r\n")
	}
	b.WriteString("\r\n" + m.body)
	return b.String()
}

func (m *sipMsg) isResponse() bool { return strings.HasPrefix(m.start, "SIP/2.0 ") }

func (m *sipMsg) method() string { return strings.SplitN(m.start, " ", 2)[0] }

func (m *sipMsg) requestURI() string {
	f := strings.Fields(m.start)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func (m *sipMsg) statusCode() int {
	f := strings.Fields(m.start)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func (m *sipMsg) topBranch() string {
	v := firstValue(m.get("via"))
	_, b, ok := strings.Cut(v, "branch=")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(b, ";, "); i >= 0 {
		b = b[:i]
	}
	return b
}

func firstValue(v string) string {
	if i := strings.Index(v, ","); i >= 0 && !strings.HasPrefix(strings.TrimSpace(v), "\"") {
		return strings.TrimSpace(v[:i])
	}
	return strings.TrimSpace(v)
}

func hasTag(v string) bool {
	if i := strings.LastIndex(v, ">"); i >= 0 {
		v = v[i:]
	}
	return strings.Contains(v, ";tag=")
}

// uriHostPort returns the host:port of a SIP URI, bare or in <>, with the
// default port 5060.
func uriHostPort(u string) netip.AddrPort {
	if i := strings.Index(u, "<"); i >= 0 {
		u = u[i+1:]
		if j := strings.Index(u, ">"); j >= 0 {
			u = u[:j]
		}
	}
	u = strings.TrimPrefix(strings.TrimPrefix(u, "sip:"), "sips:")
	if i := strings.Index(u, "@"); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexAny(u, ";?>"); i >= 0 {
		u = u[:i]
	}
	if !strings.Contains(u, ":") {
		u += ":5060"
	}
	ap, _ := netip.ParseAddrPort(u)
	return ap
}

// viaHostPort returns the sent-by of the first Via value.
func viaHostPort(v string) netip.AddrPort {
	f := strings.Fields(firstValue(v))
	if len(f) < 2 {
		return netip.AddrPort{}
	}
	return uriHostPort(f[1])
}
