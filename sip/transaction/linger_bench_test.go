package transaction

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction/transactiontest"
	"github.com/sbc-project/sbc/sip/transport"
)

// lingerSDP is a typical audio offer or answer (RFC 4566), so the requests
// and responses the transactions hold have realistic sizes.
const lingerSDP = "v=0\r\no=- 3890 3890 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\n" +
	"t=0 0\r\nm=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"

// peerInvite is an INVITE from a UA with an SDP offer and a Record-Route,
// as a B2BUA's A leg receives it.
func peerInvite(i int) []byte {
	return fmt.Appendf(nil, "INVITE sip:bob@192.0.2.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-l%08d;rport=5060;received=198.51.100.7\r\n"+
		"Max-Forwards: 70\r\n"+
		"Record-Route: <sip:198.51.100.9;lr>\r\n"+
		"From: \"Alice\" <sip:alice@example.com>;tag=f%08d\r\n"+
		"To: <sip:bob@example.net>\r\n"+
		"Call-ID: %08d-linger@example.com\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:alice@198.51.100.7:5060>\r\n"+
		"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE\r\n"+
		"Supported: 100rel, timer\r\n"+
		"User-Agent: linger-bench\r\n"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %d\r\n\r\n%s", i, i, i, len(lingerSDP), lingerSDP)
}

// peerBye is an in-dialog BYE from a UA.
func peerBye(i int) []byte {
	return fmt.Appendf(nil, "BYE sip:sbc@192.0.2.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-b%08d;rport=5060;received=198.51.100.7\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: \"Alice\" <sip:alice@example.com>;tag=f%08d\r\n"+
		"To: <sip:bob@example.net>;tag=t%08d\r\n"+
		"Call-ID: %08d-linger@example.com\r\n"+
		"CSeq: 2 BYE\r\n"+
		"User-Agent: linger-bench\r\n"+
		"Content-Length: 0\r\n\r\n", i, i, i, i)
}

// ourInvite is an INVITE as the B2BUA builds it for its B leg.
func ourInvite(i int, method string) *sip.Message {
	r := sip.NewRequest(method, "sip:bob@198.51.100.7")
	r.AddHeader("Max-Forwards", "70")
	r.AddHeader("From", fmt.Sprintf("<sip:sbc@example.com>;tag=t%08d", i))
	if method == "INVITE" {
		r.AddHeader("To", "<sip:bob@example.net>")
	} else {
		r.AddHeader("To", fmt.Sprintf("<sip:bob@example.net>;tag=r%08d", i))
	}
	r.AddHeader("Call-ID", fmt.Sprintf("%08d-b@sbc", i))
	r.AddHeader("CSeq", "1 "+method)
	r.AddHeader("Contact", "<sip:sbc@192.0.2.1:5060>")
	if method == "INVITE" {
		r.AddHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE")
		r.SetBody("application/sdp", []byte(lingerSDP))
	}
	return r
}

// peerReply is a response from the UAS as the transport hands it over
// (parsed from bytes), with an SDP answer on a 2xx to INVITE.
func peerReply(tb testing.TB, req *sip.Message, code int, i int) *sip.Message {
	r := sip.NewResponse(req, code, "")
	transport.AddToTag(r, fmt.Sprintf("r%08d", i))
	if code/100 == 2 && req.Method == "INVITE" {
		r.AddHeader("Contact", "<sip:bob@198.51.100.7:5060>")
		r.SetBody("application/sdp", []byte(lingerSDP))
	}
	m, err := sip.Parse(r.AppendTo(nil))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// lingerKind drives transaction i of a kind into its lingering state.
type lingerKind struct {
	name  string
	state State
	drive func(tb testing.TB, m *Manager, flow transport.Flow, i int)
}

func lingerKinds() []lingerKind {
	server := func(raw func(int) []byte) func(testing.TB, *Manager, transport.Flow, int) {
		return func(tb testing.TB, m *Manager, flow transport.Flow, i int) {
			req, err := sip.Parse(raw(i))
			if err != nil {
				tb.Fatal(err)
			}
			m.HandleMessage(transport.Inbound{Msg: req, Source: peerAddr, Transport: transport.UDP, Flow: flow})
		}
	}
	client := func(method string, code int) func(testing.TB, *Manager, transport.Flow, int) {
		return func(tb testing.TB, m *Manager, flow transport.Flow, i int) {
			req := ourInvite(i, method)
			tx, err := m.RequestOn(flow, req, func(*ClientTx, *sip.Message, error) {})
			if err != nil {
				tb.Fatal(err)
			}
			m.HandleMessage(transport.Inbound{Msg: peerReply(tb, tx.Request(), code, i), Source: flow.Remote(), Transport: transport.UDP, Flow: flow})
		}
	}
	return []lingerKind{
		{"server-nonINVITE-Completed", Completed, server(peerBye)},
		{"server-INVITE-Accepted", Accepted, server(peerInvite)},
		{"server-INVITE-Completed", Completed, server(func(i int) []byte {
			b := peerInvite(i)
			return append([]byte("INVITE sip:busy"), b[len("INVITE sip:bob"):]...)
		})},
		{"client-nonINVITE-Completed", Completed, client("BYE", 200)},
		{"client-INVITE-Accepted", Accepted, client("INVITE", 200)},
		{"client-INVITE-Completed", Completed, client("INVITE", 486)},
	}
}

// lingerHandler answers as a B2BUA does: 200 to BYE, 200 with SDP to
// INVITE, 486 to an INVITE for "busy".
func lingerHandler(tx *ServerTx, req *sip.Message) {
	switch {
	case req.Method != "INVITE":
		tx.Respond(tx.NewResponse(200, ""))
	case req.RequestURI == "sip:busy@192.0.2.1":
		tx.Respond(tx.NewResponse(486, ""))
	default:
		r := tx.NewResponse(200, "")
		r.AddHeader("Contact", "<sip:sbc@192.0.2.1:5060>")
		r.SetBody("application/sdp", []byte(lingerSDP))
		tx.Respond(r)
	}
}

// BenchmarkLingering drives 100,000 transactions of each kind into the
// state where they only absorb retransmissions (Timers J, L, M, H, K or D
// still to run, 5 to 32 s on UDP) and reports the heap each one retains:
// the Manager's tables, the transaction and everything it references. The
// caller keeps no reference to any message. b.N is ignored: each run
// measures once (ns/op is meaningless here).
func BenchmarkLingering(b *testing.B) {
	for _, k := range lingerKinds() {
		b.Run(k.name, func(b *testing.B) {
			w := &discardWire{}
			m, err := NewManager(w, Config{Handler: HandlerFunc(lingerHandler), Clock: transactiontest.NewFakeClock()})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			flow := transport.PseudoFlow(transport.UDP, "bench", localAddr, netip.MustParseAddrPort("198.51.100.7:5060"))
			base := heapInUse()
			for i := range liveN {
				k.drive(b, m, flow, i)
			}
			after := heapInUse()
			if n := m.Stats().LiveServer + m.Stats().LiveClient; n != liveN {
				b.Fatalf("%d live transactions, want %d", n, liveN)
			}
			b.ReportMetric(float64(after-base)/liveN, "B/tx")
			if bad := m.countNotIn(k.state); bad != 0 {
				b.Fatalf("%d transactions not in %v", bad, k.state)
			}
		})
	}
}

// countNotIn counts the live transactions whose state is not s.
func (m *Manager) countNotIn(s State) int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for _, tx := range sh.server {
			if tx.State() != s {
				n++
			}
		}
		for _, tx := range sh.client {
			if tx.State() != s {
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}
