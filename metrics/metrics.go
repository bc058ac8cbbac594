package metrics

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// SetupBuckets are the bucket bounds, in seconds, of sbc_call_setup_seconds:
// from 5 ms (a peer on the same LAN) to 10 s (a mobile network paging a phone).
var SetupBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// JitterBuckets are the bucket bounds, in seconds, of
// sbc_media_stream_jitter_seconds (RFC 3550 §6.4.1 interarrival jitter).
var JitterBuckets = []float64{.001, .0025, .005, .01, .02, .04, .08, .16, .32}

// LossBuckets are the bucket bounds of sbc_media_stream_loss_ratio.
var LossBuckets = []float64{0, .001, .005, .01, .02, .05, .1, .2, .5}

// UnknownTrunk is the trunk label value used when a caller passes an empty
// trunk name (a message from a source no trunk's ACL matches).
const UnknownTrunk = "unknown"

// RejectReason labels sbc_sip_rejected_messages_total. Callers use the
// constants below; each one is a bounded label value.
type RejectReason string

// Reasons for which the SBC rejects or drops a SIP message.
const (
	RejectACL           RejectReason = "acl"            // source not allowed by any trunk's ACL
	RejectRateLimit     RejectReason = "rate_limit"     // per-trunk or global CPS limit
	RejectCallLimit     RejectReason = "call_limit"     // concurrent-call limit reached
	RejectNoRoute       RejectReason = "no_route"       // policy found no route
	RejectMalformed     RejectReason = "malformed"      // parsed but invalid (RFC 3261 §16.3 / §8.2 400)
	RejectTooLarge      RejectReason = "too_large"      // RFC 3261 §18.1.1 / 513 Message Too Large
	RejectLoop          RejectReason = "loop"           // RFC 3261 §16.3 item 4, 482 Loop Detected
	RejectMaxForwards   RejectReason = "max_forwards"   // RFC 3261 §16.3 item 3, 483 Too Many Hops
	RejectUnsupported   RejectReason = "unsupported"    // RFC 3261 §8.2.2 420 / 416 / 415
	RejectDraining      RejectReason = "draining"       // new call refused during graceful shutdown
	RejectNoTransaction RejectReason = "no_transaction" // stray response or ACK matching nothing
)

// Options configures New.
type Options struct {
	// Version is exported as sbc_build_info{version="..."}.
	Version string
	// Now is the clock used by the calls-per-second window; nil is time.Now.
	Now func() time.Time
	// NoRuntimeCollectors leaves out the Go runtime and process collectors
	// (tests that compare whole scrapes use it).
	NoRuntimeCollectors bool
}

// Metrics is the SBC's metric set. All methods are safe for concurrent use.
// The zero value is not usable; call New.
type Metrics struct {
	reg *prometheus.Registry

	callsActive    *prometheus.GaugeVec
	callsAttempted *prometheus.CounterVec
	callsAnswered  *prometheus.CounterVec
	callsFailed    *prometheus.CounterVec
	callSetup      *prometheus.HistogramVec
	cps            secondWindow
	trunks         childCache[string, *Trunk]

	retransSent     prometheus.Counter
	retransReceived prometheus.Counter
	parseErrors     *prometheus.CounterVec
	parseChildren   childCache[string, prometheus.Counter]
	rejected        *prometheus.CounterVec
	rejectChildren  childCache[RejectReason, prometheus.Counter]

	transactionsActive *funcMetric
	registrations      *funcMetric

	streamJitter *prometheus.HistogramVec
	streamLoss   *prometheus.HistogramVec
	ifaces       childCache[string, *ifaceObservers]
	media        *mediaCollector
	relayCPU     *relayCPUCollector
	components   *componentCollector

	policyReloads      *prometheus.CounterVec
	policyReloadOK     prometheus.Counter
	policyReloadFailed prometheus.Counter
	policyInfo         *prometheus.GaugeVec
	policyLastOK       prometheus.Gauge
	policyMu           sync.Mutex
}

