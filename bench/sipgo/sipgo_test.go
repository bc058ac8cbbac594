package sipgo

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	sipgo "github.com/emiago/sipgo/sip"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/siptest"
)

var messages = []struct{ name, msg string }{
	{"INVITE", siptest.TypicalInvite},
	{"200OK", siptest.OKResponse},
	{"Large", siptest.LargeMessage()},
}

// TestSameMessages checks that both parsers accept every benchmark message
// and agree on the fields both expose, so the benchmarks compare equal work.
func TestSameMessages(t *testing.T) {
	for _, tc := range messages {
		t.Run(tc.name, func(t *testing.T) {
			ours, err := sip.Parse([]byte(tc.msg))
			if err != nil {
				t.Fatalf("sbc: %v", err)
			}
			theirs, err := sipgo.ParseMessage([]byte(tc.msg))
			if err != nil {
				t.Fatalf("sipgo: %v", err)
			}
			callID, _ := ours.GetHeader("Call-ID")
			if got := theirs.CallID().Value(); got != callID {
				t.Errorf("Call-ID: sipgo %q, sbc %q", got, callID)
			}
			if !bytes.Equal(theirs.Body(), ours.Body) {
				t.Errorf("bodies differ: sipgo %d octets, sbc %d", len(theirs.Body()), len(ours.Body))
			}
			if n := len(theirs.GetHeaders("Via")); n != ours.HeaderCount("Via") {
				t.Errorf("Via lines: sipgo %d, sbc %d", n, ours.HeaderCount("Via"))
			}
		})
	}
}

// BenchmarkParse runs both parsers on the same bytes in one run; compare the
// SBC and sipgo sub-benchmarks of each message (ns/op and allocs/op).
func BenchmarkParse(b *testing.B) {
	for _, tc := range messages {
		in := []byte(tc.msg)
		b.Run(tc.name+"/sbc", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := sip.Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/sipgo", func(b *testing.B) {
			p := sipgo.NewParser()
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := p.ParseSIP(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSerialize serializes a parsed message: AppendTo into a reused
// buffer for the SBC, StringWrite into a reused strings.Builder for sipgo.
func BenchmarkSerialize(b *testing.B) {
	for _, tc := range messages {
		in := []byte(tc.msg)
		b.Run(tc.name+"/sbc", func(b *testing.B) {
			m, err := sip.Parse(in)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 0, 2*len(in))
			b.ReportAllocs()
			for b.Loop() {
				buf = m.AppendTo(buf[:0])
			}
		})
		b.Run(tc.name+"/sipgo", func(b *testing.B) {
			m, err := sipgo.ParseMessage(in)
			if err != nil {
				b.Fatal(err)
			}
			var sb strings.Builder
			sb.Grow(2 * len(in))
			b.ReportAllocs()
			for b.Loop() {
				sb.Reset()
				sb.Grow(2 * len(in))
				m.StringWrite(&sb)
			}
		})
	}
}

// BenchmarkParseTyped adds access to the headers a transaction layer reads
// for every message (top Via, From, To, Call-ID, CSeq). sipgo parses these
// eagerly inside ParseSIP; the SBC parses them lazily on access, so this is
// the like-for-like comparison of the work a stack does per message.
func BenchmarkParseTyped(b *testing.B) {
	for _, tc := range messages {
		in := []byte(tc.msg)
		b.Run(tc.name+"/sbc", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				m, err := sip.Parse(in)
				if err != nil {
					b.Fatal(err)
				}
				v, err1 := m.TopVia()
				f, err2 := m.From()
				to, err3 := m.To()
				cid, err4 := m.CallID()
				cs, err5 := m.CSeq()
				if err := errors.Join(err1, err2, err3, err4, err5); err != nil || v.Branch() == "" || f.Tag() == "" || cid == "" || cs.Seq == 0 {
					b.Fatal(err, to)
				}
			}
		})
		b.Run(tc.name+"/sipgo", func(b *testing.B) {
			p := sipgo.NewParser()
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				m, err := p.ParseSIP(in)
				if err != nil {
					b.Fatal(err)
				}
				v, f, to, cid, cs := m.Via(), m.From(), m.To(), m.CallID(), m.CSeq()
				if v == nil || f == nil || to == nil || cid == nil || cs == nil {
					b.Fatal("sipgo: missing header")
				}
				if br, _ := v.Params.Get("branch"); br == "" {
					b.Fatal("sipgo: no branch")
				}
			}
		})
	}
}
