package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/sipptest"
	"github.com/sbc-project/sbc/internal/testenv"
)

// buildSBC compiles the sbc binary once per test binary.
var (
	buildOnce sync.Once
	sbcBinary string
	buildErr  error
)

func sbcBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sbc-bin-")
		if err != nil {
			buildErr = err
			return
		}
		sbcBinary = filepath.Join(dir, "sbc")
		out, err := exec.Command("go", "build", "-o", sbcBinary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sbcBinary
}

// hepReceiver is a Homer collector stand-in: it counts HEP v3 packets and
// keeps the SIP payload chunks (type 0x000f).
type hepReceiver struct {
	conn *net.UDPConn
	mu   sync.Mutex
	sip  []string
}

func startHEP(t *testing.T) *hepReceiver {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	h := &hepReceiver{conn: c}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if payload, ok := hepPayload(buf[:n]); ok {
				h.mu.Lock()
				h.sip = append(h.sip, payload)
				h.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return h
}

// hepPayload walks the HEP v3 chunks (vendor, type, length) for the payload.
func hepPayload(b []byte) (string, bool) {
	if len(b) < 6 || string(b[:4]) != "HEP3" || int(binary.BigEndian.Uint16(b[4:6])) != len(b) {
		return "", false
	}
	for p := 6; p+6 <= len(b); {
		typ := binary.BigEndian.Uint16(b[p+2 : p+4])
		l := int(binary.BigEndian.Uint16(b[p+4 : p+6]))
		if l < 6 || p+l > len(b) {
			return "", false
		}
		if typ == 0x000f {
			return string(b[p+6 : p+l]), true
		}
		p += l
	}
	return "", false
}

func (h *hepReceiver) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.sip...)
}