// New builds the metric set on its own registry (never the process-global
// default registry, so tests and embedders can run several).
func New(opts Options) *Metrics {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.cps.now = now

	m.callsActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sbc_calls_active",
		Help: "Calls in progress (attempted and not yet failed or ended), by trunk.",
	}, []string{"trunk"})
	m.callsAttempted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sbc_calls_attempted_total",
		Help: "Call attempts (initial INVITEs accepted for routing), by trunk.",
	}, []string{"trunk"})
	m.callsAnswered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sbc_calls_answered_total",
		Help: "Calls answered with a 2xx final response, by trunk.",
	}, []string{"trunk"})
	m.callsFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sbc_calls_failed_total",
		Help: "Call attempts that ended with a 3xx-6xx final response (408 for a transaction timeout), by trunk and SIP status code.",
	}, []string{"trunk", "code"})
	m.callSetup = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sbc_call_setup_seconds",
		Help:    "Call setup latency (post-dial delay): time from the initial INVITE to the first 180/183 response, or to the 2xx when none came first, by trunk.",
		Buckets: SetupBuckets,
	}, []string{"trunk"})
	cps := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sbc_calls_per_second",
		Help: "Call attempts counted in the last complete one-second window (use rate(sbc_calls_attempted_total[1m]) for smoothed rates).",
	}, m.cps.rate)

	retrans := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sbc_sip_retransmissions_total",
		Help: "SIP retransmissions: sent by the SBC's transactions (RFC 3261 §17 timers A, E, G) or received and absorbed, by direction.",
	}, []string{"direction"})
	m.retransSent = retrans.WithLabelValues("sent")
	m.retransReceived = retrans.WithLabelValues("received")
	m.parseErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sbc_sip_parse_errors_total",
		Help: "SIP messages that could not be framed or parsed (RFC 3261 §7, §18.3), by transport.",
	}, []string{"transport"})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sbc_sip_rejected_messages_total",
		Help: "SIP messages rejected with an error response or dropped, by reason.",
	}, []string{"reason"})
	m.transactionsActive = newFuncMetric("sbc_sip_transactions_active",
		"SIP transactions (RFC 3261 §17) currently held by the transaction layer.", prometheus.GaugeValue)
	m.registrations = newFuncMetric("sbc_registrations_cached",
		"Registrations (address-of-record bindings) held in the registration cache.", prometheus.GaugeValue)

	m.streamJitter = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sbc_media_stream_jitter_seconds",
		Help:    "RFC 3550 interarrival jitter of each media stream, observed when the stream ends, by interface.",
		Buckets: JitterBuckets,
	}, []string{"interface"})
	m.streamLoss = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sbc_media_stream_loss_ratio",
		Help:    "Fraction of packets lost on each media stream, observed when the stream ends, by interface.",
		Buckets: LossBuckets,
	}, []string{"interface"})
	m.media = newMediaCollector()
	m.relayCPU = newRelayCPUCollector()
	m.components = newComponentCollector()

	m.policyReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sbc_policy_reloads_total",
		Help: "Policy reloads, by result (ok, or failed and the previous policy kept).",
	}, []string{"result"})
	m.policyReloadOK = m.policyReloads.WithLabelValues("ok")
	m.policyReloadFailed = m.policyReloads.WithLabelValues("failed")
	m.policyInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sbc_policy_info",
		Help: "The policy in force, identified by the hash of its source; always 1.",
	}, []string{"hash"})
	m.policyLastOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sbc_policy_last_load_success_timestamp_seconds",
		Help: "Unix time at which the policy in force was loaded.",
	})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "sbc_build_info",
		Help:        "Build of the SBC binary; always 1.",
		ConstLabels: prometheus.Labels{"version": opts.Version},
	})
	build.Set(1)

	m.reg.MustRegister(m.callsActive, m.callsAttempted, m.callsAnswered, m.callsFailed,
		m.callSetup, cps, retrans, m.parseErrors, m.rejected,
		m.transactionsActive, m.registrations, m.streamJitter, m.streamLoss, m.media,
		m.relayCPU, m.components, m.policyReloads, m.policyInfo, m.policyLastOK, build)
	if !opts.NoRuntimeCollectors {
		m.reg.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
	}
	return m
}

// Registry returns the SBC's registry, for embedding it in another Gatherer.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler returns the /metrics handler: the Prometheus text (or negotiated
// OpenMetrics / protobuf) exposition of the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg, // counts promhttp's own errors
		EnableOpenMetrics: true,
	})
}

// Trunk returns the metric handles of one trunk, created on first use and
// cached; callers on the call path may keep it to skip the lookup.
func (m *Metrics) Trunk(name string) *Trunk {
	if name == "" {
		name = UnknownTrunk
	}
	return m.trunks.get(name, m.newTrunk)
}

func (m *Metrics) newTrunk(name string) *Trunk {
	return &Trunk{
		m:         m,
		name:      name,
		active:    m.callsActive.WithLabelValues(name),
		attempted: m.callsAttempted.WithLabelValues(name),
		answered:  m.callsAnswered.WithLabelValues(name),
		setup:     m.callSetup.WithLabelValues(name),
	}
}

