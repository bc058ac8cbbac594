package mediarelay

import (
	"net/netip"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// LegStats are the counters of what one leg's sockets received from that
// leg's remote party, plus what its RTCP reports say about the stream it
// receives from us.
type LegStats struct {
	Packets   uint64 // datagrams received on the leg's sockets (all kinds, accepted or not)
	Bytes     uint64 // their payload bytes
	RTP       uint64 // accepted RTP packets
	RTCP      uint64 // accepted RTCP packets
	Forwarded uint64 // packets sent out of the other leg
	Dropped   uint64 // rejected: foreign source, no remote yet, malformed, send failure
	STUN      uint64 // STUN binding requests answered

	SSRC        uint32 // current RTP SSRC
	SSRCChanges uint64 // times the SSRC changed after the first one
	Gaps        uint64 // sequence number gaps seen (each gap counts once)
	Lost        int64  // cumulative packets lost (RFC 3550 A.3: expected - received, all SSRCs)
	Expected    int64  // packets expected from sequence numbers (RFC 3550 A.3)
	Jitter      time.Duration

	// RTCP reception reports from this leg's remote (about the media we send
	// it), from the last SR/RR received.
	Reports        uint64        // SR/RR packets read
	ReportedLost   int32         // cumulative number of packets lost
	ReportedFrac   uint8         // fraction lost, /256
	ReportedJitter time.Duration // interarrival jitter, converted with the stream's clock rate

	LastPacket time.Time      // arrival of the last accepted packet (zero: none)
	Remote     netip.AddrPort // signalled RTP remote
	Latched    netip.AddrPort // latched RTP source (zero: not latched)
}

// Stats is a snapshot of a session's two legs.
type Stats struct {
	A, B LegStats
}

// legStats is the worker-side state, guarded by the session mutex.
type legStats struct {
	LegStats
	lastNano int64 // relay clock of LastPacket

	// RFC 3550 A.1 sequence state for the current SSRC.
	haveSeq    bool
	maxSeq     uint16
	cycles     int64
	baseSeq    int64
	received   int64
	prevLost   int64 // lost over earlier SSRCs
	prevExpect int64

	// RFC 3550 A.8 jitter state.
	clock     uint32 // clock rate of the last payload type (0: unknown)
	transit   int64
	jitter16  int64 // jitter * 16 in timestamp units
	haveTrans bool

	reportedJitter uint32 // last reported jitter in timestamp units
}

// staticClock is the RTP clock rate of the static payload types of RFC 3551 §6.
func staticClock(pt uint8) uint32 {
	switch {
	case pt <= 9 || (pt >= 12 && pt <= 13) || pt == 15 || pt == 18: // audio at 8 kHz (G.722 uses 8000 by §4.5.2)
		return 8000
	case pt == 10 || pt == 11:
		return 44100
	case pt == 14 || pt == 25 || pt == 26 || pt == 28 || (pt >= 31 && pt <= 34):
		return 90000
	case pt == 16:
		return 11025
	case pt == 17:
		return 22050
	}
	return 0
}

// onRTP updates sequence, loss and jitter state for one accepted RTP packet.
func (s *legStats) onRTP(h *rtp.Header, nowNano int64, rates map[uint8]uint32) {
	s.RTP++
	if !s.haveSeq || h.SSRC != s.SSRC {
		if s.haveSeq {
			s.SSRCChanges++
			s.prevLost, s.prevExpect = s.Lost, s.Expected
		}
		s.SSRC = h.SSRC
		s.haveSeq = true
		s.maxSeq = h.SequenceNumber
		s.baseSeq = int64(h.SequenceNumber)
		s.cycles = 0
		s.received = 0
		s.haveTrans = false
	} else {
		// RFC 3550 A.1: a small forward step advances (and may wrap) the
		// highest sequence number; a large one is a restart of the sender's
		// numbering; anything else is a duplicate or reordered packet.
		const maxDropout, maxMisorder = 3000, 100
		delta := h.SequenceNumber - s.maxSeq
		switch {
		case delta == 0:
		case delta < maxDropout:
			if delta > 1 {
				s.Gaps++
			}
			if h.SequenceNumber < s.maxSeq {
				s.cycles += 1 << 16
			}
			s.maxSeq = h.SequenceNumber
		case delta <= 1<<16-maxMisorder:
			s.prevLost, s.prevExpect = s.Lost, s.Expected
			s.maxSeq = h.SequenceNumber
			s.baseSeq = int64(h.SequenceNumber)
			s.cycles = 0
			s.received = 0
		}
	}
	s.received++
	expected := s.cycles + int64(s.maxSeq) - s.baseSeq + 1
	lost := expected - s.received
	if lost < 0 {
		lost = 0 // duplicates
	}
	s.Expected = s.prevExpect + expected
	s.Lost = s.prevLost + lost

	// RFC 3550 A.8: interarrival jitter in timestamp units, estimated with
	// the integer form J += |D| - ((J + 8) >> 4).
	rate := staticClock(h.PayloadType)
	if r, ok := rates[h.PayloadType]; ok {
		rate = r
	}
	if rate == 0 {
		return
	}
	if rate != s.clock {
		s.clock = rate
		s.haveTrans = false
		s.jitter16 = 0
	}
	arrival := nowNano / 1000 * int64(rate) / 1_000_000 // µs granularity avoids overflow for years
	transit := arrival - int64(h.Timestamp)
	if s.haveTrans {
		d := transit - s.transit
		// Timestamps wrap at 2^32: fold the difference into int32 range.
		d = int64(int32(d))
		if d < 0 {
			d = -d
		}
		s.jitter16 += d - ((s.jitter16 + 8) >> 4)
	}
	s.transit = transit
	s.haveTrans = true
	s.Jitter = time.Duration((s.jitter16 >> 4) * int64(time.Second) / int64(rate))
}

// rtcpScratch holds reused decode targets so that reading a report does not
// allocate once the Reports slices have grown.
type rtcpScratch struct {
	hdr rtcp.Header
	sr  rtcp.SenderReport
	rr  rtcp.ReceiverReport
}

// onRTCP walks a (compound) RTCP packet and records the first reception
// report block of each SR (RFC 3550 §6.4.1) and RR (§6.4.2). Packets are
// only read, never re-encoded: the relay forwards the original bytes. It
// reports false for a packet that is not well-formed RTCP.
func (s *legStats) onRTCP(b []byte, sc *rtcpScratch) bool {
	first := true
	for len(b) > 0 {
		if err := sc.hdr.Unmarshal(b); err != nil {
			return false
		}
		n := 4 * (int(sc.hdr.Length) + 1)
		if n > len(b) {
			return false
		}
		sub := b[:n]
		b = b[n:]
		var reports []rtcp.ReceptionReport
		switch sc.hdr.Type {
		case rtcp.TypeSenderReport:
			sc.sr.Reports = sc.sr.Reports[:0]
			if sc.sr.Unmarshal(sub) != nil {
				return !first
			}
			reports = sc.sr.Reports
		case rtcp.TypeReceiverReport:
			sc.rr.Reports = sc.rr.Reports[:0]
			if sc.rr.Unmarshal(sub) != nil {
				return !first
			}
			reports = sc.rr.Reports
		default:
			first = false
			continue
		}
		first = false
		s.Reports++
		if len(reports) > 0 {
			r := &reports[0]
			s.ReportedLost = int32(r.TotalLost<<8) >> 8 // 24-bit signed (RFC 3550 §6.4.1)
			s.ReportedFrac = r.FractionLost
			s.reportedJitter = r.Jitter
		}
	}
	return true
}
