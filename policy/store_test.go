package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// genPolicy is a policy whose every name starts with tag, so a reader can
// tell whether a decision mixes two generations.
func genPolicy(tag string, routes int) string {
	s := fmt.Sprintf(`
trunk "%[1]s_t1" {
  interface = "outside"
  match {
    sources = ["192.0.2.0/24"]
  }
  destination {
    host = "192.0.2.1"
  }
}
trunk "%[1]s_t2" {
  interface = "outside"
  destination {
    host = "192.0.2.2"
  }
}
`, tag)
	for i := 0; i < routes; i++ {
		s += fmt.Sprintf(`route "%[1]s_r%[2]d" {
  match {
    ruri_user {
      prefix = "+49%[2]d"
    }
  }
  trunks = ["%[1]s_t%[3]d", "%[1]s_t%[4]d"]
}
`, tag, i, 1+i%2, 2-i%2)
	}
	return s
}

func writeFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestReloadUnderConcurrentLookups swaps policies while readers route; no
// reader may ever see a decision that mixes two policies, and a failed
// reload must leave the previous policy in force.
func TestReloadUnderConcurrentLookups(t *testing.T) {
	dir := t.TempDir()
	fa, fb, bad := filepath.Join(dir, "a.hcl"), filepath.Join(dir, "b.hcl"), filepath.Join(dir, "bad.hcl")
	now := time.Now()
	writeFile(t, fa, genPolicy("a", 50), now)
	writeFile(t, fb, genPolicy("b", 50), now)
	writeFile(t, bad, genPolicy("c", 5)+"route \"x\" {\n  trunks = [\"nope\"]\n}\n", now)

	s := NewStore(testInterfaces, nil)
	if s.Current() != nil {
		t.Fatal("empty store has a policy")
	}
	if _, err := s.Load([]string{fa}); err != nil {
		t.Fatal(diagText(err))
	}
	users := make([]string, 50)
	for i := range users {
		users[i] = fmt.Sprintf("+49%d99", i)
	}
	var stop atomic.Bool
	var lookups atomic.Int64
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load() && i < 2_000_000; i++ {
				p := s.Current()
				d := p.Route(RouteRequest{RURIUser: users[i%len(users)]})
				lookups.Add(1)
				if d.Route == nil || len(d.Trunks) != 2 {
					errc <- fmt.Errorf("no route in generation %d", p.Generation())
					return
				}
				tag := d.Route.Name[:1]
				if d.Trunks[0].Name[:1] != tag || d.Trunks[1].Name[:1] != tag || p.Routes()[d.Route.Index] != d.Route {
					errc <- fmt.Errorf("mixed decision: route %s trunks %s,%s", d.Route.Name, d.Trunks[0].Name, d.Trunks[1].Name)
					return
				}
				if t, ok := p.Trunk(tag + "_t1"); !ok || t != d.Trunks[d.Route.Index%2] {
					errc <- fmt.Errorf("trunk of another policy in generation %d", p.Generation())
					return
				}
			}
		}(w)
	}
	var lastGen uint64
	for i := 0; i < 16; i++ {
		f := fa
		if i%2 == 0 {
			f = fb
		}
		p, err := s.Load([]string{f})
		if err != nil {
			t.Fatal(diagText(err))
		}
		if p.Generation() <= lastGen {
			t.Fatalf("generation %d after %d", p.Generation(), lastGen)
		}
		lastGen = p.Generation()
		before := s.Current()
		if _, err := s.Load([]string{bad}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad policy: %v", err)
		}
		if s.Current() != before {
			t.Fatal("failed load replaced the policy in force")
		}
		if got := s.Files(); len(got) != 1 || got[0] != f {
			t.Fatalf("failed load changed the files to %v", got)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if lookups.Load() == 0 {
		t.Fatal("no lookups ran")
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "policy.hcl")
	mtime := time.Now().Add(-time.Hour)
	writeFile(t, f, genPolicy("a", 2), mtime)
	s := NewStore(testInterfaces, nil)
	if _, err := s.Load([]string{f}); err != nil {
		t.Fatal(diagText(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	results := make(chan ReloadResult, 8)
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, hup, 10*time.Millisecond, func(r ReloadResult) { results <- r }) }()
	next := func() ReloadResult {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no reload")
		}
		return ReloadResult{}
	}
	// A good change takes effect.
	writeFile(t, f, genPolicy("b", 2), mtime.Add(time.Second))
	r := next()
	if r.Err != nil || r.Trigger != "file change" || s.Current() != r.Policy || s.Current().Routes()[0].Name != "b_r0" {
		t.Fatalf("good change: %v", r)
	}
	// A bad change keeps the old policy and reports diagnostics.
	good := s.Current()
	writeFile(t, f, "trunk \"x\" {\n", mtime.Add(2*time.Second))
	r = next()
	var de *DiagError
	if r.Err == nil || !errors.As(r.Err, &de) || s.Current() != good {
		t.Fatalf("bad change: %v", r)
	}
	// SIGHUP retries even though the file did not change.
	hup <- os.Interrupt
	r = next()
	if r.Trigger != "signal" || r.Err == nil || s.Current() != good {
		t.Fatalf("signal: %v", r)
	}
	// Touching the file without changing its content reloads nothing;
	// fixing it reloads.
	writeFile(t, f, genPolicy("c", 2), mtime.Add(3*time.Second))
	r = next()
	if r.Err != nil || s.Current().Routes()[0].Name != "c_r0" {
		t.Fatalf("fix: %v", r)
	}
	if err := os.Chtimes(f, mtime.Add(4*time.Second), mtime.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		t.Fatalf("reload on unchanged content: %v", r)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v", err)
	}
}
