package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/admin"
	"github.com/sbc-project/sbc/internal/sipptest"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
)

var (
	callerIP  = netip.MustParseAddr("127.0.0.10")
	calleeIP  = netip.MustParseAddr("127.0.0.20")
	insideIP  = netip.MustParseAddr("127.0.0.1")
	outsideIP = netip.MustParseAddr("127.0.0.2")
)

const policyTmpl = `
trunk "pbx" {
  interface = "inside"
  match { sources = ["127.0.0.10"] }
}
trunk "carrier" {
  interface = "outside"
  match { sources = ["127.0.0.20"] }
  destination {
    host = "127.0.0.20"
    port = %d
  }
}
route "all" {
  trunks = ["carrier"]
}
`

type running struct {
	d      *Daemon
	inside netip.AddrPort
	client *admin.Client
	admin  string
	policy string
	done   chan error
	cancel context.CancelFunc
}

func startDaemon(t *testing.T, calleePort uint16) *running {
	t.Helper()
	return startDaemonOpts(t, calleePort, nil)
}

func startDaemonOpts(t testing.TB, calleePort uint16, edit func(*Options)) *running {
	t.Helper()
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.hcl")
	if err := os.WriteFile(pol, []byte(fmt.Sprintf(policyTmpl, calleePort)), 0o644); err != nil {
		t.Fatal(err)
	}
	port := func(ip netip.Addr) netip.AddrPort {
		p, err := sipptest.FreePort(ip)
		if err != nil {
			t.Fatal(err)
		}
		return netip.AddrPortFrom(ip, p)
	}
	r := &running{policy: pol, done: make(chan error, 1)}
	r.inside = port(insideIP)
	ready := make(chan *Daemon, 1)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	opts := Options{
		Interfaces: []Interface{
			{Name: "inside", Listen: []Listener{{Transport: transport.UDP, Addr: r.inside}},
				MediaAddr: insideIP, PortMin: 52000, PortMax: 52999},
			{Name: "outside", Listen: []Listener{{Transport: transport.UDP, Addr: port(outsideIP)}},
				MediaAddr: outsideIP, PortMin: 53000, PortMax: 53999},
		},
		PolicyFiles:  []string{pol},
		AdminAddr:    "127.0.0.1:0",
		CDRFile:      filepath.Join(dir, "cdr.jsonl"),
		DrainTimeout: 2 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:      "test",
		Ready:        func(d *Daemon) { ready <- d },
	}
	if edit != nil {
		edit(&opts)
	}
	go func() { r.done <- Run(ctx, opts) }()
	select {
	case r.d = <-ready:
	case err := <-r.done:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not start in 10 s")
	}
	r.admin = "http://" + r.d.AdminAddr()
	var err error
	r.client, err = admin.NewClient(r.admin, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("daemon did not stop in 10 s")
		}
	})
	return r
}

func (r *running) scrape(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(r.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric returns the value of the first sample line starting with prefix.
func metric(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			f := strings.Fields(l)
			return f[len(f)-1]
		}
	}
	return ""
}

