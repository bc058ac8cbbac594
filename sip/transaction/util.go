package transaction

import (
	"crypto/rand"
	"strings"
)

// toTagLen is the length of the To tags the server transactions make; 10
// characters of a 62-letter alphabet carry the 32 random bits RFC 3261
// §19.3 asks for, with room to spare.
const toTagLen = 10

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// appendToken appends n random token characters (RFC 3261 §25.1 token,
// alphanumeric) without allocating, for n up to 32.
func appendToken(b []byte, n int) []byte {
	var r [32]byte
	rand.Read(r[:n])
	for _, c := range r[:n] {
		b = append(b, tokenAlphabet[int(c)%len(tokenAlphabet)])
	}
	return b
}

// internMethod returns method as a constant for the methods of RFC 3261
// and its extensions, or a copy: never a view of a parsed message, so a
// transaction that keeps it does not keep the message's buffer.
func internMethod(method string) string {
	for _, m := range [...]string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK",
		"UPDATE", "INFO", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"} {
		if m == method {
			return m
		}
	}
	return strings.Clone(method)
}
