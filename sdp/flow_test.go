package sdp

import (
	"net/netip"
	"strings"
	"testing"
)

// TestOfferAnswerThroughSBC plays the B2BUA's part in a call: A's offer is
// rewritten towards B, B's answer towards A; then A holds, refreshes and
// resumes with re-INVITEs. Each leg keeps its own o= line, whose version moves
// only when what that leg receives changes (RFC 3264 §8), and no address of
// one side reaches the other.
func TestOfferAnswerThroughSBC(t *testing.T) {
	relayA := netip.MustParseAddr("198.18.0.1")    // the SBC towards A
	relayB := netip.MustParseAddr("2001:db8:b::1") // the SBC towards B (IPv6 core)
	legA := NewOrigin("sbc", 1001, 1, relayA)
	legB := NewOrigin("sbc", 2002, 1, relayB)
	codecs := []string{"PCMU", "PCMA", "telephone-event"}

	aOffer := func(dir string) string {
		return crlf("v=0", "o=alice 53655765 2353687637 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0",
			"m=audio 49170 RTP/AVP 0 8 18 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a="+dir)
	}
	bAnswer := func(dir string) string {
		return crlf("v=0", "o=bob 2808844564 2808844564 IN IP6 2001:db8:99::7", "s=-", "c=IN IP6 2001:db8:99::7", "t=0 0",
			"m=audio 6000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a="+dir)
	}

	// exchange runs one offer/answer and returns what B and A receive.
	exchange := func(offerText, answerText string) (toB, toA *Session) {
		t.Helper()
		offer := mustParse(t, offerText)
		if r := Remote(offer); r[0].Addr != netip.MustParseAddrPort("192.0.2.10:49170") {
			t.Fatalf("A's media at %v", r[0].Addr)
		}
		err := Rewrite(offer, RewriteParams{Addr: relayB, Origin: legB, Streams: []StreamParams{{Port: 40000}}, Codecs: codecs, Offer: true})
		if err != nil {
			t.Fatal(err)
		}
		toB = mustParse(t, offer.String()) // what B parses off the wire

		answer := mustParse(t, answerText)
		if err := CheckAnswer(toB, answer); err != nil {
			t.Fatal(err)
		}
		if r := Remote(answer); r[0].Addr != netip.MustParseAddrPort("[2001:db8:99::7]:6000") {
			t.Fatalf("B's media at %v", r[0].Addr)
		}
		if err := Rewrite(answer, RewriteParams{Addr: relayA, Origin: legA, Streams: []StreamParams{{Port: 30000}}, Codecs: codecs}); err != nil {
			t.Fatal(err)
		}
		toA = mustParse(t, answer.String())
		return toB, toA
	}
	check := func(step string, s *Session, leaks []string, wantVersion string, wantDir Direction) {
		t.Helper()
		text := s.String()
		for _, l := range leaks {
			if strings.Contains(text, l) {
				t.Errorf("%s: %q leaked:\n%s", step, l, text)
			}
		}
		if s.Origin.SessionVersion != wantVersion {
			t.Errorf("%s: version %s, want %s", step, s.Origin.SessionVersion, wantVersion)
		}
		if d := Remote(s)[0].Direction; d != wantDir {
			t.Errorf("%s: direction %v, want %v", step, d, wantDir)
		}
	}
	aSide := []string{"192.0.2.10", "alice", "53655765", "2353687637", "49170"}
	bSide := []string{"2001:db8:99::7", "bob", "2808844564", "6000"}

	toB, toA := exchange(aOffer("sendrecv"), bAnswer("sendrecv"))
	check("initial offer to B", toB, aSide, "1", SendRecv)
	check("initial answer to A", toA, bSide, "1", SendRecv)
	if got := toB.Media[0].Formats; strings.Join(got, " ") != "0 8 101" {
		t.Errorf("offer to B formats %v, want G.729 removed", got)
	}
	if c, _ := toB.Connection(); c.AddrType != "IP6" || c.Addr != relayB {
		t.Errorf("offer to B connection %+v", c)
	}
	if c, _ := toA.Connection(); c.AddrType != "IP4" || c.Addr != relayA {
		t.Errorf("answer to A connection %+v", c)
	}

	toB, toA = exchange(aOffer("sendonly"), bAnswer("recvonly"))
	check("hold offer to B", toB, aSide, "2", SendOnly)
	check("hold answer to A", toA, bSide, "2", RecvOnly)
	if !Remote(toB)[0].Hold {
		t.Error("hold not visible to B")
	}

	toB, toA = exchange(aOffer("sendonly"), bAnswer("recvonly"))
	check("session refresh to B", toB, aSide, "2", SendOnly)
	check("session refresh to A", toA, bSide, "2", RecvOnly)

	toB, toA = exchange(aOffer("sendrecv"), bAnswer("sendrecv"))
	check("resume offer to B", toB, aSide, "3", SendRecv)
	check("resume answer to A", toA, bSide, "3", SendRecv)
	if toA.Origin.SessionID != "1001" || toB.Origin.SessionID != "2002" {
		t.Errorf("session ids %s / %s", toA.Origin.SessionID, toB.Origin.SessionID)
	}
}
