package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/sbc-project/sbc/internal/sipptest"
)

// errAbort is what the shim's Fatal/Skip methods panic with; Runner.start
// recovers it into an error.
var errAbort = errors.New("harness: sipptest aborted")

// tbShim lets the command use internal/sipptest (written for tests) outside
// a test: sipptest needs only Helper, TempDir, Cleanup and, on a missing
// tool or a bad configuration, Fatalf/Skipf, which here abort the call
// with an error instead of ending a test goroutine. The embedded interface is
// never called; every method sipptest and testenv use is defined below.
type tbShim struct {
	testing.TB
	mu       sync.Mutex
	dir      string
	msg      string
	cleanups []func()
}

func (s *tbShim) Helper()      {}
func (s *tbShim) Name() string { return "sipbench" }
func (s *tbShim) Cleanup(f func()) {
	s.mu.Lock()
	s.cleanups = append(s.cleanups, f)
	s.mu.Unlock()
}
func (s *tbShim) TempDir() string {
	d, err := os.MkdirTemp(s.dir, "t-")
	if err != nil {
		s.Fatalf("harness: %v", err)
	}
	return d
}
func (s *tbShim) Logf(string, ...any) {}
func (s *tbShim) Log(...any)          {}
func (s *tbShim) Errorf(f string, a ...any) {
	s.mu.Lock()
	s.msg = fmt.Sprintf(f, a...)
	s.mu.Unlock()
}
func (s *tbShim) Error(a ...any) { s.Errorf("%s", fmt.Sprint(a...)) }
func (s *tbShim) Fatalf(f string, a ...any) {
	s.Errorf(f, a...)
	panic(errAbort)
}
func (s *tbShim) Fatal(a ...any)            { s.Fatalf("%s", fmt.Sprint(a...)) }
func (s *tbShim) Skipf(f string, a ...any)  { s.Fatalf(f, a...) }
func (s *tbShim) Skip(a ...any)             { s.Fatal(a...) }
func (s *tbShim) SkipNow()                  { s.Fatal("skip") }
func (s *tbShim) FailNow()                  { s.Fatal("fail") }
func (s *tbShim) Fail()                     {}
func (s *tbShim) Failed() bool              { return false }
func (s *tbShim) Skipped() bool             { return false }
func (s *tbShim) Setenv(key, value string)  { _ = os.Setenv(key, value) }
func (s *tbShim) lastMessage() (msg string) { s.mu.Lock(); msg = s.msg; s.mu.Unlock(); return }
func (s *tbShim) runCleanups() {
	s.mu.Lock()
	c := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

// Runner starts SIPp processes with internal/sipptest and kills the ones
// still running (by their PIDs only) on Close.
type Runner struct {
	shim *tbShim
	// Scenarios is the directory of the SIPp scenarios (scripts/sipp).
	Scenarios string
}

// NewRunner returns a Runner keeping SIPp's files under dir.
func NewRunner(dir, scenarios string) *Runner {
	return &Runner{shim: &tbShim{dir: dir}, Scenarios: scenarios}
}

// TB returns the testing.TB stand-in the runner passes to sipptest.
func (r *Runner) TB() testing.TB { return r.shim }

// Start runs one SIPp as cfg says (sipptest.Start); for a UAS it returns
// once SIPp has bound its socket.
func (r *Runner) Start(ctx context.Context, cfg sipptest.Config) (p *sipptest.Process, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != errAbort {
				panic(v)
			}
			err = fmt.Errorf("%w: %s", ErrStart, r.shim.lastMessage())
		}
	}()
	return sipptest.Start(ctx, r.shim, cfg)
}

// Close kills every SIPp this runner started that is still running.
func (r *Runner) Close() { r.shim.runCleanups() }

// SIPpBuffers gives SIPp's sockets 4 MiB send and receive buffers (the
// kernel's usual rmem_max) instead of its 64 KiB default, for every system
// alike: a 64 KiB buffer holds about 10 ms of a 4,000 calls/s step, so any
// time SIPp is off the CPU (it shares the two cores with the system under
// test) overflows it, and the drops and 500 ms retransmissions that follow
// would measure the load generator, not the system under test.
var SIPpBuffers = []string{"-buff_size", "4194304"}
