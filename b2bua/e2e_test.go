package b2bua

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
	"github.com/sbc-project/sbc/mediarelay"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// The test network: the caller (inside) and the carriers (outside) on
// distinct loopback addresses, the SBC with one address per side.
var (
	callerIP     = netip.MustParseAddr("127.0.0.10")
	calleeIP     = netip.MustParseAddr("127.0.0.20")
	failIP       = netip.MustParseAddr("127.0.0.21")
	backupIP     = netip.MustParseAddr("127.0.0.22")
	sbcInsideIP  = netip.MustParseAddr("127.0.0.1")
	sbcOutsideIP = netip.MustParseAddr("127.0.0.2")
)

// capture records every SIP datagram on each interface, for the leak test.
type capture struct {
	mu   sync.Mutex
	msgs map[string][]string // interface → messages (in and out)
}

func (c *capture) add(iface string, b []byte) {
	c.mu.Lock()
	c.msgs[iface] = append(c.msgs[iface], string(b))
	c.mu.Unlock()
}

func (c *capture) all(iface string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs[iface]...)
}

type capConn struct {
	transport.PacketConn
	iface string
	cap   *capture
}

func (c capConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, ap, err := c.PacketConn.ReadFromUDPAddrPort(b)
	if n > 0 {
		c.cap.add(c.iface, b[:n])
	}
	return n, ap, err
}

func (c capConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	c.cap.add(c.iface, b)
	return c.PacketConn.WriteToUDPAddrPort(b, addr)
}

type memCDR struct {
	mu   sync.Mutex
	cdrs []CDR
}

func (m *memCDR) WriteCDR(c *CDR) error {
	m.mu.Lock()
	m.cdrs = append(m.cdrs, *c)
	m.mu.Unlock()
	return nil
}

func (m *memCDR) list() []CDR {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]CDR(nil), m.cdrs...)
}

type testSBC struct {
	srv     *Server
	relay   *mediarelay.Relay
	inside  netip.AddrPort
	outside netip.AddrPort
	cap     *capture
	cdr     *memCDR
}

const testPolicy = `
trunk "pbx" {
  interface = "inside"
  match { sources = ["127.0.0.10"] }
  identity { trusted = true }
}
trunk "carrier" {
  interface = "outside"
  match { sources = ["127.0.0.20"] }
  destination {
    host = "127.0.0.20"
    port = %d
    transport = "udp"
  }
}
trunk "flaky" {
  interface = "outside"
  match { sources = ["127.0.0.21"] }
  destination {
    host = "127.0.0.21"
    port = %d
  }
}
trunk "backup" {
  interface = "outside"
  match { sources = ["127.0.0.22"] }
  destination {
    host = "127.0.0.22"
    port = %d
  }
}
route "failover" {
  match {
    ruri_user { prefix = ["failover"] }
  }
  trunks = ["flaky", "backup"]
  failover { on = [503] }
}
route "default" {
  trunks = ["carrier"]
}
`

