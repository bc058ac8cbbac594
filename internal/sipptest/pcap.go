package sipptest

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

// RTPPcap describes an RTP stream to write as a pcap that SIPp plays with
// <exec play_pcap_audio="...">. SIPp keeps the RTP packets as they are and
// rewrites only the UDP ports (and the addresses, by sending them itself), so
// the SSRC, sequence numbers and payload reach the peer unchanged.
type RTPPcap struct {
	// Packets is the number of RTP packets.
	Packets int
	// PayloadType is the RTP payload type; 0 (PCMU) is the default and
	// the only one whose payload is generated (a 1 kHz tone).
	PayloadType uint8
	// SSRC identifies the stream (RFC 3550 5.1).
	SSRC uint32
	// Ptime is the packet interval; default 20 ms (160 samples at 8 kHz).
	Ptime time.Duration
	// Src and Dst are the addresses written in the capture; SIPp replaces
	// them. Defaults 192.0.2.1:6000 and 192.0.2.2:6000 (RFC 5737).
	Src, Dst netip.AddrPort
	// Start is the time stamp of the first packet in the capture.
	Start time.Time
}

// PcmuPcap is the stream of scripts/sipp/pcap/pcmu-1s.pcap played by
// uac-media.xml: one second of a 1 kHz PCMU tone.
var PcmuPcap = RTPPcap{
	Packets: 50,
	SSRC:    0x5B1C0DE5,
	Start:   time.Unix(1700000000, 0).UTC(),
}

const (
	pcapMagic    = 0xa1b2c3d4
	linkEthernet = 1
	ethHeaderLen = 14
	ipv4Len      = 20
	udpLen       = 8
)

// WriteRTPPcap writes spec as a classic pcap (Ethernet, IPv4, UDP, RTP).
func WriteRTPPcap(w io.Writer, spec RTPPcap) error {
	if spec.Packets <= 0 {
		return fmt.Errorf("%w: %d packets", ErrPcap, spec.Packets)
	}
	if spec.PayloadType != 0 {
		return fmt.Errorf("%w: only payload type 0 (PCMU) is generated, got %d", ErrPcap, spec.PayloadType)
	}
	if spec.Ptime <= 0 {
		spec.Ptime = 20 * time.Millisecond
	}
	if !spec.Src.IsValid() {
		spec.Src = netip.MustParseAddrPort("192.0.2.1:6000")
	}
	if !spec.Dst.IsValid() {
		spec.Dst = netip.MustParseAddrPort("192.0.2.2:6000")
	}
	if !spec.Src.Addr().Is4() || !spec.Dst.Addr().Is4() {
		return fmt.Errorf("%w: IPv4 addresses only", ErrPcap)
	}
	samples := int(spec.Ptime / (time.Second / 8000))

	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], pcapMagic)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], linkEthernet)
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrPcap, err)
	}

	payload := make([]byte, samples)
	frame := make([]byte, 0, ethHeaderLen+ipv4Len+udpLen+rtpHeaderLen+len(payload))
	for i := range spec.Packets {
		for s := range payload {
			n := i*samples + s
			// 1 kHz at 8 kHz sampling, about -10 dBFS.
			payload[s] = linearToULaw(int16(10000 * math.Sin(2*math.Pi*float64(n)/8)))
		}
		pkt := rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         i == 0, // first packet of a talkspurt (RFC 3551 4.1)
				PayloadType:    spec.PayloadType,
				SequenceNumber: uint16(1 + i),
				Timestamp:      uint32(i * samples),
				SSRC:           spec.SSRC,
			},
			Payload: payload,
		}
		rtpBytes, err := pkt.Marshal()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPcap, err)
		}
		frame = appendFrame(frame[:0], spec.Src, spec.Dst, uint16(i), rtpBytes)
		ts := spec.Start.Add(time.Duration(i) * spec.Ptime)
		var rec [16]byte
		binary.LittleEndian.PutUint32(rec[0:], uint32(ts.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ts.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		if _, err := w.Write(rec[:]); err != nil {
			return fmt.Errorf("%w: %v", ErrPcap, err)
		}
		if _, err := w.Write(frame); err != nil {
			return fmt.Errorf("%w: %v", ErrPcap, err)
		}
	}
	return nil
}

const rtpHeaderLen = 12

// appendFrame appends an Ethernet frame carrying an IPv4/UDP datagram with
// valid IP and UDP checksums (RFC 791, RFC 768).
func appendFrame(b []byte, src, dst netip.AddrPort, id uint16, data []byte) []byte {
	b = append(b, 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00) // locally administered MACs, IPv4
	ip := len(b)
	total := ipv4Len + udpLen + len(data)
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	b = append(b, 0x45, 0, byte(total>>8), byte(total), byte(id>>8), byte(id), 0x40, 0, 64, 17, 0, 0)
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	binary.BigEndian.PutUint16(b[ip+10:], checksum(0, b[ip:ip+ipv4Len]))
	udp := len(b)
	ulen := udpLen + len(data)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint16(b, uint16(ulen))
	b = append(b, 0, 0)
	b = append(b, data...)
	var pseudo [12]byte
	copy(pseudo[0:], s4[:])
	copy(pseudo[4:], d4[:])
	pseudo[9] = 17
	binary.BigEndian.PutUint16(pseudo[10:], uint16(ulen))
	sum := checksum(sumWords(0, pseudo[:]), b[udp:])
	if sum == 0 {
		sum = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(b[udp+6:], sum)
	return b
}

func sumWords(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

// checksum is the Internet checksum (RFC 1071) of b, continuing from sum.
func checksum(sum uint32, b []byte) uint16 {
	sum = sumWords(sum, b)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// linearToULaw encodes one 16-bit sample as G.711 mu-law (ITU-T G.711).
func linearToULaw(sample int16) byte {
	const bias, clip = 0x84, 32635
	s := int32(sample)
	sign := byte(0)
	if s < 0 {
		s, sign = -s, 0x80
	}
	if s > clip {
		s = clip
	}
	s += bias
	exp := byte(7)
	for mask := int32(0x4000); s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := byte(s>>(exp+3)) & 0x0f
	return ^(sign | exp<<4 | mant)
}
