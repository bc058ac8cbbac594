package transport_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/sbc-project/sbc/internal/testenv"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
	"github.com/sbc-project/sbc/sip/transport/transporttest"
)

var loop4 = netip.MustParseAddrPort("127.0.0.1:0")

// sink collects inbound messages and rejections.
type sink struct {
	in  chan transport.Inbound
	mu  sync.Mutex
	rej []transport.Reject
}

func newSink() *sink { return &sink{in: make(chan transport.Inbound, 64)} }

func (s *sink) HandleMessage(in transport.Inbound) { s.in <- in }

func (s *sink) onReject(r transport.Reject) {
	s.mu.Lock()
	s.rej = append(s.rej, r)
	s.mu.Unlock()
}

func (s *sink) rejects() []transport.Reject {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rej)
}

func (s *sink) next(t *testing.T) transport.Inbound {
	t.Helper()
	select {
	case in := <-s.in:
		return in
	case <-time.After(5 * time.Second):
		t.Fatal("no message delivered")
	}
	return transport.Inbound{}
}

func (s *sink) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case in := <-s.in:
		t.Fatalf("unexpected delivery: %s", in.Msg)
	case <-time.After(d):
	}
}

func newLayer(t *testing.T, s *sink, lim transport.Limits, ls ...transport.ListenerConfig) *transport.Layer {
	t.Helper()
	l, err := transport.New(transport.Config{Listeners: ls, Limits: lim, Handler: s, OnReject: s.onReject})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	t.Cleanup(func() { l.Close() })
	return l
}

func addrOf(l *transport.Layer, tr transport.Transport) netip.AddrPort {
	for _, li := range l.Listeners() {
		if li.Transport == tr {
			return li.Addr
		}
	}
	return netip.AddrPort{}
}

func request(method, via, callID string) string {
	return method + " sip:bob@127.0.0.1 SIP/2.0\r\n" +
		"Via: " + via + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:alice@example.com>;tag=f1\r\n" +
		"To: <sip:bob@example.net>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
}

func response(t *testing.T, req *sip.Message, code int) *sip.Message {
	t.Helper()
	r := sip.NewResponse(req, code, "")
	transport.AddToTag(r, "")
	return r
}