// TestProcessEndToEnd runs the real sbc binary with a configuration file,
// calls through it with SIPp, and checks what an operator relies on: the
// pcap (read back by tshark) and the HEP feed hold every message, the CDR
// file a line per call, SIGHUP reloads the policy, SIGTERM drains and exits 0.
func TestProcessEndToEnd(t *testing.T) {
	tshark := testenv.LookPath(t, "tshark")
	bin := sbcBin(t)
	dir := t.TempDir()
	inside := netip.MustParseAddr("127.0.0.1")
	outside := netip.MustParseAddr("127.0.0.2")
	caller, callee := netip.MustParseAddr("127.0.0.10"), netip.MustParseAddr("127.0.0.20")
	port := func(ip netip.Addr) uint16 {
		p, err := sipptest.FreePort(ip)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	sipIn, sipOut, calleePort, adminPort := port(inside), port(outside), port(callee), port(inside)
	hep := startHEP(t)
	cfg := fmt.Sprintf(`
interface "inside" {
  listen {
    transport = "udp"
    address   = "127.0.0.1:%d"
  }
  listen {
    transport = "tcp"
    address   = "127.0.0.1:%[1]d"
  }
  media {
    address = "127.0.0.1"
    ports   = "56000-56999"
  }
}
interface "outside" {
  listen {
    transport = "udp"
    address   = "127.0.0.2:%d"
  }
  media {
    address = "127.0.0.2"
    ports   = "57000-57999"
  }
}
admin {
  listen = "127.0.0.1:%d"
}
cdr {
  file = "cdr.jsonl"
}
capture {
  pcap = "%s"
  hep  = "%s"
}
policy {
  files = ["policy.hcl"]
}
drain_timeout = "5s"
`, sipIn, sipOut, adminPort, filepath.Join(dir, "sip.pcap"), hep.conn.LocalAddr().String())
	pol := fmt.Sprintf(`
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
`, calleePort)
	for name, text := range map[string]string{"sbc.hcl": cfg, "policy.hcl": pol} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stderr := &syncWriter{}
	cmd := exec.Command(bin, "run", "-config", filepath.Join(dir, "sbc.hcl"), "-cdr", filepath.Join(dir, "cdr.jsonl"))
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // only our own PID; a no-op once it exited
		<-exited
	})
	admin := fmt.Sprintf("127.0.0.1:%d", adminPort)
	waitUp(t, admin, exited, stderr)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const calls = 3
	uas, uac := sipptest.RunPair(ctx, t,
		sipptest.Config{Scenario: sipptest.Scenario(t, "uas-basic"), Local: netip.AddrPortFrom(callee, calleePort), Calls: calls},
		sipptest.Config{Scenario: sipptest.Scenario(t, "uac-basic"), Local: netip.AddrPortFrom(caller, 0),
			Remote: netip.AddrPortFrom(inside, sipIn), Calls: calls, Rate: 10, CallDuration: 200 * time.Millisecond, Service: "4930123"})
	uac.ExpectCalls(t, calls)
	uas.ExpectCalls(t, calls)

	// An OPTIONS over TCP, answered by the SBC itself: captured like UDP.
	tc, err := net.Dial("tcp", netip.AddrPortFrom(inside, sipIn).String())
	if err != nil {
		t.Fatal(err)
	}
	local := tc.LocalAddr().String()
	fmt.Fprintf(tc, "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bKtcp1\r\nMax-Forwards: 70\r\n"+
		"From: <sip:ping@127.0.0.10>;tag=t1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tcp-options-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", local)
	_ = tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	if n, err := tc.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Errorf("OPTIONS over TCP: %v %q", err, buf[:n])
	}
	tc.Close()

	// `sbc health` through the admin API, as an operator would.
	out, err := exec.Command(bin, "health", "-admin", admin).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok:") {
		t.Errorf("sbc health: %v\n%s", err, out)
	}

	// SIGHUP reloads the changed policy; a broken one is refused.
	if err := os.WriteFile(filepath.Join(dir, "policy.hcl"), []byte(pol+"\nroute \"extra\" {\n  trunks = [\"carrier\"]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, stderr, "policy reloaded")

	// SIGTERM: drain and exit 0.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("sbc exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("sbc did not exit after SIGTERM\n%s", stderr.String())
	}

	cdr, err := os.ReadFile(filepath.Join(dir, "cdr.jsonl"))
	if err != nil || strings.Count(string(cdr), "\n") != calls {
		t.Errorf("CDR file: %v, %d lines, want %d", err, strings.Count(string(cdr), "\n"), calls)
	}

	// Every message of every call, both legs, is in the pcap, decoded as
	// SIP by tshark; the HEP feed carried the same number.
	res, err := exec.Command(tshark, "-r", filepath.Join(dir, "sip.pcap"), "-Y", "sip", "-T", "fields",
		"-e", "sip.Call-ID", "-e", "sip.CSeq.method", "-e", "sip.Status-Code").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(res)), "\n")
	perCall := map[string]map[string]bool{}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) < 3 {
			continue
		}
		if perCall[f[0]] == nil {
			perCall[f[0]] = map[string]bool{}
		}
		kind := f[1]
		if f[2] != "" {
			kind += "/" + f[2]
		}
		perCall[f[0]][kind] = true
	}
	if kinds := perCall["tcp-options-1"]; !kinds["OPTIONS"] || !kinds["OPTIONS/200"] {
		t.Errorf("pcap lacks the OPTIONS exchange over TCP: %v", kinds)
	}
	delete(perCall, "tcp-options-1")
	if len(perCall) != 2*calls {
		t.Errorf("pcap holds %d Call-IDs, want %d (both legs of %d calls)", len(perCall), 2*calls, calls)
	}
	with100 := 0
	for id, kinds := range perCall {
		for _, want := range []string{"INVITE", "INVITE/180", "INVITE/200", "ACK", "BYE", "BYE/200"} {
			if !kinds[want] {
				t.Errorf("call %s: pcap lacks %s (has %v)", id, want, kinds)
			}
		}
		if kinds["INVITE/100"] {
			with100++
		}
	}
	// The callee's 100 on every B leg; none on the A legs, where the 180
	// came within sip.trying_delay (RFC 3261 §17.2.1).
	if with100 != calls {
		t.Errorf("%d legs with a 100 Trying in the pcap, want %d (the B legs)", with100, calls)
	}
	if got := len(hep.messages()); got != len(lines) {
		t.Errorf("HEP collector got %d messages, pcap holds %d", got, len(lines))
	}
}

// syncWriter collects a child's output; the test reads it while it runs.
type syncWriter struct {
	mu sync.Mutex
	w  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func waitUp(t *testing.T, admin string, exited chan error, logs *syncWriter) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("sbc exited: %v\n%s", err, logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", admin, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sbc admin listener not up\n%s", logs.String())
}

func waitLog(t *testing.T, logs *syncWriter, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(logs.String(), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("log never said %q:\n%s", want, logs.String())
}
