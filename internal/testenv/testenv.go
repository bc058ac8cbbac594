// Package testenv locates the shared conformance corpus and the external
// tools that tests need, and decides whether their absence skips a test
// (on a developer's machine) or fails it (in CI, where CI=true).
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// corpus or tool is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// RepoRoot walks up from the working directory to the directory holding the
// root go.mod of the sbc module.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && isRootModule(b) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("testenv: no root go.mod above the working directory")
		}
		dir = parent
	}
}

func isRootModule(gomod []byte) bool {
	const want = "module github.com/sbc-project/sbc\n"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}

// SharedDir returns the shared testdata directory (../shared/testdata beside
// the repository, or $SBC_SHARED_TESTDATA). Where it is absent the test is
// skipped with a reason, or failed when InCI.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("SBC_SHARED_TESTDATA")
	if dir == "" {
		dir = filepath.Join(RepoRoot(tb), "..", "shared", "testdata")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		Missing(tb, "shared conformance corpus at "+dir)
	}
	return dir
}

// LookPath finds an external tool (sipp, tshark, ...) or skips / fails the
// test as Missing does.
func LookPath(tb testing.TB, tool string) string {
	tb.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		Missing(tb, "tool "+tool+" (install it with scripts/test.sh)")
	}
	return p
}

// Missing skips the test because what is named is absent, or fails it in CI.
func Missing(tb testing.TB, what string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("CI=true and %s is missing", what)
	}
	tb.Skipf("skipping: %s is missing (set CI=true to make this a failure)", what)
}

// Root reports whether the test process runs as root (needed for network
// namespaces).
func Root() bool { return os.Geteuid() == 0 }
