package capture

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// hepChunks decodes a HEP v3 datagram independently of the encoder: it checks
// the header and the length of every chunk and returns the generic chunks by
// type.
func hepChunks(t *testing.T, b []byte) map[uint16][]byte {
	c, _ := hepChunkList(t, b)
	return c
}

// hepChunkList is hepChunks that also returns the chunk types in order.
func hepChunkList(t *testing.T, b []byte) (map[uint16][]byte, []uint16) {
	t.Helper()
	if len(b) < 6 || string(b[:4]) != "HEP3" {
		t.Fatalf("not HEP3: % x", b[:min(len(b), 8)])
	}
	if int(binary.BigEndian.Uint16(b[4:])) != len(b) {
		t.Fatalf("HEP total length %d, datagram %d", binary.BigEndian.Uint16(b[4:]), len(b))
	}
	chunks := map[uint16][]byte{}
	var order []uint16
	for off := 6; off < len(b); {
		if off+6 > len(b) {
			t.Fatalf("truncated chunk header at %d", off)
		}
		vendor := binary.BigEndian.Uint16(b[off:])
		typ := binary.BigEndian.Uint16(b[off+2:])
		n := int(binary.BigEndian.Uint16(b[off+4:]))
		if vendor != 0 || n < 6 || off+n > len(b) {
			t.Fatalf("chunk at %d: vendor %d type %#x length %d", off, vendor, typ, n)
		}
		if _, dup := chunks[typ]; dup {
			t.Fatalf("chunk %#x twice", typ)
		}
		chunks[typ] = b[off+6 : off+n]
		order = append(order, typ)
		off += n
	}
	return chunks, order
}

