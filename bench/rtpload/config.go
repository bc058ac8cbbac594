package rtpload

import (
	"fmt"
	"net/netip"
	"time"
)

// Config describes one load step.
type Config struct {
	NG        netip.AddrPort // the relay's NG control address
	Local     netip.Addr     // address of the generator's two endpoints
	Calls     int            // concurrent calls: 2 streams each, 1 per direction
	PPS       int            // packets per second per stream (50 for 20 ms G.711)
	Size      int            // RTP packet size in bytes (172 for G.711 20 ms)
	Duration  time.Duration  // how long to send
	RelayPID  int            // relay process to measure CPU of (0: none)
	CallIDTag string         // prefix of call IDs (unique per step)
	// RecvPoll, when positive, makes the generator's receivers poll their
	// sockets every RecvPoll (MSG_DONTWAIT) instead of sleeping in
	// recvmmsg. On loopback the sender's system call delivers the datagram
	// and wakes a sleeping receiver, so with blocking receivers the relay's
	// CPU includes an inter-processor wakeup of the generator per forwarded
	// packet, which a real network card would not cost it. Latency then
	// includes up to RecvPoll of polling delay.
	RecvPoll time.Duration
}

// Result is what a step measured.
type Result struct {
	Calls, Sockets   int           // calls and relay RTP sockets carrying traffic (2 per call)
	TargetPPS        int           // offered packets per second, both directions
	Sent, Delivered  uint64        // packets
	Loss             float64       // fraction of sent packets not delivered
	P50, P99, Max    time.Duration // one-way latency through the relay
	Elapsed          time.Duration // sending time
	RelayCPU         time.Duration // relay process CPU (user+system) over the step
	RelayCPUPerPkt   time.Duration // RelayCPU / Sent
	RelayUtilization float64       // RelayCPU / Elapsed
	RelayDrops       uint64        // datagrams the kernel dropped on the relay's sockets (full receive buffer)
	GenDrops         uint64        // datagrams dropped on the generator's own sockets (generator too slow)
	Drain            time.Duration // time after sending stopped until the last packet arrived
}

// String formats the result as one table row.
func (r Result) String() string {
	return fmt.Sprintf("calls=%d sockets=%d offered=%dpps sent=%d delivered=%d loss=%.4f%% (relay-socket drops %d, generator-socket drops %d) p50=%v p99=%v max=%v drain=%v relay-cpu=%v (%.1f%% of a core) cpu/pkt=%v",
		r.Calls, r.Sockets, r.TargetPPS, r.Sent, r.Delivered, 100*r.Loss, r.RelayDrops, r.GenDrops, r.P50, r.P99, r.Max.Round(time.Microsecond), r.Drain.Round(time.Millisecond), r.RelayCPU.Round(time.Millisecond), 100*r.RelayUtilization, r.RelayCPUPerPkt)
}
