package b2bua

import (
	"crypto/rand"
	"encoding/base32"
	"github.com/sbc-project/sbc/sip"
)

// Identifiers the SBC mints for the legs it originates. They are random and
// carry nothing of either side: RFC 3261 §8.1.1.4 asks for a globally unique
// Call-ID (we omit the optional "@host" so no address leaks), §19.3 asks for
// tags with at least 32 bits of randomness, and §8.1.1.7 for branches that
// start with the magic cookie "z9hG4bK" and are unique per transaction.

// idEncoding is lowercase base32 without padding: only characters of the
// RFC 3261 "word" and "token" rules, so IDs are valid in every position.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomID(n int, prefix string) string {
	var raw [20]byte
	b := raw[:n]
	// crypto/rand.Read never fails on Linux since Go 1.24 (getrandom).
	_, _ = rand.Read(b)
	buf := make([]byte, len(prefix)+idEncoding.EncodedLen(n))
	copy(buf, prefix)
	idEncoding.Encode(buf[len(prefix):], b)
	return string(buf)
}

// NewCallID returns a fresh Call-ID: 120 random bits, no host part.
func NewCallID() string { return randomID(15, "") }

// NewTag returns a fresh From/To tag: 80 random bits.
func NewTag() string { return randomID(10, "") }

// NewBranch returns a fresh Via branch with the RFC 3261 magic cookie.
func NewBranch() string { return randomID(10, sip.BranchMagic) }