// CallAttempted counts a new call attempt on trunk; the call is active until
// CallFailed or CallEnded.
func (m *Metrics) CallAttempted(trunk string) { m.Trunk(trunk).Attempted() }

// CallAnswered counts a call answered on trunk with its setup latency (see
// sbc_call_setup_seconds for what setup measures).
func (m *Metrics) CallAnswered(trunk string, setup time.Duration) {
	m.Trunk(trunk).Answered(setup)
}

// CallFailed counts a call attempt on trunk that ended with a final response
// code (3xx-6xx) and makes it inactive.
func (m *Metrics) CallFailed(trunk string, code int) { m.Trunk(trunk).Failed(code) }

// CallEnded makes an answered call on trunk inactive.
func (m *Metrics) CallEnded(trunk string) { m.Trunk(trunk).Ended() }

// Trunk holds the pre-resolved metric children of one trunk.
type Trunk struct {
	m         *Metrics
	name      string
	active    prometheus.Gauge
	attempted prometheus.Counter
	answered  prometheus.Counter
	setup     prometheus.Observer
	failed    childCache[int, prometheus.Counter]
}

// Name returns the trunk label value.
func (t *Trunk) Name() string { return t.name }

// Attempted counts a call attempt and makes the call active.
func (t *Trunk) Attempted() {
	t.attempted.Inc()
	t.active.Inc()
	t.m.cps.add()
}

// Answered counts an answered call and observes its setup latency.
func (t *Trunk) Answered(setup time.Duration) {
	t.answered.Inc()
	t.setup.Observe(setup.Seconds())
}

// Failed counts a failed attempt by its final status code and makes it
// inactive. Codes outside 300-699 (RFC 3261 §21 failure classes) are counted
// under code="other" to keep the label bounded.
func (t *Trunk) Failed(code int) {
	t.failedCounter(code).Inc()
	t.active.Dec()
}

// Ended makes an answered call inactive.
func (t *Trunk) Ended() { t.active.Dec() }

func (t *Trunk) failedCounter(code int) prometheus.Counter {
	if code < 300 || code > 699 {
		code = 0
	}
	return t.failed.get(code, t.resolveFailed)
}

func (t *Trunk) resolveFailed(code int) prometheus.Counter {
	label := "other"
	if code != 0 {
		label = strconv.Itoa(code)
	}
	return t.m.callsFailed.WithLabelValues(t.name, label)
}

// RetransmissionSent counts a request or response retransmitted by one of the
// SBC's own transactions (RFC 3261 §17.1.1.2 timer A, §17.1.2.2 timer E,
// §17.2.1 timer G).
func (m *Metrics) RetransmissionSent() { m.retransSent.Inc() }

// RetransmissionReceived counts a retransmission from a peer absorbed by a
// transaction (RFC 3261 §17.2.1, §17.2.2).
func (m *Metrics) RetransmissionReceived() { m.retransReceived.Inc() }

// ParseError counts a message that could not be framed or parsed on
// transport ("udp", "tcp", "tls", "ws", "wss"; anything else counts as
// "other").
func (m *Metrics) ParseError(transport string) {
	switch transport {
	case "udp", "tcp", "tls", "ws", "wss":
	default:
		transport = "other"
	}
	m.parseChildren.get(transport, m.resolveParse).Inc()
}

func (m *Metrics) resolveParse(transport string) prometheus.Counter {
	return m.parseErrors.WithLabelValues(transport)
}

// Rejected counts a message rejected or dropped for reason.
func (m *Metrics) Rejected(reason RejectReason) {
	m.rejectChildren.get(reason, m.resolveReject).Inc()
}

func (m *Metrics) resolveReject(reason RejectReason) prometheus.Counter {
	return m.rejected.WithLabelValues(string(reason))
}

// SetTransactionsActive installs the provider of sbc_sip_transactions_active
// (the transaction layer's count). f is called on every scrape, from the
// scrape's goroutine: it must be cheap and safe for concurrent use. nil
// removes the metric.
func (m *Metrics) SetTransactionsActive(f func() float64) { m.transactionsActive.set(f) }

// SetRegistrationsCached installs the provider of sbc_registrations_cached,
// with the same contract as SetTransactionsActive.
func (m *Metrics) SetRegistrationsCached(f func() float64) { m.registrations.set(f) }

