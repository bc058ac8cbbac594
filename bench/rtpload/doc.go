// Package rtpload is the media load generator of the SBC benchmarks. It
// sets calls up on an RTP relay through the relay's NG control protocol
// (rtpengine's bencode-over-UDP offer/answer/delete), drives N concurrent
// G.711-like streams through it (172-byte RTP packets, 50 per second per
// direction, paced), and measures delivered packets, loss, added latency
// (p50/p99) and the relay process's CPU time per packet from
// /proc/PID/stat. It also contains a minimal NG server in front of
// package mediarelay, so that the SBC's relay and Debian's rtpengine-daemon
// are driven by exactly the same client and generator in one run.
package rtpload
