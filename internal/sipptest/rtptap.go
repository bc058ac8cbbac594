package sipptest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// TapStats counts what an RTPTap saw.
type TapStats struct {
	// Packets and Bytes count the RTP packets (payload bytes) seen.
	Packets int
	Bytes   int
	// BySSRC counts packets per RTP synchronisation source.
	BySSRC map[uint32]int
	// PayloadTypes counts packets per RTP payload type.
	PayloadTypes map[uint8]int
	// Sources counts packets per UDP source address.
	Sources map[netip.AddrPort]int
	// NotRTP counts UDP datagrams to the port that do not parse as RTP v2.
	NotRTP int
}

// RTPTap counts the RTP packets arriving at one UDP address without taking
// the port from whoever listens on it: it reads copies of the datagrams from
// a raw IPv4 socket bound to the address (Linux hands a raw IPPROTO_UDP
// socket a copy of every UDP datagram to its address). It needs root or
// CAP_NET_RAW, as SIPp's pcap play does.
type RTPTap struct {
	conn *net.IPConn
	dst  netip.AddrPort
	done chan struct{}

	mu    sync.Mutex
	stats TapStats
	wake  chan struct{} // closed and replaced on each packet
}

// ListenRTPTap starts a tap on dst (IPv4). Close it to stop its goroutine.
func ListenRTPTap(dst netip.AddrPort) (*RTPTap, error) {
	if !dst.Addr().Is4() {
		return nil, fmt.Errorf("sipptest: rtp tap on %s: IPv4 only", dst)
	}
	conn, err := net.ListenIP("ip4:udp", &net.IPAddr{IP: dst.Addr().AsSlice()})
	if err != nil {
		return nil, fmt.Errorf("sipptest: rtp tap on %s: %w", dst, err)
	}
	t := &RTPTap{
		conn: conn, dst: dst, done: make(chan struct{}), wake: make(chan struct{}),
		stats: TapStats{BySSRC: map[uint32]int{}, PayloadTypes: map[uint8]int{}, Sources: map[netip.AddrPort]int{}},
	}
	go t.run()
	return t, nil
}

// run is the tap's reader; it ends when Close closes the socket.
func (t *RTPTap) run() {
	defer close(t.done)
	buf := make([]byte, 65536)
	var pkt rtp.Packet
	for {
		n, from, err := t.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// Go strips the IPv4 header of a raw IPv4 socket: buf holds UDP.
		if n < udpLen || binary.BigEndian.Uint16(buf[2:]) != t.dst.Port() {
			continue
		}
		ip, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
		src := netip.AddrPortFrom(ip.Unmap(), binary.BigEndian.Uint16(buf[0:]))
		data := buf[udpLen:n]
		ok := pkt.Unmarshal(data) == nil && pkt.Version == 2
		t.mu.Lock()
		if ok {
			t.stats.Packets++
			t.stats.Bytes += len(pkt.Payload)
			t.stats.BySSRC[pkt.SSRC]++
			t.stats.PayloadTypes[pkt.PayloadType]++
			t.stats.Sources[src]++
		} else {
			t.stats.NotRTP++
		}
		close(t.wake)
		t.wake = make(chan struct{})
		t.mu.Unlock()
	}
}

// Stats returns a copy of the counters.
func (t *RTPTap) Stats() TapStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.BySSRC = clone(t.stats.BySSRC)
	s.PayloadTypes = clone(t.stats.PayloadTypes)
	s.Sources = clone(t.stats.Sources)
	return s
}

func clone[K comparable](m map[K]int) map[K]int {
	out := make(map[K]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// WaitPackets waits until the tap has seen at least n RTP packets, or ctx
// ends.
func (t *RTPTap) WaitPackets(ctx context.Context, n int) error {
	for {
		t.mu.Lock()
		got, wake := t.stats.Packets, t.wake
		t.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("sipptest: rtp tap on %s saw %d of %d packets: %w", t.dst, got, n, ctx.Err())
		}
	}
}

// Close stops the tap and waits for its reader to end.
func (t *RTPTap) Close() error {
	err := t.conn.Close()
	select {
	case <-t.done:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("sipptest: rtp tap on %s did not stop", t.dst)
	}
	return err
}
