package mediarelay

import (
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/pion/rtp"
)

// sock is one local media socket: the RTP (even) or RTCP (odd) port of a
// pair. It lives from its open to its close, which may span many sessions
// (see the package documentation on the socket pool).
type sock struct {
	// owner is the session the socket serves, an idle-pool sentinel (the
	// socket is pooled: read and discarded) or the relay's dead sentinel
	// (being closed). It changes only with the current owner's mutex held,
	// so a reader that locked the owner it loaded and finds it unchanged
	// may use the socket until it unlocks (sock.lock).
	owner atomic.Pointer[Session]
	leg   Leg  // the owner's leg it serves; guarded like owner
	rtcp  bool // the odd port
	slot  int  // index in the relay's socket table
	local netip.AddrPort
	// w is the epoll worker whose set holds the descriptor (0 for the
	// goroutine engine); changed only by whoever holds the pair.
	w  int
	io sockIO // engine-specific handle (fd or *net.UDPConn)
}

// lock locks and returns the socket's current owner.
func (so *sock) lock() *Session {
	for {
		s := so.owner.Load()
		s.mu.Lock()
		if so.owner.Load() == s {
			return s
		}
		s.mu.Unlock()
	}
}

// pkt is one datagram in a batch, in a caller-owned buffer. The engine fills
// buf, n and src; handle fills out and dst (out == nil: drop).
type pkt struct {
	buf []byte // the whole buffer (len = capacity for a datagram)
	n   int
	src netip.AddrPort
	out *sock
	dst netip.AddrPort
}

// scratch is the per-worker (or per-goroutine) reusable decode state.
type scratch struct {
	rtp  rtp.Header
	rtcp rtcpScratch
	stun stunScratch
}

// packet kinds by the first byte, RFC 7983 §7 (updating RFC 5764 §5.1.2).
const (
	kindDrop = iota
	kindSTUN
	kindRTP
	kindRTCP
)

// classify demultiplexes a datagram by RFC 7983 §7: first byte 0–3 is STUN,
// 128–191 is RTP or RTCP; RTCP is told from RTP by its packet type in the
// second byte, 192–223 (RFC 5761 §4). ZRTP (16–19), DTLS (20–63) and TURN
// channels (64–79) are not relayed by this relay and are dropped.
func classify(b []byte) int {
	if len(b) < 2 {
		return kindDrop
	}
	switch b0 := b[0]; {
	case b0 <= 3:
		return kindSTUN
	case b0 >= 128 && b0 <= 191:
		if b[1] >= 192 && b[1] <= 223 {
			return kindRTCP
		}
		return kindRTP
	}
	return kindDrop
}

// accept applies the leg's latching mode to a datagram's source and reports
// whether it is taken. Called with the session mutex held.
func (l *legState) accept(in *sock, src netip.AddrPort, now int64, relatch int64) bool {
	latch, last := &l.latchRTP, &l.lastRTP
	want := l.remoteRTP
	if in.rtcp {
		latch, last = &l.latchRTCP, &l.lastRTCP
		want = l.remoteRTCP
	}
	switch l.cfg.Latch {
	case LatchStrict:
		// Only the address signalled in SDP (RFC 3264 §5/§6 c=/m= address).
		if src != want {
			return false
		}
	case LatchOnce:
		if !latch.IsValid() {
			*latch = src
		} else if src != *latch {
			return false
		}
	default: // LatchLearn
		if !latch.IsValid() || (src != *latch && now-*last > relatch) {
			*latch = src
		} else if src != *latch {
			return false
		}
	}
	*last = now
	return true
}

// sendRTP is where this leg's RTP goes: the latched source, or the signalled
// address until something is latched (and always in strict mode).
func (l *legState) sendRTP() netip.AddrPort {
	if l.cfg.Latch != LatchStrict && l.latchRTP.IsValid() {
		return l.latchRTP
	}
	return l.remoteRTP
}

func (l *legState) sendRTCP() netip.AddrPort {
	if l.cfg.Latch != LatchStrict && l.latchRTCP.IsValid() {
		return l.latchRTCP
	}
	return l.remoteRTCP
}

// handle decides the fate of one received datagram: forward (p.out, p.dst),
// answer (STUN: p.out = in, p.dst = source, response in p.buf) or drop
// (p.out = nil). It runs with the session mutex held, reads nothing but
// the packet's bytes and the session, and does not allocate.
func (s *Session) handle(in *sock, p *pkt, sc *scratch, now int64) {
	p.out = nil
	l := &s.legs[in.leg]
	st := &l.stats
	st.Packets++
	st.Bytes += uint64(p.n)
	if s.pool {
		// A pooled socket between sessions: its port belongs to no call, so
		// nothing it receives (stale media of the ended call) is forwarded
		// or answered, STUN included.
		st.Dropped++
		return
	}
	b := p.buf[:p.n]
	switch classify(b) {
	case kindSTUN:
		// RFC 8489 binding requests (ICE connectivity checks, keepalives) are
		// answered on the port they reached and never forwarded (RFC 7983).
		if n := answerSTUN(p.buf, p.n, p.src, &sc.stun); n > 0 {
			st.STUN++
			p.n = n
			p.out = in
			p.dst = p.src
			return
		}
	case kindRTP:
		peer := &s.legs[in.leg.Other()]
		// RTP arrives on the even port only (RFC 3550 §11); the relay never
		// forwards before signalling gave both legs a remote, nor a datagram
		// that arrived before (now < live: read by the goroutine engine
		// before SetRemote completed).
		if in.rtcp || !l.signalled || !peer.signalled || now < s.live {
			break
		}
		// RFC 3550 §5.1: version 2 (checked by classify), a header that fits,
		// and padding that fits in what follows it.
		hl, err := sc.rtp.Unmarshal(b)
		if err != nil || (sc.rtp.Padding && (int(b[p.n-1]) == 0 || int(b[p.n-1]) > p.n-hl)) {
			break
		}
		if !l.accept(in, p.src, now, s.r.relatch) {
			break
		}
		st.onRTP(&sc.rtp, now, l.cfg.ClockRates)
		st.lastNano = now
		p.out, p.dst = peer.rtpSock, peer.sendRTP()
	case kindRTCP:
		peer := &s.legs[in.leg.Other()]
		// RTCP comes on the odd port, or on the RTP port when the leg
		// negotiated rtcp-mux (RFC 5761 §5.1.3).
		if !l.signalled || !peer.signalled || now < s.live || (!in.rtcp && !l.cfg.RTCPMux) {
			break
		}
		if sc.rtcp.hdr.Unmarshal(b) != nil || !l.accept(in, p.src, now, s.r.relatch) {
			break
		}
		st.onRTCP(b, &sc.rtcp) // stats only; the original bytes are forwarded
		st.RTCP++
		st.lastNano = now
		// RFC 5761 §5.1.3: on a multiplexed leg RTCP goes to the RTP port.
		if peer.cfg.RTCPMux {
			p.out, p.dst = peer.rtpSock, peer.sendRTP()
		} else {
			p.out, p.dst = peer.rtcpSock, peer.sendRTCP()
		}
	}
	if p.out == nil || !p.dst.IsValid() {
		p.out = nil
		st.Dropped++
	}
}

// sockIO is a socket's engine-specific handle: a raw descriptor for the
// epoll engine, a *net.UDPConn for the goroutine engine.
type sockIO struct {
	fd   int
	conn *net.UDPConn
}

// maxDatagram is the size of each receive buffer; a longer datagram is
// truncated by the kernel and dropped.
const maxDatagram = 2048
