package transport_test

import (
	"context"
	"fmt"
	"github.com/sbc-project/sbc/internal/testenv"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transport"
	"github.com/sbc-project/sbc/sip/transport/transporttest"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    transport.Target
		wantErr bool
	}{
		{in: "10.0.0.1", want: transport.Target{Host: "10.0.0.1"}},
		{in: "trunk.example.net:5080;transport=tcp", want: transport.Target{Host: "trunk.example.net", Port: 5080, Transport: transport.TCP}},
		{in: "[2001:db8::1]:5061;transport=TLS", want: transport.Target{Host: "2001:db8::1", Port: 5061, Transport: transport.TLS}},
		{in: "2001:db8::1", want: transport.Target{Host: "2001:db8::1"}},
		{in: "host;transport=sctp", wantErr: true},
		{in: "host:99999", wantErr: true},
		{in: "host:0", wantErr: true},
		{in: ":5060", wantErr: true},
		{in: "[::1", wantErr: true},
	}
	for _, tc := range tests {
		got, err := transport.ParseTarget(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestResolve(t *testing.T) {
	res := &transporttest.Resolver{
		SRV: map[string][]*net.SRV{
			"_sip._udp.trunk.example": {
				{Target: "b.trunk.example.", Port: 5070, Priority: 20, Weight: 10},
				{Target: "a.trunk.example.", Port: 5080, Priority: 10, Weight: 10},
			},
			"_sip._tcp.tcponly.example": {{Target: "a.trunk.example.", Port: 5090, Priority: 1}},
		},
		Hosts: map[string][]netip.Addr{
			"a.trunk.example": {netip.MustParseAddr("127.0.0.10")},
			"b.trunk.example": {netip.MustParseAddr("127.0.0.11"), netip.MustParseAddr("::1")},
			"plain.example":   {netip.MustParseAddr("127.0.0.12")},
		},
	}
	l, err := transport.New(transport.Config{
		Handler:  newSink(),
		Resolver: res,
		Listeners: []transport.ListenerConfig{
			{Interface: "outside", Transport: transport.UDP, Addr: loop4},
			{Interface: "outside", Transport: transport.TCP, Addr: loop4},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	str := func(ds []transport.Dest) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Transport.String()+" "+d.Addr.String())
		}
		return out
	}
	tests := []struct {
		target transport.Target
		want   []string
		err    bool
	}{
		// SRV by priority; the IPv6 address has no listener and is skipped.
		{transport.Target{Host: "trunk.example"}, []string{"UDP 127.0.0.10:5080", "UDP 127.0.0.11:5070"}, false},
		// No UDP record: TCP SRV is tried next (§4.1 order).
		{transport.Target{Host: "tcponly.example"}, []string{"TCP 127.0.0.10:5090"}, false},
		// Explicit port: A/AAAA only (§4.2).
		{transport.Target{Host: "plain.example", Port: 5099, Transport: transport.TCP}, []string{"TCP 127.0.0.12:5099"}, false},
		// No SRV at all: A/AAAA with the default port.
		{transport.Target{Host: "plain.example"}, []string{"UDP 127.0.0.12:5060"}, false},
		{transport.Target{Host: "127.0.0.5"}, []string{"UDP 127.0.0.5:5060"}, false},
		// No TLS listener.
		{transport.Target{Host: "127.0.0.5", Transport: transport.TLS}, nil, true},
		{transport.Target{Host: "nxdomain.example"}, nil, true},
		// Interface filter.
		{transport.Target{Host: "127.0.0.5", Interface: "inside"}, nil, true},
	}
	for _, tc := range tests {
		ds, err := l.Resolve(ctx, tc.target)
		if (err != nil) != tc.err || !slices.Equal(str(ds), tc.want) {
			t.Errorf("Resolve(%+v) = %v, %v; want %v (error %v)", tc.target, str(ds), err, tc.want, tc.err)
		}
	}
}

func TestTargetFromURI(t *testing.T) {
	tests := []struct {
		uri  string
		want transport.Target
		err  bool
	}{
		{"sip:bob@trunk.example.net", transport.Target{Host: "trunk.example.net"}, false},
		{"sip:bob@10.0.0.1:5080;transport=TCP", transport.Target{Host: "10.0.0.1", Port: 5080, Transport: transport.TCP}, false},
		{"sips:bob@[2001:db8::1]", transport.Target{Host: "2001:db8::1", Secure: true}, false},
		{"sip:bob@a.example;maddr=192.0.2.9", transport.Target{Host: "192.0.2.9"}, false},
		{"tel:+15551234", transport.Target{}, true},
		{"sip:bob@a.example;transport=sctp", transport.Target{}, true},
	}
	for _, tc := range tests {
		u, err := sip.ParseURI(tc.uri)
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", tc.uri, err)
		}
		got, err := transport.TargetFromURI(u)
		if (err != nil) != tc.err || (err == nil && got != tc.want) {
			t.Errorf("TargetFromURI(%q) = %+v, %v; want %+v (error %v)", tc.uri, got, err, tc.want, tc.err)
		}
	}
}

func TestFlowSentBy(t *testing.T) {
	l, err := transport.New(transport.Config{Handler: newSink(), Listeners: []transport.ListenerConfig{
		{Interface: "pub", Transport: transport.UDP, Addr: loop4, Advertise: "sbc.example.net:5060"},
		{Interface: "any", Transport: transport.UDP, Addr: netip.MustParseAddrPort("0.0.0.0:0")},
		{Interface: "lo", Transport: transport.UDP, Addr: netip.MustParseAddrPort("[::1]:0")},
	}})
	if err != nil {
		testenv.Missing(t, "IPv6 loopback ("+err.Error()+")")
	}
	defer l.Close()
	for _, tc := range []struct {
		iface, dst, want string
	}{
		{"pub", "127.0.0.1:5060", "sbc.example.net:5060"},
		{"any", "127.0.0.1:5060", ""},
		{"lo", "[::1]:5060", "[::1]:" + fmt.Sprint(l.Listeners()[2].Addr.Port())},
	} {
		f, err := l.RequestFlow(transport.Dest{Transport: transport.UDP, Addr: netip.MustParseAddrPort(tc.dst), Interface: tc.iface})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.SentBy(); got != tc.want {
			t.Errorf("%s: SentBy %q, want %q", tc.iface, got, tc.want)
		}
	}
}

func TestTagOf(t *testing.T) {
	tests := []struct {
		v, tag string
		ok     bool
	}{
		{"<sip:a@b>;tag=abc", "abc", true},
		{`"Bob <x>;tag=no" <sip:b@c;tag=uri>;foo=1; TAG = 9z `, "9z", true},
		{"sip:a@b;tag=x1", "x1", true},
		{"sip:a@b", "", false},
		{"<sip:a@b;tag=inside>", "", false},
		{"<sip:a@b>;tagx=1;xtag=2", "", false},
		{"Alice <sip:a@b>;tag=", "", true},
	}
	for _, tc := range tests {
		tag, ok := transport.TagOf(tc.v)
		if tag != tc.tag || ok != tc.ok {
			t.Errorf("TagOf(%q) = %q, %v; want %q, %v", tc.v, tag, ok, tc.tag, tc.ok)
		}
	}
}
