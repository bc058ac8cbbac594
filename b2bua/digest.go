package b2bua

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"github.com/sbc-project/sbc/sip"
)

// digestCredentials answers a Digest challenge (RFC 3261 §22.4 with
// RFC 2617 qop=auth and RFC 7616 SHA-256) with the trunk's credentials.
// realm, when set, must match the challenge's realm: credentials are never
// sent to a realm they were not configured for.
func digestCredentials(ch sip.Auth, user, pass, realm, method, uri string) (string, error) {
	if !ch.IsDigest() {
		return "", fmt.Errorf("b2bua: auth: scheme %q not supported", ch.Scheme)
	}
	chRealm := ch.Realm()
	if realm != "" && !strings.EqualFold(realm, chRealm) {
		return "", fmt.Errorf("b2bua: auth: realm %q is not the configured %q", chRealm, realm)
	}
	var newHash func() hash.Hash
	alg := ch.Algorithm()
	switch strings.ToUpper(alg) {
	case "", "MD5":
		newHash = md5.New
	case "SHA-256":
		newHash = sha256.New
	default:
		return "", fmt.Errorf("b2bua: auth: algorithm %q not supported", alg)
	}
	h := func(s string) string {
		x := newHash()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	nonce := ch.Nonce()
	ha1 := h(user + ":" + chRealm + ":" + pass)
	ha2 := h(method + ":" + uri)
	qop := ""
	if q, ok := ch.Param("qop"); ok {
		for _, o := range strings.Split(q, ",") {
			if strings.TrimSpace(o) == "auth" {
				qop = "auth"
			}
		}
		if qop == "" {
			return "", fmt.Errorf("b2bua: auth: qop %q not supported", q)
		}
	}
	var b strings.Builder
	b.WriteString("Digest username=" + sip.Quote(user) + ", realm=" + sip.Quote(chRealm) +
		", nonce=" + sip.Quote(nonce) + ", uri=" + sip.Quote(uri))
	if qop != "" {
		var raw [8]byte
		_, _ = rand.Read(raw[:])
		cnonce := hex.EncodeToString(raw[:])
		const nc = "00000001"
		resp := h(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
		b.WriteString(", response=" + sip.Quote(resp) + ", qop=auth, nc=" + nc + ", cnonce=" + sip.Quote(cnonce))
	} else {
		b.WriteString(", response=" + sip.Quote(h(ha1+":"+nonce+":"+ha2)))
	}
	if alg != "" {
		b.WriteString(", algorithm=" + alg)
	}
	if op, ok := ch.Param("opaque"); ok {
		b.WriteString(", opaque=" + sip.Quote(op))
	}
	return b.String(), nil
}
