package sipptest

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCSV(t *testing.T) {
	for _, c := range []struct {
		file                       string
		rows                       int
		in, out, ok, failed, total int64
		failures                   map[string]int64
		rt1, length                time.Duration
	}{
		{file: "stat-uac-prack.csv", rows: 3, out: 3, ok: 3, total: 3,
			rt1: 5 * time.Millisecond, length: 109 * time.Millisecond},
		{file: "stat-uas-tcpclosed.csv", rows: 3, in: 3, ok: 2, failed: 1, total: 3,
			failures: map[string]int64{"TcpClosed": 1},
			rt1:      2 * time.Millisecond, length: 112 * time.Millisecond},
	} {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := ParseStatCSV(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != c.rows {
				t.Fatalf("%d rows, want %d", len(rows), c.rows)
			}
			last := rows[len(rows)-1]
			cc := last.Cumulative
			if cc.IncomingCalls != c.in || cc.OutgoingCalls != c.out || cc.SuccessfulCalls != c.ok ||
				cc.FailedCalls != c.failed || last.TotalCallsCreated != c.total {
				t.Errorf("counters %+v total %d", cc, last.TotalCallsCreated)
			}
			if len(cc.Failures) != len(c.failures) {
				t.Errorf("failures %v, want %v", cc.Failures, c.failures)
			}
			for k, v := range c.failures {
				if cc.Failures[k] != v {
					t.Errorf("failure %s = %d, want %d", k, cc.Failures[k], v)
				}
			}
			if len(cc.ResponseTimes) != 1 || cc.ResponseTimes[0] != c.rt1 {
				t.Errorf("response times %v, want [%v]", cc.ResponseTimes, c.rt1)
			}
			if cc.CallLength != c.length {
				t.Errorf("call length %v, want %v", cc.CallLength, c.length)
			}
			if last.TargetRate != 10 || last.Raw["TargetRate"] != "10" {
				t.Errorf("target rate %v raw %q", last.TargetRate, last.Raw["TargetRate"])
			}
		})
	}
}

func TestParseStatCSVRejects(t *testing.T) {
	good, err := os.ReadFile("testdata/stat-uac-prack.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\n")
	for name, text := range map[string]string{
		"empty":        "",
		"not sipp":     "a;b;c\n1;2;3\n",
		"short row":    lines[0] + "\n1;2;3\n",
		"bad counter":  lines[0] + "\n" + strings.Replace(lines[1], ";0;0;0;", ";0;x;0;", 1) + "\n",
		"bad duration": lines[0] + "\n" + strings.Replace(lines[1], "00:00:00:000000", "00:00:xx:000000", 1) + "\n",
	} {
		if _, err := ParseStatCSV(strings.NewReader(text)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseRTT(t *testing.T) {
	f, err := os.Open("testdata/rtt-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ParseRTT(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []RTTSample{
		{At: 104001 * time.Microsecond, Value: 0, RTD: 1},
		{At: 204001 * time.Microsecond, Value: 0, RTD: 1},
		{At: 301500 * time.Microsecond, Value: 12250 * time.Microsecond, RTD: 2},
	}
	if len(s) != len(want) {
		t.Fatalf("got %v, want %v", s, want)
	}
	for i := range want {
		if s[i] != want[i] {
			t.Errorf("sample %d: %+v, want %+v", i, s[i], want[i])
		}
	}
	for _, bad := range []string{"1;2\n", "a;1;1\n", "1;-2;1\n", "1;2;x\n"} {
		if _, err := ParseRTT(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	v := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 5 * time.Millisecond}, {90, 9 * time.Millisecond}, {99, 10 * time.Millisecond},
		{100, 10 * time.Millisecond}, {1, time.Millisecond}, {0, 0}} {
		if got := Percentile(v, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:13C4":                         "127.0.0.1:5060",
		"1400007F:0050":                         "127.0.0.20:80",
		"00000000000000000000000001000000:1F90": "[::1]:8080",
	} {
		got, ok := parseProcAddr(in)
		if !ok || got != netip.MustParseAddrPort(want) {
			t.Errorf("parseProcAddr(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "zz00007F:13C4", "0100007F:zz"} {
		if _, ok := parseProcAddr(bad); ok {
			t.Errorf("parseProcAddr(%q) accepted", bad)
		}
	}
}

func TestConfigArgs(t *testing.T) {
	c := Config{Scenario: "/s/uac-load.xml", Role: UAC, Remote: netip.MustParseAddrPort("127.0.0.30:5060"),
		Calls: 5, Rate: 2.5, CallDuration: 1500 * time.Millisecond}
	if err := c.fill(t); err != nil {
		t.Fatal(err)
	}
	args := strings.Join(c.args(), " ")
	for _, want := range []string{"-sf /s/uac-load.xml", "-t u1", "-m 5", "-r 2.5", "-d 1500",
		"-timeout 30000ms -timeout_error", "-recv_timeout 11500", "-max_recv_loops 1000", "-bind_local",
		"-ci 127.0.0.1 -cp ", "-nostdin", "-trace_stat -stf "} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %q: %s", want, args)
		}
	}
	if !strings.HasSuffix(args, " 127.0.0.30:5060") {
		t.Errorf("remote not last: %s", args)
	}
	for name, bad := range map[string]Config{
		"no scenario":   {Calls: 1, Role: UAS},
		"no calls":      {Scenario: "/s.xml", Role: UAS},
		"uac no remote": {Scenario: "/s.xml", Calls: 1, Role: UAC},
		"bad transport": {Scenario: "/s.xml", Calls: 1, Role: UAS, Transport: "s1"},
	} {
		if err := bad.fill(t); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkParseStatCSV parses a SIPp statistics file; the baseline,
// BenchmarkStatCSVSplitOnly, only splits its lines and fields, so the ratio
// of the two is the cost of turning fields into counters.
func BenchmarkParseStatCSV(b *testing.B) {
	data, err := os.ReadFile("testdata/stat-uas-tcpclosed.csv")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseStatCSV(strings.NewReader(string(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStatCSVSplitOnly(b *testing.B) {
	data, err := os.ReadFile("testdata/stat-uas-tcpclosed.csv")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		for _, line := range strings.Split(string(data), "\n") {
			n += len(strings.Split(line, ";"))
		}
	}
	if n == 0 {
		b.Fatal("nothing split")
	}
}
