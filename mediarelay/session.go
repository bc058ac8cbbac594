package mediarelay

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// legState is one leg of a session: its sockets, the remote signalled in
// SDP, the latched sources and the statistics. Guarded by Session.mu.
type legState struct {
	cfg      LegConfig
	iface    *iface
	pair     int
	rtpSock  *sock
	rtcpSock *sock // nil on an rtcp-mux leg until SetRTCPMux(false)

	signalled             bool
	remoteRTP, remoteRTCP netip.AddrPort
	latchRTP, latchRTCP   netip.AddrPort
	lastRTP, lastRTCP     int64 // relay clock of the last accepted packet per socket

	armed      int64 // relay clock when the media-timeout clock (re)started
	timedOutAt int64 // relay clock of the last timeout report (0: none pending)

	stats legStats
}

// Session is one anchored media stream pair: leg A and leg B, each with an
// RTP/RTCP port pair on its interface. Its methods are safe for concurrent
// use.
type Session struct {
	r       *Relay
	id      uint64
	worker  int
	timeout int64 // media timeout in ns; 0 disables
	onTO    func(Timeout)
	tag     any

	mu     sync.Mutex
	closed bool
	legs   [2]legState
	// live is the relay clock when both legs first had a remote: nothing
	// that arrived before is forwarded (see SetRemote).
	live int64
	// pool marks an idle-pool sentinel: the owner of pooled sockets between
	// sessions, whose handle discards everything.
	pool bool
}

// Local is the local media address of a leg, to be written into the SDP
// sent to that leg's party (c= address, m= port, a=rtcp / a=rtcp-mux).
type Local struct {
	Addr     netip.Addr
	RTPPort  uint16
	RTCPPort uint16 // always RTPPort+1, reserved even on an rtcp-mux leg
	RTCPMux  bool
}

// RTP returns the RTP address.
func (l Local) RTP() netip.AddrPort { return netip.AddrPortFrom(l.Addr, l.RTPPort) }

// RTCP returns the address RTCP is received on (the RTP address when muxed).
func (l Local) RTCP() netip.AddrPort {
	if l.RTCPMux {
		return l.RTP()
	}
	return netip.AddrPortFrom(l.Addr, l.RTCPPort)
}

// ID is the relay-unique session number.
func (s *Session) ID() uint64 { return s.id }

// Tag returns SessionConfig.Tag.
func (s *Session) Tag() any { return s.tag }

// Local returns the leg's local addresses. They never change for the life
// of the session, re-INVITEs included.
func (s *Session) Local(leg Leg) Local {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.legs[leg]
	return Local{Addr: l.iface.cfg.Addr, RTPPort: l.iface.rtpPort(l.pair), RTCPPort: l.iface.rtpPort(l.pair) + 1, RTCPMux: l.cfg.RTCPMux}
}

// SetRemote sets the leg's remote media addresses from SDP (RFC 3264 §5:
// c= and m= of the party's offer or answer; RFC 3605 a=rtcp). An invalid
// rtcp means the default: RTP port + 1 (RFC 3550 §11), or the RTP address
// on an rtcp-mux leg. The local ports never change. When the remote differs
// from the previous one (a re-INVITE or UPDATE moved the media) the leg's
// latch is reset so that it is learned afresh; an unchanged remote keeps
// the latch.
func (s *Session) SetRemote(leg Leg, rtp, rtcp netip.AddrPort) error {
	rtp = netip.AddrPortFrom(rtp.Addr().Unmap(), rtp.Port())
	rtcp = netip.AddrPortFrom(rtcp.Addr().Unmap(), rtcp.Port())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	l := &s.legs[leg]
	if !rtp.IsValid() || rtp.Port() == 0 || rtp.Addr().Is4() != l.iface.cfg.Addr.Unmap().Is4() {
		return fmt.Errorf("%w: leg %s rtp %v on interface %s", ErrBadRemote, leg, rtp, l.iface.cfg.Name)
	}
	if !rtcp.IsValid() || rtcp.Port() == 0 {
		if l.cfg.RTCPMux {
			rtcp = rtp
		} else {
			rtcp = netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
		}
	} else if rtcp.Addr().Is4() != rtp.Addr().Is4() {
		return fmt.Errorf("%w: leg %s rtcp %v", ErrBadRemote, leg, rtcp)
	}
	if l.signalled && l.remoteRTP == rtp && l.remoteRTCP == rtcp {
		return nil
	}
	wasLive := s.legs[0].signalled && s.legs[1].signalled
	l.remoteRTP, l.remoteRTCP = rtp, rtcp
	l.latchRTP, l.latchRTCP = netip.AddrPort{}, netip.AddrPort{}
	l.signalled = true
	l.stats.Remote = rtp
	now := s.r.now()
	if !wasLive && s.legs[0].signalled && s.legs[1].signalled {
		s.goLiveLocked(now)
	}
	s.rearmLocked(now)
	return nil
}

