package netnstest

import (
	"github.com/sbc-project/sbc/internal/testenv"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// listen opens a UDP socket inside a role's namespace.
func listen(t *testing.T, tp *Topology, role string, addr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := tp.Do(role, func() error {
		var err error
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s on %v: %v", role, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *net.UDPConn) (string, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("read on %v: %v", c.LocalAddr(), err)
	}
	return string(buf[:n]), netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
}

// roundTrip sends from the UA's socket to the SBC and back; it returns the
// source the SBC saw.
func roundTrip(t *testing.T, ua, sbc *net.UDPConn, msg string) netip.AddrPort {
	t.Helper()
	dst := netip.AddrPortFrom(SBCOutsideAddr, uint16(sbc.LocalAddr().(*net.UDPAddr).Port))
	if _, err := ua.WriteToUDPAddrPort([]byte(msg), dst); err != nil {
		t.Fatalf("ua send: %v", err)
	}
	got, from := read(t, sbc)
	if got != msg {
		t.Fatalf("sbc got %q, want %q", got, msg)
	}
	if _, err := sbc.WriteToUDPAddrPort([]byte("re:"+msg), from); err != nil {
		t.Fatalf("sbc reply: %v", err)
	}
	back, src := read(t, ua)
	if back != "re:"+msg || src != dst {
		t.Fatalf("ua got %q from %v, want %q from %v", back, src, "re:"+msg, dst)
	}
	return from
}

func TestMasquerade(t *testing.T) {
	tp := New(t, Options{})
	sbc := listen(t, tp, SBC, netip.AddrPortFrom(SBCOutsideAddr, 5060))
	ua := listen(t, tp, UA, netip.AddrPortFrom(UAAddr, 5070))
	from := roundTrip(t, ua, sbc, "REGISTER")
	if from.Addr() != NATPublicAddr {
		t.Errorf("SBC saw source %v, want the NAT's public address %v", from, NATPublicAddr)
	}
	// Plain masquerade keeps the port when it is free (endpoint-
	// independent mapping in a fresh namespace).
	if from.Port() != 5070 {
		t.Errorf("masquerade changed the port to %d", from.Port())
	}
	// The SBC cannot reach the UA's private address: it is not routed.
	dst := netip.AddrPortFrom(UAAddr, 5070)
	if _, err := sbc.WriteToUDPAddrPort([]byte("direct"), dst); err == nil {
		ua.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, _, err := ua.ReadFromUDPAddrPort(make([]byte, 64)); err == nil {
			t.Error("the SBC reached the UA's private address around the NAT")
		}
	}
	// The carrier is reachable from the SBC's inside only.
	car := listen(t, tp, Carrier, netip.AddrPortFrom(CarrierAddr, 5060))
	in := listen(t, tp, SBC, netip.AddrPortFrom(SBCInsideAddr, 5060))
	if _, err := in.WriteToUDPAddrPort([]byte("INVITE"), netip.AddrPortFrom(CarrierAddr, 5060)); err != nil {
		t.Fatal(err)
	}
	if got, from := read(t, car); got != "INVITE" || from.Addr() != SBCInsideAddr {
		t.Errorf("carrier got %q from %v", got, from)
	}
}

func TestMasqueradeFullyRandom(t *testing.T) {
	tp := New(t, Options{FullyRandom: true})
	sbc := listen(t, tp, SBC, netip.AddrPortFrom(SBCOutsideAddr, 5060))
	changed := 0
	for i := range 4 {
		port := uint16(5070 + i)
		ua := listen(t, tp, UA, netip.AddrPortFrom(UAAddr, port))
		from := roundTrip(t, ua, sbc, "OPTIONS")
		if from.Addr() != NATPublicAddr {
			t.Errorf("SBC saw %v, want the NAT's address", from)
		}
		if from.Port() != port {
			changed++
		}
	}
	// A random port equals the original with probability ~1/64k per try.
	if changed < 3 {
		t.Errorf("fully-random kept the source port in %d of 4 mappings", 4-changed)
	}
}

func TestUDPTimeoutAndProcesses(t *testing.T) {
	tp := New(t, Options{})
	if err := tp.SetUDPTimeout(7 * time.Second); err != nil {
		t.Fatal(err)
	}
	if d, err := tp.UDPTimeout(); err != nil || d != 7*time.Second {
		t.Errorf("UDPTimeout = %v, %v", d, err)
	}
	// A process started in a namespace sees that namespace's addresses,
	// and cleanup kills it.
	out, err := tp.Run(Carrier, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
	if err != nil || !strings.Contains(string(out), CarrierAddr.String()) {
		t.Errorf("carrier eth0: %s %v", out, err)
	}
	cmd, err := tp.Start(UA, "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Process.Pid <= 0 {
		t.Fatal("no PID")
	}
	if err := tp.DropRandom(SBC, "eth0", 100); err != nil {
		t.Fatal(err)
	}
	sbc := listen(t, tp, SBC, netip.AddrPortFrom(SBCOutsideAddr, 5060))
	ua := listen(t, tp, UA, netip.AddrPortFrom(UAAddr, 5070))
	ua.WriteToUDPAddrPort([]byte("lost"), netip.AddrPortFrom(SBCOutsideAddr, 5060))
	sbc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, _, err := sbc.ReadFromUDPAddrPort(make([]byte, 64)); err == nil {
		t.Error("a packet passed a 100% loss rule")
	}
	if err := tp.DropRandom(SBC, "eth0", 0); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, ua, sbc, "after-loss")
}

// TestTeardown checks that a topology leaves nothing behind.
func TestTeardown(t *testing.T) {
	var names []string
	t.Run("build", func(t *testing.T) {
		tp := New(t, Options{})
		for _, r := range []string{UA, NAT, SBC, Carrier} {
			names = append(names, tp.NS(r))
		}
	})
	if len(names) == 0 {
		testenv.Missing(t, "a topology (root and ip netns)")
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("namespace %s left behind", n)
		}
	}
}
