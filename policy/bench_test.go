package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"testing"
)

// wholesale generates a longest-prefix wholesale table of n distinct
// prefix routes over 8 carriers, and numbers to look up (half of them
// under some prefix).
func wholesale(n int) (src string, numbers []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("defaults {\n  route_selection = \"longest_prefix\"\n}\n")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&b, "trunk \"c%d\" {\n  interface = \"outside\"\n  destination {\n    host = \"192.0.2.%d\"\n  }\n}\n", i, i+1)
	}
	seen := map[string]bool{}
	var prefixes []string
	for len(prefixes) < n {
		l := 3 + rng.IntN(7)
		p := make([]byte, 1, l+1)
		p[0] = '+'
		for j := 0; j < l; j++ {
			p = append(p, byte('0'+rng.IntN(10)))
		}
		if seen[string(p)] {
			continue
		}
		seen[string(p)] = true
		prefixes = append(prefixes, string(p))
		fmt.Fprintf(&b, "route \"r%d\" {\n  match {\n    ruri_user {\n      prefix = %q\n    }\n  }\n  trunks = [\"c%d\", \"c%d\"]\n}\n",
			len(prefixes), p, len(prefixes)%8, (len(prefixes)+1)%8)
	}
	for i := 0; i < 1024; i++ {
		var num string
		if i%2 == 0 {
			num = prefixes[rng.IntN(len(prefixes))]
		} else {
			num = "+"
		}
		for len(num) < 13 {
			num += string(byte('0' + rng.IntN(10)))
		}
		numbers = append(numbers, num)
	}
	return b.String(), numbers
}

func loadWholesale(b *testing.B, n int) (*Policy, []string) {
	b.Helper()
	src, nums := wholesale(n)
	p, err := LoadSources([]Source{{Name: "wholesale.hcl", Data: []byte(src)}}, LoadOptions{})
	if err != nil {
		b.Fatal(diagText(err))
	}
	return p, nums
}

// BenchmarkRoute looks numbers up in tables of 100 and 100,000 prefix
// routes; the 100-route table is the baseline the large one is compared to.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		p, nums := loadWholesale(b, n)
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			matched := 0
			for i := 0; b.Loop(); i++ {
				d := p.Route(RouteRequest{SourceTrunk: "c1", RURIUser: nums[i&1023]})
				if d.Route != nil {
					matched++
				}
			}
			if matched == 0 {
				b.Fatal("nothing matched")
			}
		})
	}
}

// BenchmarkRouteLinearScan is the naive alternative to the trie: every
// route's prefixes checked in turn for the longest match.
func BenchmarkRouteLinearScan(b *testing.B) {
	p, nums := loadWholesale(b, 100_000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		user := nums[i&1023]
		best, bestLen := (*Route)(nil), -1
		for _, r := range p.routes {
			for _, v := range r.RURIUser.Values {
				if len(v) > bestLen && strings.HasPrefix(user, v) {
					best, bestLen = r, len(v)
				}
			}
		}
		_ = best
	}
}

// BenchmarkLoad measures parsing, validating and building the 100,000-route
// table, and the heap the built policy keeps.
func BenchmarkLoad(b *testing.B) {
	src, _ := wholesale(100_000)
	data := []byte(src)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var p *Policy
	for b.Loop() {
		var err error
		p, err = LoadSources([]Source{{Name: "wholesale.hcl", Data: data}}, LoadOptions{})
		if err != nil {
			b.Fatal(diagText(err))
		}
	}
	b.StopTimer()
	var before, after runtime.MemStats
	p = nil
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, _ = LoadSources([]Source{{Name: "wholesale.hcl", Data: data}}, LoadOptions{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-kept")
	b.ReportMetric(float64(len(p.table.nodes)), "trie-nodes")
	runtime.KeepAlive(p)
}

func BenchmarkMatchTrunk(b *testing.B) {
	p, _ := loadWholesale(b, 100)
	src := netip.MustParseAddrPort("192.0.2.9:5060")
	b.ReportAllocs()
	for b.Loop() {
		p.MatchTrunk(src, "udp", "outside")
	}
}

// BenchmarkLoadGrouped loads the same 100,000 prefixes written as 1,000
// routes of 100 prefixes each (how a rate deck maps to carrier sets): the
// HCL parse, not the trie, dominates BenchmarkLoad.
func BenchmarkLoadGrouped(b *testing.B) {
	src, _ := wholesale(100_000)
	var prefixes []string
	for _, line := range strings.Split(src, "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "prefix = "); ok {
			prefixes = append(prefixes, p)
		}
	}
	var sb strings.Builder
	sb.WriteString("defaults {\n  route_selection = \"longest_prefix\"\n}\n")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&sb, "trunk \"c%d\" {\n  interface = \"outside\"\n  destination {\n    host = \"192.0.2.%d\"\n  }\n}\n", i, i+1)
	}
	for i := 0; i < len(prefixes); i += 100 {
		fmt.Fprintf(&sb, "route \"g%d\" {\n  match {\n    ruri_user {\n      prefix = [%s]\n    }\n  }\n  trunks = [\"c%d\", \"c%d\"]\n}\n",
			i, strings.Join(prefixes[i:i+100], ","), i%8, (i+1)%8)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := LoadSources([]Source{{Name: "grouped.hcl", Data: data}}, LoadOptions{})
		if err != nil {
			b.Fatal(diagText(err))
		}
		if len(p.routes) != 1000 {
			b.Fatalf("%d routes", len(p.routes))
		}
	}
}
