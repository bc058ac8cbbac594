package sipptest

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/testenv"
)

// Transport is a SIPp transport mode (-t).
type Transport string

// Transport modes the harness supports.
const (
	UDP Transport = "u1" // one UDP socket (SIPp's default)
	TCP Transport = "t1" // one TCP connection
)

// Role says whether SIPp places calls (UAC, client mode with a remote host)
// or answers them (UAS, server mode without one).
type Role int

// Roles.
const (
	UAC Role = iota
	UAS
)

func (r Role) String() string {
	if r == UAS {
		return "uas"
	}
	return "uac"
}

// Defaults for the bounds every run has.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRecvLoops = 1000
	DefaultStatInterval = time.Second
)

// Config describes one SIPp run. Zero values pick safe defaults; every run
// is bounded by Calls (-m) and Timeout (-timeout with -timeout_error).
type Config struct {
	// Scenario is the path of the XML scenario (-sf); see Scenario().
	Scenario string
	// Role selects client (UAC, needs Remote) or server (UAS) mode.
	Role Role
	// Local is the SIP address (-i, -p, -bind_local). A zero port is
	// replaced by a free one; a zero address means 127.0.0.1.
	Local netip.AddrPort
	// Remote is where a UAC sends its requests: the SBC or a UAS.
	Remote netip.AddrPort
	// Transport is UDP (default) or TCP.
	Transport Transport
	// Calls is the number of calls after which SIPp exits (-m); required.
	Calls int
	// Rate is the call rate (-r) per RatePeriod (-rp, default 1 s); UAC only.
	Rate       float64
	RatePeriod time.Duration
	// Ramp raises the call rate step by step (UAC only); zero means none.
	Ramp Ramp
	// MaxConcurrent caps simultaneous calls (-l); 0 leaves SIPp's default.
	MaxConcurrent int
	// CallDuration is the length of each <pause/> without milliseconds (-d).
	CallDuration time.Duration
	// Timeout bounds the whole run (-timeout, with -timeout_error so that
	// reaching it is a failure); default DefaultTimeout.
	Timeout time.Duration
	// RecvTimeout bounds each wait for a message within a call
	// (-recv_timeout); default CallDuration + 10 s.
	RecvTimeout time.Duration
	// MaxRecvLoops bounds the messages read per event-loop cycle
	// (-max_recv_loops); default DefaultMaxRecvLoops.
	MaxRecvLoops int
	// Media is the SDP media address (-mi, -mp). A zero address means the
	// Local address; a zero port is replaced by a free even port whose
	// next three ports are free too (SIPp binds port and port+2).
	Media netip.AddrPort
	// RTPEcho makes SIPp send every RTP packet it receives back (-rtp_echo).
	RTPEcho bool
	// AutoAnswer answers unexpected INFO, NOTIFY, OPTIONS and UPDATE with
	// 200 (-aa), for example the SBC's OPTIONS keepalives towards a UAS.
	AutoAnswer bool
	// Service is the user part of the Request-URI (-s); default "service".
	Service string
	// Vars sets global scenario variables (-set name value).
	Vars map[string]string
	// TraceMessages logs every message to messages.log (-trace_msg); off
	// by default because it costs at load.
	TraceMessages bool
	// TraceRTT records every response time (-trace_rtt -rtt_freq 1).
	TraceRTT bool
	// StatInterval is the period of the statistics rows (-fd).
	StatInterval time.Duration
	// ControlPort is SIPp's UDP control socket (-cp, -ci): on the Local
	// address, or 127.0.0.1 for an IPv6 Local (SIPp's control socket is
	// IPv4 only); a zero port is replaced by a free one.
	ControlPort uint16
	// Dir receives SIPp's files; default a new directory under tb.TempDir().
	Dir string
	// ExtraArgs are appended to the command line as they are.
	ExtraArgs []string
}

// Ramp is a stepped call-rate increase: Increase calls per second more every
// Interval (-rate_increase, -rate_interval) up to Max (-rate_max). SIPp quits
// when Max is reached unless Hold (-no_rate_quit), when it keeps placing
// calls at Max until Calls or Timeout ends the run.
type Ramp struct {
	Increase float64
	Interval time.Duration
	Max      float64
	Hold     bool
}

// Process is one running SIPp.
type Process struct {
	cfg    Config
	cmd    *exec.Cmd
	dir    string
	stdout *os.File
	stderr *os.File
	done   chan struct{}
}

