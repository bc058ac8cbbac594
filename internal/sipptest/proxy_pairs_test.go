package sipptest

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

var proxyIP = netip.MustParseAddr("127.0.0.30")

// TestScenarioPairsThroughProxy runs the pairs with a record-routing proxy
// between caller and callee: every call must still succeed, and the proxy
// must see every in-dialog request sent to the remote target through the
// route set, never to the address the call was started with.
func TestScenarioPairsThroughProxy(t *testing.T) {
	for _, pc := range pairs {
		if pc.transport != UDP {
			continue // the test proxy speaks UDP
		}
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			uasAddr := freeAddr(t, uasIP)
			proxy := startTestProxy(t, proxyIP, uasAddr)
			uas, uac := RunPair(ctx, t,
				Config{Scenario: Scenario(t, pc.uas), Local: uasAddr, Calls: pairCalls,
					CallDuration: 100 * time.Millisecond},
				Config{Scenario: Scenario(t, pc.uac), Local: netip.AddrPortFrom(uacIP, 0), Remote: proxy.self,
					Calls: pairCalls, Rate: 10, CallDuration: 100 * time.Millisecond})
			uac.ExpectCalls(t, pairCalls)
			uas.ExpectCalls(t, pairCalls)
			violations, inDialog, _, _ := proxy.report()
			for _, v := range violations {
				t.Errorf("proxy: %s", v)
			}
			if want := pc.inDialogPerCall * pairCalls; inDialog != want {
				t.Errorf("proxy routed %d in-dialog requests by the route set, want %d", inDialog, want)
			}
		})
	}
}

// TestFailoverThroughProxy proves the failover trunk pair: the proxy sends
// each INVITE to uas-503 first, ACKs its 503 and tries uas-load, which
// answers; the caller sees only successful calls.
func TestFailoverThroughProxy(t *testing.T) {
	const calls = pairCalls
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	trunk1, err := Start(ctx, t, Config{Scenario: Scenario(t, "uas-503"), Role: UAS,
		Local: freeAddr(t, netip.MustParseAddr("127.0.0.21")), Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	trunk2, err := Start(ctx, t, Config{Scenario: Scenario(t, "uas-load"), Role: UAS,
		Local: freeAddr(t, netip.MustParseAddr("127.0.0.22")), Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	proxy := startTestProxy(t, proxyIP, trunk1.Config().Local, trunk2.Config().Local)
	caller, err := Start(ctx, t, Config{Scenario: Scenario(t, "uac-load"), Role: UAC,
		Local: netip.AddrPortFrom(uacIP, 0), Remote: proxy.self, Calls: calls, Rate: 10,
		CallDuration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name string
		p    *Process
	}{{"caller", caller}, {"trunk 1 (503)", trunk1}, {"trunk 2", trunk2}} {
		res, err := step.p.Wait(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		// For uas-503 a successful call is an INVITE answered 503 and
		// its ACK received.
		res.ExpectCalls(t, calls)
	}
	violations, _, failovers, _ := proxy.report()
	for _, v := range violations {
		t.Errorf("proxy: %s", v)
	}
	if failovers != calls {
		t.Errorf("proxy failed over %d times, want %d", failovers, calls)
	}
}

func freeAddr(t *testing.T, ip netip.Addr) netip.AddrPort {
	t.Helper()
	port, err := FreePort(ip)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(ip, port)
}
