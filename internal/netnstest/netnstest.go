package netnstest

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbc-project/sbc/internal/testenv"
)

// The roles of the namespaces.
const (
	UA      = "ua"      // the user agent, behind the NAT
	NAT     = "nat"     // the NAT router
	SBC     = "sbc"     // the SBC: eth0 outside (toward the NAT), eth1 inside (toward the carrier)
	Carrier = "carrier" // the carrier or registrar, on the SBC's inside
)

// Addresses of the topology (the same in every Topology: each has its own
// namespaces, so parallel tests never see each other's).
var (
	UAAddr         = netip.MustParseAddr("10.200.1.2")   // ua eth0, private
	NATInsideAddr  = netip.MustParseAddr("10.200.1.1")   // nat eth0, the UA's gateway
	NATPublicAddr  = netip.MustParseAddr("198.51.100.1") // nat eth1: the masquerade address
	SBCOutsideAddr = netip.MustParseAddr("198.51.100.2") // sbc eth0
	SBCInsideAddr  = netip.MustParseAddr("203.0.113.1")  // sbc eth1
	CarrierAddr    = netip.MustParseAddr("203.0.113.2")  // carrier eth0
)

// Options shape the NAT.
type Options struct {
	// FullyRandom adds "fully-random" to the masquerade rule: every new
	// mapping gets a random source port (symmetric-NAT behaviour, RFC 4787
	// §4.1 address- and port-dependent mapping as seen by the SBC).
	FullyRandom bool
}

// Topology is one built network. Its namespaces, processes and rules are
// removed by t.Cleanup, also after a failure.
type Topology struct {
	tb     testing.TB
	prefix string

	mu    sync.Mutex
	procs []*exec.Cmd
}

var seq atomic.Int64

// New builds the four namespaces, their links, addresses, routes and the
// NAT's masquerade rule. It skips the test (fails it under CI=true) when
// not root or when ip or nft is missing.
func New(tb testing.TB, opts Options) *Topology {
	tb.Helper()
	if !testenv.Root() {
		testenv.Missing(tb, "root (network namespaces)")
	}
	testenv.LookPath(tb, "ip")
	testenv.LookPath(tb, "nft")
	reapOrphans()
	tp := &Topology{tb: tb, prefix: "sbct" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(seq.Add(1), 10) + "-"}
	tb.Cleanup(tp.teardown)
	for _, ns := range []string{UA, NAT, SBC, Carrier} {
		tp.must("ip", "netns", "add", tp.NS(ns))
		tp.must("ip", "-n", tp.NS(ns), "link", "set", "lo", "up")
	}
	tp.link(UA, "eth0", UAAddr, NAT, "eth0", NATInsideAddr, 24)
	tp.link(NAT, "eth1", NATPublicAddr, SBC, "eth0", SBCOutsideAddr, 24)
	tp.link(SBC, "eth1", SBCInsideAddr, Carrier, "eth0", CarrierAddr, 24)
	// The UA reaches everything through the NAT; the SBC and the carrier
	// know only their own links (the SBC never routes between them).
	tp.must("ip", "-n", tp.NS(UA), "route", "add", "default", "via", NATInsideAddr.String())
	tp.must("ip", "netns", "exec", tp.NS(NAT), "sysctl", "-qw", "net.ipv4.ip_forward=1")
	rule := "masquerade"
	if opts.FullyRandom {
		rule = "masquerade fully-random"
	}
	tp.nft(NAT, `table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth1" `+rule+`
	}
}`)
	return tp
}

// reapOrphans deletes the namespace names left by earlier test processes
// that died before their cleanup ran (their PID, in the name, is gone).
// Namespaces of live processes, parallel runs included, are left alone.
func reapOrphans() {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, "sbct")
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat("/proc/" + pidStr); err == nil {
			continue
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
	}
}

// NS returns the real name of a role's namespace (for ip netns exec).
func (tp *Topology) NS(role string) string { return tp.prefix + role }

// link joins a.aIf and b.bIf with a veth pair created directly inside the
// namespaces (no name ever exists in the host namespace).
func (tp *Topology) link(a, aIf string, aAddr netip.Addr, b, bIf string, bAddr netip.Addr, bits int) {
	tp.must("ip", "link", "add", aIf, "netns", tp.NS(a), "type", "veth", "peer", "name", bIf, "netns", tp.NS(b))
	for _, x := range []struct {
		ns, ifc string
		addr    netip.Addr
	}{{a, aIf, aAddr}, {b, bIf, bAddr}} {
		tp.must("ip", "-n", tp.NS(x.ns), "addr", "add", netip.PrefixFrom(x.addr, bits).String(), "dev", x.ifc)
		tp.must("ip", "-n", tp.NS(x.ns), "link", "set", x.ifc, "up")
	}
}

