package sip

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbc-project/sbc/internal/testenv"
)

// conformance is the expected outcome of every message of the RFC 4475 and
// RFC 5118 corpora (../shared/testdata), as this SBC's UAS side answers it
// with DefaultRules (a B2BUA: proxy behaviour for Max-Forwards, endpoint
// behaviour for unknown methods). Outcome is "accept", "drop" (Parse rejects
// the bytes, or Validate drops a response) or the status code owed; reason,
// when set, must appear in the 400 reason phrase. Where RFC 4475 leaves a
// choice the note says which one we make.
//
// The rfc5118 top-level files are the RFC's text with bare LF line ends; the
// wire/ files are the same messages as sent: CRLF line ends and a
// Content-Length that counts the CRLF body. We test the wire forms.
var conformance = []struct {
	file, outcome, reason, note string
}{
	// RFC 4475 §3.1.1: valid messages.
	{"rfc4475/wsinv.sip", "accept", "", ""},
	{"rfc4475/intmeth.sip", "501", "", "endpoint behaviour: unknown method, 501 with Allow"},
	{"rfc4475/esc01.sip", "accept", "", ""},
	{"rfc4475/escnull.sip", "accept", "", ""},
	{"rfc4475/esc02.sip", "501", "", "RE%47IST%45R is an unknown method"},
	{"rfc4475/lwsdisp.sip", "accept", "", ""},
	{"rfc4475/longreq.sip", "accept", "", ""},
	{"rfc4475/dblreq.sip", "accept", "", "trailing INVITE ignored"},
	{"rfc4475/semiuri.sip", "accept", "", ""},
	{"rfc4475/transports.sip", "accept", "", ""},
	{"rfc4475/mpart01.sip", "accept", "", ""},
	{"rfc4475/unreason.sip", "accept", "", ""},
	{"rfc4475/noreason.sip", "accept", "", ""},
	// RFC 4475 §3.1.2: invalid messages.
	{"rfc4475/badinv01.sip", "400", "Malformed Via", ""},
	{"rfc4475/clerr.sip", "400", "Content-Length larger than message", "UDP; on a stream FrameLen waits"},
	{"rfc4475/ncl.sip", "drop", "", "negative Content-Length is unframeable"},
	{"rfc4475/scalar02.sip", "400", "CSeq number out of range", ""},
	{"rfc4475/scalarlg.sip", "drop", "", "response with overlarge scalars"},
	{"rfc4475/quotbal.sip", "400", "Malformed To", ""},
	{"rfc4475/ltgtruri.sip", "400", "Malformed Request-URI", ""},
	{"rfc4475/lwsruri.sip", "400", "Malformed Request-URI", ""},
	{"rfc4475/lwsstart.sip", "accept", "", "tolerated, forwarded normalised"},
	{"rfc4475/trws.sip", "accept", "", "tolerated, forwarded normalised"},
	{"rfc4475/escruri.sip", "400", "Headers in Request-URI", ""},
	{"rfc4475/baddate.sip", "accept", "", "Date is not interpreted"},
	{"rfc4475/regbadct.sip", "400", "Malformed Contact", ""},
	{"rfc4475/badaspec.sip", "400", "Malformed To", ""},
	{"rfc4475/baddn.sip", "drop", "", "archive copy lacks the empty line ending the headers"},
	{"rfc4475/variants/baddn-terminated.sip", "400", "Malformed From", ""},
	{"rfc4475/badvers.sip", "505", "", ""},
	{"rfc4475/mismatch01.sip", "400", "CSeq method does not match", ""},
	{"rfc4475/mismatch02.sip", "501", "", "501 preferred over 400"},
	{"rfc4475/bigcode.sip", "drop", "", ""},
	// RFC 4475 §3.2, §3.3, §3.4.
	{"rfc4475/badbranch.sip", "400", "magic cookie", "no fallback to RFC 2543 matching"},
	{"rfc4475/insuf.sip", "400", "Missing To, From, Call-ID", ""},
	{"rfc4475/unkscm.sip", "416", "", ""},
	{"rfc4475/novelsc.sip", "416", "", ""},
	{"rfc4475/unksm2.sip", "accept", "", "registrar-specific 400 is not a syntax verdict"},
	{"rfc4475/bext01.sip", "420", "", ""},
	{"rfc4475/invut.sip", "accept", "", "415 is the application's (SDP) answer"},
	{"rfc4475/regaut01.sip", "accept", "", ""},
	{"rfc4475/multi01.sip", "400", "Multiple", ""},
	{"rfc4475/mcl01.sip", "drop", "", "several Content-Length values are unframeable"},
	{"rfc4475/bcast.sip", "accept", "", "routing refuses 255.255.255.255, not validation"},
	{"rfc4475/zeromf.sip", "483", "", "proxy / B2BUA behaviour"},
	{"rfc4475/cparam01.sip", "accept", "", ""},
	{"rfc4475/cparam02.sip", "accept", "", ""},
	{"rfc4475/regescrt.sip", "accept", "", ""},
	{"rfc4475/sdp01.sip", "accept", "", "406 is the application's (Accept) answer"},
	{"rfc4475/inv2543.sip", "accept", "", "RFC 2543 compatibility"},
	{"rfc4475/test.sip", "drop", "", "Request-Line without SIP-Version"},
	// RFC 5118, wire forms.
	{"rfc5118/wire/ipv6-good.sip", "accept", "", ""},
	{"rfc5118/wire/ipv6-bad.sip", "400", "Malformed Request-URI", ""},
	{"rfc5118/wire/port-ambiguous.sip", "accept", "", ""},
	{"rfc5118/wire/port-unambiguous.sip", "accept", "", ""},
	{"rfc5118/wire/via-received-param-with-delim.sip", "accept", "", ""},
	{"rfc5118/wire/via-received-param-no-delim.sip", "accept", "", ""},
	{"rfc5118/wire/ipv6-in-sdp.sip", "accept", "", ""},
	{"rfc5118/wire/mult-ip-in-header.sip", "accept", "", ""},
	{"rfc5118/wire/mult-ip-in-sdp.sip", "accept", "", ""},
	{"rfc5118/wire/ipv4-mapped-ipv6.sip", "accept", "", ""},
	{"rfc5118/wire/ipv6-bug-abnf-3-colons.sip", "accept", "", ""},
	{"rfc5118/wire/ipv6-correct-abnf-2-colons.sip", "accept", "", ""},
}

