// Package sipgo measures the SBC's SIP parser and serializer side by side with
// github.com/emiago/sipgo's on the same bytes, in one run:
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 5 ./sipgo/
//
// Compare each sbc sub-benchmark with the sipgo one beside it. BenchmarkParse
// is the raw parse (sipgo also parses Via, From, To, CSeq, Call-ID and a few
// more into typed values; the SBC defers that), BenchmarkParseTyped adds
// reading those headers on both sides, BenchmarkSerialize writes a parsed
// message out. sipgo is a baseline and test oracle only: it is required by
// the bench module, never by the SBC.
package sipgo
