package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Store holds the policy in force and replaces it as a transaction: parse,
// validate, build, then swap one pointer. A reader calls Current once per
// call and keeps that *Policy; it never sees a half-built policy, and a
// reload never changes a call in progress.
type Store struct {
	opts LoadOptions
	log  *slog.Logger

	mu    sync.Mutex // serialises Load and Reload; guards the fields below
	files []string
	gen   uint64
	fp    *fingerprints // the files as last loaded, for Watch

	cur atomic.Pointer[Policy]
}

// NewStore returns an empty store; Load puts the first policy in it. A nil
// logger discards.
func NewStore(opts LoadOptions, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Store{opts: opts, log: log.With("component", "policy"), fp: newFingerprints()}
}

// Current returns the policy in force, or nil before the first Load.
func (s *Store) Current() *Policy { return s.cur.Load() }

// Files are the files the store (re)loads from; empty means the embedded
// default.
func (s *Store) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.files...)
}

// Load loads files (none: the embedded default) and, when they are valid,
// makes them the policy in force and the files Reload reads. On error the
// policy in force stays and the error is a *DiagError.
func (s *Store) Load(files []string) (*Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(files)
}

func (s *Store) loadLocked(files []string) (*Policy, error) {
	p, err := Load(files, s.opts)
	if err != nil {
		return nil, err
	}
	s.files = append([]string(nil), files...)
	s.fp = newFingerprints()
	s.fp.changed(s.files) // baseline: what this policy was read from
	s.gen++
	p.generation = s.gen
	s.cur.Store(p)
	return p, nil
}

// Reload loads the store's files again. On error the policy in force stays.
func (s *Store) Reload() (*Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(s.files)
}

// ReloadResult reports one reload attempt of Watch.
type ReloadResult struct {
	// Trigger is "signal" or "file change".
	Trigger string
	// Policy is the new policy in force, nil when the reload failed.
	Policy *Policy
	// Err is the failure (a *DiagError for invalid policy); the previous
	// policy is still in force.
	Err error
}

// Watch reloads the policy whenever trigger delivers (SIGHUP, wired by the
// caller with signal.Notify) and whenever a policy file changes (checked
// every interval by modification time, size and content hash, and acted on
// once the files have been still for one more interval; 0 means one
// second). Each attempt is logged and passed to onResult (may be nil). A
// file change whose reload failed is not retried until the files change
// again. Watch runs in the caller's goroutine and returns ctx.Err() when ctx
// is done.
func (s *Store) Watch(ctx context.Context, trigger <-chan os.Signal, interval time.Duration, onResult func(ReloadResult)) error {
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	pending := false
	for {
		var why string
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-trigger:
			why = "signal"
		case <-tick.C:
			// Debounce: act on a change only once the files have held
			// still for a whole interval, so a file caught half-written
			// by an editor or a deploy is not loaded.
			if s.filesChanged() {
				pending = true
				continue
			}
			if !pending {
				continue
			}
			why = "file change"
		}
		pending = false
		p, err := s.Reload()
		if err != nil {
			// Take the failed contents as the new baseline, so that a
			// bad edit is not retried until the files change again.
			s.filesChanged()
		}
		res := ReloadResult{Trigger: why, Policy: p, Err: err}
		if err != nil {
			var de *DiagError
			if errors.As(err, &de) {
				s.log.Error("policy reload failed; previous policy stays in force", "trigger", why, "diagnostics", de.Text())
			} else {
				s.log.Error("policy reload failed; previous policy stays in force", "trigger", why, "err", err)
			}
		} else {
			s.log.Info("policy reloaded", "trigger", why, "generation", p.Generation(),
				"trunks", len(p.Trunks()), "routes", len(p.Routes()))
		}
		if onResult != nil {
			onResult(res)
		}
	}
}

// filesChanged reports whether the files differ from the last look.
func (s *Store) filesChanged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fp.changed(s.files)
}

type fileStamp struct {
	mod  time.Time
	size int64
	sum  [sha256.Size]byte
	err  string
}

type fingerprints struct{ last map[string]fileStamp }

func newFingerprints() *fingerprints { return &fingerprints{last: map[string]fileStamp{}} }

// changed reports whether any file differs from the last call's view.
// Content is hashed only when modification time or size moved, so an
// editor that rewrites a file unchanged causes no reload.
func (f *fingerprints) changed(files []string) bool {
	diff := false
	seen := map[string]bool{}
	for _, name := range files {
		seen[name] = true
		prev, had := f.last[name]
		var cur fileStamp
		st, err := os.Stat(name)
		if err != nil {
			cur.err = err.Error()
		} else {
			cur.mod, cur.size = st.ModTime(), st.Size()
			if had && prev.err == "" && cur.mod.Equal(prev.mod) && cur.size == prev.size {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				cur.err = err.Error()
			} else {
				cur.sum = sha256.Sum256(b)
			}
		}
		if !had || cur.err != prev.err || cur.sum != prev.sum {
			diff = had || diff
		}
		f.last[name] = cur
	}
	for name := range f.last {
		if !seen[name] {
			delete(f.last, name)
		}
	}
	return diff
}

// String describes a reload result for logs.
func (r ReloadResult) String() string {
	if r.Err != nil {
		return fmt.Sprintf("policy reload (%s) failed: %v", r.Trigger, r.Err)
	}
	return fmt.Sprintf("policy reload (%s): generation %d", r.Trigger, r.Policy.Generation())
}
