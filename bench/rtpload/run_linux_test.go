//go:build linux

package rtpload

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sbc-project/sbc/mediarelay"
)

// TestRunThroughMediarelay drives a few calls through the SBC's relay
// behind the NG server, exactly as the benchmark does, and checks that
// every packet came back.
func TestRunThroughMediarelay(t *testing.T) {
	r, err := mediarelay.New(mediarelay.Config{Interfaces: []mediarelay.InterfaceConfig{
		{Name: "lo", Addr: netip.MustParseAddr("127.0.0.1"), PortMin: 44000, PortMax: 44199}}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	srv, err := NewNGServer(r, "lo", netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	defer func() { srv.Close(); <-done }()
	ng := srv.conn.LocalAddr().String()
	res, err := Run(Config{NG: netip.MustParseAddrPort(ng), Local: netip.MustParseAddr("127.0.0.1"), Calls: 10,
		Duration: 500 * time.Millisecond, CallIDTag: "t", RecvPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Delivered != res.Sent || res.Loss != 0 || res.P50 <= 0 {
		t.Fatalf("result %v", res)
	}
	if st := r.Stats(); st.Sessions != 0 {
		t.Fatalf("%d sessions left after the run deleted its calls", st.Sessions)
	}
	t.Log(res)
}
