package capture

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives captured packets from a Capturer's worker: PcapWriter and
// HEPSender are sinks. WritePacket must not keep p or its payload after it
// returns. Flush is called whenever the sink's queue runs empty.
type Sink interface {
	WritePacket(p *Packet) error
	Flush() error
	Close() error
}

var (
	_ Sink = (*PcapWriter)(nil)
	_ Sink = (*HEPSender)(nil)
)

// DefaultQueueSize is the per-sink queue length of a Capturer.
const DefaultQueueSize = 4096

// maxPooledPayload bounds the buffers kept for reuse so that one huge
// message does not pin its buffer for the process's life.
const maxPooledPayload = 64 << 10

// Options configures a Capturer.
type Options struct {
	// SampleOneIn captures one call in N, chosen by a hash of the call's
	// Call-ID so that a call is captured whole or not at all. 0 and 1
	// capture every call.
	SampleOneIn uint64
	// Trunks, when not empty, limits capture to messages of these trunks.
	Trunks []string
	// QueueSize is each sink's queue length; 0 means DefaultQueueSize.
	QueueSize int
	// Logger receives sink failures and recoveries (never one line per
	// packet); nil discards.
	Logger *slog.Logger
}

// SinkStats are the counters of one sink of a Capturer.
type SinkStats struct {
	Name    string
	Written uint64 // packets the sink accepted
	Dropped uint64 // packets dropped because its queue was full
	Errors  uint64 // packets the sink failed to write
}

// Stats are a Capturer's counters.
type Stats struct {
	Captured uint64 // messages accepted by sampling and filter
	Skipped  uint64 // messages left out by sampling or the trunk filter
	Sinks    []SinkStats
}

// Capturer is the capture front the SIP layer calls for every message in and
// out. Capture never blocks: it samples, filters, copies the message into a
// pooled record and offers it to each sink's bounded queue, counting drops.
// A nil *Capturer captures nothing, so callers need no "enabled" check.
type Capturer struct {
	sampleN uint64
	trunks  map[string]struct{}
	log     *slog.Logger
	sinks   []*sinkQueue
	free    chan *record // recycled records; bounded by the queues' total size
	closed  atomic.Bool
	done    chan struct{}
	wg      sync.WaitGroup

	captured, skipped atomic.Uint64
}

// record is a recycled packet shared by the sinks' queues; the last sink to
// finish with it returns it to the free list.
type record struct {
	Packet
	buf  []byte
	refs atomic.Int32
}

type sinkQueue struct {
	name                     string
	sink                     Sink
	q                        chan *record
	written, dropped, errors atomic.Uint64
}

