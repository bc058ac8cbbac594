//go:build linux

package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/testenv"
)

// TestRawUDP: the raw sendto/recvmsg path carries datagrams both ways on
// IPv4 and on a dual-stack IPv6 socket (IPv4 peers as v4-mapped), reports
// the source and a kernel arrival time, and allocates nothing per
// datagram.
func TestRawUDP(t *testing.T) {
	for _, tc := range []struct{ name, listen, peer string }{
		{"ipv4", "127.0.0.1:0", "127.0.0.1:0"},
		{"ipv6", "[::1]:0", "[::1]:0"},
		{"dual-stack to ipv4", "[::]:0", "127.0.0.1:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.listen)))
			if err != nil {
				testenv.Missing(t, "a UDP socket on "+tc.listen+": "+err.Error())
			}
			defer uc.Close()
			raw := newRawUDP(uc)
			if raw == nil {
				t.Fatal("newRawUDP: nil on Linux")
			}
			peer, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.peer)))
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()
			local := uc.LocalAddr().(*net.UDPAddr).AddrPort()
			if local.Addr().IsUnspecified() {
				local = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), local.Port())
			}

			// Out: raw sendto, read by the peer.
			msg := []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")
			if err := raw.writeTo(msg, peerAddr); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2048)
			peer.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:n]) != string(msg) {
				t.Fatalf("peer got %q, %v", buf[:n], err)
			}

			// In: the peer sends, raw recvmsg reads.
			rd := raw.reader(2048)
			before := time.Now()
			if _, err := peer.WriteToUDPAddrPort([]byte("pong"), local); err != nil {
				t.Fatal(err)
			}
			got, src, recv, err := rd.read()
			if err != nil || string(got) != "pong" {
				t.Fatalf("read %q, %v", got, err)
			}
			if unmap(src) != unmap(peerAddr) {
				t.Fatalf("source %v, want %v", src, peerAddr)
			}
			if recv.Before(before.Add(-time.Second)) || recv.After(time.Now()) {
				t.Fatalf("arrival %v not around now", recv)
			}

			// Nothing allocated per datagram either way.
			allocs := testing.AllocsPerRun(200, func() {
				if err := raw.writeTo(msg, local); err != nil {
					t.Fatal(err)
				}
				if _, _, _, err := rd.read(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per datagram sent and received, want 0", allocs)
			}
		})
	}
}

// TestRawUDPClosed: a reader blocked on an idle socket returns net.ErrClosed
// when the socket closes (readUDP's exit), and no send reaches the
// descriptor once it is closing.
func TestRawUDPClosed(t *testing.T) {
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	raw := newRawUDP(uc)
	rd := raw.reader(100)
	done := make(chan error, 1)
	go func() { _, _, _, err := rd.read(); done <- err }()
	time.Sleep(50 * time.Millisecond)
	raw.close() // as listener.close does first
	uc.Close()
	if err := raw.writeTo([]byte("x"), netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("send after close: %v, want net.ErrClosed (never a send on a closed, maybe reused, descriptor)", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reader not released by Close")
	}
}

// TestRawUDPBatch: datagrams queued together come out of the batched
// reader one by one, in order, each with its own bytes and source; one
// larger than the reader's buffers comes out truncated to them (readUDP
// rejects it by that length).
func TestRawUDPBatch(t *testing.T) {
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	rd := newRawUDP(uc).reader(101)
	local := uc.LocalAddr().(*net.UDPAddr).AddrPort()
	var peers []*net.UDPConn
	for i := 0; i < 3; i++ {
		p, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		peers = append(peers, p)
	}
	const total = 3*readBatch + 2
	for i := 0; i < total; i++ {
		msg := []byte(fmt.Sprintf("datagram %02d", i))
		if i == total-1 {
			msg = make([]byte, 300) // beyond the 101-byte buffers
		}
		if _, err := peers[i%3].WriteToUDPAddrPort(msg, local); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < total; i++ {
		b, src, _, err := rd.read()
		if err != nil {
			t.Fatal(err)
		}
		if want := peers[i%3].LocalAddr().(*net.UDPAddr).AddrPort(); src != want {
			t.Fatalf("datagram %d from %v, want %v", i, src, want)
		}
		if i == total-1 {
			if len(b) != 101 {
				t.Fatalf("oversized datagram read as %d bytes, want the buffer's 101", len(b))
			}
			continue
		}
		if want := fmt.Sprintf("datagram %02d", i); string(b) != want {
			t.Fatalf("read %q, want %q", b, want)
		}
	}
}
