package nat_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/nat"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// TestRegisterOverTCP runs the relay on real loopback sockets with a UA on
// TCP: the binding keeps the UA's connection, CRLF keepalives (RFC 5626
// §4.4.1) travel on it, a request from the SBC reaches the UA on the same
// connection (RFC 5626 §5.3: the only way back through a NAT), and when the
// UA's connection goes away the failed keepalives drop the binding.
func TestRegisterOverTCP(t *testing.T) {
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	registrar, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(lo))
	if err != nil {
		t.Fatal(err)
	}
	defer registrar.Close()
	regAddr := registrar.LocalAddr().(*net.UDPAddr).AddrPort()

	pol, err := policy.LoadSources([]policy.Source{{Name: "tcp.hcl", Data: []byte(`
trunk "phones" {
  kind      = "access"
  interface = "outside"
  match {
    sources   = ["127.0.0.0/8"]
    transport = "tcp"
  }
  registrar {
    host              = "127.0.0.1"
    port              = ` + strconv.Itoa(int(regAddr.Port())) + `
    ua_expires        = 30
    registrar_expires = 600
  }
  keepalive {
    method   = "crlf"
    interval = "1s"
  }
}`)}}, policy.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sentBy map[string]string
	reg, err := nat.New(nat.Config{
		Policy: func() *policy.Policy { return pol },
		SentBy: func(iface string, _ transport.Transport) (string, error) {
			if s, ok := sentBy[iface]; ok {
				return s, nil
			}
			return "", errors.New("no interface " + iface)
		},
		RegistrarInterface: "inside",
		Resolution:         50 * time.Millisecond,
		KeepaliveFailures:  2,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	m, layer, err := transaction.New(transaction.Config{Handler: transaction.HandlerFunc(reg.HandleRegister)},
		transport.Config{Listeners: []transport.ListenerConfig{
			{Interface: "outside", Transport: transport.TCP, Addr: lo},
			{Interface: "inside", Transport: transport.UDP, Addr: lo},
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer layer.Close()
	defer m.Close()
	ls := layer.Listeners()
	sentBy = map[string]string{ls[0].Interface: ls[0].Addr.String(), ls[1].Interface: ls[1].Addr.String()}
	reg.SetTx(m, layer)

	// The registrar answers 200, echoing the Contacts.
	go func() { // owner: the test; exit: registrar.Close
		buf := make([]byte, 65535)
		for {
			n, from, err := registrar.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			req, err := sip.Parse(buf[:n])
			if err != nil || req.Method != "REGISTER" {
				continue
			}
			r := sip.NewResponse(req, 200, "")
			to, _ := req.GetHeader("To")
			r.SetHeader("To", to+";tag=reg")
			for v := range req.HeaderLines("Contact") {
				r.AddHeader("Contact", v)
			}
			registrar.WriteToUDPAddrPort(r.AppendTo(nil), from)
		}
	}()

	ua, err := net.Dial("tcp", ls[0].Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	uaAddr := ua.LocalAddr().(*net.TCPAddr).AddrPort()
	ua.Write([]byte("REGISTER sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 10.9.9.9:5060;branch=z9hG4bKtcp1;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=b1\r\nTo: <sip:bob@example.com>\r\n" +
		"Call-ID: tcp-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:bob@10.9.9.9:5060;transport=tcp>\r\n" +
		"Expires: 3600\r\nContent-Length: 0\r\n\r\n"))
	rd := bufio.NewReader(ua)
	ua.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp := readMessage(t, rd)
	if resp.StatusCode != 200 {
		t.Fatalf("UA got %d", resp.StatusCode)
	}
	b, ok := reg.Lookup("sip:bob@example.com")
	if !ok {
		t.Fatal("no binding")
	}
	if b.Transport != transport.TCP || b.Source != uaAddr || !b.Flow.Reliable() || !b.NAT {
		t.Fatalf("binding %+v, want TCP from %v, NATed", b, uaAddr)
	}

	// Keepalives: a double CRLF on the UA's connection within ~1 s.
	ua.SetReadDeadline(time.Now().Add(3 * time.Second))
	var ping [4]byte
	if _, err := io.ReadFull(rd, ping[:]); err != nil || string(ping[:]) != "\r\n\r\n" {
		t.Fatalf("keepalive %q, %v; want a double CRLF", ping, err)
	}
	ua.Write([]byte("\r\n")) // the pong (RFC 5626 §4.4.1)

	// A request from the SBC on the binding's flow arrives on this
	// connection, addressed to the UA's registered Contact.
	req := sip.NewRequest("MESSAGE", b.Contact)
	req.AddHeader("Max-Forwards", "70")
	req.AddHeader("From", "<sip:core@example.net>;tag=c1")
	req.AddHeader("To", "<"+b.AOR+">")
	req.AddHeader("Call-ID", "tcp-inbound")
	req.AddHeader("CSeq", "1 MESSAGE")
	if _, err := m.RequestOn(b.Flow, req, func(*transaction.ClientTx, *sip.Message, error) {}); err != nil {
		t.Fatal(err)
	}
	ua.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		got := readMessage(t, rd)
		if got.Method == "MESSAGE" {
			if got.RequestURI != "sip:bob@10.9.9.9:5060;transport=tcp" {
				t.Errorf("R-URI %q", got.RequestURI)
			}
			break
		}
	}

	// The UA goes away: CRLF writes fail, the binding is dropped.
	ua.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := reg.Lookup("sip:bob@example.com"); !ok {
			if st := reg.Stats(); st.DroppedByKeepalive != 1 {
				t.Errorf("Stats = %+v", st)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("binding on a closed connection not dropped")
}

// readMessage reads one framed SIP message from a stream, skipping CRLF
// keepalives.
func readMessage(t *testing.T, rd *bufio.Reader) *sip.Message {
	t.Helper()
	var head strings.Builder
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (have %q)", err, head.String())
		}
		if line == "\r\n" {
			if head.Len() == 0 {
				continue // keepalive CRLF
			}
			break
		}
		head.WriteString(line)
	}
	msg, err := sip.Parse([]byte(head.String() + "\r\n"))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, head.String())
	}
	if n, _ := msg.ContentLength(); n > 0 {
		body := make([]byte, n)
		io.ReadFull(rd, body)
	}
	return msg
}