// MediaStreamEnded observes the final RFC 3550 jitter and loss fraction of a
// media stream relayed on interface iface.
func (m *Metrics) MediaStreamEnded(iface string, jitter time.Duration, lossRatio float64) {
	o := m.ifaceObservers(iface)
	o.jitter.Observe(jitter.Seconds())
	o.loss.Observe(lossRatio)
}

type ifaceObservers struct{ jitter, loss prometheus.Observer }

func (m *Metrics) ifaceObservers(iface string) *ifaceObservers {
	return m.ifaces.get(iface, m.resolveIface)
}

func (m *Metrics) resolveIface(iface string) *ifaceObservers {
	return &ifaceObservers{
		jitter: m.streamJitter.WithLabelValues(iface),
		loss:   m.streamLoss.WithLabelValues(iface),
	}
}

// SetMediaStats installs the provider of the per-interface media gauges and
// counters (sessions, ports, packets, bytes, loss, jitter). f appends one
// InterfaceStats per media interface to dst and returns it; it is called on
// every scrape and must be safe for concurrent use. nil removes the metrics.
func (m *Metrics) SetMediaStats(f func(dst []InterfaceStats) []InterfaceStats) {
	m.media.set(f)
}

// SetRelayCPU installs the provider of sbc_relay_cpu_seconds_total: f appends
// the CPU seconds consumed so far by each relay worker (index = worker id) to
// dst and returns it. Called on every scrape; must be safe for concurrent use.
func (m *Metrics) SetRelayCPU(f func(dst []float64) []float64) { m.relayCPU.set(f) }

// PolicyLoaded records the policy loaded at start-up (not a reload).
func (m *Metrics) PolicyLoaded(hash string) {
	m.policyMu.Lock()
	defer m.policyMu.Unlock()
	m.setPolicyLocked(hash)
}

// PolicyReloaded records a reload. On success the info metric moves to the
// new hash; on failure the previous policy stays in force (the architecture's
// transactional reload) and only the failure is counted.
func (m *Metrics) PolicyReloaded(ok bool, hash string) {
	m.policyMu.Lock()
	defer m.policyMu.Unlock()
	if !ok {
		m.policyReloadFailed.Inc()
		return
	}
	m.policyReloadOK.Inc()
	m.setPolicyLocked(hash)
}

func (m *Metrics) setPolicyLocked(hash string) {
	m.policyInfo.Reset()
	m.policyInfo.WithLabelValues(hash).Set(1)
	m.policyLastOK.Set(float64(m.cps.now().UnixNano()) / 1e9)
}

var metricName = regexp.MustCompile(`^sbc_[a-zA-Z0-9_]+$`)

// AddGaugeFunc registers a gauge named name (with the sbc_ prefix) whose value
// f returns on every scrape, for components this package does not know
// (capture queue drops, CDR backlog, ...). f must be safe for concurrent use.
func (m *Metrics) AddGaugeFunc(name, help string, f func() float64) error {
	if !metricName.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	if err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)); err != nil {
		return fmt.Errorf("metrics: register %s: %w", name, err)
	}
	return nil
}

// AddCounterFunc registers a counter named name (with the sbc_ prefix and the
// _total suffix) whose monotonic value f returns on every scrape.
func (m *Metrics) AddCounterFunc(name, help string, f func() float64) error {
	if !metricName.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	if err := m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)); err != nil {
		return fmt.Errorf("metrics: register %s: %w", name, err)
	}
	return nil
}

// secondWindow counts events in whole wall-clock seconds, lock-free, and
// reports the count of the last complete second. Each of its two slots holds
// the second it counts (high bits) and the count (low 24 bits).
type secondWindow struct {
	now   func() time.Time
	slots [2]atomic.Uint64
}

const (
	windowCountBits = 24
	windowCountMax  = 1<<windowCountBits - 1
)

func (w *secondWindow) add() {
	sec := uint64(w.now().Unix())
	slot := &w.slots[sec&1]
	for {
		old := slot.Load()
		next := sec<<windowCountBits | 1
		if old>>windowCountBits == sec {
			if old&windowCountMax == windowCountMax {
				return // saturated: 16.7 million in one second
			}
			next = old + 1
		}
		if slot.CompareAndSwap(old, next) {
			return
		}
	}
}

func (w *secondWindow) rate() float64 {
	prev := uint64(w.now().Unix()) - 1
	v := w.slots[prev&1].Load()
	if v>>windowCountBits != prev {
		return 0
	}
	return float64(v & windowCountMax)
}
