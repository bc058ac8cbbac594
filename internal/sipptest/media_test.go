package sipptest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/testenv"
)

// TestMediaPair plays the committed PCMU capture from the caller and proves
// with taps that every packet reached the media address of the callee's SDP
// answer, and that the callee's -rtp_echo sent every one back to the
// caller's media address.
func TestMediaPair(t *testing.T) {
	if !testenv.Root() {
		testenv.Missing(t, "root (raw sockets for SIPp's pcap play and the RTP tap)")
	}
	const calls = 2
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	uasMedia := mediaAddr(t, uasIP)
	uacMedia := mediaAddr(t, uacIP)
	atCallee, err := ListenRTPTap(uasMedia)
	if err != nil {
		t.Fatal(err)
	}
	defer atCallee.Close()
	atCaller, err := ListenRTPTap(uacMedia)
	if err != nil {
		t.Fatal(err)
	}
	defer atCaller.Close()

	uas, uac := RunPair(ctx, t,
		Config{Scenario: Scenario(t, "uas-media"), Local: netip.AddrPortFrom(uasIP, 0), Media: uasMedia,
			RTPEcho: true, Calls: calls},
		Config{Scenario: Scenario(t, "uac-media"), Local: netip.AddrPortFrom(uacIP, 0), Media: uacMedia,
			Calls: calls, Rate: 5})
	uac.ExpectCalls(t, calls)
	uas.ExpectCalls(t, calls)

	want := calls * PcmuPcap.Packets
	waitCtx, waitCancel := context.WithTimeout(ctx, 5*time.Second)
	defer waitCancel()
	for name, tap := range map[string]*RTPTap{"callee": atCallee, "caller (echo)": atCaller} {
		if err := tap.WaitPackets(waitCtx, want); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		s := tap.Stats()
		if s.Packets != want || s.BySSRC[PcmuPcap.SSRC] != want || s.PayloadTypes[0] != want || s.NotRTP != 0 {
			t.Errorf("%s tap: %d packets, %v by SSRC, %v by payload type, %d not RTP; want %d of SSRC %#x, PT 0",
				name, s.Packets, s.BySSRC, s.PayloadTypes, s.NotRTP, want, PcmuPcap.SSRC)
		}
		if s.Bytes != want*160 {
			t.Errorf("%s tap: %d payload bytes, want %d", name, s.Bytes, want*160)
		}
	}
	// The caller plays from the media address its SDP offer named.
	if got := atCallee.Stats().Sources[uacMedia]; got != want {
		t.Errorf("callee saw %d packets from %s, want %d (sources %v)", got, uacMedia, want, atCallee.Stats().Sources)
	}
}

func mediaAddr(t *testing.T, ip netip.Addr) netip.AddrPort {
	t.Helper()
	port, err := FreeMediaPort(ip)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(ip, port)
}
