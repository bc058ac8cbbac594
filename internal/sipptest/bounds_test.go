package sipptest

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestTimeoutIsAFailure shows that a run whose calls cannot complete ends by
// itself at Timeout with a non-zero exit and no successful call.
func TestTimeoutIsAFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nobody := freeAddr(t, uasIP) // nothing listens there
	p, err := Start(ctx, t, Config{Scenario: Scenario(t, "uac-options"), Role: UAC,
		Local: netip.AddrPortFrom(uacIP, 0), Remote: nobody, Calls: 1, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 || res.Stats.Cumulative.SuccessfulCalls != 0 {
		t.Errorf("exit %d, %d successful calls: want a failure\n%s", res.ExitCode,
			res.Stats.Cumulative.SuccessfulCalls, res.Diagnostics())
	}
	if elapsed := time.Since(start); elapsed > 15*time.Second {
		t.Errorf("sipp ran %v past its 2 s timeout", elapsed)
	}
}

// TestWaitKillsOnContext shows that Wait kills the process (its own PID)
// when the context ends first.
func TestWaitKillsOnContext(t *testing.T) {
	p, err := Start(context.Background(), t, Config{Scenario: Scenario(t, "uas-load"), Role: UAS,
		Local: netip.AddrPortFrom(uasIP, 0), Calls: 1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = p.Wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want the context's deadline", err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("process still running after Wait returned")
	}
	if ok, _ := bound("udp", p.Config().Local); ok {
		t.Errorf("%s still bound after the kill", p.Config().Local)
	}
}

// TestStopEndsAnIdleUAS shows that Stop (SIGUSR1) makes a waiting UAS exit
// by itself, leaving its statistics.
func TestStopEndsAnIdleUAS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, t, Config{Scenario: Scenario(t, "uas-load"), Role: UAS,
		Local: netip.AddrPortFrom(uasIP, 0), Calls: 5, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	res, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Stats.Cumulative; c.IncomingCalls != 0 || c.SuccessfulCalls != 0 || c.FailedCalls != 0 {
		t.Errorf("idle UAS counted calls: %+v", c)
	}
	t.Logf("idle UAS stopped with exit code %d", res.ExitCode)
}
