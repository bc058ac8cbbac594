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
// the ports. Relay.Stats gives ports in use and idle pooled sockets per
// interface, and the pool's counters, for metrics.
//
// # Socket pool and why
//
// Each session needs up to four UDP sockets (two legs, RTP and RTCP). Under
// a SIPp call-rate load of 3,000 calls/s with 1 s calls, perf showed
// opening and closing them (socket, setsockopt, bind, epoll_ctl,
// inet_release and the RCU frees of their inodes) at about 16% of the whole
// SBC's CPU, all under the relay's global lock. BenchmarkSessionSetup (one
// session with four sockets set up, signalled and closed per op; same
// 2-CPU VM as below) measured 52-60 µs and 11 allocations without the
// pool, 7-9.5 µs and 1 allocation with it (epoll engine; goroutine engine
// 102-112 µs against 7-8 µs), not counting the kernel's deferred frees;
// three quarters of the rest are the eight recvfrom calls that empty the
// sockets on reuse and on going live (below). So a session's sockets do
// not close when it ends: they stay open
// and bound with their port pair, in the engine's read set, and the next
// session that takes the pair adopts them. An idle pooled socket is owned
// by a sentinel whose handler counts (Stats.IdleDatagrams) and discards
// everything: it never forwards and never answers, STUN included, since
// the relay answers only on ports that a session holds.
//
// Stale media is the hazard of port reuse, pooled or not: the far end of
// the ended call may go on sending to the port. Three rules keep it out of
// the next call. Free pairs are queued FIFO, a released one at the back:
// pooled (warm) pairs are preferred, but a warm pair younger than
// Config.ReuseDelay (2 s) is passed over for a never-used (cold) one while
// the pool may still grow. When a session adopts a socket, whatever is
// queued on it is read and discarded first, and the session's state (remote,
// latch, statistics) is its own and new. And when a session goes live (the
// second leg gets its remote), whatever its sockets hold is discarded
// under its lock, so a datagram that arrived before is never forwarded or
// latched, however late the engine reads it (the goroutine engine also
// compares each datagram's read time with that moment). Strict latching
// never accepts the stale source afterwards either; learning modes accept
// the first source that sends after going live, as for a fresh socket.
//
// Config.IdleSockets bounds the idle sockets (default: a quarter of the
// soft RLIMIT_NOFILE, at most every port of the ranges); beyond it the
// oldest idle pairs are closed, and a full pool reuses its oldest pair at
// once. Sockets are opened, adopted and closed outside the relay's lock
// (only the pair bookkeeping is under it). An allocation gives up at once
// on any error but EADDRINUSE (a port held by another process moves it to
// the next pair, and that pair is passed over for a while); on EMFILE or
// ENFILE it first closes a few idle pooled sockets and retries once. At
// the open-files limit, trying every port of the range (one failing
// socket() each) had taken 90% of the CPU.
//
// # Forwarding engine and why
//
// On Linux the default engine (EngineEpoll) runs Config.Workers goroutines,
// each owning an epoll set over a shard of the sockets (all sockets of a
// session in the same shard). A worker looks with a non-blocking
// epoll_wait (level-triggered) and, when nothing is ready, parks in Go's
// netpoller until its set is (see below); for each ready socket it takes
// the session's mutex once and reads with recvmmsg (x/sys/unix,
// MSG_DONTWAIT) into its own preallocated buffers until the socket is
// empty or DrainCap datagrams were read (so a flooded port cannot starve
// the others: the rest waits for the next round). Every datagram is then decided (classify,
// RTP header check with pion/rtp's Header.Unmarshal into a reused struct,
// latch, statistics, destination) and sent without being copied:
//
//   - a socket that yielded one datagram (the usual case at 50 packets/s
//     per leg) has it queued, with IPv4 and UDP headers the worker writes
//     itself, on the worker's raw IPPROTO_RAW socket; the whole round's
//     queue, from however many legs, leaves in one sendmmsg. This halves
//     the system calls per packet compared with one send per leg socket,
//     which is what system calls cost most on virtual machines. It needs
//     CAP_NET_RAW; without it (or with Config.SocketSend, or for IPv6) each
//     datagram leaves by its leg socket.
//   - a socket that yielded a batch has its runs of equal-sized datagrams
//     to one destination sent with one sendmsg and UDP_SEGMENT (GSO),
//     other runs with sendmmsg on the leg socket.
//
// After a busy round the worker pauses Config.Coalesce (500 µs) before
// looking again, so that the next epoll_wait finds many sockets ready
// (interrupt moderation); idle or lightly loaded, it wakes on the first
// packet. No allocation, goroutine, timer or log line is made per packet;
// RTCP SR/RR are read with pion/rtcp into reused structs and forwarded
// unchanged.
//
// The worker never blocks in a system call. A thread blocked in one keeps
// its P; the runtime's sysmon thread takes it back when no other P is idle
// or when the same goroutine has held it for 10 ms (a worker loop always
// has), and after every such retake sysmon polls again in 20 µs. A worker
// that waited in epoll_wait and paused in nanosleep on a locked thread (the
// design until November 2026) so kept sysmon waking about 50,000 times a
// second: in the saturated benchmark sysmon used 450-700 ns per packet,
// a quarter to a third of the relay's CPU. Instead the worker parks on a
// gate, an epoll set whose only member is the worker's set, registered
// with the netpoller (os.NewFile, SyscallConn().Read) and armed only while
// the worker waits: left armed, every packet arriving while the worker
// works or pauses wakes the runtime's poller thread for nothing, which
// cost more than sysmon did. It pauses on a timerfd in the netpoller (a Go
// timer under 1 ms becomes 1 ms when the runtime sleeps in epoll_wait).
// Parked, the worker holds no P and is not locked to a thread, so the
// thread that finds it ready runs it; it locks itself to that thread only
// until it parks again, which keeps its CPU clock (Relay.Stats WorkerCPU)
// its own. A worker locked throughout is handed from the poller's thread
// to its own on every wakeup, which cost 30% more CPU per packet at
// 10,000 packets/s. Its raw system calls (epoll_wait with timeout 0,
// recvmmsg and sendmmsg with MSG_DONTWAIT, epoll_ctl, timerfd_settime,
// clock_gettime) never block, so they cannot delay a garbage-collector
// stop-the-world.
//
// Measured alternatives (BenchmarkRelay* in bench_linux_test.go, and
// bench/rtpload with scripts/bench-media.sh against rtpengine): with one
// socket per leg at 50 packets/s a socket holds one packet per wakeup, so
// recvmmsg alone saves little; the cost is one receive and one send system
// call per packet. A goroutine per socket (EngineGoroutine, the portable
// fallback, reading with ReadFromUDPAddrPort, which allocates nothing) adds
// a netpoller wakeup and a goroutine switch per packet and cost about 30%
// more CPU per packet over 2,000 sockets; a naive ReadFromUDP/WriteToUDP
// loop also allocates a *UDPAddr per packet. x/net/ipv4.ReadBatch was not
// used because it allocates per packet. Sockets get a large SO_RCVBUF
// (Config.RecvBuffer, forced past rmem_max when privileged), which is what
// keeps a burst from being dropped while the worker serves other sockets.
//
// Figures (bench/results/; a 2-CPU nested VM shared with other work, relay
// and generator under SCHED_FIFO, so absolute numbers are high and noisy:
// compare within a run). Relay CPU per packet at 100,000 pps over 2,000
// sockets, three runs before the netpoller wait: epoll 6.1-6.5 µs,
// rtpengine 10.5 (userspace) 8.5-9.5 µs (0.66-0.77x); in run 1 also epoll
// with per-socket sending 7.4 µs and goroutine per socket 8.9 µs. With it
// (media-20261125-netpoll.txt): 5.2 µs against rtpengine's 8.95 µs
// (0.58x), and 5.3 µs for the previous wait in the same session: at that
// load the worker wakes about 1,000 times a second and sysmon cost little.
// At 10,000 and 30,000 pps over 200 and 600 sockets the netpoller wait cut
// the relay's CPU per packet from 16.3 to 10.8 µs and from 8.6 to 6.7 µs,
// latency unchanged (media-20261125-netpoll-before-after.txt). At 200,000
// pps over 4,000 sockets the epoll engine lost nothing, rtpengine 36-45%.
// BenchmarkRelaySaturatedSocket (one socket, three runs): 3.0-4.4x the
// packets per CPU-second of the naive relay (3.5-4.8x with per-socket
// sending; the previous wait, variant epoll-syscallwait, 2.0-3.1x). With
// the benchmark's generator waiting in blocking system calls (-genblock,
// as it did before) the generator's own sysmon churn is charged to every
// relay and both waits measure 2.4-3.5x. BenchmarkRelayManySockets: epoll
// 0.64-0.73x the naive relay's CPU per packet over 200 sockets and
// 0.60-0.72x over 2,000 (previous wait 0.90-0.95x and 0.86-0.98x).
//
// Off Linux the goroutine engine is the only one (engine_default.go).
package mediarelay
