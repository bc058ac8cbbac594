package rtpload

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestBencodeRoundTrip(t *testing.T) {
	v := map[string]any{"command": "offer", "call-id": "a b:c", "n": int64(-42), "flags": []any{"x", int64(1)}, "d": map[string]any{}}
	b, err := Encode(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if want := "d7:call-id5:a b:c7:command5:offer1:dde5:flagsl1:xi1ee1:ni-42ee"; string(b) != want {
		t.Fatalf("encoded %q, want %q", b, want)
	}
	got, rest, err := Decode(b)
	if err != nil || len(rest) != 0 || !reflect.DeepEqual(got, v) {
		t.Fatalf("decoded %#v rest %q err %v", got, rest, err)
	}
	for _, bad := range []string{"", "i12", "5:abc", "d1:ae", "l", "x", "d1:a", "-1:"} {
		if _, _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}

func TestMediaAddr(t *testing.T) {
	cases := []struct {
		sdp  string
		want string
	}{
		{AudioSDP(netip.MustParseAddrPort("127.0.0.1:4000"), 1), "127.0.0.1:4000"},
		{"v=0\r\nc=IN IP4 10.0.0.1\r\nm=video 5000 RTP/AVP 96\r\nm=audio 6000 RTP/AVP 0\r\nc=IN IP4 127.0.0.3\r\n", "127.0.0.3:6000"},
		{"v=0\r\nc=IN IP6 ::1\r\nm=audio 7000 RTP/AVP 0\r\n", "[::1]:7000"},
		{"v=0\r\nm=audio 7000 RTP/AVP 0\r\n", ""},
	}
	for _, c := range cases {
		got, err := MediaAddr(c.sdp)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q: accepted as %v", c.sdp, got)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("%q: %v %v, want %s", c.sdp, got, err, c.want)
		}
	}
}
