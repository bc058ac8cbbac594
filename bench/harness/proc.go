package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports (the kernel exports it fixed).
const clockTicks = 100

// ProcGroup is the set of processes of a system under test: a root PID and,
// when Children is set, every descendant (Kamailio forks its workers).
type ProcGroup struct {
	Root     int
	Children bool
	// Extra are further processes of the system (Kamailio's redis-server).
	Extra []int
}

// PIDs returns the root and, with Children, its descendants.
func (g ProcGroup) PIDs() []int {
	if !g.Children {
		return append([]int{g.Root}, g.Extra...)
	}
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := statFields(b)
		if len(f) > 1 {
			if pp, err := strconv.Atoi(f[1]); err == nil {
				parent[pid] = pp
			}
		}
	}
	out := append([]int{g.Root}, g.Extra...)
	for pid := range parent {
		for p, hops := parent[pid], 0; p != 0 && hops < 64; p, hops = parent[p], hops+1 {
			if p == g.Root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name
// (which may hold spaces and parentheses): field 3 (state) is index 0.
func statFields(b []byte) []string {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// CPUTime returns the user+system CPU time the group's processes have used.
func (g ProcGroup) CPUTime() (time.Duration, error) {
	var ticks int64
	for _, pid := range g.PIDs() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			if pid == g.Root {
				return 0, fmt.Errorf("%w: %v", ErrProc, err)
			}
			continue // a worker that just exited
		}
		f := statFields(b)
		if len(f) < 13 {
			return 0, fmt.Errorf("%w: short stat for %d", ErrProc, pid)
		}
		// utime and stime are fields 14 and 15 (proc(5)), index 11 and 12 here.
		u, err1 := strconv.ParseInt(f[11], 10, 64)
		s, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("%w: stat of %d", ErrProc, pid)
		}
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// Memory returns the group's resident memory in bytes: VmRSS for a single
// process, the sum of Pss (shared pages divided among their users, from
// smaps_rollup) for a group, so Kamailio's shared memory counts once.
func (g ProcGroup) Memory() (int64, error) {
	if !g.Children && len(g.Extra) == 0 {
		return statusKB(g.Root, "/status", "VmRSS:")
	}
	var total int64
	for _, pid := range g.PIDs() {
		v, err := statusKB(pid, "/smaps_rollup", "Pss:")
		if err != nil {
			if pid == g.Root {
				return 0, err
			}
			continue
		}
		total += v
	}
	return total, nil
}

func statusKB(pid int, file, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d%s", pid, file))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrProc, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		fields := strings.Fields(line[len(key):])
		if len(fields) == 0 {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			break
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%w: no %s in %s of %d", ErrProc, key, file, pid)
}

// CPUMeter measures a group's CPU use between Start and Stop.
type CPUMeter struct {
	g     ProcGroup
	cpu0  time.Duration
	wall0 time.Time
}

// StartCPU begins a measurement.
func StartCPU(g ProcGroup) (*CPUMeter, error) {
	c, err := g.CPUTime()
	if err != nil {
		return nil, err
	}
	return &CPUMeter{g: g, cpu0: c, wall0: time.Now()}, nil
}

// Percent returns the CPU used since StartCPU in percent of one core.
func (m *CPUMeter) Percent() (float64, error) {
	c, err := m.g.CPUTime()
	if err != nil {
		return 0, err
	}
	wall := time.Since(m.wall0)
	if wall <= 0 {
		return 0, nil
	}
	return 100 * float64(c-m.cpu0) / float64(wall), nil
}

// LoadAvg returns the machine's one-minute load average (0 if unreadable).
func LoadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// UDPRcvbufErrors returns the machine's count of UDP datagrams dropped
// because a socket's receive buffer was full (/proc/net/snmp, Udp
// RcvbufErrors), IPv4; -1 if unreadable. It counts every process's sockets.
func UDPRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	return parseSNMP(string(b), "Udp:", "RcvbufErrors")
}

// parseSNMP finds field in the header/value line pair of proto in
// /proc/net/snmp text; -1 if absent.
func parseSNMP(text, proto, field string) int64 {
	var header []string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, proto) {
			continue
		}
		f := strings.Fields(line[len(proto):])
		if header == nil {
			header = f
			continue
		}
		for i, h := range header {
			if h == field && i < len(f) {
				v, err := strconv.ParseInt(f[i], 10, 64)
				if err != nil {
					return -1
				}
				return v
			}
		}
		return -1
	}
	return -1
}
