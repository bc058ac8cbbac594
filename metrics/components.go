package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// CaptureSinkStats are one capture sink's counters (the capture package's
// SinkStats, copied by the daemon's adapter).
type CaptureSinkStats struct {
	Name    string // "pcap", "hep"
	Written uint64
	Dropped uint64 // queue full
	Errors  uint64 // write or send failures
}

// CDRPostStats are the CDR HTTP poster's counters (the cdrpost package's
// Stats, copied by the daemon's adapter).
type CDRPostStats struct {
	Delivered uint64
	Dropped   uint64 // refused by a full queue
	GivenUp   uint64 // not deliverable after retries
	Retries   uint64
	Queued    int
}

// componentCollector exports the capture and CDR-post figures pulled from
// their providers on each scrape.
type componentCollector struct {
	capture atomic.Pointer[func([]CaptureSinkStats) []CaptureSinkStats]
	cdr     atomic.Pointer[func() CDRPostStats]

	mu  sync.Mutex // guards buf
	buf []CaptureSinkStats

	capturePackets, cdrPosts, cdrRetries, cdrQueue *prometheus.Desc
}

func newComponentCollector() *componentCollector {
	return &componentCollector{
		capturePackets: prometheus.NewDesc("sbc_capture_packets_total",
			"SIP messages handed to a capture sink, by sink (pcap, hep) and result (written, dropped on a full queue, error).",
			[]string{"sink", "result"}, nil),
		cdrPosts: prometheus.NewDesc("sbc_cdr_posts_total",
			"CDRs for the HTTP endpoint, by result (delivered, dropped on a full queue, given_up after retries).",
			[]string{"result"}, nil),
		cdrRetries: prometheus.NewDesc("sbc_cdr_post_retries_total", "HTTP POST attempts of CDRs after the first.", nil, nil),
		cdrQueue:   prometheus.NewDesc("sbc_cdr_post_queue_length", "CDRs waiting to be posted.", nil, nil),
	}
}

func (c *componentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.capturePackets
	ch <- c.cdrPosts
	ch <- c.cdrRetries
	ch <- c.cdrQueue
}

func (c *componentCollector) Collect(ch chan<- prometheus.Metric) {
	if f := c.capture.Load(); f != nil {
		c.mu.Lock()
		c.buf = (*f)(c.buf[:0])
		for _, s := range c.buf {
			ch <- prometheus.MustNewConstMetric(c.capturePackets, prometheus.CounterValue, float64(s.Written), s.Name, "written")
			ch <- prometheus.MustNewConstMetric(c.capturePackets, prometheus.CounterValue, float64(s.Dropped), s.Name, "dropped")
			ch <- prometheus.MustNewConstMetric(c.capturePackets, prometheus.CounterValue, float64(s.Errors), s.Name, "error")
		}
		c.mu.Unlock()
	}
	if f := c.cdr.Load(); f != nil {
		s := (*f)()
		ch <- prometheus.MustNewConstMetric(c.cdrPosts, prometheus.CounterValue, float64(s.Delivered), "delivered")
		ch <- prometheus.MustNewConstMetric(c.cdrPosts, prometheus.CounterValue, float64(s.Dropped), "dropped")
		ch <- prometheus.MustNewConstMetric(c.cdrPosts, prometheus.CounterValue, float64(s.GivenUp), "given_up")
		ch <- prometheus.MustNewConstMetric(c.cdrRetries, prometheus.CounterValue, float64(s.Retries))
		ch <- prometheus.MustNewConstMetric(c.cdrQueue, prometheus.GaugeValue, float64(s.Queued))
	}
}

// SetCaptureStats installs the provider of sbc_capture_packets_total: f
// appends each capture sink's counters to dst and returns it. Called on every
// scrape; must be safe for concurrent use. nil removes the metric.
func (m *Metrics) SetCaptureStats(f func(dst []CaptureSinkStats) []CaptureSinkStats) {
	if f == nil {
		m.components.capture.Store(nil)
		return
	}
	m.components.capture.Store(&f)
}

// SetCDRPostStats installs the provider of the sbc_cdr_post* metrics.
func (m *Metrics) SetCDRPostStats(f func() CDRPostStats) {
	if f == nil {
		m.components.cdr.Store(nil)
		return
	}
	m.components.cdr.Store(&f)
}
