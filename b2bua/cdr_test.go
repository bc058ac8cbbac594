package b2bua

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileCDRWriterLinesAndRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cdr", "calls.jsonl")
	w, err := OpenFileCDRWriter(path, 600)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Unix(1700000000, 0)
	w.now = func() time.Time { tick = tick.Add(time.Second); return tick }
	const calls = 10
	for i := 0; i < calls; i++ {
		c := &CDR{ID: string(rune('a' + i)), ALegCallID: "a", Caller: "+4930", Callee: "+4989",
			SetupTime: time.Unix(1700000000, 0).UTC(), EndTime: time.Unix(1700000060, 0).UTC(),
			Disposition: "answered", SIPCode: 200, HangupBy: "caller"}
		if err := w.WriteCDR(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteCDR(&CDR{}); err == nil {
		t.Fatal("write after close succeeded")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cdr", "calls.jsonl*"))
	if len(files) < 2 {
		t.Fatalf("files %v: want rotation into several files", files)
	}
	seen := map[string]bool{}
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Size() > 600 {
			t.Errorf("%s has %d bytes, over the 600-byte limit", f, st.Size())
		}
		fh, _ := os.Open(f)
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var c CDR
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s: bad line %q: %v", f, sc.Text(), err)
			}
			if c.Disposition != "answered" || c.SIPCode != 200 || !c.AnswerTime.IsZero() {
				t.Fatalf("round trip lost fields: %+v", c)
			}
			seen[c.ID] = true
		}
		fh.Close()
	}
	if len(seen) != calls {
		t.Fatalf("found %d distinct CDRs, want %d", len(seen), calls)
	}
}
