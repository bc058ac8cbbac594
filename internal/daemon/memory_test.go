package daemon

import (
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
)

// BenchmarkMemoryPerCall holds established calls open through the daemon
// (SIPp on both sides) and reports the Go heap each one costs once its
// transactions are gone: both dialogs, the call state and the relay's
// per-session bookkeeping; the kernel's socket buffers are not Go heap and are
// not counted. Goal: under 16 KiB per call.
func BenchmarkMemoryPerCall(b *testing.B) {
	const calls = 1000
	calleePort, err := sipptest.FreePort(calleeIP)
	if err != nil {
		b.Fatal(err)
	}
	r := startDaemonOpts(b, calleePort, func(o *Options) {
		// 1000 calls need 1000 port pairs on each side.
		o.Interfaces[0].PortMin, o.Interfaces[0].PortMax = 20000, 23999
		o.Interfaces[1].PortMin, o.Interfaces[1].PortMax = 24000, 27999
	})
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		before := heap()
		callee, err := sipptest.Start(ctx, b, sipptest.Config{Scenario: sipptest.Scenario(b, "uas-load"), Role: sipptest.UAS,
			Local: netip.AddrPortFrom(calleeIP, calleePort), Calls: calls, Timeout: 100 * time.Second, RecvTimeout: 70 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		caller, err := sipptest.Start(ctx, b, sipptest.Config{Scenario: sipptest.Scenario(b, "uac-load"), Role: sipptest.UAC,
			Local: netip.AddrPortFrom(callerIP, 0), Remote: r.inside, Calls: calls, Rate: 500,
			CallDuration: 45 * time.Second, Service: "4930123", Timeout: 100 * time.Second, RecvTimeout: 70 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		// Every call up, and the INVITE transactions ended (Timers L and M
		// = 64*T1 = 32 s, RFC 6026).
		deadline := time.Now().Add(42 * time.Second)
		for r.d.Server().ActiveCalls() < calls || r.d.mgr.Stats().LiveServer+r.d.mgr.Stats().LiveClient > 0 {
			if time.Now().After(deadline) {
				b.Fatalf("calls up %d, transactions %d", r.d.Server().ActiveCalls(),
					r.d.mgr.Stats().LiveServer+r.d.mgr.Stats().LiveClient)
			}
			time.Sleep(100 * time.Millisecond)
		}
		held := heap()
		b.ReportMetric(float64(held-before)/calls, "heap-bytes/call")
		b.ReportMetric(float64(r.d.Server().Dialogs())/calls, "dialogs/call")
		for _, p := range []*sipptest.Process{caller, callee} {
			res, err := p.Wait(ctx)
			if err != nil {
				b.Fatal(err)
			}
			res.ExpectCalls(b, calls)
		}
		cancel()
	}
}
