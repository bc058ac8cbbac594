package rtpload

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/sbc-project/sbc/mediarelay"
)

// NGServer puts a minimal NG control protocol in front of a
// mediarelay.Relay (offer, answer, delete, ping), so that the benchmark
// drives the SBC's relay exactly as it drives rtpengine. Both legs live on
// the relay's first interface and learn their source (LatchLearn), like
// rtpengine's default.
type NGServer struct {
	relay *mediarelay.Relay
	iface string
	conn  *net.UDPConn
	calls map[string]*mediarelay.Session
}

// NewNGServer listens for NG commands on addr.
func NewNGServer(r *mediarelay.Relay, iface string, addr netip.AddrPort) (*NGServer, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	return &NGServer{relay: r, iface: iface, conn: c, calls: map[string]*mediarelay.Session{}}, nil
}

// Close stops Serve.
func (s *NGServer) Close() error { return s.conn.Close() }

// Serve answers commands until Close.
func (s *NGServer) Serve() error {
	buf := make([]byte, 65536)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		b := buf[:n]
		sp := indexByte(b, ' ')
		if sp < 0 {
			continue
		}
		resp := map[string]any{"result": "ok"}
		v, _, err := Decode(b[sp+1:])
		req, _ := v.(map[string]any)
		if err != nil || req == nil {
			resp = map[string]any{"result": "error", "error-reason": "malformed request"}
		} else if err := s.handle(req, resp); err != nil {
			resp = map[string]any{"result": "error", "error-reason": err.Error()}
		}
		out := append([]byte(nil), b[:sp+1]...)
		out, _ = Encode(out, resp)
		s.conn.WriteToUDPAddrPort(out, from)
	}
}

func (s *NGServer) handle(req, resp map[string]any) error {
	cmd, _ := req["command"].(string)
	callID, _ := req["call-id"].(string)
	switch cmd {
	case "ping":
		resp["result"] = "pong"
		return nil
	case "offer", "answer":
		sdp, _ := req["sdp"].(string)
		remote, err := MediaAddr(sdp)
		if err != nil {
			return err
		}
		sess := s.calls[callID]
		if sess == nil {
			if cmd == "answer" {
				return fmt.Errorf("unknown call")
			}
			sess, err = s.relay.NewSession(mediarelay.SessionConfig{
				ALeg: mediarelay.LegConfig{Interface: s.iface, Latch: mediarelay.LatchLearn},
				BLeg: mediarelay.LegConfig{Interface: s.iface, Latch: mediarelay.LatchLearn},
			})
			if err != nil {
				return err
			}
			s.calls[callID] = sess
		}
		// offer: SDP from A, answer goes to B with B's local address;
		// answer: SDP from B, the reply to A carries A's local address.
		from, to := mediarelay.LegA, mediarelay.LegB
		if cmd == "answer" {
			from, to = mediarelay.LegB, mediarelay.LegA
		}
		if err := sess.SetRemote(from, remote, netip.AddrPort{}); err != nil {
			return err
		}
		resp["sdp"] = AudioSDP(sess.Local(to).RTP(), int(sess.ID()))
		return nil
	case "delete":
		if sess := s.calls[callID]; sess != nil {
			sess.Close()
			delete(s.calls, callID)
		}
		return nil
	}
	return fmt.Errorf("unsupported command %q", cmd)
}