// RFC 3581: rport and received are filled in, and the response goes to the
// source port, not the sent-by port.
func TestUDPRportAndResponseRouting(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{}, transport.ListenerConfig{Interface: "outside", Transport: transport.UDP, Addr: loop4})
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	dst := net.UDPAddrFromAddrPort(addrOf(l, transport.UDP))
	peer.WriteToUDP([]byte(request("OPTIONS", "SIP/2.0/UDP 10.9.9.9:5099;branch=z9hG4bKa;rport", "c1@x")), dst)
	in := s.next(t)
	src := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	if in.Source != src || in.Interface != "outside" || in.Transport != transport.UDP {
		t.Fatalf("inbound %+v, want source %v on outside/UDP", in, src)
	}
	via, _ := in.Msg.GetHeader("Via")
	want := fmt.Sprintf("SIP/2.0/UDP 10.9.9.9:5099;branch=z9hG4bKa;rport=%d;received=127.0.0.1", src.Port())
	if via != want {
		t.Fatalf("Via %q, want %q", via, want)
	}
	if string(in.Msg.Body) != "hello" {
		t.Fatalf("body %q", in.Msg.Body)
	}
	if err := l.Respond(in.Flow, response(t, in.Msg, 200)); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200 OK\r\n") {
		t.Fatalf("got %q", buf[:n])
	}
	// Without rport, received is added only when the host differs, and the
	// response goes to the sent-by port (§18.2.2): here the peer's own port.
	peer.WriteToUDP([]byte(request("OPTIONS", fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKb", src.Port()), "c2@x")), dst)
	in = s.next(t)
	if via, _ := in.Msg.GetHeader("Via"); strings.Contains(via, "received") {
		t.Fatalf("received added although sent-by matches: %q", via)
	}
	if err := l.Respond(in.Flow, response(t, in.Msg, 404)); err != nil {
		t.Fatal(err)
	}
	n, _, err = peer.ReadFromUDPAddrPort(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 404") {
		t.Fatalf("got %q, %v", buf[:n], err)
	}
}

// Stray CRLFs are ignored, garbage is dropped and counted, a request that
// fails validation gets a stateless answer, an invalid response is dropped.
func TestUDPRejects(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{}, transport.ListenerConfig{Interface: "inside", Transport: transport.UDP, Addr: loop4})
	peer, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer peer.Close()
	dst := net.UDPAddrFromAddrPort(addrOf(l, transport.UDP))
	peer.WriteToUDP([]byte("\r\n\r\n"), dst)
	peer.WriteToUDP([]byte("this is not SIP at all"), dst)
	noCallID := strings.Replace(request("OPTIONS", "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKc;rport", "x"), "Call-ID: x\r\n", "", 1)
	peer.WriteToUDP([]byte(noCallID), dst)
	peer.WriteToUDP([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKd\r\nContent-Length: 0\r\n\r\n"), dst)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := sip.Parse(buf[:n])
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("stateless answer %q (%v)", buf[:n], err)
	}
	if to, _ := resp.GetHeader("To"); !strings.Contains(to, ";tag=") {
		t.Fatalf("stateless answer without To tag: %q", to)
	}
	s.none(t, 100*time.Millisecond)
	eventually(t, func() bool { return len(s.rejects()) >= 3 })
	var got []string
	for _, r := range s.rejects() {
		got = append(got, fmt.Sprint(r.Reason, "/", r.Code))
	}
	slices.Sort(got)
	if want := []string{"invalid/0", "invalid/400", "unparseable/0"}; !slices.Equal(got, want) {
		t.Fatalf("rejects %v, want %v", got, want)
	}
	st := l.Stats()
	if st.Unparseable != 1 || st.Invalid != 2 || st.StatelessAnswers != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func dialTCP(t *testing.T, a netip.AddrPort) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(a))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readResponse reads one framed message from a stream.
func readMessage(t *testing.T, r *bufio.Reader) *sip.Message {
	t.Helper()
	var buf []byte
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("read: %v (have %q)", err, buf)
		}
		if len(buf) == 0 && string(line) == "\r\n" {
			continue
		}
		buf = append(buf, line...)
		if string(line) == "\r\n" {
			break
		}
	}
	m, err := sip.Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := m.ContentLength(); n > 0 {
		body := make([]byte, n)
		io.ReadFull(r, body)
	}
	return m
}

// Stream framing: two messages in one segment, one split over three; the
// response uses the same connection; CRLF ping gets a CRLF pong.
func TestTCPFramingKeepaliveAndResponse(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{}, transport.ListenerConfig{Interface: "inside", Transport: transport.TCP, Addr: loop4})
	c := dialTCP(t, addrOf(l, transport.TCP))
	m1 := request("MESSAGE", "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK1", "c1")
	m2 := request("MESSAGE", "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK2", "c2")
	m3 := request("MESSAGE", "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK3", "c3")
	c.Write([]byte(m1 + m2 + m3[:40]))
	time.Sleep(20 * time.Millisecond)
	c.Write([]byte(m3[40:100]))
	time.Sleep(20 * time.Millisecond)
	c.Write([]byte(m3[100:]))
	var ins []transport.Inbound
	for range 3 {
		ins = append(ins, s.next(t))
	}
	for i, in := range ins {
		if id, _ := in.Msg.GetHeader("Call-ID"); id != fmt.Sprint("c", i+1) || string(in.Msg.Body) != "hello" {
			t.Fatalf("message %d: Call-ID %q body %q", i, id, in.Msg.Body)
		}
		if in.Transport != transport.TCP || in.Flow.Remote() != c.LocalAddr().(*net.TCPAddr).AddrPort() {
			t.Fatalf("flow %v", in.Flow)
		}
	}
	c.Write([]byte("\r\n\r\n"))
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	pong := make([]byte, 2)
	if _, err := io.ReadFull(br, pong); err != nil || string(pong) != "\r\n" {
		t.Fatalf("pong %q, %v", pong, err)
	}
	if err := l.Respond(ins[1].Flow, response(t, ins[1].Msg, 200)); err != nil {
		t.Fatal(err)
	}
	r := readMessage(t, br)
	if id, _ := r.GetHeader("Call-ID"); r.StatusCode != 200 || id != "c2" {
		t.Fatalf("response %s", r)
	}
	if got := l.Stats().KeepalivesAnswered; got != 1 {
		t.Fatalf("keepalives %d", got)
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached in 5 s")
}

func expectClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 256)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection still open")
		}
		return
	}
}

// A stream that cannot be framed (no Content-Length) is closed; others
// are not affected.
func TestTCPUnframeableCloses(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{}, transport.ListenerConfig{Interface: "inside", Transport: transport.TCP, Addr: loop4})
	good := dialTCP(t, addrOf(l, transport.TCP))
	bad := dialTCP(t, addrOf(l, transport.TCP))
	bad.Write([]byte("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4;branch=z9hG4bKx\r\n\r\n"))
	expectClosed(t, bad, 5*time.Second)
	good.Write([]byte(request("OPTIONS", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKg", "g")))
	if in := s.next(t); in.Transport != transport.TCP {
		t.Fatal("good connection affected")
	}
	if l.Stats().Unframeable != 1 {
		t.Fatalf("stats %+v", l.Stats())
	}
}

// Slow-loris: a partial message past PartialTimeout closes the connection;
// an idle connection closes after IdleTimeout; a new connection that sends
// nothing gets PartialTimeout.
func TestTCPTimeouts(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{PartialTimeout: 150 * time.Millisecond, IdleTimeout: 300 * time.Millisecond},
		transport.ListenerConfig{Interface: "inside", Transport: transport.TCP, Addr: loop4})
	slow := dialTCP(t, addrOf(l, transport.TCP))
	slow.Write([]byte(request("OPTIONS", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKs", "s")[:50]))
	expectClosed(t, slow, 5*time.Second)
	idle := dialTCP(t, addrOf(l, transport.TCP))
	idle.Write([]byte(request("OPTIONS", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKi", "i")))
	s.next(t)
	expectClosed(t, idle, 5*time.Second)
	mute := dialTCP(t, addrOf(l, transport.TCP))
	expectClosed(t, mute, 5*time.Second)
	eventually(t, func() bool { return l.Stats().ConnsClosed == 3 })
}

func TestTCPConnsPerSource(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{MaxConnsPerSource: 2}, transport.ListenerConfig{Interface: "inside", Transport: transport.TCP, Addr: loop4})
	a := addrOf(l, transport.TCP)
	c1, c2 := dialTCP(t, a), dialTCP(t, a)
	c3 := dialTCP(t, a)
	expectClosed(t, c3, 5*time.Second)
	for i, c := range []net.Conn{c1, c2} {
		c.Write([]byte(request("OPTIONS", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKp"+fmt.Sprint(i), "p")))
		s.next(t)
	}
	if st := l.Stats(); st.ConnsRefused != 1 {
		t.Fatalf("stats %+v", st)
	}
	if r := s.rejects(); len(r) != 1 || r[0].Reason != transport.RejectConnLimit {
		t.Fatalf("rejects %v", r)
	}
}

// Outgoing TCP and TLS: a new connection when none exists, reuse after;
// the response comes back on the same connection.
func TestStreamSendReuse(t *testing.T) {
	certFile, keyFile, pool := transporttest.SelfSigned(t)
	for _, tr := range []transport.Transport{transport.TCP, transport.TLS} {
		t.Run(tr.String(), func(t *testing.T) {
			sa, sb := newSink(), newSink()
			lc := transport.ListenerConfig{Interface: "outside", Transport: tr, Addr: loop4, CertFile: certFile, KeyFile: keyFile}
			a, err := transport.New(transport.Config{Listeners: []transport.ListenerConfig{lc}, Handler: sa, TLSClient: &tls.Config{RootCAs: pool}})
			if err != nil {
				t.Fatal(err)
			}
			a.Start()
			defer a.Close()
			b := newLayer(t, sb, transport.Limits{}, lc)
			target := transport.Target{Host: "127.0.0.1", Port: addrOf(b, tr).Port(), Transport: tr}
			for i := range 3 {
				req, _ := sip.Parse([]byte(request("MESSAGE", fmt.Sprintf("SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bKr%d", tr, addrOf(a, tr).Port(), i), fmt.Sprint("r", i))))
				if _, err := a.Send(context.Background(), req, target); err != nil {
					t.Fatal(err)
				}
				in := sb.next(t)
				if err := b.Respond(in.Flow, response(t, in.Msg, 200)); err != nil {
					t.Fatal(err)
				}
				if r := sa.next(t); r.Msg.StatusCode != 200 {
					t.Fatalf("response %s", r.Msg)
				}
			}
			if oa, ob := a.Stats().ConnsOpened, b.Stats().ConnsOpened; oa != 1 || ob != 1 {
				t.Fatalf("connections opened: %d and %d, want 1 and 1", oa, ob)
			}
		})
	}
}

// A failed dial reports to the ErrorSink of the queued message.
func TestDialFailureReported(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{DialTimeout: time.Second}, transport.ListenerConfig{Interface: "x", Transport: transport.TCP, Addr: loop4})
	probe, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := probe.Addr().(*net.TCPAddr).AddrPort()
	probe.Close() // nothing listens there now
	f, err := l.RequestFlow(transport.Dest{Transport: transport.TCP, Addr: dead})
	if err != nil {
		t.Fatal(err)
	}
	es := &errSink{ch: make(chan error, 1)}
	if err := l.Write(f, []byte(request("OPTIONS", "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKd", "d")), es); err != nil {
		if !errors.Is(err, transport.ErrConnClosed) {
			t.Fatal(err)
		}
		return // the dial failed before the write: reported synchronously
	}
	select {
	case err := <-es.ch:
		if err == nil {
			t.Fatal("nil error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("dial failure not reported")
	}
}

type errSink struct{ ch chan error }

func (e *errSink) TransportError(_ transport.Flow, err error) { e.ch <- err }

// A peer that does not read fills only its own queue: writes to it fail
// fast with ErrQueueFull and it is closed at the write deadline, while
// another connection carries on.
func TestSlowPeerIsolated(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{WriteQueue: 4, WriteTimeout: 300 * time.Millisecond},
		transport.ListenerConfig{Interface: "x", Transport: transport.TCP, Addr: loop4})
	a := addrOf(l, transport.TCP)
	slow, fast := dialTCP(t, a), dialTCP(t, a)
	slow.SetReadBuffer(4096)
	slow.Write([]byte(request("OPTIONS", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKslow", "slow")))
	slowIn := s.next(t)
	big := make([]byte, 60000)
	for i := range big {
		big[i] = 'x'
	}
	// Keep writing until the queue is full and then until the connection is
	// closed by the write deadline; no single Write may block.
	var full, closed bool
	var slowest time.Duration
	deadline := time.Now().Add(10 * time.Second)
	for !closed && time.Now().Before(deadline) {
		t0 := time.Now()
		err := l.Write(slowIn.Flow, big, nil)
		slowest = max(slowest, time.Since(t0))
		switch {
		case errors.Is(err, transport.ErrQueueFull):
			full = true
			time.Sleep(5 * time.Millisecond)
		case errors.Is(err, transport.ErrConnClosed):
			closed = true
		case err != nil:
			t.Fatal(err)
		}
	}
	if !full || !closed {
		t.Fatalf("queue full %v, closed %v", full, closed)
	}
	if slowest > time.Second {
		t.Fatalf("a Write blocked for %v", slowest)
	}
	fast.Write([]byte(request("OPTIONS", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKfast", "fast")))
	in := s.next(t)
	if err := l.Respond(in.Flow, response(t, in.Msg, 200)); err != nil {
		t.Fatal(err)
	}
	fast.SetReadDeadline(time.Now().Add(5 * time.Second))
	if r := readMessage(t, bufio.NewReader(fast)); r.StatusCode != 200 {
		t.Fatalf("fast peer got %s", r)
	}
	if st := l.Stats(); st.ConnsClosed != 1 || st.WriteErrors == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestIPv6AndSeveralListeners(t *testing.T) {
	if ln, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback}); err != nil {
		testenv.Missing(t, "IPv6 loopback")
	} else {
		ln.Close()
	}
	s := newSink()
	l := newLayer(t, s, transport.Limits{},
		transport.ListenerConfig{Interface: "inside", Transport: transport.UDP, Addr: loop4},
		transport.ListenerConfig{Interface: "outside", Transport: transport.UDP, Addr: netip.MustParseAddrPort("[::1]:0")},
		transport.ListenerConfig{Interface: "outside", Transport: transport.TCP, Addr: netip.MustParseAddrPort("[::1]:0")},
	)
	ls := l.Listeners()
	if len(ls) != 3 || !ls[1].Addr.Addr().Is6() {
		t.Fatalf("listeners %v", ls)
	}
	peer, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	peer.WriteToUDPAddrPort([]byte(request("OPTIONS", "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK6;rport", "v6")), ls[1].Addr)
	in := s.next(t)
	if in.Interface != "outside" || !in.Source.Addr().Is6() {
		t.Fatalf("inbound %v %v", in.Interface, in.Source)
	}
	if via, _ := in.Msg.GetHeader("Via"); !strings.Contains(via, "received=::1") {
		t.Fatalf("Via %q", via)
	}
	if err := l.Respond(in.Flow, response(t, in.Msg, 200)); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	if n, _, err := peer.ReadFromUDPAddrPort(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("%q %v", buf[:n], err)
	}
	// Destination family and interface choose the listener.
	if !l.HasListener(transport.Dest{Transport: transport.UDP, Addr: netip.MustParseAddrPort("[::1]:5060"), Interface: "outside"}) ||
		l.HasListener(transport.Dest{Transport: transport.UDP, Addr: netip.MustParseAddrPort("127.0.0.1:5060"), Interface: "outside"}) ||
		l.HasListener(transport.Dest{Transport: transport.TLS, Addr: netip.MustParseAddrPort("127.0.0.1:5061")}) {
		t.Fatal("listener choice wrong")
	}
}

// Close ends every goroutine the layer started, with connections open in
// both directions.
func TestCloseEndsGoroutines(t *testing.T) {
	// Let goroutines of earlier tests finish first.
	g0 := runtime.NumGoroutine()
	for range 100 {
		time.Sleep(20 * time.Millisecond)
		g := runtime.NumGoroutine()
		if g == g0 {
			break
		}
		g0 = g
	}
	s := newSink()
	l, err := transport.New(transport.Config{Handler: s, Listeners: []transport.ListenerConfig{
		{Interface: "a", Transport: transport.UDP, Addr: loop4},
		{Interface: "a", Transport: transport.TCP, Addr: loop4},
	}})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	c := dialTCP(t, addrOf(l, transport.TCP))
	c.Write([]byte(request("OPTIONS", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKz", "z")))
	s.next(t)
	other, _ := net.Listen("tcp", "127.0.0.1:0")
	defer other.Close()
	f, err := l.RequestFlow(transport.Dest{Transport: transport.TCP, Addr: other.Addr().(*net.TCPAddr).AddrPort()})
	if err != nil {
		t.Fatal(err)
	}
	l.Write(f, []byte(request("OPTIONS", "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKy", "y")), nil)
	// 2 UDP readers, 1 acceptor, 2 per connection (the dialed one's reader
	// starts after its dial).
	eventually(t, func() bool { return runtime.NumGoroutine() >= g0+7 })
	l.Close()
	eventually(t, func() bool { return runtime.NumGoroutine() <= g0 })
	if _, err := l.RequestFlow(transport.Dest{Transport: transport.UDP, Addr: loop4}); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("RequestFlow after Close: %v", err)
	}
}

// A trunk host name resolved through SRV (injected resolver) reaches the
// listener it names.
func TestSendResolvesSRV(t *testing.T) {
	sb := newSink()
	b := newLayer(t, sb, transport.Limits{}, transport.ListenerConfig{Interface: "in", Transport: transport.UDP, Addr: loop4})
	res := &transporttest.Resolver{
		SRV:   map[string][]*net.SRV{"_sip._udp.trunk.test": {{Target: "sbc1.trunk.test.", Port: addrOf(b, transport.UDP).Port(), Priority: 1}}},
		Hosts: map[string][]netip.Addr{"sbc1.trunk.test": {netip.MustParseAddr("127.0.0.1")}},
	}
	a, err := transport.New(transport.Config{Handler: newSink(), Resolver: res,
		Listeners: []transport.ListenerConfig{{Interface: "out", Transport: transport.UDP, Addr: loop4}}})
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	defer a.Close()
	req, _ := sip.Parse([]byte(request("MESSAGE", "SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKsrv", "srv")))
	f, err := a.Send(context.Background(), req, transport.Target{Host: "trunk.test", Interface: "out"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Remote() != addrOf(b, transport.UDP) || f.Interface() != "out" {
		t.Fatalf("flow %v", f)
	}
	if in := sb.next(t); in.Msg.Method != "MESSAGE" {
		t.Fatalf("got %s", in.Msg)
	}
}

// Messages larger than the initial buffer are reassembled from many
// segments; one past MaxMessageSize closes the stream.
func TestTCPLargeMessages(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{MaxMessageSize: 30000}, transport.ListenerConfig{Interface: "x", Transport: transport.TCP, Addr: loop4})
	withBody := func(n int, branch string) string {
		return "MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=" + branch + "\r\nMax-Forwards: 70\r\n" +
			"From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: big\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n\r\n", n) + strings.Repeat("b", n)
	}
	c := dialTCP(t, addrOf(l, transport.TCP))
	msg := withBody(20000, "z9hG4bKbig1") + withBody(10, "z9hG4bKsmall")
	for i := 0; i < len(msg); i += 1500 {
		c.Write([]byte(msg[i:min(i+1500, len(msg))]))
	}
	if in := s.next(t); len(in.Msg.Body) != 20000 {
		t.Fatalf("body %d octets", len(in.Msg.Body))
	}
	if in := s.next(t); len(in.Msg.Body) != 10 {
		t.Fatalf("body %d octets", len(in.Msg.Body))
	}
	c.Write([]byte(withBody(40000, "z9hG4bKhuge")))
	expectClosed(t, c, 5*time.Second)
	s.none(t, 50*time.Millisecond)
}

// Random bytes on UDP and TCP never take the layer down: afterwards a good
// message still gets through on both.
func TestGarbageSurvival(t *testing.T) {
	s := newSink()
	l := newLayer(t, s, transport.Limits{},
		transport.ListenerConfig{Interface: "x", Transport: transport.UDP, Addr: loop4},
		transport.ListenerConfig{Interface: "x", Transport: transport.TCP, Addr: loop4})
	rnd := rand.New(rand.NewPCG(1, 2))
	seeds := []string{"INVITE sip:a@b SIP/2.0\r\n", "SIP/2.0 200 OK\r\n", "Content-Length: 99999999999\r\n", "\r\n\r\n", "l: -1\r\n"}
	peer, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer peer.Close()
	udst := net.UDPAddrFromAddrPort(addrOf(l, transport.UDP))
	for i := range 300 {
		b := []byte(seeds[i%len(seeds)])
		for range rnd.IntN(200) {
			b = append(b, byte(rnd.IntN(256)))
		}
		peer.WriteToUDP(b, udst)
		c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(addrOf(l, transport.TCP)))
		if err != nil {
			t.Fatal(err)
		}
		c.Write(b)
		c.Close()
	}
	for len(s.in) > 0 {
		<-s.in // anything that happened to parse and validate
	}
	peer.WriteToUDP([]byte(request("OPTIONS", "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKafter", "after-udp")), udst)
	for in := s.next(t); ; in = s.next(t) {
		if id, _ := in.Msg.GetHeader("Call-ID"); id == "after-udp" {
			break
		}
	}
	// The 300 garbage connections count against the per-source limit until
	// their close is seen, so a new connection may be refused for a moment
	// (a reason this test is not about): retry it, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := dialTCP(t, addrOf(l, transport.TCP))
		c.Write([]byte(request("OPTIONS", "SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKafter2", "after-tcp")))
		wait := time.After(time.Second)
	drain:
		for {
			select {
			case in := <-s.in:
				if id, _ := in.Msg.GetHeader("Call-ID"); id == "after-tcp" {
					return
				}
			case <-wait:
				break drain
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no TCP message delivered after the garbage")
		}
	}
}

// RFC 3261 §18.2.2: when the connection a request came on has closed, the
// response opens a connection to the received address and sent-by port.
func TestTCPResponseAfterConnectionClosed(t *testing.T) {
	sa, sb := newSink(), newSink()
	a := newLayer(t, sa, transport.Limits{}, transport.ListenerConfig{Interface: "a", Transport: transport.TCP, Addr: loop4})
	b := newLayer(t, sb, transport.Limits{}, transport.ListenerConfig{Interface: "b", Transport: transport.TCP, Addr: loop4})
	c := dialTCP(t, addrOf(b, transport.TCP))
	c.Write([]byte(request("OPTIONS", fmt.Sprintf("SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bKgone", addrOf(a, transport.TCP).Port()), "gone")))
	in := sb.next(t)
	c.Close()
	eventually(t, func() bool { return b.Stats().ConnsClosed == 1 })
	if err := b.Respond(in.Flow, response(t, in.Msg, 200)); err != nil {
		t.Fatal(err)
	}
	r := sa.next(t)
	if id, _ := r.Msg.GetHeader("Call-ID"); r.Msg.StatusCode != 200 || id != "gone" {
		t.Fatalf("got %s", r.Msg)
	}
	if b.Stats().ConnsOpened != 2 {
		t.Fatalf("stats %+v", b.Stats())
	}
}

// blockingSink holds the reader in its first HandleMessage until release
// is closed, so later datagrams wait in the socket's receive queue.
type blockingSink struct {
	in      chan transport.Inbound
	release chan struct{}
	first   sync.Once
}

func (b *blockingSink) HandleMessage(in transport.Inbound) {
	in.Msg.Body = append([]byte(nil), in.Msg.Body...)
	b.first.Do(func() { <-b.release })
	b.in <- in
}

// TestUDPReceivedCountsQueueing: Inbound.Received is when the datagram
// reached the socket, not when a reader got to it, so the time a message
// waited behind a busy reader shows (the overload signal).
func TestUDPReceivedCountsQueueing(t *testing.T) {
	b := &blockingSink{in: make(chan transport.Inbound, 4), release: make(chan struct{})}
	l, err := transport.New(transport.Config{Handler: b, Listeners: []transport.ListenerConfig{
		{Interface: "outside", Transport: transport.UDP, Addr: loop4, UDPReaders: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	defer l.Close()
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	dst := net.UDPAddrFromAddrPort(addrOf(l, transport.UDP))
	before := time.Now()
	peer.WriteToUDP([]byte(request("OPTIONS", "SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKq1", "q1@x")), dst)
	time.Sleep(20 * time.Millisecond) // the reader is now held in the first HandleMessage
	sent := time.Now()
	peer.WriteToUDP([]byte(request("OPTIONS", "SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKq2", "q2@x")), dst)
	const hold = 300 * time.Millisecond
	time.Sleep(hold)
	close(b.release)
	for i := 0; i < 2; i++ {
		select {
		case in := <-b.in:
			got := time.Now()
			if in.Received.IsZero() || in.Received.Before(before.Add(-time.Second)) || in.Received.After(got) {
				t.Fatalf("message %d: Received %v outside [%v, %v]", i, in.Received, before, got)
			}
			if id, _ := in.Msg.GetHeader("Call-ID"); id == "q2@x" && runtime.GOOS == "linux" {
				// Kernel timestamp: taken when the datagram was queued, about
				// `hold` before the reader could take it.
				if waited := got.Sub(in.Received); waited < hold-50*time.Millisecond || in.Received.Before(sent.Add(-50*time.Millisecond)) {
					t.Fatalf("second message: Received %v (sent %v), waited %v; want the kernel's arrival time", in.Received, sent, waited)
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatal("message not delivered")
		}
	}
}