// New starts a Capturer writing to the named sinks, one worker goroutine
// each; Close stops them. Names label Stats and log lines ("pcap", "hep").
func New(opts Options, sinks map[string]Sink) *Capturer {
	qs := opts.QueueSize
	if qs <= 0 {
		qs = DefaultQueueSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Capturer{
		sampleN: opts.SampleOneIn,
		log:     log.With("component", "capture"),
		done:    make(chan struct{}),
	}
	c.free = make(chan *record, qs*max(len(sinks), 1)+len(sinks))
	if len(opts.Trunks) > 0 {
		c.trunks = make(map[string]struct{}, len(opts.Trunks))
		for _, t := range opts.Trunks {
			c.trunks[t] = struct{}{}
		}
	}
	names := slices.Sorted(maps.Keys(sinks)) // stable Stats order
	for _, name := range names {
		sq := &sinkQueue{name: name, sink: sinks[name], q: make(chan *record, qs)}
		c.sinks = append(c.sinks, sq)
		c.wg.Add(1)
		go c.run(sq)
	}
	return c
}

// Sampled reports whether messages of the call with this Call-ID on this
// trunk are captured. It is a pure function of its arguments and the
// options, so every message of a call gets the same answer.
func (c *Capturer) Sampled(callID, trunk string) bool {
	if c.trunks != nil {
		if _, ok := c.trunks[trunk]; !ok {
			return false
		}
	}
	return c.sampleN <= 1 || SampleHash(callID)%c.sampleN == 0
}

// SampleHash is the Call-ID hash behind sampling: FNV-1a 64 followed by the
// murmur3 finalizer, so that sequential Call-IDs spread evenly over every
// modulus.
func SampleHash(callID string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(callID); i++ {
		h ^= uint64(callID[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// Capture records one SIP message. callID is the call's correlation key: the
// B2BUA passes the same value (the A leg's Call-ID) for the messages of both
// legs, so that sampling keeps or drops the whole call and Homer correlates
// the legs (HEP chunk 0x0011). trunk is the trunk the message belongs to ("" if
// none). msg is copied; the caller keeps ownership. Safe for concurrent use.
func (c *Capturer) Capture(dir Direction, transport string, src, dst netip.AddrPort, callID, trunk string, msg []byte, at time.Time) {
	if c == nil || len(c.sinks) == 0 || c.closed.Load() {
		return
	}
	if !c.Sampled(callID, trunk) {
		c.skipped.Add(1)
		return
	}
	c.captured.Add(1)
	var r *record
	select {
	case r = <-c.free:
	default: // every record is queued or in a sink: a new one, until the queues are full
		r = &record{buf: make([]byte, 0, 2048)}
	}
	r.buf = append(r.buf[:0], msg...)
	r.Packet = Packet{Time: at, Direction: dir, Transport: ParseTransport(transport),
		Src: src, Dst: dst, CallID: callID, Trunk: trunk, Payload: r.buf}
	r.refs.Store(int32(len(c.sinks)))
	for _, s := range c.sinks {
		select {
		case s.q <- r:
		default:
			s.dropped.Add(1)
			c.release(r)
		}
	}
}

func (c *Capturer) release(r *record) {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.Packet = Packet{}
	if cap(r.buf) > maxPooledPayload {
		r.buf = make([]byte, 0, 2048)
	}
	select {
	case c.free <- r:
	default:
	}
}

// run is a sink's worker: it writes queued records, flushes whenever the queue
// runs empty, and on Close drains what is queued, flushes and closes the sink.
func (c *Capturer) run(s *sinkQueue) {
	defer c.wg.Done()
	failing := false
	write := func(r *record) {
		if err := s.sink.WritePacket(&r.Packet); err != nil {
			s.errors.Add(1)
			if !failing {
				failing = true
				c.log.Warn("capture sink failing", "sink", s.name, "err", err)
			}
		} else {
			s.written.Add(1)
			if failing {
				failing = false
				c.log.Info("capture sink recovered", "sink", s.name, "errors", s.errors.Load())
			}
		}
		c.release(r)
	}
	flush := func() {
		if err := s.sink.Flush(); err != nil && !failing {
			failing = true
			c.log.Warn("capture sink flush failing", "sink", s.name, "err", err)
		}
	}
	for {
		select {
		case r := <-s.q:
			write(r)
			if len(s.q) == 0 {
				flush()
			}
		case <-c.done:
			for {
				select {
				case r := <-s.q:
					write(r)
				default:
					flush()
					if err := s.sink.Close(); err != nil {
						c.log.Warn("capture sink close", "sink", s.name, "err", err)
					}
					return
				}
			}
		}
	}
}

// Stats returns the counters.
func (c *Capturer) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	st := Stats{Captured: c.captured.Load(), Skipped: c.skipped.Load()}
	for _, s := range c.sinks {
		st.Sinks = append(st.Sinks, SinkStats{Name: s.name, Written: s.written.Load(),
			Dropped: s.dropped.Load(), Errors: s.errors.Load()})
	}
	return st
}

// Dropped returns the packets dropped on full queues over all sinks (a pull
// hook for the metrics package).
func (c *Capturer) Dropped() uint64 {
	if c == nil {
		return 0
	}
	var n uint64
	for _, s := range c.sinks {
		n += s.dropped.Load()
	}
	return n
}

// Close stops capturing: later Capture calls do nothing, each worker writes
// what its queue holds, flushes and closes its sink. It waits for the workers
// until ctx ends and returns ctx.Err() if they did not finish.
func (c *Capturer) Close(ctx context.Context) error {
	if c == nil || !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(c.done)
	finished := make(chan struct{})
	go func() { c.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
