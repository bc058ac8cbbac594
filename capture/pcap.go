package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LinkType is the pcap link-layer header type of a capture file.
type LinkType uint32

// Link types (tcpdump.org/linktypes.html).
const (
	LinkEthernet LinkType = 1   // LINKTYPE_ETHERNET: synthesized Ethernet II header
	LinkRaw      LinkType = 101 // LINKTYPE_RAW: the packet starts with the IP header
)

const (
	pcapMagic      = 0xa1b2c3d4 // classic pcap, microsecond timestamps
	pcapHeaderLen  = 24
	pcapRecordLen  = 16
	pcapSnapLen    = 262144
	ethHeaderLen   = 14
	ipv4HeaderLen  = 20
	ipv6HeaderLen  = 40
	udpHeaderLen   = 8
	tcpHeaderLen   = 20
	maxIPv4Payload = 65535 - ipv4HeaderLen // total length is 16 bits (RFC 791 §3.1)
	maxIPv6Payload = 65535                 // payload length is 16 bits (RFC 8200 §3)
	maxTCPFlows    = 1 << 16
)

// Default rotation settings of a PcapWriter.
const (
	DefaultMaxBytes = 100 << 20
	DefaultMaxFiles = 5
)

// PcapOptions configures OpenPcap.
type PcapOptions struct {
	// LinkType is LinkEthernet (the default, opened by every tool) or LinkRaw.
	LinkType LinkType
	// MaxBytes bounds one file; the writer rotates before a record would
	// take the file beyond it. 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxFiles is how many rotated files are kept beside the current one
	// (name.1.pcap is the newest); older ones are removed. 0 means
	// DefaultMaxFiles; a negative value keeps none.
	MaxFiles int
}

type flowKey struct{ src, dst netip.AddrPort }

// PcapWriter writes captured packets to a classic libpcap file that
// Wireshark, tshark and sngrep (-I) open, rotating it by size. Each SIP
// message becomes one UDP datagram, or one or more TCP segments whose
// sequence numbers continue per flow so that stream reassembly works. It is
// safe for concurrent use, but a Capturer normally owns it from one goroutine.
type PcapWriter struct {
	mu       sync.Mutex
	path     string
	opts     PcapOptions
	f        *os.File
	bw       *bufio.Writer
	size     int64
	ipID     uint16
	seq      map[flowKey]uint32 // next TCP sequence number per direction
	frame    []byte
	closed   bool
	retryAt  time.Time // no file: earliest next attempt to create one
	rotation int       // files rotated so far
}

// OpenPcap creates the capture file at path, writing the pcap file header. An
// existing file at path is rotated away first, as at every size rotation.
func OpenPcap(path string, opts PcapOptions) (*PcapWriter, error) {
	if opts.LinkType == 0 {
		opts.LinkType = LinkEthernet
	}
	if opts.LinkType != LinkEthernet && opts.LinkType != LinkRaw {
		return nil, fmt.Errorf("capture: unsupported link type %d", opts.LinkType)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxBytes < pcapHeaderLen+pcapRecordLen+1500 {
		opts.MaxBytes = pcapHeaderLen + pcapRecordLen + 1500
	}
	if opts.MaxFiles == 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	w := &PcapWriter{path: path, opts: opts, seq: make(map[flowKey]uint32), frame: make([]byte, 0, 2048)}
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		if err := w.shift(); err != nil {
			return nil, err
		}
	}
	if err := w.create(); err != nil {
		return nil, err
	}
	return w, nil
}

// rotatedName returns the name of the i-th rotated file: sip.pcap becomes
// sip.1.pcap, sip.2.pcap, ...
func (w *PcapWriter) rotatedName(i int) string {
	ext := filepath.Ext(w.path)
	return strings.TrimSuffix(w.path, ext) + "." + strconv.Itoa(i) + ext
}