// TestDaemonCallsMetricsAndAdmin runs calls through the daemon, checks the
// counters against what SIPp reports, hangs up a live call through the admin
// API, and reloads a broken policy (diagnostics returned, old one in force).
func TestDaemonCallsMetricsAndAdmin(t *testing.T) {
	calleePort, err := sipptest.FreePort(calleeIP)
	if err != nil {
		t.Fatal(err)
	}
	r := startDaemon(t, calleePort)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// 1. Five short calls; the counters must match SIPp's.
	const calls = 5
	uas, uac := sipptest.RunPair(ctx, t,
		sipptest.Config{Scenario: sipptest.Scenario(t, "uas-load"), Local: netip.AddrPortFrom(calleeIP, calleePort), Calls: calls},
		sipptest.Config{Scenario: sipptest.Scenario(t, "uac-load"), Local: netip.AddrPortFrom(callerIP, 0), Remote: r.inside,
			Calls: calls, Rate: 20, CallDuration: 100 * time.Millisecond, Service: "4930123"})
	uac.ExpectCalls(t, calls)
	uas.ExpectCalls(t, calls)
	waitFor(t, func() bool { return r.d.Server().ActiveCalls() == 0 })
	m := r.scrape(t)
	for _, want := range []struct{ prefix, value string }{
		{`sbc_calls_attempted_total{trunk="pbx"}`, "5"},
		{`sbc_calls_answered_total{trunk="pbx"}`, "5"},
		{`sbc_calls_active{trunk="pbx"}`, "0"},
		{`sbc_calls_in_progress`, "0"},
	} {
		if got := metric(m, want.prefix); got != want.value {
			t.Errorf("%s = %q, want %s", want.prefix, got, want.value)
		}
	}

	// 2. A live call hung up through the admin API: both SIPp sides get a
	// BYE and count the call as successful.
	callee, err := sipptest.Start(ctx, t, sipptest.Config{Scenario: sipptest.Scenario(t, "uas-load"), Role: sipptest.UAS,
		Local: netip.AddrPortFrom(calleeIP, calleePort), Calls: 1})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := sipptest.Start(ctx, t, sipptest.Config{Scenario: sipptest.Scenario(t, "uac-callee-bye"), Role: sipptest.UAC,
		Local: netip.AddrPortFrom(callerIP, 0), Remote: r.inside, Calls: 1, Service: "4930123"})
	if err != nil {
		t.Fatal(err)
	}
	var live []admin.CallInfo
	waitFor(t, func() bool {
		live, _ = r.client.Calls(ctx)
		return len(live) == 1 && live[0].State == "confirmed"
	})
	if live[0].InTrunk != "pbx" || live[0].OutTrunk != "carrier" {
		t.Errorf("call info %+v: want pbx → carrier", live[0])
	}
	if err := r.client.Hangup(ctx, live[0].ID); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	for _, p := range []*sipptest.Process{caller, callee} {
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res.ExpectCalls(t, 1)
	}
	if err := r.client.Hangup(ctx, "no-such-call"); err == nil {
		t.Error("hangup of an unknown call succeeded")
	}

	// 3. A broken policy is refused with diagnostics; the old one stays.
	if err := os.WriteFile(r.policy, []byte("trunk \"x\" {\n  interface = \"nowhere\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := r.client.Reload(ctx)
	var re *admin.ReloadError
	if !errors.As(err, &re) {
		t.Fatalf("broken policy: reload = %+v, %v; want a ReloadError", res, err)
	}
	if !strings.Contains(re.Diagnostics, "policy.hcl:2") {
		t.Errorf("diagnostics %q do not point at policy.hcl:2", re.Diagnostics)
	}
	if got := metric(r.scrape(t), `sbc_policy_reloads_total{result="failed"}`); got == "" || got == "0" {
		t.Errorf("failed reloads = %q, want at least 1", got)
	}
	uas, uac = sipptest.RunPair(ctx, t,
		sipptest.Config{Scenario: sipptest.Scenario(t, "uas-load"), Local: netip.AddrPortFrom(calleeIP, calleePort), Calls: 1},
		sipptest.Config{Scenario: sipptest.Scenario(t, "uac-load"), Local: netip.AddrPortFrom(callerIP, 0), Remote: r.inside,
			Calls: 1, CallDuration: 50 * time.Millisecond, Service: "4930123"})
	uac.ExpectCalls(t, 1)
	uas.ExpectCalls(t, 1)

	// 4. Everything released: media ports back in the pool.
	waitFor(t, func() bool { return r.d.Relay().Stats().Sessions == 0 })
	cdr, err := os.ReadFile(filepath.Join(filepath.Dir(r.policy), "cdr.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(cdr), "\n"); n != calls+2 {
		t.Errorf("%d CDR lines, want %d", n, calls+2)
	}
	if !strings.Contains(string(cdr), `"hangup_by":"sbc"`) {
		t.Error("no CDR records the operator's hangup")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDaemonLoad runs 10,000 calls at a steady rate through the daemon with
// SIPp: zero failed calls, then every call, dialog, transaction and media
// port released, read from the metrics endpoint.
func TestDaemonLoad(t *testing.T) {
	calls, rate := 10000, 250.0
	if n, err := strconv.Atoi(os.Getenv("SBC_LOAD_CALLS")); err == nil && n > 0 {
		calls = n // a shorter run while investigating
	}
	if testenvRace {
		rate = 150 // the race detector slows the SBC several times
	}
	calleePort, err := sipptest.FreePort(calleeIP)
	if err != nil {
		t.Fatal(err)
	}
	r := startDaemon(t, calleePort)
	timeout := time.Duration(float64(calls)/rate*float64(time.Second)) + 60*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	uas, uac := sipptest.RunPair(ctx, t,
		sipptest.Config{Scenario: sipptest.Scenario(t, "uas-load"), Local: netip.AddrPortFrom(calleeIP, calleePort),
			Calls: calls, Timeout: timeout},
		sipptest.Config{Scenario: sipptest.Scenario(t, "uac-load"), Local: netip.AddrPortFrom(callerIP, 0), Remote: r.inside,
			Calls: calls, Rate: rate, CallDuration: 200 * time.Millisecond, Service: "4930123", Timeout: timeout})
	uac.ExpectCalls(t, calls)
	uas.ExpectCalls(t, calls)
	t.Logf("caller: %d successful, %d failed, %d retransmissions", uac.Stats.Cumulative.SuccessfulCalls,
		uac.Stats.Cumulative.FailedCalls, uac.Stats.Cumulative.Retransmissions)
	// Transactions end by their timers (Timer J/K, RFC 3261 §17); with the
	// default T1 Timer J is 32 s.
	deadline := time.Now().Add(45 * time.Second)
	var m string
	for {
		m = r.scrape(t)
		if metric(m, "sbc_sip_transactions_active") == "0" && metric(m, "sbc_dialogs") == "0" &&
			metric(m, "sbc_calls_in_progress") == "0" && r.d.Relay().Stats().Sessions == 0 {
			break
		}
		if time.Now().After(deadline) {
			var buf strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Logf("goroutines:\n%s", buf.String())
			t.Fatalf("not released: transactions %s, dialogs %s, calls %s, media sessions %d",
				metric(m, "sbc_sip_transactions_active"), metric(m, "sbc_dialogs"), metric(m, "sbc_calls_in_progress"),
				r.d.Relay().Stats().Sessions)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, ifc := range r.d.Relay().Stats().Interfaces {
		if ifc.PortsInUse != 0 {
			t.Errorf("interface %s: %d media ports still in use", ifc.Name, ifc.PortsInUse)
		}
	}
	if got := metric(m, `sbc_calls_answered_total{trunk="pbx"}`); got != fmt.Sprint(calls) {
		t.Errorf("answered = %s, want %d", got, calls)
	}
}

// holdCall starts a call that stays up until someone else hangs it up:
// the caller waits for a BYE (uac-callee-bye), the callee too (uas-load).
func holdCall(ctx context.Context, t *testing.T, r *running, calleePort uint16) (caller, callee *sipptest.Process) {
	t.Helper()
	callee, err := sipptest.Start(ctx, t, sipptest.Config{Scenario: sipptest.Scenario(t, "uas-load"), Role: sipptest.UAS,
		Local: netip.AddrPortFrom(calleeIP, calleePort), Calls: 1, RecvTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	caller, err = sipptest.Start(ctx, t, sipptest.Config{Scenario: sipptest.Scenario(t, "uac-callee-bye"), Role: sipptest.UAC,
		Local: netip.AddrPortFrom(callerIP, 0), Remote: r.inside, Calls: 1, Service: "4930123", RecvTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return r.d.Server().ActiveCalls() == 1 })
	return caller, callee
}

// TestMediaTimeoutEndsCall: no RTP arrives, so the relay's media timeout
// tears the call down with BYE on both legs; the CDR says why.
func TestMediaTimeoutEndsCall(t *testing.T) {
	calleePort, err := sipptest.FreePort(calleeIP)
	if err != nil {
		t.Fatal(err)
	}
	r := startDaemonOpts(t, calleePort, func(o *Options) { o.MediaTimeout = 2 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	caller, callee := holdCall(ctx, t, r, calleePort)
	for _, p := range []*sipptest.Process{caller, callee} {
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res.ExpectCalls(t, 1)
	}
	waitFor(t, func() bool { return r.d.Server().ActiveCalls() == 0 })
	cdr, _ := os.ReadFile(filepath.Join(filepath.Dir(r.policy), "cdr.jsonl"))
	if !strings.Contains(string(cdr), `"disposition":"media_timeout"`) || !strings.Contains(string(cdr), `"hangup_by":"sbc"`) {
		t.Errorf("CDR does not record the media timeout:\n%s", cdr)
	}
}

// TestGracefulShutdown: on shutdown new calls are refused and the call in
// progress gets the drain timeout, then BYE on both legs; Run returns.
func TestGracefulShutdown(t *testing.T) {
	calleePort, err := sipptest.FreePort(calleeIP)
	if err != nil {
		t.Fatal(err)
	}
	r := startDaemonOpts(t, calleePort, func(o *Options) { o.DrainTimeout = time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	caller, callee := holdCall(ctx, t, r, calleePort)
	r.cancel()
	// While draining, a new call is refused with 503 (the hold is 1 s).
	time.Sleep(100 * time.Millisecond)
	res := inviteStatus(t, r.inside)
	if res != 503 {
		t.Errorf("new call while draining: %d, want 503", res)
	}
	for _, p := range []*sipptest.Process{caller, callee} {
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res.ExpectCalls(t, 1)
	}
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
}

// inviteStatus sends one INVITE from the caller's address and returns the
// final status code.
func inviteStatus(t *testing.T, to netip.AddrPort) int {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(callerIP, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort().String()
	req := "INVITE sip:4930123@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bKdrain1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:a@127.0.0.10>;tag=d1\r\nTo: <sip:4930123@127.0.0.1>\r\nCall-ID: drain-1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@" + local +
		">\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.WriteToUDPAddrPort([]byte(req), to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return 0
		}
		if m, err := sip.Parse(buf[:n]); err == nil && m.StatusCode >= 200 {
			return m.StatusCode
		}
	}
}