func (tp *Topology) must(name string, args ...string) {
	tp.tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tp.tb.Fatalf("netnstest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (tp *Topology) nft(role, ruleset string) {
	tp.tb.Helper()
	cmd := exec.Command("ip", "netns", "exec", tp.NS(role), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		tp.tb.Fatalf("netnstest: nft in %s: %v\n%s\n%s", role, err, out, ruleset)
	}
}

// Run runs a command inside a role's namespace and returns its combined
// output.
func (tp *Topology) Run(role string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", tp.NS(role), name}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("netnstest: %s in %s: %w\n%s", name, role, err, out.Bytes())
	}
	return out.Bytes(), err
}

// Start starts a command inside a role's namespace (ip netns exec execs
// it, so the PID is the command's); use Command and StartCmd to set
// Stdout, Env and so on first. At cleanup it gets SIGTERM, then SIGKILL
// after 3 s, by PID, and is reaped. A test that Waits on it itself must do
// so before it ends, never concurrently with cleanup.
func (tp *Topology) Start(role string, name string, args ...string) (*exec.Cmd, error) {
	cmd := tp.Command(role, name, args...)
	if err := tp.StartCmd(cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// Command returns an unstarted command that will run inside a role's
// namespace; set Stdout, Env and so on, then StartCmd it.
func (tp *Topology) Command(role string, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", tp.NS(role), name}, args...)...)
}

// StartCmd starts a command from Command and tracks it for cleanup.
func (tp *Topology) StartCmd(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("netnstest: start %s: %w", cmd.Path, err)
	}
	tp.mu.Lock()
	tp.procs = append(tp.procs, cmd)
	tp.mu.Unlock()
	return nil
}

// Do runs f on an OS thread switched into a role's namespace: sockets f
// opens belong to that namespace and stay usable from any goroutine
// afterwards. The thread is never returned to the scheduler (it exits with
// its goroutine), so no other goroutine can run in the wrong namespace.
func (tp *Topology) Do(role string, f func() error) error {
	errc := make(chan error, 1)
	go func() { // owner: Do; exit: when f returns
		runtime.LockOSThread()
		// No UnlockOSThread: the thread dies with this goroutine.
		fd, err := unix.Open("/run/netns/"+tp.NS(role), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netnstest: open namespace %s: %w", role, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("netnstest: setns %s: %w", role, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// SetUDPTimeout shortens the NAT's UDP conntrack timeouts (both the
// unreplied and the assured "stream" one, in whole seconds) so a test can
// watch a binding lapse unless keepalives refresh it.
func (tp *Topology) SetUDPTimeout(d time.Duration) error {
	s := strconv.Itoa(max(int(d/time.Second), 1))
	for _, k := range []string{"net.netfilter.nf_conntrack_udp_timeout", "net.netfilter.nf_conntrack_udp_timeout_stream"} {
		if _, err := tp.Run(NAT, "sysctl", "-qw", k+"="+s); err != nil {
			return err
		}
	}
	return nil
}

// UDPTimeout reads the NAT's unreplied UDP conntrack timeout.
func (tp *Topology) UDPTimeout() (time.Duration, error) {
	out, err := tp.Run(NAT, "sysctl", "-n", "net.netfilter.nf_conntrack_udp_timeout")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, fmt.Errorf("netnstest: udp timeout %q: %w", out, err)
	}
	return time.Duration(n) * time.Second, nil
}

// DropRandom drops about percent % of the packets arriving on a role's
// interface (nftables numgen; this kernel has no netem). 0 removes it.
func (tp *Topology) DropRandom(role, iface string, percent int) error {
	tbl := "netnstest_loss_" + iface
	_, _ = tp.Run(role, "nft", "delete", "table", "inet", tbl)
	if percent <= 0 {
		return nil
	}
	match := fmt.Sprintf("numgen random mod 100 < %d ", percent)
	if percent >= 100 {
		match = ""
	}
	cmd := exec.Command("ip", "netns", "exec", tp.NS(role), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(fmt.Sprintf(`table inet %s {
	chain in {
		type filter hook prerouting priority -300; policy accept;
		iifname %q %sdrop
	}
}`, tbl, iface, match))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("netnstest: loss rule in %s: %w\n%s", role, err, out)
	}
	return nil
}

// teardown kills the tracked processes by PID, then deletes the
// namespaces (which deletes their veths and rules).
func (tp *Topology) teardown() {
	tp.mu.Lock()
	procs := tp.procs
	tp.procs = nil
	tp.mu.Unlock()
	for _, cmd := range procs {
		if cmd.Process == nil || cmd.ProcessState != nil {
			continue
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { // owner: teardown; exit: when the process is reaped
			_ = cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	var errs []error
	for _, ns := range []string{UA, NAT, SBC, Carrier} {
		out, err := exec.Command("ip", "netns", "del", tp.NS(ns)).CombinedOutput()
		if err != nil && !bytes.Contains(out, []byte("No such file")) {
			errs = append(errs, fmt.Errorf("%s: %v: %s", ns, err, out))
		}
	}
	if err := errors.Join(errs...); err != nil {
		tp.tb.Errorf("netnstest: teardown: %v", err)
	}
}
