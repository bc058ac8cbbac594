//go:build linux

package sockaddr

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ap     string
		v6     bool
		ok     bool
		n      uint32
		family uint16
		back   string
	}{
		{"192.0.2.1:5060", false, true, unix.SizeofSockaddrInet4, unix.AF_INET, "192.0.2.1:5060"},
		{"192.0.2.1:5060", true, true, unix.SizeofSockaddrInet6, unix.AF_INET6, "192.0.2.1:5060"}, // v4-mapped
		{"[::ffff:192.0.2.1]:5060", false, true, unix.SizeofSockaddrInet4, unix.AF_INET, "192.0.2.1:5060"},
		{"[2001:db8::1]:65535", true, true, unix.SizeofSockaddrInet6, unix.AF_INET6, "[2001:db8::1]:65535"},
		{"[2001:db8::1]:5060", false, false, 0, 0, ""},
	} {
		var sa unix.RawSockaddrInet6
		n, ok := Encode(&sa, netip.MustParseAddrPort(tc.ap), tc.v6)
		if ok != tc.ok || n != tc.n {
			t.Fatalf("Encode(%s, v6 %v) = %d, %v", tc.ap, tc.v6, n, ok)
		}
		if !ok {
			continue
		}
		if sa.Family != tc.family {
			t.Fatalf("%s: family %d", tc.ap, sa.Family)
		}
		if back, ok := Decode(&sa); !ok || back.String() != tc.back {
			t.Fatalf("Decode(Encode(%s)) = %v, %v", tc.ap, back, ok)
		}
	}
	if _, ok := Decode(&unix.RawSockaddrInet6{Family: unix.AF_UNIX}); ok {
		t.Fatal("AF_UNIX decoded")
	}
	var sa unix.RawSockaddrInet6
	if a := testing.AllocsPerRun(100, func() {
		Encode(&sa, netip.MustParseAddrPort("192.0.2.1:5060"), true)
		Decode(&sa)
	}); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}