// outcome runs the receive path: Parse, then Validate.
func outcome(b []byte) (string, Verdict, *Message) {
	m, err := Parse(b)
	if err != nil {
		return "drop", DropVerdict(err), nil
	}
	v := Validate(m)
	switch v.Action {
	case Accept:
		return "accept", v, m
	case Drop:
		return "drop", v, m
	}
	return itoa(v.Code), v, m
}

func TestConformance(t *testing.T) {
	dir := testenv.SharedDir(t)
	for _, tc := range conformance {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, v, _ := outcome(b)
			if got != tc.outcome {
				t.Fatalf("outcome %s (%v), want %s %s", got, v, tc.outcome, tc.note)
			}
			if tc.reason != "" && !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("reason %q does not name %q", v.Reason, tc.reason)
			}
			checkRoundTrip(t, b)
		})
	}
}

// TestConformanceCoversCorpus fails when a corpus file or a MANIFEST entry
// has no row in the table above, so a grown corpus is noticed.
func TestConformanceCoversCorpus(t *testing.T) {
	dir := testenv.SharedDir(t)
	have := map[string]bool{}
	for _, tc := range conformance {
		have[tc.file] = true
	}
	for _, pat := range []string{"rfc4475/*.sip", "rfc4475/variants/*.sip", "rfc5118/wire/*.sip"} {
		files, _ := filepath.Glob(filepath.Join(dir, pat))
		if len(files) == 0 {
			t.Errorf("no files match %s", pat)
		}
		for _, f := range files {
			rel, _ := filepath.Rel(dir, f)
			if !have[filepath.ToSlash(rel)] {
				t.Errorf("%s has no expected outcome in the conformance table", rel)
			}
		}
	}
	for _, mf := range []struct{ manifest, prefix string }{
		{"rfc4475/MANIFEST.tsv", "rfc4475/"}, {"rfc5118/MANIFEST.tsv", "rfc5118/wire/"},
	} {
		f, err := os.Open(filepath.Join(dir, mf.manifest))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // column names
		for sc.Scan() {
			name, _, _ := strings.Cut(sc.Text(), "\t")
			if name != "" && !have[mf.prefix+name+".sip"] {
				t.Errorf("%s lists %s, which has no row in the conformance table", mf.manifest, name)
			}
		}
		f.Close()
	}
}

// TestCorpusChecksums verifies SHA256SUMS so that a corrupted or edited
// corpus is noticed instead of silently changing what the tests prove.
func TestCorpusChecksums(t *testing.T) {
	dir := testenv.SharedDir(t)
	for _, sums := range []string{"rfc4475/SHA256SUMS", "rfc5118/SHA256SUMS", "rfc5118/wire/SHA256SUMS"} {
		b, err := os.ReadFile(filepath.Join(dir, sums))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			want, name, ok := strings.Cut(line, "  ")
			if !ok {
				t.Errorf("%s: malformed line %q", sums, line)
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, filepath.Dir(sums), name))
			if err != nil {
				t.Error(err)
				continue
			}
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != want {
				t.Errorf("%s: %s does not match its checksum: the corpus is corrupted", sums, name)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s lists no files", sums)
		}
	}
}

