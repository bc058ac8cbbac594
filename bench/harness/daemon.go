package harness

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemonProc is a long-running process the harness started (the sbc,
// Kamailio); it is only ever signalled by its own PID.
type daemonProc struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

func startDaemon(bin string, args []string, logFile string) (*daemonProc, error) {
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrStart, bin, err)
	}
	p := &daemonProc{cmd: cmd, log: lf, done: make(chan struct{})}
	// The waiter goroutine is owned by p and ends when the process does.
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *daemonProc) pid() int { return p.cmd.Process.Pid }

func (p *daemonProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process and SIGKILL after grace.
func (p *daemonProc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("harness: pid %d killed after %v", p.pid(), grace)
	}
}

// waitBound returns once a UDP socket is bound to ap (read from /proc/net,
// without binding the port), or fails when the process exits or time runs out.
func waitBound(ctx context.Context, p *daemonProc, ap netip.AddrPort, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if udpBound(ap) {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("exited: %v", p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("udp %s not bound after %v", ap, limit)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitTCP returns once a TCP connection to ap succeeds.
func waitTCP(ctx context.Context, p *daemonProc, ap netip.AddrPort, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", ap.String(), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("exited: %v", p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tcp %s not accepting after %v", ap, limit)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func udpBound(ap netip.AddrPort) bool {
	file := "/proc/net/udp"
	if ap.Addr().Is6() {
		file += "6"
	}
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		host, port, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		pn, err := strconv.ParseUint(port, 16, 16)
		if err != nil || uint16(pn) != ap.Port() {
			continue
		}
		b, err := hex.DecodeString(host)
		if err != nil || (len(b) != 4 && len(b) != 16) {
			continue
		}
		// /proc/net prints the address as host-order 32-bit words.
		for i := 0; i < len(b); i += 4 {
			binary.BigEndian.PutUint32(b[i:], binary.LittleEndian.Uint32(b[i:]))
		}
		addr, _ := netip.AddrFromSlice(b)
		if addr.Unmap() == ap.Addr() || addr.IsUnspecified() {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
