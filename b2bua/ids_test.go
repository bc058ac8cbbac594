package b2bua

import (
	"strings"
	"testing"

	"github.com/sbc-project/sbc/sip"
)

func TestIDsAreUniqueAndWellFormed(t *testing.T) {
	const n = 20000
	seen := make(map[string]bool, 3*n)
	for i := 0; i < n; i++ {
		for _, id := range []string{NewCallID(), NewTag(), NewBranch()} {
			if seen[id] {
				t.Fatalf("duplicate id %q after %d rounds", id, i)
			}
			seen[id] = true
			for _, c := range strings.TrimPrefix(id, sip.BranchMagic) {
				if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
					t.Fatalf("id %q has character %q outside the token alphabet", id, c)
				}
			}
		}
	}
	if b := NewBranch(); !strings.HasPrefix(b, "z9hG4bK") || len(b) != 7+16 {
		t.Fatalf("branch %q: want magic cookie and 16 random characters", b)
	}
	if c := NewCallID(); len(c) != 24 || strings.Contains(c, "@") {
		t.Fatalf("call-id %q: want 24 characters and no host part", c)
	}
}
