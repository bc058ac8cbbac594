package sdp_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sbc-project/sbc/sdp"
)

// The B2BUA's handling of an offer from the A leg towards the B leg: report
// what A signalled to the relay, then rewrite for B with the relay's B-side
// address and ports, the B leg's own origin and the trunk's codec allow-list.
func Example() {
	offer := []byte("v=0\r\n" +
		"o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n" +
		"s=-\r\n" +
		"c=IN IP4 198.51.100.23\r\n" +
		"t=0 0\r\n" +
		"m=audio 49170 RTP/AVP 0 18 101\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-15\r\n")

	s, err := sdp.Parse(offer)
	if err != nil {
		fmt.Println(err) // the B2BUA answers 400 or 488
		return
	}
	for _, st := range sdp.Remote(s) {
		fmt.Printf("A sends %s to %v, RTCP %v, hold=%v\n", st.Media, st.Addr, st.RTCP, st.Hold)
	}

	relayB := netip.MustParseAddr("203.0.113.5")
	legB := sdp.NewOrigin("sbc", 3900000000, 1, relayB) // kept for the life of the B leg
	err = sdp.Rewrite(s, sdp.RewriteParams{
		Addr:    relayB,
		Origin:  legB,
		Streams: []sdp.StreamParams{{Port: 30000}},
		Codecs:  []string{"PCMU", "PCMA", "telephone-event"},
		Offer:   true,
	})
	if errors.Is(err, sdp.ErrNoCodec) {
		fmt.Println(err) // some stream disabled; 488 if all are
	}
	out := s.AppendTo(nil) // CRLF line ends; shown here with LF
	fmt.Print(strings.ReplaceAll(string(out), "\r\n", "\n"))
	// Output:
	// A sends audio to 198.51.100.23:49170, RTCP 198.51.100.23:49171, hold=false
	// v=0
	// o=sbc 3900000000 1 IN IP4 203.0.113.5
	// s=-
	// c=IN IP4 203.0.113.5
	// t=0 0
	// m=audio 30000 RTP/AVP 0 101
	// a=rtpmap:101 telephone-event/8000
	// a=fmtp:101 0-15
}
