package nat

import (
	"net/netip"
	"strings"
	"time"

	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// doubleCRLF is the RFC 5626 §4.4.1 keepalive ping on a stream.
var doubleCRLF = []byte("\r\n\r\n")

// tick runs on the clock's goroutine: it expires bindings, forgets pending
// sessions that never got a binding, and sends the keepalives that are due.
func (r *Registrar) tick(now time.Time) {
	ns := now.UnixNano()
	expired, kas := r.cache.due(ns, nil)
	if expired > 0 {
		r.stats.expired.Add(uint64(expired))
		r.log.Debug("bindings expired", "count", expired)
	}
	r.cache.mu.Lock()
	r.sweepPending(ns, false)
	r.cache.mu.Unlock()
	if len(kas) == 0 {
		return
	}
	p := r.cfg.Policy()
	for _, b := range kas {
		r.keepalive(p, b)
	}
}

// kaJob is what one keepalive needs, copied under the cache lock.
type kaJob struct {
	b       *binding
	flow    transport.Flow
	contact string
	aor     string
	trunk   string
}

// keepalive sends one keepalive to a binding (RFC 5626 §4.4.1 CRLF on a
// stream when the trunk asks for crlf, else an OPTIONS request, RFC 3261
// §11, which also keeps a UDP NAT binding open and tells a dead UA apart).
func (r *Registrar) keepalive(p *policy.Policy, b *binding) {
	c := r.cache
	c.mu.RLock()
	j := kaJob{b: b, flow: b.flow, contact: b.contact, aor: b.aor.aor, trunk: b.trunk}
	gone := b.gone
	c.mu.RUnlock()
	if gone {
		return
	}
	t, ok := p.Trunk(j.trunk)
	if !ok || t.Keepalive.Interval <= 0 || t.Keepalive.Method == "" {
		// The trunk went away or stopped keepalives in a reload: stop;
		// the next REGISTER schedules them again if they come back.
		c.mu.Lock()
		b.kaBusy = false
		c.mu.Unlock()
		return
	}
	iv := t.Keepalive.Interval
	io := r.io.Load()
	if io == nil {
		r.keepaliveDone(b, true, iv) // not wired yet: try again later
		return
	}
	r.stats.kaSent.Add(1)
	if t.Keepalive.Method == "crlf" && j.flow.Reliable() && io.wire != nil {
		sink := &crlfSink{r: r, b: b, iv: iv}
		err := io.wire.Write(j.flow, doubleCRLF, sink)
		// The pong (a single CRLF) is absorbed by the transport; a write
		// error or a closed connection is the failure we can see.
		r.keepaliveDone(b, err == nil, iv)
		return
	}
	req, err := r.options(j)
	if err == nil {
		_, err = io.tx.RequestOn(j.flow, req, func(_ *transaction.ClientTx, resp *sip.Message, err error) {
			switch {
			case err != nil:
				r.keepaliveDone(b, false, iv)
			case resp.StatusCode >= 200:
				// RFC 3261 §11.2: any final response shows the UA is
				// there and the NAT binding passes traffic.
				r.keepaliveDone(b, true, iv)
			}
		})
	}
	if err != nil {
		r.keepaliveDone(b, false, iv)
	}
}

// crlfSink learns of a CRLF keepalive that failed after it was queued.
type crlfSink struct {
	r  *Registrar
	b  *binding
	iv time.Duration
}

// TransportError counts an asynchronous write failure against the binding.
func (s *crlfSink) TransportError(_ transport.Flow, _ error) {
	c := s.r.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.b.gone {
		return
	}
	s.b.fails++
	s.r.stats.kaFailed.Add(1)
	if int(s.b.fails) >= s.r.cfg.KeepaliveFailures {
		s.r.stats.kaDropped.Add(1)
		s.r.log.Info("binding dropped: keepalives failed", "aor", s.b.aor.aor, "source", s.b.flow.Remote())
		c.remove(s.b)
	}
}

// options builds the OPTIONS keepalive toward the UA's registered Contact.
func (r *Registrar) options(j kaJob) (*sip.Message, error) {
	sb, err := r.cfg.SentBy(j.flow.Interface(), j.flow.Transport())
	if err != nil {
		return nil, err
	}
	m := sip.NewRequest("OPTIONS", j.contact)
	m.AddHeader("Via", "SIP/2.0/"+j.flow.Transport().String()+" "+sb+";branch="+sip.BranchMagic+transport.RandomToken(16)+";rport")
	m.AddHeader("Max-Forwards", "70")
	host := sb
	if ap, err := netip.ParseAddrPort(sb); err == nil {
		host = sip.HostForAddr(ap.Addr())
	} else if i := strings.LastIndexByte(sb, ':'); i > 0 && !strings.Contains(sb[:i], ":") {
		host = sb[:i]
	}
	m.AddHeader("From", "<sip:keepalive@"+host+">;tag="+transport.RandomToken(10))
	m.AddHeader("To", "<"+j.aor+">")
	m.AddHeader("Call-ID", transport.RandomToken(24))
	m.AddHeader("CSeq", "1 OPTIONS")
	return m, nil
}

// keepaliveDone records a keepalive's outcome: success clears the failure
// count, KeepaliveFailures failures in a row drop the binding; otherwise
// the next keepalive is scheduled.
func (r *Registrar) keepaliveDone(b *binding, ok bool, iv time.Duration) {
	c := r.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.gone {
		return
	}
	b.kaBusy = false
	if ok {
		b.fails = 0
	} else {
		b.fails++
		r.stats.kaFailed.Add(1)
		if int(b.fails) >= r.cfg.KeepaliveFailures {
			r.stats.kaDropped.Add(1)
			r.log.Info("binding dropped: keepalives failed", "aor", b.aor.aor, "source", b.flow.Remote(),
				"failures", b.fails)
			c.remove(b)
			return
		}
	}
	if !b.nat {
		return // a REGISTER in the meantime showed the UA is not behind NAT
	}
	c.schedule(&b.ka, r.clock.Now().Add(iv).UnixNano())
}
