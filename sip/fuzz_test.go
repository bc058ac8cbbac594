package sip

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip/siptest"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzParse/seed-* from fuzzSeeds")

// fuzzSeeds are our own messages: the fixtures, every shape the parser
// special-cases (folding, compact forms, bare LF, missing or short
// Content-Length, odd start lines) and some framing errors.
var fuzzSeeds = []string{
	siptest.TypicalInvite,
	siptest.OKResponse,
	siptest.LargeMessage(),
	"OPTIONS sip:a@b SIP/2.0\r\nTO :\r\n sip:x@y ;   tag = 1\r\nNewFangled:   first   \r\n\t  second\r\ni: abc\r\nm: <sip:c@d>\r\nM: <sip:e@f>\r\n\r\n",
	"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nl: 5\n\nhello",
	"\r\n\r\nREGISTER sip:example.com SIP/2.0\r\nl: 2\r\n\r\nabcdef",
	"INVITE  sip:user@example.com  SIP/2.0  \r\nl:0\r\n\r\n",
	"INVITE sip:user@example.com; lr SIP/2.0\r\nContent-Length: 10\r\n\r\nabc",
	"SIP/2.0 100 \r\nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\nContent-Length: 0\r\n\r\n",
	"SIP/2.0 4294967301 better not break the receiver\r\n\r\n",
	"SIP/2.0 503 Service Unavailable\r\nCSeq: 9292394834772304023312 OPTIONS\r\nl: 0\r\n\r\n",
	"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n",
	"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 13\r\nContent-Length: 5\r\n\r\nThere's no way",
	"INVITE sip:alan@jasomi.com\r\nFoobar roobar\r\n\r\n",
	"MESSAGE sip:k@example.org SIP/2.0\r\nContent-Type: multipart/mixed;boundary=\"b\"\r\nl: 9\r\n\r\n\x00\r\x0a\xff\xfe\r\r\n!",
	"BYE sip:user@[2001:db8::10]:5070 SIP/2.0\r\nVia: SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK1;received=[2001:db8::9:255]\r\nl:0\r\n\r\n",
	"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1@example.com SIP/2.0\r\nTo: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:x@y>\r\nl:0\r\n\r\n",
	"SIP/2.0 200 OK\r\nv: a\r\n b\r\n\r\n",
}

func TestFuzzSeedsCommitted(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	for i, s := range fuzzSeeds {
		path := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
		want := "go test fuzz v1\n[]byte(" + strconv.Quote(s) + ")\n"
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is missing or stale; run go test ./sip -run FuzzSeeds -update-seeds", path)
		}
	}
}

// FuzzParse checks that Parse never panics, that FrameLen and Validate never
// panic, and that every message Parse accepts serializes to bytes that parse
// again to a fixed point: Parse(AppendTo(Parse(b))) serializes identically,
// frames as one whole message, and (for a message without defects) carries
// the same fields. The package has other fuzz targets (FuzzParseURI, ...),
// so anchor the pattern:
//
//	go test -run='^$' -fuzz='^FuzzParse$' -fuzztime=10m -parallel=1 ./sip/
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// A hang is a failure too: crash with every stack so the fuzzer
		// records the input and the loop that spins.
		hang := time.AfterFunc(5*time.Second, func() {
			buf := make([]byte, 1<<20)
			panic(fmt.Sprintf("FuzzParse: input takes over 5s: %q\n%s", b, buf[:runtime.Stack(buf, true)]))
		})
		defer hang.Stop()
		checkRoundTrip(t, b)
	})
}

// checkRoundTrip is FuzzParse's property, also run over the conformance corpus.
func checkRoundTrip(t *testing.T, b []byte) {
	t.Helper()
	if n, err := FrameLen(b); err == nil && n > 0 {
		// FrameLen and Parse must agree on where a message ends.
		if _, err := Parse(b[:n]); errors.Is(err, ErrNoHeaderEnd) || errors.Is(err, ErrContentLength) {
			t.Fatalf("FrameLen framed %d octets that Parse cannot delimit: %v", n, err)
		}
		// A stream delivers the message in pieces: every shorter prefix
		// must ask for more data, never fail or frame something else.
		for _, k := range [...]int{n - 1, n / 2, n / 3, len(b) % n} {
			if pn, perr := FrameLen(b[:k]); pn != 0 || perr != nil {
				t.Fatalf("FrameLen(prefix %d of a %d-octet message) = %d, %v", k, n, pn, perr)
			}
		}
	}
	m, err := Parse(b)
	if err != nil {
		return
	}
	_ = Validate(m)
	s1 := m.AppendTo(nil)
	if len(s1) != m.Size() {
		t.Fatalf("Size() = %d, AppendTo wrote %d", m.Size(), len(s1))
	}
	m2, err := Parse(s1)
	if err != nil {
		t.Fatalf("serialized message does not parse: %v\n%q", err, s1)
	}
	if s2 := m2.AppendTo(nil); !bytes.Equal(s1, s2) {
		t.Fatalf("serialization is not stable:\n%q\n%q", s1, s2)
	}
	if n, err := FrameLen(s1); n != len(s1) || err != nil {
		t.Fatalf("FrameLen(serialized) = %d, %v; want %d", n, err, len(s1))
	}
	if m.defect != "" {
		return
	}
	if m2.defect != "" {
		t.Fatalf("serialized message has defect %q", m2.defect)
	}
	if !sameMessage(m, m2) {
		t.Fatalf("fields changed in the round trip:\n%q\n%q", b, s1)
	}
}

// sameMessage compares the fields a round trip must keep.
func sameMessage(a, b *Message) bool {
	if a.Method != b.Method || a.RequestURI != b.RequestURI || a.StatusCode != b.StatusCode ||
		a.Reason != b.Reason || !equalFold(a.proto(), b.proto()) || !bytes.Equal(a.Body, b.Body) {
		return false
	}
	var ha, hb []Header
	for _, h := range a.Headers {
		if h.Name != "Content-Length" {
			ha = append(ha, h)
		}
	}
	for _, h := range b.Headers {
		if h.Name != "Content-Length" {
			hb = append(hb, h)
		}
	}
	if len(ha) != len(hb) {
		return false
	}
	for i := range ha {
		if ha[i].Name != hb[i].Name || ha[i].Value != hb[i].Value {
			return false
		}
	}
	return true
}
