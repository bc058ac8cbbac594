package sipptest

import (
	"context"
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
}{
	{"basic", "uac-basic", "uas-basic", UDP},
	{"basic-tcp", "uac-basic", "uas-basic", TCP},
	{"callee-bye", "uac-callee-bye", "uas-callee-bye", UDP},
	{"cancel", "uac-cancel", "uas-cancel", UDP},
	{"busy", "uac-busy", "uas-busy", UDP},
	{"503", "uac-503", "uas-503", UDP},
	{"reinvite", "uac-reinvite", "uas-reinvite", UDP},
	{"callee-reinvite", "uac-callee-reinvite", "uas-callee-reinvite", UDP},
	{"prack", "uac-prack", "uas-prack", UDP},
	{"update", "uac-update", "uas-update", UDP},
	{"info", "uac-info", "uas-info", UDP},
	{"message", "uac-message", "uas-message", UDP},
	{"options", "uac-options", "uas-options", UDP},
	{"load", "uac-load", "uas-load", UDP},
	{"load-tcp", "uac-load", "uas-load", TCP},
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
