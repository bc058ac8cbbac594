package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary text to the loader: it must never panic, and a
// policy it accepts must route and dump without panicking.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.hcl")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add(defaultPolicy)
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := LoadSources([]Source{{Name: "fuzz.hcl", Data: src}}, testInterfaces)
		if err != nil {
			if _, ok := err.(*DiagError); !ok {
				t.Fatalf("error %T is not a *DiagError", err)
			}
			return
		}
		_ = p.Dump(discard{})
		for _, u := range []string{"", "+4930123", "112", "alice", "0900"} {
			p.Route(RouteRequest{RURIUser: u, Header: headers("X-Test", "1")})
		}
	})
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