// goLiveLocked is the moment forwarding may start (both legs have a
// remote). Whatever the sockets received before stays unforwarded and
// unlatched, even if the engine has not read it yet: it may be stale media
// of the port's previous call (a pooled socket, or the same port reopened),
// or anything sent before the parties were told the port. Datagrams still
// queued are discarded here (counted as received and dropped), with the
// session locked so that no engine reads them concurrently into the
// session; live makes the goroutine engine drop a datagram it read before
// this point but handles after.
func (s *Session) goLiveLocked(now int64) {
	s.live = now
	for i := range s.legs {
		l := &s.legs[i]
		for _, so := range [2]*sock{l.rtpSock, l.rtcpSock} {
			if so == nil {
				continue
			}
			n, b := s.r.eng.discard(so)
			l.stats.Packets += n
			l.stats.Bytes += b
			l.stats.Dropped += n
		}
	}
}

// SetRTCPMux changes whether the leg multiplexes RTCP on the RTP port
// (RFC 5761), as a re-INVITE may. The ports stay the same: the odd port was
// reserved at creation and its socket (pooled with the pair, or new) is
// taken when multiplexing is turned off. Rare, so it works under the
// relay's lock.
func (s *Session) SetRTCPMux(leg Leg, on bool) error {
	r := s.r
	r.mu.Lock() // the pool's idle count, and evictions
	defer r.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	l := &s.legs[leg]
	if l.cfg.RTCPMux == on {
		return nil
	}
	if !on && l.rtcpSock == nil {
		f := l.iface
		so := r.socks[f.slot(l.pair, true)].Load()
		var err error
		if so != nil { // parked with the pair: adopt it
			f.idle--
			r.idleN--
			if err = r.adopt(so, s, leg); err != nil {
				r.closeSock(so)
			}
		} else {
			so, err = r.open(s, leg, f, l.pair, true)
			if err != nil && fdLimit(err) {
				if prs := r.evictLocked(max(r.idleN-fdEvictBatch, 0), nil); len(prs) > 0 {
					r.closePairSocks(prs)
					for _, pr := range prs {
						pr.f.coldAfterClose(pr.p)
					}
					so, err = r.open(s, leg, f, l.pair, true)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("mediarelay: interface %s port %d: %w", f.cfg.Name, f.rtpPort(l.pair)+1, err)
		}
		l.rtcpSock = so
	}
	l.cfg.RTCPMux = on
	if l.signalled && on {
		l.remoteRTCP = l.remoteRTP
	}
	return nil
}

// rearmLocked restarts both legs' media-timeout clocks (on a signalling
// change: the new remote has its own time to start sending).
func (s *Session) rearmLocked(now int64) {
	for i := range s.legs {
		s.legs[i].armed = now
		s.legs[i].timedOutAt = 0
	}
}

// Stats returns a snapshot of both legs' statistics.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{A: s.legSnapshot(LegA), B: s.legSnapshot(LegB)}
}

func (s *Session) legSnapshot(leg Leg) LegStats {
	l := &s.legs[leg]
	st := l.stats.LegStats
	st.Latched = l.latchRTP
	// A leg's reports describe the stream it receives from us, which is the
	// other leg's media: convert with that stream's clock rate.
	if clock := s.legs[leg.Other()].stats.clock; clock != 0 {
		st.ReportedJitter = time.Duration(int64(l.stats.reportedJitter) * int64(time.Second) / int64(clock))
	}
	if l.stats.lastNano != 0 {
		st.LastPacket = s.r.epoch.Add(time.Duration(l.stats.lastNano))
	}
	return st
}

// Close releases the session's ports. Its sockets go back to the pool with
// their ports (still open, read and discarded) or, with the pool off or
// full, are closed. It is idempotent.
func (s *Session) Close() error {
	r := s.r
	r.mu.Lock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		r.mu.Unlock()
		return nil
	}
	prs := s.detachLocked(len(s.legs), !r.closed)
	delete(r.sessions, s.id)
	if r.closed {
		// Relay.Close is tearing down: no pool, close here.
		r.closePairSocks(prs)
		for _, pr := range prs {
			pr.f.coldAfterClose(pr.p)
		}
		r.mu.Unlock()
		return nil
	}
	if len(prs) == 0 {
		r.mu.Unlock()
		return nil
	}
	r.ops.Add(1)
	r.mu.Unlock()
	r.closePairs(prs) // closing is costly (inet_release, RCU): outside the lock
	r.ops.Done()
	return nil
}
