// Package mediarelay anchors RTP/RTCP media (RFC 3550) on the SBC's own
// addresses: per-interface pools of even/odd port pairs, two-leg sessions
// whose packets are forwarded from one leg's remote to the other's, latching
// (symmetric RTP for NAT, strict, latch-once), rtcp-mux (RFC 5761), STUN
// binding answers (RFC 8489) demultiplexed by RFC 7983, per-leg statistics
// (RFC 3550 A.1, A.3, A.8 and SR/RR reports) and media timeouts.
//
// # Using it
//
// The B2BUA creates a Relay with New, then one Session per media stream
// with Relay.NewSession. It writes Session.Local(leg) into the SDP it sends
// to each leg and calls Session.SetRemote(leg, rtp, rtcp) with the address
// of each SDP it receives from that leg. Nothing is forwarded until both
// legs have a remote. The local ports of a session never change, so a
// re-INVITE only calls SetRemote again (which resets the latch when the
// address changed). OnTimeout reports a leg that went silent; Close frees
// the ports. Relay.Stats gives ports in use per interface for metrics.
//
// # Forwarding engine and why
//
// On Linux the default engine (EngineEpoll) runs Config.Workers goroutines,
// each locked to an OS thread and owning an epoll set over a shard of the
// sockets (all sockets of a session in the same shard). A worker waits in
// epoll_wait (level-triggered), and for each ready socket takes the
// session's mutex once, reads with recvmmsg (x/sys/unix, MSG_DONTWAIT) into
// its own preallocated buffers until the socket is empty or DrainCap
// datagrams were read (so a flooded port cannot starve the others: the rest
// waits for the next round), decides each datagram's fate, and sends every
// run of datagrams that leave by the same socket with one sendmmsg straight
// from the receive buffers. No allocation, goroutine, timer or log line is
// made per packet; RTP headers are checked with pion/rtp's Header.Unmarshal
// into a reused struct, RTCP SR/RR are read with pion/rtcp into reused
// structs and forwarded unchanged.
//
// The alternatives were measured (see relay_bench_test.go and bench/rtpload):
// with one socket per leg at 50 packets/s, a wakeup finds about one packet,
// so batching per socket gains little by itself; what matters is the cost
// per wakeup. A goroutine per socket (EngineGoroutine, kept as the portable
// fallback and as the baseline) pays a netpoller wakeup, a goroutine switch
// and two system calls per packet, and under overload it falls behind
// because every socket competes for the scheduler; an epoll worker drains
// many ready sockets per epoll_wait on one thread with no scheduler hop.
// x/net/ipv4.PacketConn.ReadBatch was not used because it allocates per
// packet (net.UDPAddr per message); ReadFromUDPAddrPort does not allocate
// and is what the goroutine engine uses. Sockets get a large SO_RCVBUF
// (Config.RecvBuffer, forced past rmem_max when privileged).
//
// Off Linux the goroutine engine is the only one (engine_default.go).
package mediarelay
