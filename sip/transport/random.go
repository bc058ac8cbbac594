package transport

import "crypto/rand"

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// RandomToken returns n random characters of [a-z0-9], for tags and branch
// identifiers (RFC 3261 §19.3: globally unique, cryptographically random).
func RandomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}