func TestHEPSenderLoopback(t *testing.T) {
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	s, err := DialHEP(rx.LocalAddr().(*net.UDPAddr).AddrPort(), HEPOptions{AgentID: 0xC0FFEE, AuthKey: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	at := time.Date(2026, 11, 25, 9, 45, 1, 987654321, time.UTC)
	cases := []struct {
		name     string
		pkt      Packet
		family   byte
		proto    byte
		src, dst []byte
	}{
		{"udp4", Packet{Time: at, Transport: UDP, Src: netip.MustParseAddrPort("192.0.2.10:5060"),
			Dst: netip.MustParseAddrPort("198.51.100.20:5080"), CallID: "abc@host", Payload: sipRequest("INVITE", "abc@host", "")},
			2, 17, []byte{192, 0, 2, 10}, []byte{198, 51, 100, 20}},
		{"tcp6", Packet{Time: at, Transport: TCP, Src: netip.MustParseAddrPort("[2001:db8::1]:5061"),
			Dst: netip.MustParseAddrPort("[2001:db8::2]:40000"), CallID: "v6@host", Payload: sipResponse(200, "OK", "INVITE", "v6@host")},
			10, 6, netip.MustParseAddr("2001:db8::1").AsSlice(), netip.MustParseAddr("2001:db8::2").AsSlice()},
		{"tls mixed family", Packet{Time: at, Transport: TLS, Src: netip.MustParseAddrPort("192.0.2.10:5061"),
			Dst: netip.MustParseAddrPort("[2001:db8::2]:5061"), Payload: sipRequest("BYE", "x", "")},
			10, 6, netip.MustParseAddr("::ffff:192.0.2.10").AsSlice(), netip.MustParseAddr("2001:db8::2").AsSlice()},
	}
	buf := make([]byte, 70000)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.WritePacket(&tc.pkt); err != nil {
				t.Fatal(err)
			}
			rx.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := rx.ReadFromUDP(buf)
			if err != nil {
				t.Fatal(err)
			}
			c, order := hepChunkList(t, buf[:n])
			// Light receivers (sngrep, captagent-derived code) read the
			// first eight chunks as a fixed struct and stop at the payload.
			if got := fmt.Sprintf("%x", order[:8]); got != "[1 2 7 8 9 a b c]" {
				t.Errorf("leading chunk order %s", got)
			}
			if i := slices.Index(order, 0x000f); i < 0 || (tc.pkt.CallID != "" && order[i+1] != 0x0011) {
				t.Errorf("payload / correlation order %x", order)
			}
			u8 := func(typ uint16) byte {
				if len(c[typ]) != 1 {
					t.Fatalf("chunk %#x: %d bytes, want 1", typ, len(c[typ]))
				}
				return c[typ][0]
			}
			u16 := func(typ uint16) uint16 {
				if len(c[typ]) != 2 {
					t.Fatalf("chunk %#x: %d bytes, want 2", typ, len(c[typ]))
				}
				return binary.BigEndian.Uint16(c[typ])
			}
			u32 := func(typ uint16) uint32 {
				if len(c[typ]) != 4 {
					t.Fatalf("chunk %#x: %d bytes, want 4", typ, len(c[typ]))
				}
				return binary.BigEndian.Uint32(c[typ])
			}
			if got := u8(0x0001); got != tc.family {
				t.Errorf("family %d, want %d", got, tc.family)
			}
			if got := u8(0x0002); got != tc.proto {
				t.Errorf("proto %d, want %d", got, tc.proto)
			}
			srcT, dstT := uint16(0x0003), uint16(0x0004)
			if tc.family == 10 {
				srcT, dstT = 0x0005, 0x0006
				if _, ok := c[0x0003]; ok {
					t.Error("IPv4 chunk in an IPv6 packet")
				}
			}
			if string(c[srcT]) != string(tc.src) || string(c[dstT]) != string(tc.dst) {
				t.Errorf("addresses % x -> % x, want % x -> % x", c[srcT], c[dstT], tc.src, tc.dst)
			}
			if got := u16(0x0007); got != tc.pkt.Src.Port() {
				t.Errorf("src port %d", got)
			}
			if got := u16(0x0008); got != tc.pkt.Dst.Port() {
				t.Errorf("dst port %d", got)
			}
			if sec, usec := u32(0x0009), u32(0x000a); int64(sec) != at.Unix() || usec != 987654 {
				t.Errorf("time %d.%06d, want %d.987654", sec, usec, at.Unix())
			}
			if got := u8(0x000b); got != 1 {
				t.Errorf("protocol type %d, want 1 (SIP)", got)
			}
			if got := u32(0x000c); got != 0xC0FFEE {
				t.Errorf("agent id %#x", got)
			}
			if string(c[0x000e]) != "s3cret" {
				t.Errorf("auth key %q", c[0x000e])
			}
			if string(c[0x000f]) != string(tc.pkt.Payload) {
				t.Errorf("payload differs")
			}
			corr, ok := c[0x0011]
			if tc.pkt.CallID == "" {
				if ok {
					t.Errorf("correlation chunk %q for a packet without Call-ID", corr)
				}
			} else if string(corr) != tc.pkt.CallID {
				t.Errorf("correlation id %q, want %q", corr, tc.pkt.CallID)
			}
			if len(c) != 12+boolInt(ok) {
				t.Errorf("%d chunks", len(c))
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestHEPLimits(t *testing.T) {
	p := Packet{Src: netip.MustParseAddrPort("192.0.2.1:1"), Dst: netip.MustParseAddrPort("192.0.2.2:2"),
		Payload: []byte(strings.Repeat("x", 65535))}
	dst := []byte("keep")
	out, err := AppendHEP(dst, &p, 1, "")
	if err != ErrTooLarge || string(out) != "keep" {
		t.Fatalf("oversized: %v, %q", err, out[:min(len(out), 8)])
	}
	// The largest payload that fits: header 6 + IPv4 chunks 7+7+10+10+8+8+10+10+7+10 = 93, payload hdr 6.
	p.Payload = p.Payload[:65535-93-6]
	out, err = AppendHEP(nil, &p, 1, "")
	if err != nil || len(out) != 65535 {
		t.Fatalf("largest: %v, len %d", err, len(out))
	}
	hepChunks(t, out)
	p.Src = netip.AddrPort{}
	if _, err := AppendHEP(nil, &p, 1, ""); err != ErrAddressFamily {
		t.Fatalf("no source: %v", err)
	}
}

func TestHEPAllocs(t *testing.T) {
	p := testMessages()[0].pkt
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = AppendHEP(buf[:0], &p, 7, "key")
	})
	if allocs != 0 {
		t.Fatalf("AppendHEP: %v allocs", allocs)
	}
}
