package capture

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/testenv"
)

// sngrepMessages are testMessages without the 79 KB one, beyond sngrep's
// capture buffer.
func sngrepMessages() []wantMsg {
	var out []wantMsg
	for _, m := range testMessages() {
		if len(m.pkt.Payload) < 16<<10 {
			out = append(out, m)
		}
	}
	return out
}

func callIDs(msgs []wantMsg) map[string]int {
	ids := map[string]int{}
	for _, m := range msgs {
		ids[m.callID]++
	}
	return ids
}

var dialogCount = regexp.MustCompile(`Dialog count: (\d+)`)

func lastDialogCount(out string) string {
	m := dialogCount.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// tsharkCallIDs counts the SIP messages per Call-ID in a pcap file.
func tsharkCallIDs(t *testing.T, path string) map[string]int {
	t.Helper()
	tshark := testenv.LookPath(t, "tshark")
	out, err := exec.Command(tshark, "-r", path, "-n", "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	ids := map[string]int{}
	for _, l := range strings.Fields(string(out)) {
		ids[l]++
	}
	return ids
}

// TestPcapSngrep opens our pcap with sngrep -I, as operators do, and checks
// it groups every message into its dialog.
func TestPcapSngrep(t *testing.T) {
	sngrep := testenv.LookPath(t, "sngrep")
	dir := t.TempDir()
	path := filepath.Join(dir, "sip.pcap")
	w, err := OpenPcap(path, PcapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msgs := sngrepMessages()
	for i := range msgs {
		if err := w.WritePacket(&msgs[i].pkt); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	out := filepath.Join(dir, "out.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sngrep, "-I", path, "-N", "-F", "-O", out)
	cmd.Dir = dir
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sngrep: %v\n%s", err, res)
	}
	want := callIDs(msgs)
	if got := lastDialogCount(string(res)); got != itoa(len(want)) {
		t.Fatalf("sngrep found %s dialogs, want %d:\n%s", got, len(want), res)
	}
	// sngrep's own dump of what it understood holds every message.
	if got := tsharkCallIDs(t, out); !equalCounts(got, want) {
		t.Fatalf("sngrep kept %v, want %v", got, want)
	}
}

// TestHEPSngrep sends the messages over HEP v3 through a Capturer to sngrep
// listening as a HEP collector (-L), the way Homer receives them.
func TestHEPSngrep(t *testing.T) {
	sngrep := testenv.LookPath(t, "sngrep")
	dir := t.TempDir()
	port := freeUDPPort(t)
	out := filepath.Join(dir, "hep.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sngrep, "-N", "-F", "-L", "udp:127.0.0.1:"+itoa(port), "-O", out)
	cmd.Dir = dir
	var buf syncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { // ours to stop, by its PID
		cmd.Process.Kill()
		cmd.Wait()
	}()
	waitFor(t, &buf, func(s string) bool { return lastDialogCount(s) != "" }) // listening

	hep, err := DialHEP(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), HEPOptions{AgentID: 2001})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{}, map[string]Sink{"hep": hep})
	msgs := sngrepMessages()
	for _, m := range msgs {
		p := m.pkt
		c.Capture(In, transportName(p.Transport), p.Src, p.Dst, p.CallID, "", p.Payload, p.Time)
	}
	closeOK(t, c)
	want := callIDs(msgs)
	waitFor(t, &buf, func(s string) bool { return lastDialogCount(s) == itoa(len(want)) })
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if got := tsharkCallIDs(t, out); !equalCounts(got, want) {
		t.Fatalf("sngrep received %v over HEP, want %v", got, want)
	}
}

func transportName(t Transport) string {
	return [...]string{"udp", "tcp", "tls", "ws", "wss"}[t]
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func waitFor(t *testing.T, buf *syncBuffer, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok(buf.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("sngrep output: %s", buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func itoa(n int) string { return strconv.Itoa(n) }
