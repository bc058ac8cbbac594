package b2bua

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/sbc-project/sbc/mediarelay"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sdp"
	"github.com/sbc-project/sbc/sip"
)

// errNoMedia is returned when an offer keeps no stream the policy allows;
// the caller answers 488 (RFC 3261 §13.3.1.4).
var errNoMedia = errors.New("b2bua: no acceptable media")

// relayBody puts into out the body of in, received on leg from and sent on
// leg to: an SDP is anchored and rewritten (crossSDP); any other body is
// content and copied with its Content-Type. offer tells whether an SDP in
// in is an offer (RFC 3264) or an answer.
func (c *Call) relayBody(from, to *callLeg, in, out *sip.Message, offer bool) error {
	if len(in.Body) == 0 {
		return nil
	}
	ct, _ := in.GetHeader("Content-Type")
	if !isSDP(ct) {
		out.SetBody(ct, in.Body)
		return nil
	}
	body, err := c.crossSDP(from, to, in.Body, offer)
	if err != nil {
		return err
	}
	out.SetBody("application/sdp", body)
	return nil
}

// crossSDP anchors every stream of an SDP received on leg from in the media
// relay and rewrites it for leg to: c=, o=, m= ports, a=rtcp, ICE removed,
// codecs filtered by both trunks' allow-lists (package sdp, Rewrite). Relay
// ports stay the same for the life of the call, across re-INVITEs and
// UPDATEs (one session per m= line, created on first sight).
func (c *Call) crossSDP(from, to *callLeg, body []byte, offer bool) ([]byte, error) {
	if c.s.cfg.Relay == nil {
		return nil, errors.New("b2bua: no media relay configured")
	}
	sess, err := sdp.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("b2bua: sdp: %w", err)
	}
	streams := sdp.Remote(sess)
	params := sdp.RewriteParams{Origin: to.origin, Offer: offer, Codecs: codecsFor(c.a.trunk, c.b.trunk)}
	for i, st := range streams {
		ms, err := c.mediaSession(i, st)
		if err != nil {
			return nil, err
		}
		if !st.Rejected && st.Addr.IsValid() && st.Addr.Addr().IsValid() && !st.Hold {
			rtcp := st.RTCP
			if st.RTCPMux {
				rtcp = st.Addr
			}
			if err := ms.SetRemote(from.side, unmap(st.Addr), unmap(rtcp)); err != nil {
				return nil, err
			}
		}
		if !offer {
			// The answer settles rtcp-mux for both legs (RFC 5761 §5.1.1).
			_ = ms.SetRTCPMux(from.side, st.RTCPMux)
			_ = ms.SetRTCPMux(to.side, st.RTCPMux)
		}
		loc := ms.Local(to.side)
		if i == 0 {
			params.Addr = c.s.mediaAddr(to.iface, loc.Addr)
		}
		params.Streams = append(params.Streams, sdp.StreamParams{Port: loc.RTPPort, RTCPPort: loc.RTCPPort})
	}
	if !params.Addr.IsValid() {
		return nil, errNoMedia
	}
	if to.origin == nil {
		// RFC 8866 §5.2: our own session id per leg, never derived from the
		// other side's o= line.
		to.origin = sdp.NewOrigin("sbc", uint64(time.Now().UnixNano()/1000), 1, params.Addr)
	}
	params.Origin = to.origin
	err = sdp.Rewrite(sess, params)
	var ce *sdp.CodecError
	if errors.As(err, &ce) {
		if len(ce.Streams) == len(streams) {
			return nil, errNoMedia
		}
	} else if err != nil {
		return nil, fmt.Errorf("b2bua: sdp: %w", err)
	}
	return sess.AppendTo(nil), nil
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// mediaSession returns the relay session of stream i, creating it with the
// legs' interfaces and latching modes on first sight.
func (c *Call) mediaSession(i int, st sdp.StreamInfo) (*mediarelay.Session, error) {
	if i < len(c.media) && c.media[i] != nil {
		return c.media[i], nil
	}
	ms, err := c.s.cfg.Relay.NewSession(mediarelay.SessionConfig{
		ALeg: mediarelay.LegConfig{Interface: c.a.iface, RTCPMux: st.RTCPMux, Latch: latchOf(c.a.trunk)},
		BLeg: mediarelay.LegConfig{Interface: c.b.iface, RTCPMux: st.RTCPMux, Latch: latchOf(c.b.trunk)},
		OnTimeout: func(t mediarelay.Timeout) {
			c.serial.do(func() { c.onMediaTimeout(t) })
		},
		Tag: c.id,
	})
	if err != nil {
		return nil, fmt.Errorf("b2bua: media: %w", err)
	}
	c.mediaMu.Lock()
	for len(c.media) <= i {
		c.media = append(c.media, nil)
	}
	c.media[i] = ms
	c.mediaMu.Unlock()
	return ms, nil
}

func latchOf(t *policy.Trunk) mediarelay.LatchMode {
	if t == nil {
		return mediarelay.LatchLearn
	}
	switch t.Latching {
	case policy.LatchStrict:
		return mediarelay.LatchStrict
	case policy.LatchOnce:
		return mediarelay.LatchOnce
	}
	return mediarelay.LatchLearn
}

// codecsFor is the codec allow-list of a call: what both trunks allow (an
// empty trunk list allows everything; nil keeps every codec).
func codecsFor(a, b *policy.Trunk) []string {
	var la, lb []string
	if a != nil {
		la = a.Codecs
	}
	if b != nil {
		lb = b.Codecs
	}
	switch {
	case len(la) == 0 && len(lb) == 0:
		return nil
	case len(la) == 0:
		return lb
	case len(lb) == 0:
		return la
	}
	out := []string{}
	for _, x := range la {
		for _, y := range lb {
			if strings.EqualFold(x, y) {
				out = append(out, x)
			}
		}
	}
	return out
}

// closeMedia releases every relay session of the call (ports go back to
// the pool).
func (c *Call) closeMedia() {
	c.mediaMu.Lock()
	media := c.media
	c.media = nil
	c.mediaMu.Unlock()
	for _, ms := range media {
		if ms != nil {
			_ = ms.Close()
		}
	}
}

func (c *Call) onMediaTimeout(t mediarelay.Timeout) {
	if c.state != stateConfirmed && c.state != stateAnswered {
		return
	}
	c.log.Info("media timeout", "leg", t.Leg.String(), "silence", t.Silence)
	c.cdr.Disposition = "media_timeout"
	c.hangup("sbc", 0, "Media timeout")
}
