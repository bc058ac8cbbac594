package sip

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sbc-project/sbc/internal/testenv"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden/*.sip from the serializer")

// TestCanonicalGolden pins the canonical form the serializer gives the
// corpus messages that exercise normalisation: folding, odd LWS, compact
// forms and leading zeros (wsinv), extra SP in the Request-Line (lwsstart,
// trws), a missing Content-Length (inv2543) and trailing octets (dblreq).
// Run with -update after an intended change and review the diff. The files
// hold our output's header section only, not the corpus bodies.
func TestCanonicalGolden(t *testing.T) {
	dir := testenv.SharedDir(t)
	for _, name := range []string{"wsinv", "lwsstart", "trws", "inv2543", "dblreq"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, "rfc4475", name+".sip"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			// The golden file holds the start line and headers; the body
			// must come out as Parse framed it.
			out := m.AppendTo(nil)
			hdrEnd := bytes.Index(out, []byte("\r\n\r\n")) + 4
			got := out[:hdrEnd]
			if !bytes.Equal(out[hdrEnd:], m.Body) {
				t.Errorf("body changed: %q", out[hdrEnd:])
			}
			golden := filepath.Join("testdata", "golden", name+".sip")
			if *updateGolden {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("canonical form changed:\n%s\nwant\n%s", got, want)
			}
		})
	}
}