// Result is what a finished SIPp left behind.
type Result struct {
	// Config is the configuration with defaults and picked ports filled in.
	Config Config
	// Args is the SIPp command line (without the binary).
	Args []string
	// ExitCode is SIPp's: 0 every call succeeded, 1 at least one failed,
	// 97 internal exit, 99 no call processed, 255 fatal, 254 bind error,
	// -1 killed by a signal.
	ExitCode int
	// Stats is the last statistics row (cumulative counters at exit).
	Stats StatRow
	// Rows are all statistics rows, one per StatInterval plus the last.
	Rows []StatRow
	// RTT are the response times of -trace_rtt (TraceRTT), in order.
	RTT []RTTSample
	// Dir holds the logs: stdout.log, stderr.log, screen.log, errors.log,
	// stat.csv and, when enabled, messages.log and *_rtt.csv.
	Dir string
}

// ScenarioDir returns the directory of scripts/sipp in the repository.
func ScenarioDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(testenv.RepoRoot(tb), "scripts", "sipp")
}

// Scenario returns the path of scripts/sipp/<name>.xml, failing the test if
// it does not exist.
func Scenario(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(ScenarioDir(tb), name+".xml")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("sipptest: scenario %s: %v", name, err)
	}
	return p
}

// Start launches SIPp as cfg says and registers a cleanup that kills this
// process (by its PID only) if the test ends first. For a UAS it returns once
// SIPp has bound its SIP socket. The sipp binary is found with
// testenv.LookPath: missing, it skips the test, or fails it under CI=true.
func Start(ctx context.Context, tb testing.TB, cfg Config) (*Process, error) {
	tb.Helper()
	bin := testenv.LookPath(tb, "sipp")
	if err := cfg.fill(tb); err != nil {
		return nil, err
	}
	args := cfg.args()
	p := &Process{cfg: cfg, dir: cfg.Dir, done: make(chan struct{})}
	var err error
	if p.stdout, err = os.Create(filepath.Join(cfg.Dir, "stdout.log")); err != nil {
		return nil, fmt.Errorf("sipptest: %w", err)
	}
	if p.stderr, err = os.Create(filepath.Join(cfg.Dir, "stderr.log")); err != nil {
		p.stdout.Close()
		return nil, fmt.Errorf("sipptest: %w", err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = cfg.Dir
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	p.cmd.Stdin = nil
	if err := p.cmd.Start(); err != nil {
		p.stdout.Close()
		p.stderr.Close()
		return nil, fmt.Errorf("sipptest: start sipp: %w", err)
	}
	// The waiter goroutine is owned by p and ends when the process does.
	go func() {
		_ = p.cmd.Wait() // the exit status is read from cmd.ProcessState
		p.stdout.Close()
		p.stderr.Close()
		close(p.done)
	}()
	tb.Cleanup(p.kill)
	if cfg.Role == UAS {
		if err := p.waitBound(ctx); err != nil {
			p.kill()
			return nil, err
		}
	}
	return p, nil
}

// PID is the process id of this SIPp.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Config is the configuration with defaults and picked ports filled in.
func (p *Process) Config() Config { return p.cfg }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop asks SIPp to finish: no new calls, calls in progress end, then exit
// (SIGUSR1, like pressing q).
func (p *Process) Stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGUSR1)
	}
}

// kill ends this process (only its own PID) and waits for it.
func (p *Process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Wait waits for SIPp to exit, or kills it when ctx ends first, and returns
// what it left behind. The error reports only a failure to run or to read
// the statistics; call results are in Result.
func (p *Process) Wait(ctx context.Context) (*Result, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.kill()
		return p.result(), fmt.Errorf("sipptest: %s %s: %w", p.cfg.Role, filepath.Base(p.cfg.Scenario), ctx.Err())
	}
	r := p.result()
	if err := r.load(); err != nil {
		return r, err
	}
	return r, nil
}

func (p *Process) result() *Result {
	r := &Result{Config: p.cfg, Args: p.cmd.Args[1:], Dir: p.dir, ExitCode: -1}
	select {
	case <-p.done:
		if p.cmd.ProcessState != nil {
			r.ExitCode = p.cmd.ProcessState.ExitCode()
		}
	default:
	}
	return r
}

func (r *Result) load() error {
	f, err := os.Open(filepath.Join(r.Dir, "stat.csv"))
	if err != nil {
		return fmt.Errorf("%w: %v; %s", ErrNoStats, err, r.Diagnostics())
	}
	defer f.Close()
	rows, err := ParseStatCSV(f)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("%w: stat.csv has no rows; %s", ErrNoStats, r.Diagnostics())
	}
	r.Rows = rows
	r.Stats = rows[len(rows)-1]
	if r.Config.TraceRTT {
		files, _ := filepath.Glob(filepath.Join(r.Dir, "*_rtt.csv"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				return fmt.Errorf("sipptest: %w", err)
			}
			s, err := ParseRTT(bytes.NewReader(b))
			if err != nil {
				return err
			}
			r.RTT = append(r.RTT, s...)
		}
	}
	return nil
}

