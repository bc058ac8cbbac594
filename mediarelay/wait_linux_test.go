//go:build linux

package mediarelay

import (
	"testing"
	"time"
)

// TestEpollWaitNoLostWakeup drives one worker through its wait paths (idle
// park on the gate, coalescing pause on the timer, immediate poll) with
// bursts of 1 to 37 packets and idle gaps, and fails on the first packet
// that does not come through: a wakeup lost between the worker's last look
// and its park would leave the burst stuck in the socket.
func TestEpollWaitNoLostWakeup(t *testing.T) {
	r := newRelay(t, variant{"epoll", EngineEpoll, false}, func(c *Config) { c.Workers = 1 })
	w := r.eng.(*epollEngine).workers[0]
	if !w.parked {
		t.Fatal("epoll worker waits in blocking system calls: the runtime did not take the gate or the timer into its netpoller")
	}
	a, b := newPeer(t, inside), newPeer(t, outside)
	s, err := r.NewSession(SessionConfig{ALeg: LegConfig{Interface: "inside"}, BLeg: LegConfig{Interface: "outside"}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetRemote(LegA, a.addr(), a.addr())
	s.SetRemote(LegB, b.addr(), b.addr())
	to, from := s.Local(LegA).RTP(), s.Local(LegB).RTP()
	seq := uint16(0)
	for i := 0; i < 600; i++ {
		k := 1 + i%37 // 16 or more make the round busy: the worker pauses
		for j := 0; j < k; j++ {
			seq++
			a.send(to, rtpPacket(7, seq, uint32(seq)*160, 160))
		}
		for j := 0; j < k; j++ {
			b.expect(2*time.Second, from, nil)
		}
		if i%5 == 0 {
			time.Sleep(time.Duration(i%3) * 300 * time.Microsecond) // idle: the worker parks
		}
	}
	if wk := w.wakeups.Load(); wk == 0 {
		t.Fatal("no wakeup counted")
	}
}