// corpus parses one corpus file that must be accepted.
func corpus(t *testing.T, file string) (*Message, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedDir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m, b
}

func mustNameAddr(t *testing.T, m *Message, name string) NameAddr {
	t.Helper()
	v, ok := m.GetHeader(name)
	if !ok {
		t.Fatalf("no %s header", name)
	}
	na, err := ParseNameAddr(v)
	if err != nil {
		t.Fatalf("%s %q: %v", name, v, err)
	}
	return na
}

func vias(t *testing.T, m *Message) (transports, branches []string) {
	t.Helper()
	for line := range m.HeaderLines("Via") {
		elems, err := SplitList(nil, line)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range elems {
			v, err := ParseVia(e)
			if err != nil {
				t.Fatalf("Via %q: %v", e, err)
			}
			transports = append(transports, v.Transport)
			branches = append(branches, v.Branch())
		}
	}
	return transports, branches
}

func requestURI(t *testing.T, m *Message) URI {
	t.Helper()
	u, err := ParseRequestURI(m.RequestURI)
	if err != nil {
		t.Fatalf("Request-URI %q: %v", m.RequestURI, err)
	}
	return u
}

func TestConformanceFields(t *testing.T) {
	t.Run("wsinv", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/wsinv.sip")
		if tag := mustNameAddr(t, m, "To").Tag(); tag != "1918181833n" {
			t.Errorf("To tag %q", tag)
		}
		if tag := mustNameAddr(t, m, "From").Tag(); tag != "98asjd8" {
			t.Errorf("From tag %q", tag)
		}
		tr, br := vias(t, m)
		if !slices.Equal(tr, []string{"UDP", "TCP", "UDP"}) || !slices.Equal(br, []string{"390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"}) {
			t.Errorf("Via transports %q branches %q", tr, br)
		}
		if v, _ := m.GetHeader("Max-Forwards"); v != "0068" {
			t.Errorf("Max-Forwards %q", v)
		}
		if v, _ := m.GetHeader("CSeq"); v != "0009 INVITE" {
			t.Errorf("CSeq %q", v)
		}
		if v, ok := m.GetHeader("Subject"); !ok || v != "" {
			t.Errorf("empty Subject (s :) = %q, %v", v, ok)
		}
		if v, _ := m.GetHeader("NewFangledHeader"); v != "newfangled value continued newfangled value" {
			t.Errorf("unknown folded header %q", v)
		}
		if v, _ := m.GetHeader("UnknownHeaderWithUnusualValue"); v != ";;,,;;,;" {
			t.Errorf("unusual unknown header %q", v)
		}
		out := m.String()
		if !strings.Contains(out, "\r\nNewFangledHeader: newfangled value continued newfangled value\r\n") ||
			!strings.Contains(out, "\r\nUnknownHeaderWithUnusualValue: ;;,,;;,;\r\n") {
			t.Errorf("unknown headers not forwarded unchanged:\n%s", out)
		}
		if len(m.Body) != 150 {
			t.Errorf("body %d octets", len(m.Body))
		}
	})
	t.Run("transports", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/transports.sip")
		if tr, _ := vias(t, m); !slices.Equal(tr, []string{"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"}) {
			t.Errorf("Via transports %q", tr)
		}
	})
	t.Run("esc01", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/esc01.sip")
		if u := requestURI(t, m); u.UserUnescaped() != "sips:user@example.com" || u.Host != "example.net" {
			t.Errorf("R-URI user %q host %q", u.UserUnescaped(), u.Host)
		}
		if u := mustNameAddr(t, m, "To").URI; u.UserUnescaped() != "user" {
			t.Errorf("To user %q", u.UserUnescaped())
		}
		if u := mustNameAddr(t, m, "From").URI; u.UserUnescaped() != "I have spaces" {
			t.Errorf("From user %q", u.UserUnescaped())
		}
		c, err := ParseContact(mustHeader(t, m, "Contact"))
		if err != nil || c.URI.UserUnescaped() != "caller" {
			t.Errorf("Contact user %q, %v", c.URI.UserUnescaped(), err)
		}
	})
	t.Run("escnull", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/escnull.sip")
		if u := mustNameAddr(t, m, "To").URI; u.UserUnescaped() != "null-\x00-null" {
			t.Errorf("To user %q: %%00 must not truncate the AOR", u.UserUnescaped())
		}
		var users []string
		for line := range m.HeaderLines("Contact") {
			c, err := ParseContact(line)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, c.URI.UserUnescaped())
		}
		if !slices.Equal(users, []string{"\x00", "\x00\x00"}) {
			t.Errorf("Contact users %q, want two distinct", users)
		}
	})
	t.Run("semiuri", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/semiuri.sip")
		u := requestURI(t, m)
		if u.UserUnescaped() != "user;par=u@example.net" || u.Host != "example.com" || u.Params.Len() != 0 {
			t.Errorf("R-URI user %q host %q params %q", u.UserUnescaped(), u.Host, u.Params.String())
		}
	})
	t.Run("port-ambiguous", func(t *testing.T) {
		m, _ := corpus(t, "rfc5118/wire/port-ambiguous.sip")
		if u := requestURI(t, m); u.Host != "[2001:db8::10:5070]" || u.Port != 0 {
			t.Errorf("host %q port %d, want the whole reference as address and no port", u.Host, u.Port)
		}
	})
	t.Run("port-unambiguous", func(t *testing.T) {
		m, _ := corpus(t, "rfc5118/wire/port-unambiguous.sip")
		if u := requestURI(t, m); u.Host != "[2001:db8::10]" || u.Port != 5070 {
			t.Errorf("host %q port %d", u.Host, u.Port)
		}
	})
	t.Run("ipv6-bug-abnf-3-colons", func(t *testing.T) {
		m, _ := corpus(t, "rfc5118/wire/ipv6-bug-abnf-3-colons.sip")
		if u := requestURI(t, m); u.Host != "[2001:db8:::192.0.2.1]" {
			t.Errorf("host %q", u.Host)
		}
		if v := Validate(m); !v.OK() {
			t.Errorf("3-colon reference not tolerated: %v", v)
		}
	})
	t.Run("dblreq", func(t *testing.T) {
		m, raw := corpus(t, "rfc4475/dblreq.sip")
		if m.Method != "REGISTER" || m.Body != nil {
			t.Errorf("method %q body %q", m.Method, m.Body)
		}
		if !bytes.Contains(raw, []byte("INVITE sip:joe@example.com")) {
			t.Fatal("fixture lost its trailing INVITE")
		}
		if out := m.String(); strings.Contains(out, "INVITE") {
			t.Errorf("trailing octets forwarded:\n%s", out)
		}
	})
	t.Run("mpart01", func(t *testing.T) {
		m, raw := corpus(t, "rfc4475/mpart01.sip")
		i := bytes.Index(raw, []byte("\r\n\r\n")) + 4
		want := raw[i : i+553]
		if !bytes.Equal(m.Body, want) || !bytes.Contains(m.Body, []byte{0}) {
			t.Errorf("binary body not intact: %d octets", len(m.Body))
		}
		m2, err := Parse(m.AppendTo(nil))
		if err != nil || !bytes.Equal(m2.Body, want) {
			t.Errorf("binary body changed in the round trip: %v", err)
		}
	})
	t.Run("noreason", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/noreason.sip")
		if m.StatusCode != 100 || m.Reason != "" {
			t.Errorf("status %d reason %q", m.StatusCode, m.Reason)
		}
	})
	t.Run("unreason", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/unreason.sip")
		if m.StatusCode != 200 || !strings.HasPrefix(m.Reason, "= 2**3 * 5**2 ") {
			t.Errorf("status %d reason %q", m.StatusCode, m.Reason)
		}
	})
	t.Run("bext01", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/bext01.sip")
		v := Validate(m)
		want := []string{"nothingSupportsThis", "nothingSupportsThisEither", "noProxiesSupportThis", "norDoAnyProxiesSupportThis"}
		if !slices.Equal(v.Unsupported, want) {
			t.Errorf("Unsupported %q", v.Unsupported)
		}
		r := v.Response(m)
		if u, _ := r.GetHeader("Unsupported"); u != strings.Join(want, ", ") || r.StatusCode != 420 {
			t.Errorf("420 response: %d Unsupported %q", r.StatusCode, u)
		}
	})
	t.Run("intmeth", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/intmeth.sip")
		r := Validate(m).Response(m)
		if a, ok := r.GetHeader("Allow"); !ok || !strings.Contains(a, "INVITE") {
			t.Errorf("501 without Allow: %q", a)
		}
	})
	t.Run("zeromf endpoint", func(t *testing.T) {
		m, _ := corpus(t, "rfc4475/zeromf.sip")
		r := DefaultRules()
		r.Proxy = false
		if v := r.Validate(m); !v.OK() {
			t.Errorf("an endpoint processes Max-Forwards 0: %v", v)
		}
	})
}

func mustHeader(t *testing.T, m *Message, name string) string {
	t.Helper()
	v, ok := m.GetHeader(name)
	if !ok {
		t.Fatalf("no %s header", name)
	}
	return v
}
