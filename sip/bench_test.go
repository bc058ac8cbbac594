package sip

import (
	"testing"

	"github.com/sbc-project/sbc/sip/siptest"
)

var benchMessages = []struct{ name, msg string }{
	{"INVITE", siptest.TypicalInvite},
	{"200OK", siptest.OKResponse},
	{"Large", siptest.LargeMessage()},
}

func BenchmarkParse(b *testing.B) {
	for _, bm := range benchMessages {
		in := []byte(bm.msg)
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendTo(b *testing.B) {
	for _, bm := range benchMessages {
		m, err := Parse([]byte(bm.msg))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 2*len(bm.msg))
			b.SetBytes(int64(len(bm.msg)))
			for b.Loop() {
				buf = m.AppendTo(buf[:0])
			}
		})
	}
}

// BenchmarkNewResponse measures building a stateless answer to an INVITE.
func BenchmarkNewResponse(b *testing.B) {
	req, err := Parse([]byte(typicalInvite))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		r := NewResponse(req, 100, "")
		buf = r.AppendTo(buf[:0])
	}
}

// TestAllocs pins the allocation counts that the benchmarks report: the issue
// sets at most 8 for parsing a typical INVITE.
func TestAllocs(t *testing.T) {
	// One allocation holds the Message, its inline headers and the input
	// copy (newMessage); the goal is at most 8.
	for _, bm := range benchMessages[:2] {
		in := []byte(bm.msg)
		if n := testing.AllocsPerRun(100, func() { _, _ = Parse(in) }); n != 1 {
			t.Errorf("Parse(%s) allocates %v times, want 1", bm.name, n)
		}
	}
	in := []byte(typicalInvite)
	m, _ := Parse(in)
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() { buf = m.AppendTo(buf[:0]) }); n != 0 {
		t.Errorf("AppendTo into a large enough buffer allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = NewResponse(m, 180, "") }); n > 1 {
		t.Errorf("NewResponse allocates %v times, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = m.GetHeader("call-id") }); n != 0 {
		t.Errorf("GetHeader allocates %v times, want 0", n)
	}
}

// BenchmarkValidate measures the UAS checks on a typical INVITE (it parses
// Via, From, To, Call-ID, CSeq, Max-Forwards, Contact and the Request-URI).
func BenchmarkValidate(b *testing.B) {
	m, err := Parse([]byte(siptest.TypicalInvite))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := Validate(m); !v.OK() {
			b.Fatal(v)
		}
	}
}