func freePort(t *testing.T, ip netip.Addr) uint16 {
	t.Helper()
	p, err := sipptest.FreePort(ip)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startSBC runs the B2BUA in process on real loopback sockets.
func startSBC(t *testing.T, calleePort, failPort, backupPort uint16) *testSBC {
	t.Helper()
	return startSBCWith(t, fmt.Sprintf(testPolicy, calleePort, failPort, backupPort))
}

func startSBCWith(t *testing.T, policyText string) *testSBC {
	t.Helper()
	return startSBCTx(t, policyText, nil)
}

// startSBCTx is startSBCWith with tune, when set, adjusting the transaction
// layer's configuration (shorter timers).
func startSBCTx(t *testing.T, policyText string, tune func(*transaction.Config)) *testSBC {
	t.Helper()
	sb := &testSBC{cap: &capture{msgs: map[string][]string{}}, cdr: &memCDR{}}
	src := policy.Source{Name: "test.hcl", Data: []byte(policyText)}
	pol, err := policy.LoadSources([]policy.Source{src}, policy.LoadOptions{Interfaces: []string{"inside", "outside"}})
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	relay, err := mediarelay.New(mediarelay.Config{
		Interfaces: []mediarelay.InterfaceConfig{
			{Name: "inside", Addr: sbcInsideIP, PortMin: 44000, PortMax: 45999},
			{Name: "outside", Addr: sbcOutsideIP, PortMin: 46000, PortMax: 47999},
		},
		MediaTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	t.Cleanup(func() { relay.Close() })
	sb.relay = relay
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sb.inside = netip.AddrPortFrom(sbcInsideIP, freePort(t, sbcInsideIP))
	sb.outside = netip.AddrPortFrom(sbcOutsideIP, freePort(t, sbcOutsideIP))
	// The Manager needs the Server as its Handler: build the Server with a
	// placeholder and set the Manager after.
	srv, err := New(Config{Tx: placeholderTx{}, Relay: relay, Policy: func() *policy.Policy { return pol }, CDR: sb.cdr, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	txCfg := transaction.Config{Handler: srv, Hooks: srv.Hooks(), Logger: log}
	if tune != nil {
		tune(&txCfg)
	}
	mgr, layer, err := transaction.New(txCfg,
		transport.Config{
			Listeners: []transport.ListenerConfig{
				{Interface: "inside", Transport: transport.UDP, Addr: sb.inside},
				{Interface: "outside", Transport: transport.UDP, Addr: sb.outside},
			},
			WrapUDP: func(iface string, pc transport.PacketConn) transport.PacketConn {
				return capConn{PacketConn: pc, iface: iface, cap: sb.cap}
			},
			Logger: log,
		})
	if err != nil {
		t.Fatalf("transaction layer: %v", err)
	}
	t.Cleanup(func() { mgr.Close(); layer.Close() })
	srv.SetTx(mgr)
	srv.AddListeners(layer.Listeners())
	sb.srv = srv
	return sb
}

// placeholderTx lets New run before the Manager (which needs the Server as
// its Handler) exists; SetTx replaces it.
type placeholderTx struct{ TxLayer }

func TestEndToEndScenarios(t *testing.T) {
	cases := []struct {
		uac, uas string
		service  string
		noCDR    bool // not a call: a relayed transaction writes no CDR
	}{
		{"uac-basic", "uas-basic", "4930111", false},
		{"uac-callee-bye", "uas-callee-bye", "4930111", false},
		{"uac-cancel", "uas-cancel", "4930111", false},
		{"uac-busy", "uas-busy", "4930111", false},
		{"uac-reinvite", "uas-reinvite", "4930111", false},
		{"uac-callee-reinvite", "uas-callee-reinvite", "4930111", false},
		{"uac-prack", "uas-prack", "4930111", false},
		{"uac-update", "uas-update", "4930111", false},
		{"uac-info", "uas-info", "4930111", false},
		{"uac-message", "uas-message", "4930111", false},
		// An out-of-dialog OPTIONS with a user part is routed by policy
		// like a call, as a single relayed transaction.
		{"uac-options", "uas-options", "4930111", true},
	}
	const calls = 3
	for _, tc := range cases {
		t.Run(tc.uac, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			calleePort := freePort(t, calleeIP)
			sb := startSBC(t, calleePort, 1, 1)
			uasRes, uacRes := sipptest.RunPair(ctx, t,
				sipptest.Config{Scenario: sipptest.Scenario(t, tc.uas), Local: netip.AddrPortFrom(calleeIP, calleePort),
					Calls: calls, CallDuration: 200 * time.Millisecond},
				sipptest.Config{Scenario: sipptest.Scenario(t, tc.uac), Local: netip.AddrPortFrom(callerIP, 0),
					Remote: sb.inside, Calls: calls, Rate: 10, CallDuration: 200 * time.Millisecond, Service: tc.service})
			uacRes.ExpectCalls(t, calls)
			uasRes.ExpectCalls(t, calls)
			if t.Failed() && testing.Verbose() {
				sb.dump(t)
			}
			sb.checkNoLeaks(t)
			sb.waitIdle(t)
			if want := calls * bool2int(!tc.noCDR); len(sb.cdr.list()) != want {
				got := len(sb.cdr.list())
				t.Errorf("%d CDRs, want %d", got, want)
			}
		})
	}
}

func TestEndToEndFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const calls = 3
	failPort, backupPort := freePort(t, failIP), freePort(t, backupIP)
	sb := startSBC(t, 1, failPort, backupPort)
	flaky, err := sipptest.Start(ctx, t, sipptest.Config{Scenario: sipptest.Scenario(t, "uas-503"), Role: sipptest.UAS,
		Local: netip.AddrPortFrom(failIP, failPort), Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	backup, err := sipptest.Start(ctx, t, sipptest.Config{Scenario: sipptest.Scenario(t, "uas-load"), Role: sipptest.UAS,
		Local: netip.AddrPortFrom(backupIP, backupPort), Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := sipptest.Start(ctx, t, sipptest.Config{Scenario: sipptest.Scenario(t, "uac-load"), Role: sipptest.UAC,
		Local: netip.AddrPortFrom(callerIP, 0), Remote: sb.inside, Calls: calls, Rate: 10,
		CallDuration: 100 * time.Millisecond, Service: "failover123"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*sipptest.Process{caller, flaky, backup} {
		res, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res.ExpectCalls(t, calls)
	}
	sb.waitIdle(t)
	for _, c := range sb.cdr.list() {
		if c.Attempts != 2 || c.ToTrunk != "backup" || c.Disposition != "answered" {
			t.Errorf("CDR %+v: want 2 attempts ending on backup, answered", c)
		}
	}
}

// dump logs every captured message (for debugging a failed scenario).
func (sb *testSBC) dump(t *testing.T) {
	for _, iface := range []string{"inside", "outside"} {
		for i, m := range sb.cap.all(iface) {
			if i < 40 {
				t.Logf("%s #%d:\n%s", iface, i, m)
			}
		}
	}
}

func (sb *testSBC) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if sb.srv.ActiveCalls() == 0 && sb.relay.Stats().Sessions == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("calls still active: %d, media sessions: %d", sb.srv.ActiveCalls(), sb.relay.Stats().Sessions)
}

// checkNoLeaks asserts topology hiding: nothing of the outside (addresses,
// Call-IDs, tags, branches) appears in any message on the inside, and the
// other way round.
func (sb *testSBC) checkNoLeaks(t *testing.T) {
	t.Helper()
	inside, outside := sb.cap.all("inside"), sb.cap.all("outside")
	if len(inside) == 0 || len(outside) == 0 {
		t.Fatalf("captured %d inside and %d outside messages", len(inside), len(outside))
	}
	secrets := func(msgs []string, ips ...netip.Addr) map[string]bool {
		s := map[string]bool{}
		for _, ip := range ips {
			s[ip.String()] = true
		}
		for _, raw := range msgs {
			m, err := sip.Parse([]byte(raw))
			if err != nil {
				continue
			}
			if v, ok := m.GetHeader("Call-ID"); ok {
				s[v] = true
			}
			for _, h := range []string{"From", "To"} {
				if na, err := firstNameAddrTest(m, h); err == nil && na.Tag() != "" {
					s["tag="+na.Tag()] = true
				}
			}
			for v := range m.HeaderLines("Via") {
				for _, e := range strings.Split(v, ",") {
					if via, err := sip.ParseVia(strings.TrimSpace(e)); err == nil && via.Branch() != "" {
						s["branch="+via.Branch()] = true
					}
				}
			}
		}
		return s
	}
	insideSecrets := secrets(inside, callerIP, sbcInsideIP)
	outsideSecrets := secrets(outside, calleeIP, failIP, backupIP, sbcOutsideIP)
	find := func(msgs []string, secret map[string]bool, where string) {
		n := 0
		for _, raw := range msgs {
			for s := range secret {
				if strings.Contains(raw, s) && n < 5 {
					n++
					t.Errorf("leak on %s: %q found in\n%s", where, s, raw)
				}
			}
		}
	}
	find(outside, insideSecrets, "outside")
	find(inside, outsideSecrets, "inside")
}

var _ = net.IPv4len

// TestEndToEndMedia plays RTP from the caller through the relay to the
// callee, which echoes it back: every packet must arrive on each side from
// the SBC's own media address (never the other side's), and the CDR counts
// them.
func TestEndToEndMedia(t *testing.T) {
	const calls = 2
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	calleePort := freePort(t, calleeIP)
	sb := startSBC(t, calleePort, 1, 1)
	media := func(ip netip.Addr) netip.AddrPort {
		p, err := sipptest.FreeMediaPort(ip)
		if err != nil {
			t.Fatal(err)
		}
		return netip.AddrPortFrom(ip, p)
	}
	calleeMedia, callerMedia := media(calleeIP), media(callerIP)
	atCallee, err := sipptest.ListenRTPTap(calleeMedia)
	if err != nil {
		t.Fatal(err)
	}
	defer atCallee.Close()
	atCaller, err := sipptest.ListenRTPTap(callerMedia)
	if err != nil {
		t.Fatal(err)
	}
	defer atCaller.Close()
	uas, uac := sipptest.RunPair(ctx, t,
		sipptest.Config{Scenario: sipptest.Scenario(t, "uas-media"), Local: netip.AddrPortFrom(calleeIP, calleePort),
			Media: calleeMedia, RTPEcho: true, Calls: calls},
		sipptest.Config{Scenario: sipptest.Scenario(t, "uac-media"), Local: netip.AddrPortFrom(callerIP, 0),
			Remote: sb.inside, Media: callerMedia, Calls: calls, Rate: 5, Service: "4930111"})
	uac.ExpectCalls(t, calls)
	uas.ExpectCalls(t, calls)
	want := calls * sipptest.PcmuPcap.Packets
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	for name, tap := range map[string]*sipptest.RTPTap{"callee": atCallee, "caller (echo)": atCaller} {
		if err := tap.WaitPackets(wctx, want); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for src, n := range atCallee.Stats().Sources {
		if src.Addr() != sbcOutsideIP {
			t.Errorf("callee got %d packets from %s, not from the SBC's outside address", n, src)
		}
	}
	for src, n := range atCaller.Stats().Sources {
		if src.Addr() != sbcInsideIP {
			t.Errorf("caller got %d packets from %s, not from the SBC's inside address", n, src)
		}
	}
	sb.checkNoLeaks(t)
	sb.waitIdle(t)
	var a, b uint64
	for _, c := range sb.cdr.list() {
		a += c.Media.APackets
		b += c.Media.BPackets
	}
	if a < uint64(want) || b < uint64(want) {
		t.Errorf("CDR media: %d packets from the caller, %d from the callee; want at least %d each", a, b, want)
	}
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

func firstNameAddrTest(m *sip.Message, h string) (sip.NameAddr, error) {
	if h == "From" {
		return m.From()
	}
	return m.To()
}
