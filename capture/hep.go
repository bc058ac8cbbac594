package capture

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// HEP v3 chunk types of the generic vendor (vendor id 0), as Homer's
// heplify-server decodes them.
const (
	HEPChunkIPFamily    = 0x0001 // uint8: 2 AF_INET, 10 AF_INET6
	HEPChunkIPProto     = 0x0002 // uint8: 17 UDP, 6 TCP
	HEPChunkIPv4Src     = 0x0003 // 4 bytes
	HEPChunkIPv4Dst     = 0x0004
	HEPChunkIPv6Src     = 0x0005 // 16 bytes
	HEPChunkIPv6Dst     = 0x0006
	HEPChunkSrcPort     = 0x0007 // uint16
	HEPChunkDstPort     = 0x0008
	HEPChunkTimeSec     = 0x0009 // uint32, Unix seconds
	HEPChunkTimeUsec    = 0x000a // uint32, microseconds within the second
	HEPChunkProtoType   = 0x000b // uint8: 1 SIP
	HEPChunkAgentID     = 0x000c // uint32
	HEPChunkAuthKey     = 0x000e // string
	HEPChunkPayload     = 0x000f // the captured message
	HEPChunkCorrelation = 0x0011 // string: correlation id (the call's Call-ID)

	hepProtoSIP     = 1
	hepFamilyIPv4   = 2
	hepFamilyIPv6   = 10
	hepHeaderLen    = 6 // "HEP3" + total length
	hepChunkHdrLen  = 6 // vendor, type, length
	hepMaxPacketLen = 65535
)

// AppendHEP appends the HEP v3 encoding of p to dst: the "HEP3" header, the
// generic chunks for addressing, time, protocol type SIP, agent id, the
// optional auth key, the payload and the correlation id (p.CallID, when set).
// On error dst is returned unchanged.
func AppendHEP(dst []byte, p *Packet, agentID uint32, authKey string) ([]byte, error) {
	src, dstIP, v6, err := p.addrs()
	if err != nil {
		return dst, err
	}
	start := len(dst)
	// Chunk order: the generic chunks first in the order captagent and
	// Kamailio send them (family, protocol, ports, time, protocol type,
	// agent id), then the addresses, the auth key and the payload; the
	// correlation id goes last. heplify-server decodes chunks in any order,
	// but sngrep (-L) and other light receivers read the first eight as a
	// fixed structure and stop after the payload.
	dst = append(dst, 'H', 'E', 'P', '3', 0, 0)
	if v6 {
		dst = chunkU8(dst, HEPChunkIPFamily, hepFamilyIPv6)
	} else {
		dst = chunkU8(dst, HEPChunkIPFamily, hepFamilyIPv4)
	}
	dst = chunkU8(dst, HEPChunkIPProto, p.Transport.ipProto())
	dst = chunkU16(dst, HEPChunkSrcPort, p.Src.Port())
	dst = chunkU16(dst, HEPChunkDstPort, p.Dst.Port())
	us := p.Time.UnixMicro()
	dst = chunkU32(dst, HEPChunkTimeSec, uint32(us/1e6))
	dst = chunkU32(dst, HEPChunkTimeUsec, uint32(us%1e6))
	dst = chunkU8(dst, HEPChunkProtoType, hepProtoSIP)
	dst = chunkU32(dst, HEPChunkAgentID, agentID)
	if v6 {
		s, d := src.As16(), dstIP.As16()
		dst = chunkBytes(dst, HEPChunkIPv6Src, s[:])
		dst = chunkBytes(dst, HEPChunkIPv6Dst, d[:])
	} else {
		s, d := src.As4(), dstIP.As4()
		dst = chunkBytes(dst, HEPChunkIPv4Src, s[:])
		dst = chunkBytes(dst, HEPChunkIPv4Dst, d[:])
	}
	if authKey != "" {
		dst = chunkString(dst, HEPChunkAuthKey, authKey)
	}
	total := len(dst) - start + hepChunkHdrLen + len(p.Payload)
	if p.CallID != "" {
		total += hepChunkHdrLen + len(p.CallID)
	}
	if total > hepMaxPacketLen {
		return dst[:start], ErrTooLarge
	}
	dst = chunkBytes(dst, HEPChunkPayload, p.Payload)
	if p.CallID != "" {
		dst = chunkString(dst, HEPChunkCorrelation, p.CallID)
	}
	binary.BigEndian.PutUint16(dst[start+4:], uint16(len(dst)-start))
	return dst, nil
}

func chunkHdr(b []byte, typ uint16, n int) []byte {
	return append(b, 0, 0, byte(typ>>8), byte(typ), byte((n+hepChunkHdrLen)>>8), byte(n+hepChunkHdrLen))
}

func chunkU8(b []byte, typ uint16, v uint8) []byte { return append(chunkHdr(b, typ, 1), v) }

func chunkU16(b []byte, typ uint16, v uint16) []byte {
	return binary.BigEndian.AppendUint16(chunkHdr(b, typ, 2), v)
}

func chunkU32(b []byte, typ uint16, v uint32) []byte {
	return binary.BigEndian.AppendUint32(chunkHdr(b, typ, 4), v)
}

func chunkBytes(b []byte, typ uint16, v []byte) []byte {
	return append(chunkHdr(b, typ, len(v)), v...)
}

func chunkString(b []byte, typ uint16, v string) []byte {
	return append(chunkHdr(b, typ, len(v)), v...)
}

// HEPOptions configures DialHEP.
type HEPOptions struct {
	// AgentID is the capture agent id (chunk 0x000c) Homer shows per node.
	AgentID uint32
	// AuthKey is sent in chunk 0x000e when set.
	AuthKey string
}

// HEPSender sends captured packets as HEP v3 datagrams to one Homer
// collector. WritePacket does a single non-blocking-in-practice UDP send; the
// bounded queue that keeps the SIP path from ever waiting on it is the
// Capturer's (see New). It is safe for concurrent use.
type HEPSender struct {
	opts HEPOptions
	mu   sync.Mutex // guards buf and conn writes
	conn *net.UDPConn
	buf  []byte
}

// DialHEP opens a UDP socket towards the collector at addr.
func DialHEP(addr netip.AddrPort, opts HEPOptions) (*HEPSender, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("capture: hep: %w", err)
	}
	return &HEPSender{opts: opts, conn: conn, buf: make([]byte, 0, 4096)}, nil
}

// WritePacket encodes p and sends it in one datagram.
func (s *HEPSender) WritePacket(p *Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	s.buf, err = AppendHEP(s.buf[:0], p, s.opts.AgentID, s.opts.AuthKey)
	if err != nil {
		return err
	}
	if _, err := s.conn.Write(s.buf); err != nil {
		return fmt.Errorf("capture: hep: %w", err)
	}
	return nil
}

// Flush is a no-op: every packet is its own datagram.
func (s *HEPSender) Flush() error { return nil }

// Close closes the socket.
func (s *HEPSender) Close() error {
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("capture: hep: %w", err)
	}
	return nil
}
