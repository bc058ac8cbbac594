package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// funcMetric is a single gauge or counter whose value a provider installed
// after construction returns; without a provider it exports nothing.
type funcMetric struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	f    atomic.Pointer[func() float64]
}

func newFuncMetric(name, help string, typ prometheus.ValueType) *funcMetric {
	return &funcMetric{desc: prometheus.NewDesc(name, help, nil, nil), typ: typ}
}

func (c *funcMetric) set(f func() float64) {
	if f == nil {
		c.f.Store(nil)
		return
	}
	c.f.Store(&f)
}

func (c *funcMetric) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *funcMetric) Collect(ch chan<- prometheus.Metric) {
	if f := c.f.Load(); f != nil {
		ch <- prometheus.MustNewConstMetric(c.desc, c.typ, (*f)())
	}
}

// InterfaceStats is one media interface's figures, as the relay reports them
// to SetMediaStats' provider. Counters are totals since start.
type InterfaceStats struct {
	Name        string  // interface name from the configuration ("inside", "outside")
	Sessions    int     // media sessions anchored on the interface
	PortsInUse  int     // ports allocated from the interface's range
	PortsTotal  int     // size of the interface's port range
	PacketsIn   uint64  // RTP and RTCP packets received
	PacketsOut  uint64  // RTP and RTCP packets sent
	BytesIn     uint64  // UDP payload bytes received
	BytesOut    uint64  // UDP payload bytes sent
	PacketsLost uint64  // RTP packets lost (RFC 3550 §6.4.1 cumulative lost, sequence gaps)
	Jitter      float64 // mean RFC 3550 interarrival jitter over active streams, seconds
}

var (
	ifaceLabel     = []string{"interface"}
	ifaceDirLabels = []string{"interface", "direction"}
)

// mediaCollector exports the per-interface media figures pulled from the
// relay's provider on each scrape.
type mediaCollector struct {
	f                                   atomic.Pointer[func([]InterfaceStats) []InterfaceStats]
	mu                                  sync.Mutex // guards buf
	buf                                 []InterfaceStats
	sessions, portsInUse, portsCapacity *prometheus.Desc
	packets, bytes, lost, jitter        *prometheus.Desc
}

func newMediaCollector() *mediaCollector {
	return &mediaCollector{
		sessions:      prometheus.NewDesc("sbc_media_sessions_active", "Media sessions anchored by the relay, by interface.", ifaceLabel, nil),
		portsInUse:    prometheus.NewDesc("sbc_media_ports_in_use", "Media ports allocated, by interface.", ifaceLabel, nil),
		portsCapacity: prometheus.NewDesc("sbc_media_ports_capacity", "Media ports in the interface's configured range, by interface.", ifaceLabel, nil),
		packets:       prometheus.NewDesc("sbc_media_packets_total", "RTP and RTCP packets relayed, by interface and direction (in, out).", ifaceDirLabels, nil),
		bytes:         prometheus.NewDesc("sbc_media_bytes_total", "RTP and RTCP payload bytes relayed, by interface and direction (in, out).", ifaceDirLabels, nil),
		lost:          prometheus.NewDesc("sbc_media_packets_lost_total", "RTP packets lost on received streams (RFC 3550 §6.4.1 cumulative number lost), by interface.", ifaceLabel, nil),
		jitter:        prometheus.NewDesc("sbc_media_jitter_seconds", "Mean RFC 3550 interarrival jitter over the active received streams, by interface.", ifaceLabel, nil),
	}
}

func (c *mediaCollector) set(f func([]InterfaceStats) []InterfaceStats) {
	if f == nil {
		c.f.Store(nil)
		return
	}
	c.f.Store(&f)
}

func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.portsInUse, c.portsCapacity, c.packets, c.bytes, c.lost, c.jitter} {
		ch <- d
	}
}

func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.f.Load()
	if f == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = (*f)(c.buf[:0])
	for i := range c.buf {
		s := &c.buf[i]
		g := prometheus.GaugeValue
		k := prometheus.CounterValue
		ch <- prometheus.MustNewConstMetric(c.sessions, g, float64(s.Sessions), s.Name)
		ch <- prometheus.MustNewConstMetric(c.portsInUse, g, float64(s.PortsInUse), s.Name)
		ch <- prometheus.MustNewConstMetric(c.portsCapacity, g, float64(s.PortsTotal), s.Name)
		ch <- prometheus.MustNewConstMetric(c.packets, k, float64(s.PacketsIn), s.Name, "in")
		ch <- prometheus.MustNewConstMetric(c.packets, k, float64(s.PacketsOut), s.Name, "out")
		ch <- prometheus.MustNewConstMetric(c.bytes, k, float64(s.BytesIn), s.Name, "in")
		ch <- prometheus.MustNewConstMetric(c.bytes, k, float64(s.BytesOut), s.Name, "out")
		ch <- prometheus.MustNewConstMetric(c.lost, k, float64(s.PacketsLost), s.Name)
		ch <- prometheus.MustNewConstMetric(c.jitter, g, s.Jitter, s.Name)
	}
}

// relayCPUCollector exports sbc_relay_cpu_seconds_total{worker}.
type relayCPUCollector struct {
	f      atomic.Pointer[func([]float64) []float64]
	mu     sync.Mutex // guards buf and labels
	buf    []float64
	labels []string // strconv.Itoa(i), cached
	desc   *prometheus.Desc
}

func newRelayCPUCollector() *relayCPUCollector {
	return &relayCPUCollector{desc: prometheus.NewDesc("sbc_relay_cpu_seconds_total",
		"CPU time (user + system) consumed by each media relay worker thread.", []string{"worker"}, nil)}
}

func (c *relayCPUCollector) set(f func([]float64) []float64) {
	if f == nil {
		c.f.Store(nil)
		return
	}
	c.f.Store(&f)
}

func (c *relayCPUCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *relayCPUCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.f.Load()
	if f == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = (*f)(c.buf[:0])
	for len(c.labels) < len(c.buf) {
		c.labels = append(c.labels, strconv.Itoa(len(c.labels)))
	}
	for i, v := range c.buf {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, v, c.labels[i])
	}
}