// shift renames the current file to .1 and each .i to .i+1, dropping those
// beyond MaxFiles.
func (w *PcapWriter) shift() error {
	keep := w.opts.MaxFiles
	if keep < 0 {
		if err := os.Remove(w.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("capture: rotate: %w", err)
		}
		return nil
	}
	if err := os.Remove(w.rotatedName(keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("capture: rotate: %w", err)
	}
	for i := keep - 1; i >= 1; i-- {
		if err := os.Rename(w.rotatedName(i), w.rotatedName(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("capture: rotate: %w", err)
		}
	}
	if err := os.Rename(w.path, w.rotatedName(1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("capture: rotate: %w", err)
	}
	return nil
}

// create opens a new file at path and writes the pcap header. On failure the
// writer has no file (w.f nil) and the next write tries again.
func (w *PcapWriter) create() error {
	w.f = nil
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 64<<10)
	} else {
		w.bw.Reset(f)
	}
	var h [pcapHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], pcapMagic)
	binary.LittleEndian.PutUint16(h[4:], 2) // version 2.4
	binary.LittleEndian.PutUint16(h[6:], 4)
	// thiszone and sigfigs stay 0
	binary.LittleEndian.PutUint32(h[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], uint32(w.opts.LinkType))
	if _, err := w.bw.Write(h[:]); err != nil {
		f.Close()
		return fmt.Errorf("capture: %w", err)
	}
	w.f = f
	w.size = pcapHeaderLen
	// A new file starts new TCP flows for the reader: sequence numbers may
	// begin anywhere, so the map is kept; it is only bounded.
	return nil
}

// rotate closes the current file, shifts the rotated ones and starts a new
// file. Capture goes on in a new file even when closing or shifting failed
// (the error is still returned, and the sink counts it).
func (w *PcapWriter) rotate() error {
	var errs []error
	if err := w.bw.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("capture: %w", err))
	}
	if err := w.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("capture: %w", err))
	}
	w.f = nil
	if err := w.shift(); err != nil {
		errs = append(errs, err)
	}
	w.rotation++
	if err := w.create(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Rotations returns how many times the writer rotated its file.
func (w *PcapWriter) Rotations() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rotation
}

// WritePacket appends p as one record (UDP) or as many records as TCP
// segments it needs. The data is buffered; Flush makes it visible.
func (w *PcapWriter) WritePacket(p *Packet) error {
	src, dst, v6, err := p.addrs()
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	maxIP := maxIPv4Payload
	if v6 {
		maxIP = maxIPv6Payload
	}
	payload := p.Payload
	if !p.Transport.stream() {
		if len(payload) > maxIP-udpHeaderLen {
			return ErrTooLarge
		}
		return w.writeSegment(p, src, dst, v6, payload, 0, 0)
	}
	key := flowKey{p.Src, p.Dst}
	seq, ok := w.seq[key]
	if !ok {
		if len(w.seq) >= maxTCPFlows {
			clear(w.seq)
		}
		seq = initialSeq(key)
	}
	ack, ok := w.seq[flowKey{p.Dst, p.Src}]
	if !ok {
		ack = initialSeq(flowKey{p.Dst, p.Src})
	}
	mss := maxIP - tcpHeaderLen
	for len(payload) > 0 {
		n := min(len(payload), mss)
		if err := w.writeSegment(p, src, dst, v6, payload[:n], seq, ack); err != nil {
			return err
		}
		seq += uint32(n)
		payload = payload[n:]
	}
	w.seq[key] = seq
	return nil
}

// initialSeq derives a flow's first sequence number from its addresses, so
// each flow starts at a stable, distinct point.
func initialSeq(k flowKey) uint32 {
	h := uint32(2166136261)
	mix := func(b []byte) {
		for _, c := range b {
			h ^= uint32(c)
			h *= 16777619
		}
	}
	a := k.src.Addr().As16()
	mix(a[:])
	a = k.dst.Addr().As16()
	mix(a[:])
	mix([]byte{byte(k.src.Port() >> 8), byte(k.src.Port()), byte(k.dst.Port() >> 8), byte(k.dst.Port())})
	return h
}

func (w *PcapWriter) writeSegment(p *Packet, src, dst netip.Addr, v6 bool, payload []byte, seq, ack uint32) error {
	w.ipID++
	// The record header and the frame are built in one buffer and written
	// with one call.
	var zero [pcapRecordLen]byte
	w.frame = appendFrame(append(w.frame[:0], zero[:]...), w.opts.LinkType, p.Direction == Out, p.Transport.stream(), src, dst, v6,
		p.Src.Port(), p.Dst.Port(), w.ipID, seq, ack, payload)
	n := int64(len(w.frame))
	if w.f == nil { // an earlier create failed: try again, at most once a second
		if now := time.Now(); now.Before(w.retryAt) {
			return ErrNoFile
		} else if err := w.create(); err != nil {
			w.retryAt = now.Add(time.Second)
			return err
		}
	}
	var rotateErr error
	if w.size+n > w.opts.MaxBytes && w.size > pcapHeaderLen {
		if rotateErr = w.rotate(); w.f == nil {
			w.retryAt = time.Now().Add(time.Second)
			return rotateErr
		}
	}
	us := p.Time.UnixMicro()
	frameLen := uint32(n - pcapRecordLen)
	binary.LittleEndian.PutUint32(w.frame[0:], uint32(us/1e6))
	binary.LittleEndian.PutUint32(w.frame[4:], uint32(us%1e6))
	binary.LittleEndian.PutUint32(w.frame[8:], frameLen)
	binary.LittleEndian.PutUint32(w.frame[12:], frameLen)
	if _, err := w.bw.Write(w.frame); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	w.size += n
	return rotateErr // the record is written; a failed shift is still reported
}