// ResponseTimes returns the -trace_rtt samples of response-time counter rtd
// (1 for rtd="true", n for rtd="n"), sorted ascending, ready for Percentile.
func (r *Result) ResponseTimes(rtd int) []time.Duration {
	var out []time.Duration
	for _, s := range r.RTT {
		if s.RTD == rtd {
			out = append(out, s.Value)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Diagnostics returns the exit code and the tails of SIPp's error output,
// error log and last screen, for a failure message.
func (r *Result) Diagnostics() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sipp %s exit=%d dir=%s\nargs: %s", r.Config.Role, r.ExitCode, r.Dir, strings.Join(r.Args, " "))
	for _, name := range []string{"stderr.log", "errors.log", "screen.log"} {
		data, err := os.ReadFile(filepath.Join(r.Dir, name))
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		const max = 3000
		if len(data) > max {
			data = data[len(data)-max:]
		}
		fmt.Fprintf(&b, "\n--- %s (tail) ---\n%s", name, data)
	}
	return b.String()
}

// ExpectCalls fails tb unless SIPp exited 0 with exactly n successful and no
// failed calls, printing the diagnostics otherwise.
func (r *Result) ExpectCalls(tb testing.TB, n int) {
	tb.Helper()
	c := r.Stats.Cumulative
	if r.ExitCode != 0 || c.SuccessfulCalls != int64(n) || c.FailedCalls != 0 {
		tb.Errorf("%s %s: exit %d, successful %d (want %d), failed %d %v\n%s",
			r.Config.Role, filepath.Base(r.Config.Scenario), r.ExitCode, c.SuccessfulCalls, n,
			c.FailedCalls, c.Failures, r.Diagnostics())
	}
}

func (c *Config) fill(tb testing.TB) error {
	if c.Scenario == "" {
		return fmt.Errorf("%w: no scenario", ErrConfig)
	}
	if !filepath.IsAbs(c.Scenario) {
		abs, err := filepath.Abs(c.Scenario)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
		c.Scenario = abs
	}
	if c.Calls <= 0 {
		return fmt.Errorf("%w: Calls (-m) must be positive, got %d", ErrConfig, c.Calls)
	}
	if c.Role == UAC && !c.Remote.IsValid() {
		return fmt.Errorf("%w: a UAC needs a Remote address", ErrConfig)
	}
	if c.Transport == "" {
		c.Transport = UDP
	}
	if c.Transport != UDP && c.Transport != TCP {
		return fmt.Errorf("%w: transport %q", ErrConfig, c.Transport)
	}
	if !c.Local.Addr().IsValid() {
		c.Local = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), c.Local.Port())
	}
	if c.Local.Port() == 0 {
		port, err := FreePort(c.Local.Addr())
		if err != nil {
			return err
		}
		c.Local = netip.AddrPortFrom(c.Local.Addr(), port)
	}
	if c.ControlPort == 0 {
		port, err := FreePort(c.controlIP())
		if err != nil {
			return err
		}
		c.ControlPort = port
	}
	mediaIP := c.Media.Addr()
	if !mediaIP.IsValid() {
		mediaIP = c.Local.Addr()
	}
	if c.Media.Port() == 0 {
		port, err := FreeMediaPort(mediaIP)
		if err != nil {
			return err
		}
		c.Media = netip.AddrPortFrom(mediaIP, port)
	} else {
		c.Media = netip.AddrPortFrom(mediaIP, c.Media.Port())
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RecvTimeout <= 0 {
		c.RecvTimeout = c.CallDuration + 10*time.Second
	}
	if c.MaxRecvLoops <= 0 {
		c.MaxRecvLoops = DefaultMaxRecvLoops
	}
	if c.StatInterval <= 0 {
		c.StatInterval = DefaultStatInterval
	}
	if c.Dir == "" {
		dir, err := os.MkdirTemp(tb.TempDir(), "sipp-"+c.Role.String()+"-")
		if err != nil {
			return fmt.Errorf("sipptest: %w", err)
		}
		c.Dir = dir
	}
	return nil
}

func (c *Config) controlIP() netip.Addr {
	if c.Local.Addr().Is4() {
		return c.Local.Addr()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func (c *Config) args() []string {
	a := []string{
		"-sf", c.Scenario,
		"-t", string(c.Transport),
		"-i", c.Local.Addr().String(), "-p", strconv.Itoa(int(c.Local.Port())), "-bind_local",
		"-mi", c.Media.Addr().String(), "-mp", strconv.Itoa(int(c.Media.Port())),
		// The control socket: on our own address, never SIPp's 0.0.0.0:8888.
		"-ci", c.controlIP().String(), "-cp", strconv.Itoa(int(c.ControlPort)),
		"-m", strconv.Itoa(c.Calls),
		"-timeout", ms(c.Timeout) + "ms", "-timeout_error",
		"-recv_timeout", ms(c.RecvTimeout),
		"-max_recv_loops", strconv.Itoa(c.MaxRecvLoops),
		"-d", ms(c.CallDuration),
		"-nostdin",
		"-trace_stat", "-stf", filepath.Join(c.Dir, "stat.csv"), "-fd", ms(c.StatInterval) + "ms",
		"-trace_screen", "-screen_file", filepath.Join(c.Dir, "screen.log"),
		"-trace_err", "-error_file", filepath.Join(c.Dir, "errors.log"),
	}
	if c.Role == UAC {
		if c.Rate > 0 {
			a = append(a, "-r", strconv.FormatFloat(c.Rate, 'f', -1, 64))
		}
		if c.RatePeriod > 0 {
			a = append(a, "-rp", ms(c.RatePeriod))
		}
		if r := c.Ramp; r.Increase > 0 {
			a = append(a, "-rate_increase", strconv.FormatFloat(r.Increase, 'f', -1, 64))
			if r.Interval > 0 {
				a = append(a, "-rate_interval", ms(r.Interval)+"ms")
			}
			if r.Max > 0 {
				a = append(a, "-rate_max", strconv.FormatFloat(r.Max, 'f', -1, 64))
			}
			if r.Hold {
				a = append(a, "-no_rate_quit")
			}
		}
	}
	if c.MaxConcurrent > 0 {
		a = append(a, "-l", strconv.Itoa(c.MaxConcurrent))
	}
	if c.Service != "" {
		a = append(a, "-s", c.Service)
	}
	if c.RTPEcho {
		a = append(a, "-rtp_echo")
	}
	if c.AutoAnswer {
		a = append(a, "-aa")
	}
	if c.TraceMessages {
		a = append(a, "-trace_msg", "-message_file", filepath.Join(c.Dir, "messages.log"))
	}
	if c.TraceRTT {
		a = append(a, "-trace_rtt", "-rtt_freq", "1")
	}
	names := make([]string, 0, len(c.Vars))
	for k := range c.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		a = append(a, "-set", k, c.Vars[k])
	}
	a = append(a, c.ExtraArgs...)
	if c.Role == UAC {
		a = append(a, c.Remote.String())
	}
	return a
}

// waitBound returns once SIPp has bound its SIP socket (read from
// /proc/net, without touching the port), or when SIPp exits or ctx ends.
func (p *Process) waitBound(ctx context.Context) error {
	network := "udp"
	if p.cfg.Transport == TCP {
		network = "tcp"
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := bound(network, p.cfg.Local)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w: %s", ErrExited, p.result().Diagnostics())
		case <-ctx.Done():
			return fmt.Errorf("sipptest: wait for sipp to bind: %w", ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("%w: %s %s", ErrNotReady, network, p.cfg.Local)
		case <-tick.C:
		}
	}
}

// RunPair starts the UAS, then the UAC, and waits for both. The UAC calls
// uac.Remote when set (an SBC or a proxy in front of the UAS), else the UAS. The
// UAS gets grace after the UAC ends to finish its last calls (its timewait);
// then it is asked to stop and, failing that, killed.
func RunPair(ctx context.Context, tb testing.TB, uas, uac Config) (uasRes, uacRes *Result) {
	tb.Helper()
	uas.Role, uac.Role = UAS, UAC
	ps, err := Start(ctx, tb, uas)
	if err != nil {
		tb.Fatalf("start uas: %v", err)
	}
	if !uac.Remote.IsValid() {
		uac.Remote = ps.Config().Local
	}
	pc, err := Start(ctx, tb, uac)
	if err != nil {
		tb.Fatalf("start uac: %v", err)
	}
	uacRes, err = pc.Wait(ctx)
	if err != nil {
		tb.Errorf("uac: %v", err)
	}
	grace, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	select {
	case <-ps.Done():
	case <-grace.Done():
		ps.Stop()
	}
	uasRes, err = ps.Wait(ctx)
	if err != nil {
		tb.Errorf("uas: %v", err)
	}
	if uasRes == nil || uacRes == nil {
		tb.FailNow()
	}
	return uasRes, uacRes
}
