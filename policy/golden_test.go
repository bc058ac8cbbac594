package policy

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var testInterfaces = LoadOptions{Interfaces: []string{"inside", "outside", "loopback"}}

// TestGolden loads every file under testdata/valid (the golden file is the
// runtime dump) and testdata/invalid (the golden file is the exact
// diagnostics text with source snippets).
func TestGolden(t *testing.T) {
	for _, dir := range []string{"valid", "invalid"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.hcl"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no test files in testdata/%s: %v", dir, err)
		}
		for _, f := range files {
			t.Run(dir+"/"+filepath.Base(f), func(t *testing.T) {
				p, err := Load([]string{f}, testInterfaces)
				var got bytes.Buffer
				switch dir {
				case "valid":
					if err != nil {
						t.Fatalf("valid file rejected:\n%s", diagText(err))
					}
					if err := p.Dump(&got); err != nil {
						t.Fatal(err)
					}
				case "invalid":
					if err == nil {
						t.Fatal("invalid file accepted")
					}
					var de *DiagError
					if !errors.As(err, &de) || !errors.Is(err, ErrInvalid) {
						t.Fatalf("error %T is not a *DiagError wrapping ErrInvalid", err)
					}
					if err := de.WriteText(&got, 0, false); err != nil {
						t.Fatal(err)
					}
				}
				golden := strings.TrimSuffix(f, ".hcl") + ".golden"
				if *update {
					if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update)", err)
				}
				if got.String() != string(want) {
					t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", golden, got.String(), want)
				}
			})
		}
	}
}

func diagText(err error) string {
	var de *DiagError
	if errors.As(err, &de) {
		return de.Text()
	}
	return err.Error()
}
