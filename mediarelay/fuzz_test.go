package mediarelay

import (
	"net/netip"
	"testing"
)

// FuzzHandle feeds arbitrary datagrams to the per-packet decision on both
// sockets of a leg: it must never panic, never forward something that is
// not RTP, RTCP or a STUN answer, and never grow a datagram past its buffer.
func FuzzHandle(f *testing.F) {
	f.Add(rtpPacket(1, 1, 0, 160))
	f.Add(rtcpRR(f, 1, 2, 3))
	f.Add(stunRequest(f).Raw)
	f.Add([]byte{0x80, 0xc8, 0xff, 0xff})                   // SR with a length past the end
	f.Add([]byte{0xbf, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}) // padding and 15 CSRCs announced
	f.Add([]byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42})
	r := newRelay(f, variant{"goroutine", EngineGoroutine, false}, nil)
	s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside", Latch: LatchOnce}, BLeg: LegConfig{Interface: "outside"}})
	if err != nil {
		f.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	s.SetRemote(LegA, src, netip.AddrPort{})
	s.SetRemote(LegB, netip.MustParseAddrPort("127.0.0.2:5000"), netip.AddrPort{})
	var sc scratch
	buf := make([]byte, maxDatagram)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxDatagram {
			return
		}
		for _, in := range []*sock{s.legs[LegA].rtpSock, s.legs[LegA].rtcpSock} {
			n := copy(buf, data)
			p := pkt{buf: buf, n: n, src: src}
			s.mu.Lock()
			s.handle(in, &p, &sc, s.live+1)
			s.mu.Unlock()
			if p.out == nil {
				continue
			}
			if p.n > len(buf) || p.n <= 0 {
				t.Fatalf("length %d", p.n)
			}
			switch k := classify(data); {
			case k == kindSTUN && (p.out != in || p.dst != src):
				t.Fatalf("STUN answer not sent back to its source")
			case k == kindDrop:
				t.Fatalf("forwarded an unclassified datagram %x", data)
			case k != kindSTUN && (p.out.owner.Load() != s || p.out.leg != LegB):
				t.Fatalf("forwarded to leg %v", p.out.leg)
			}
		}
	})
}
