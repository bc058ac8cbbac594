package hclutil

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

type testInner struct {
	Name     string         `hcl:"name,label"`
	NameRng  hcl.Range      `hcl:"name,label_range"`
	Need     *hcl.Attribute `hcl:"need"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type testOuter struct {
	Opt    *hcl.Attribute `hcl:"opt,optional"`
	One    *testInner     `hcl:"one,block"`
	Many   []testInner    `hcl:"many,block"`
	Remain *struct {
		Attrs hcl.Attributes `hcl:",remain"`
	} `hcl:"vars,block"`
}

func decode(t *testing.T, src string) (testOuter, hcl.Diagnostics) {
	t.Helper()
	f, d := hclparse.NewParser().ParseHCL([]byte(src), "t.hcl")
	if d.HasErrors() {
		t.Fatal(d)
	}
	var out testOuter
	return out, Decode(f.Body, &out)
}

func TestDecode(t *testing.T) {
	out, d := decode(t, "opt = 1\none \"a\" {\n  need = 2\n}\nmany \"b\" {\n  need = 3\n}\nmany \"c\" {\n  need = 4\n}\nvars {\n  x = 1\n  y = 2\n}\n")
	if d.HasErrors() {
		t.Fatal(d)
	}
	if out.Opt == nil || out.One == nil || out.One.Name != "a" || out.One.NameRng.Start.Line != 2 || out.One.DefRange.Start.Line != 2 {
		t.Fatalf("%+v", out)
	}
	if len(out.Many) != 2 || out.Many[1].Name != "c" || out.Many[1].Need == nil || len(out.Remain.Attrs) != 2 {
		t.Fatalf("%+v", out)
	}
	cases := []struct{ src, summary string }{
		{"one \"a\" {\n}\n", "Missing required argument"},
		{"one \"a\" {\n  need = 1\n}\none \"b\" {\n  need = 1\n}\n", "Duplicate one block"},
		{"bogus = 1\n", "Unsupported argument"},
		{"one {\n  need = 1\n}\n", "Missing name for one"},
	}
	for _, c := range cases {
		_, d := decode(t, c.src)
		if !d.HasErrors() || !strings.Contains(d.Error(), c.summary) {
			t.Errorf("%q: %v, want %q", c.src, d, c.summary)
		}
	}
}

func TestEvalHelpers(t *testing.T) {
	f, d := hclparse.NewParser().ParseHCL([]byte("d = \"1m30s\"\nbad = \"90\"\nn = 7.5\nl = [\"a\", \"b\"]\ns = \"x\"\n"), "t.hcl")
	if d.HasErrors() {
		t.Fatal(d)
	}
	attrs, _ := f.Body.JustAttributes()
	if v, d := Duration(attrs["d"], nil, 0, 0, time.Hour); d.HasErrors() || v != 90*time.Second {
		t.Errorf("duration %v %v", v, d)
	}
	if _, d := Duration(attrs["bad"], nil, 0, 0, time.Hour); !d.HasErrors() || d[0].Subject.Start.Column != 7 {
		t.Errorf("bad duration %v", d)
	}
	if _, d := Int(attrs["n"], nil, 0, 0, 10); !d.HasErrors() || !strings.Contains(d.Error(), "whole number") {
		t.Errorf("fraction %v", d)
	}
	items, d := Strings(attrs["l"], nil)
	if d.HasErrors() || len(items) != 2 || items[1].Value != "b" || items[1].Range.Start.Column != 11 {
		t.Errorf("list %+v %v", items, d)
	}
	items, d = Strings(attrs["s"], nil)
	if d.HasErrors() || len(items) != 1 || items[0].Value != "x" {
		t.Errorf("single %+v %v", items, d)
	}
	if v, d := String(nil, nil, "def"); v != "def" || d != nil {
		t.Errorf("absent %q", v)
	}
}