// Flush writes buffered records to the file.
func (w *PcapWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.f == nil {
		return nil // nothing buffered: the failed create's error was returned then
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	return nil
}

// Close flushes and closes the file.
func (w *PcapWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.bw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	return nil
}

// Synthesized link-layer addresses: locally administered unicast MACs
// (IEEE 802 U/L bit set), the SBC side and the peer side.
var (
	macSBC  = [6]byte{0x02, 0x53, 0x42, 0x43, 0x00, 0x01}
	macPeer = [6]byte{0x02, 0x53, 0x42, 0x43, 0x00, 0x02}
)

// appendFrame appends one link-layer frame carrying payload in a UDP datagram
// or a TCP segment (PSH|ACK) to dst.
func appendFrame(b []byte, link LinkType, out, tcp bool, src, dst netip.Addr, v6 bool,
	sport, dport, ipID uint16, seq, ack uint32, payload []byte) []byte {
	if link == LinkEthernet {
		// Destination then source MAC: the SBC's own for what it sends.
		if out {
			b = append(b, macPeer[:]...)
			b = append(b, macSBC[:]...)
		} else {
			b = append(b, macSBC[:]...)
			b = append(b, macPeer[:]...)
		}
		if v6 {
			b = append(b, 0x86, 0xdd)
		} else {
			b = append(b, 0x08, 0x00)
		}
	}
	proto := uint8(17)
	l4Len := udpHeaderLen + len(payload)
	if tcp {
		proto = 6
		l4Len = tcpHeaderLen + len(payload)
	}
	// Network header (RFC 791 §3.1 / RFC 8200 §3).
	ipStart := len(b)
	if v6 {
		b = append(b, 0x60, 0, 0, 0, byte(l4Len>>8), byte(l4Len), proto, 64)
		s, d := src.As16(), dst.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		total := ipv4HeaderLen + l4Len
		b = append(b, 0x45, 0, byte(total>>8), byte(total), byte(ipID>>8), byte(ipID),
			0x40, 0, // DF, fragment offset 0
			64, proto, 0, 0)
		s, d := src.As4(), dst.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
		cs := fold(sum(0, b[ipStart:]))
		binary.BigEndian.PutUint16(b[ipStart+10:], cs)
	}
	// Transport header; the checksum covers the pseudo-header
	// (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1).
	l4Start := len(b)
	if tcp {
		b = binary.BigEndian.AppendUint16(b, sport)
		b = binary.BigEndian.AppendUint16(b, dport)
		b = binary.BigEndian.AppendUint32(b, seq)
		b = binary.BigEndian.AppendUint32(b, ack)
		b = append(b, tcpHeaderLen/4<<4, 0x18, 0xff, 0xff, 0, 0, 0, 0) // data offset, PSH|ACK, window, csum, urg
	} else {
		b = binary.BigEndian.AppendUint16(b, sport)
		b = binary.BigEndian.AppendUint16(b, dport)
		b = binary.BigEndian.AppendUint16(b, uint16(l4Len))
		b = append(b, 0, 0)
	}
	b = append(b, payload...)
	var s uint32
	if v6 {
		s = sum(s, b[ipStart+8:ipStart+40]) // source and destination
	} else {
		s = sum(s, b[ipStart+12:ipStart+20])
	}
	s += uint32(proto) + uint32(l4Len)>>16 + uint32(l4Len)&0xffff
	cs := fold(sum(s, b[l4Start:]))
	if !tcp && cs == 0 {
		cs = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	if tcp {
		binary.BigEndian.PutUint16(b[l4Start+16:], cs)
	} else {
		binary.BigEndian.PutUint16(b[l4Start+6:], cs)
	}
	return b
}

// sum adds b as big-endian 16-bit words to the one's-complement accumulator s
// and returns the partial sum folded to at most 17 bits. It adds 32-bit words
// into a 64-bit accumulator, which gives the same one's-complement sum
// (2^16 = 1 modulo 0xffff, RFC 1071 §2(B)) with a quarter of the additions.
func sum(s uint32, b []byte) uint32 {
	acc := uint64(s)
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>16 + acc&0xffff
	return uint32(acc)
}

// fold returns the one's complement of the folded one's-complement sum s
// (RFC 1071).
func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
