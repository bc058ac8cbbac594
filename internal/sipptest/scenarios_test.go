package sipptest

import (
	"context"
	"github.com/sbc-project/sbc/internal/testenv"
	"net"
	"net/netip"
	"testing"
	"time"
)

var (
	uacIP = netip.MustParseAddr("127.0.0.10")
	uasIP = netip.MustParseAddr("127.0.0.20")
)

const pairCalls = 3

// pairs are the scenario pairs of scripts/sipp, each proven SIPp to SIPp.
var pairs = []struct {
	name      string
	uac, uas  string
	transport Transport
	// inDialogPerCall counts the requests of one call that travel in the
	// dialog by its route set (ACK for 2xx, BYE, re-INVITE, PRACK, ...).
	inDialogPerCall int
}{
	{"basic", "uac-basic", "uas-basic", UDP, 4},
	{"basic-tcp", "uac-basic", "uas-basic", TCP, 4},
	{"callee-bye", "uac-callee-bye", "uas-callee-bye", UDP, 2},
	{"cancel", "uac-cancel", "uas-cancel", UDP, 0},
	{"busy", "uac-busy", "uas-busy", UDP, 0},
	{"503", "uac-503", "uas-503", UDP, 0},
	{"reinvite", "uac-reinvite", "uas-reinvite", UDP, 4},
	{"callee-reinvite", "uac-callee-reinvite", "uas-callee-reinvite", UDP, 4},
	{"prack", "uac-prack", "uas-prack", UDP, 3},
	{"update", "uac-update", "uas-update", UDP, 4},
	{"info", "uac-info", "uas-info", UDP, 3},
	{"message", "uac-message", "uas-message", UDP, 3},
	{"options", "uac-options", "uas-options", UDP, 0},
	{"load", "uac-load", "uas-load", UDP, 2},
	{"load-tcp", "uac-load", "uas-load", TCP, 2},
}

// TestScenarioPairs runs every uac/uas pair directly against each other on
// loopback and requires every call to succeed on both sides.
func TestScenarioPairs(t *testing.T) {
	for _, pc := range pairs {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			uas, uac := RunPair(ctx, t,
				Config{Scenario: Scenario(t, pc.uas), Local: netip.AddrPortFrom(uasIP, 0),
					Transport: pc.transport, Calls: pairCalls, CallDuration: 100 * time.Millisecond,
					Timeout: 30 * time.Second},
				Config{Scenario: Scenario(t, pc.uac), Local: netip.AddrPortFrom(uacIP, 0),
					Transport: pc.transport, Calls: pairCalls, Rate: 10, CallDuration: 100 * time.Millisecond,
					Timeout: 30 * time.Second})
			uac.ExpectCalls(t, pairCalls)
			uas.ExpectCalls(t, pairCalls)
			if got := uac.Stats.Cumulative.OutgoingCalls; got != pairCalls {
				t.Errorf("uac placed %d calls, want %d", got, pairCalls)
			}
			if got := uas.Stats.Cumulative.IncomingCalls; got != pairCalls {
				t.Errorf("uas received %d calls, want %d", got, pairCalls)
			}
		})
	}
}

// TestScenarioPairsIPv6 runs pairs over the IPv6 loopback: SIPp brackets the
// addresses in URIs and Via, and the SDP says IP6.
func TestScenarioPairsIPv6(t *testing.T) {
	loop6 := netip.IPv6Loopback()
	if c, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loop6, 0))); err != nil {
		testenv.Missing(t, "an IPv6 loopback: "+err.Error())
	} else {
		c.Close()
	}
	for _, name := range []string{"basic", "prack"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			uas, uac := RunPair(ctx, t,
				Config{Scenario: Scenario(t, "uas-"+name), Local: netip.AddrPortFrom(loop6, 0), Calls: pairCalls},
				Config{Scenario: Scenario(t, "uac-"+name), Local: netip.AddrPortFrom(loop6, 0), Calls: pairCalls,
					Rate: 10, CallDuration: 100 * time.Millisecond})
			uac.ExpectCalls(t, pairCalls)
			uas.ExpectCalls(t, pairCalls)
		})
	}
}
