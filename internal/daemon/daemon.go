// Package daemon wires the SBC's components into a running daemon: the media
// relay, the policy store with live reload, the B2BUA, the SIP transaction
// and transport layers, CDRs, metrics and the admin API; and tears them down
// in order on shutdown (drain calls, stop taking messages, release media).
// cmd/sbc turns the operator's configuration into Options and calls Run.
package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sbc-project/sbc/admin"
	"github.com/sbc-project/sbc/b2bua"
	"github.com/sbc-project/sbc/capture"
	"github.com/sbc-project/sbc/cdrpost"
	"github.com/sbc-project/sbc/mediarelay"
	"github.com/sbc-project/sbc/metrics"
	"github.com/sbc-project/sbc/nat"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// Listener is one SIP listening socket.
type Listener struct {
	Transport         transport.Transport
	Addr              netip.AddrPort
	CertFile, KeyFile string // TLS
}

// Interface is one network side of the SBC (for example inside, outside).
type Interface struct {
	Name      string
	Listen    []Listener
	Advertise netip.Addr // public address of a 1:1 NAT for SIP (and SDP), optional
	// Media: the relay's bind address and port range on this side, and the
	// address written in SDP when it differs (1:1 NAT).
	MediaAddr      netip.Addr
	MediaAdvertise netip.Addr
	PortMin        uint16
	PortMax        uint16
}

// Options are everything Run needs.
type Options struct {
	Interfaces []Interface
	// SIP timers (RFC 3261 §17.1.1.1); zero takes the defaults.
	T1, T2, T4 time.Duration
	Limits     transport.Limits
	// PolicyFiles are the policy's HCL files; empty runs the embedded
	// default policy.
	PolicyFiles []string
	// AdminAddr serves /metrics and /api/ (empty: none); AdminToken
	// requires a bearer token.
	AdminAddr  string
	AdminToken string
	// AdminPprof serves /debug/pprof/ on the admin listener.
	AdminPprof bool
	// CDRFile receives one JSON line per call (empty: none), rotated at
	// CDRMaxBytes.
	CDRFile     string
	CDRMaxBytes int64
	// CDRURL receives each CDR as an HTTP POST (retried, bounded queue,
	// drained on shutdown).
	CDRURL       string
	Capture      CaptureOptions
	MediaTimeout time.Duration
	MediaWorkers int
	// MediaIdleSockets and MediaReuseDelay tune the relay's socket pool
	// (mediarelay.Config.IdleSockets and ReuseDelay; 0: the relay's
	// defaults, negative: no pool and no rest).
	MediaIdleSockets int
	MediaReuseDelay  time.Duration
	// DrainTimeout bounds the graceful shutdown: calls still up then are
	// ended with BYE.
	DrainTimeout time.Duration
	// OverloadQueueDelay refuses out-of-dialog requests that waited longer
	// in the receive queue with 503 (b2bua.Config.MaxQueueDelay; 0: off).
	OverloadQueueDelay time.Duration
	// TryingDelay postpones the automatic 100 Trying to an INVITE
	// (transaction.Config.TryingDelay; 0: at once).
	TryingDelay time.Duration
	// Reload delivers reload requests (SIGHUP); the policy files are also
	// watched for changes.
	Reload <-chan os.Signal
	Logger *slog.Logger
	// Version is reported by metrics and the admin API.
	Version string
	// RegistrarInterface is the interface registrars of access trunks are
	// reached on (empty: the access trunk's own).
	RegistrarInterface string
	// Ready, when set, is called once every socket is open.
	Ready func(*Daemon)
}

// Daemon is a running SBC.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	relay   *mediarelay.Relay
	store   *policy.Store
	srv     *b2bua.Server
	reg     *nat.Registrar
	mgr     *transaction.Manager
	layer   *transport.Layer
	met     *metrics.Metrics
	adm     *admin.Server
	cdr     cdrSinks
	capt    *capture.Capturer
	started time.Time

	media mediaTotals

	drainOnce sync.Once
	drainReq  chan struct{}
}

// Server returns the B2BUA (tests read its counters).
func (d *Daemon) Server() *b2bua.Server { return d.srv }

// Relay returns the media relay.
func (d *Daemon) Relay() *mediarelay.Relay { return d.relay }

// SIPListeners returns the addresses the SIP listeners are bound to.
func (d *Daemon) SIPListeners() []transport.ListenerInfo { return d.layer.Listeners() }

// AdminAddr returns the admin listener's address ("" when none).
func (d *Daemon) AdminAddr() string {
	if d.adm == nil {
		return ""
	}
	return d.adm.Addr().String()
}

// Run starts the SBC and blocks until ctx is done (then drains calls for up
// to DrainTimeout) or a drain was requested through the admin API.
func Run(ctx context.Context, opts Options) error {
	d, err := start(opts)
	if err != nil {
		return err
	}
	if opts.Ready != nil {
		opts.Ready(d)
	}
	wctx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		_ = d.store.Watch(wctx, opts.Reload, time.Second, d.onReload)
	}()
	select {
	case <-ctx.Done():
	case <-d.drainReq:
	}
	d.log.Info("shutting down: draining calls", "active", d.srv.ActiveCalls(), "timeout", opts.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), max(opts.DrainTimeout, time.Second))
	_ = d.srv.Drain(dctx)
	cancel()
	stopWatch()
	<-watchDone
	return d.close()
}

func start(opts Options) (_ *Daemon, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Daemon{opts: opts, log: log.With("component", "daemon"), started: time.Now(), drainReq: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = d.close()
		}
	}()
	var names []string
	var mifs []mediarelay.InterfaceConfig
	var lcs []transport.ListenerConfig
	var bifs []b2bua.Interface
	for _, ifc := range opts.Interfaces {
		names = append(names, ifc.Name)
		mifs = append(mifs, mediarelay.InterfaceConfig{Name: ifc.Name, Addr: ifc.MediaAddr, PortMin: ifc.PortMin, PortMax: ifc.PortMax})
		for _, l := range ifc.Listen {
			lcs = append(lcs, transport.ListenerConfig{Interface: ifc.Name, Transport: l.Transport, Addr: l.Addr,
				CertFile: l.CertFile, KeyFile: l.KeyFile})
		}
		bifs = append(bifs, b2bua.Interface{Name: ifc.Name, Advertise: ifc.Advertise, MediaAdvertise: ifc.MediaAdvertise})
	}
	transports := map[string][]string{}
	for _, ifc := range opts.Interfaces {
		for _, l := range ifc.Listen {
			transports[ifc.Name] = append(transports[ifc.Name], strings.ToLower(l.Transport.String()))
		}
	}
	d.store = policy.NewStore(policy.LoadOptions{Interfaces: names, Transports: transports}, log)
	pol, err := d.store.Load(opts.PolicyFiles)
	if err != nil {
		return nil, err
	}
	d.met = metrics.New(metrics.Options{Version: opts.Version})
	d.met.PolicyLoaded(policyHash(pol))
	d.relay, err = mediarelay.New(mediarelay.Config{Interfaces: mifs, Workers: opts.MediaWorkers,
		MediaTimeout: opts.MediaTimeout, IdleSockets: opts.MediaIdleSockets, ReuseDelay: opts.MediaReuseDelay, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	var cdr b2bua.CDRSink
	if opts.CDRFile != "" {
		d.cdr.file, err = b2bua.OpenFileCDRWriter(opts.CDRFile, opts.CDRMaxBytes)
		if err != nil {
			return nil, err
		}
		cdr = d.cdr
	}
	if opts.CDRURL != "" {
		d.cdr.post, err = cdrpost.New(opts.CDRURL, cdrpost.Options{Logger: log,
			OnGiveUp: func(b []byte, err error) { d.log.Error("CDR not delivered", "err", err, "cdr", string(b)) }})
		if err != nil {
			return nil, err
		}
		cdr = d.cdr
	}
	d.capt, err = openCapture(opts.Capture, d)
	if err != nil {
		return nil, fmt.Errorf("daemon: capture: %w", err)
	}
	var tap func(bool, transport.Flow, []byte)
	if d.capt != nil {
		tap = d.tap
	}
	d.srv, err = b2bua.New(b2bua.Config{Tx: pendingTx{}, Relay: d.relay, Policy: d.store.Current,
		Interfaces: bifs, CDR: cdr, Logger: log, Observer: observer{d.met, d}, MaxQueueDelay: opts.OverloadQueueDelay,
		DetectNAT: func(req *sip.Message, src netip.AddrPort, udp bool) bool { return nat.Detect(req, src, udp).NATed }})
	if err != nil {
		return nil, err
	}
	// The registration relay of access trunks; its cache is runtime state
	// and survives policy reloads.
	d.reg, err = nat.New(nat.Config{Policy: d.store.Current, SentBy: d.srv.SentBy,
		RegistrarInterface: opts.RegistrarInterface, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.srv.SetRegistrar(d.reg)
	d.srv.SetLocator(locator{d.reg})
	d.mgr, d.layer, err = transaction.New(
		transaction.Config{T1: opts.T1, T2: opts.T2, T4: opts.T4, Handler: d.srv, Hooks: d.srv.Hooks(), Logger: log, TryingDelay: opts.TryingDelay},
		transport.Config{Listeners: lcs, Limits: opts.Limits, Logger: log, OnReject: d.onReject, Tap: tap})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.srv.SetTx(d.mgr)
	d.reg.SetTx(d.mgr, d.layer)
	d.srv.AddListeners(d.layer.Listeners())
	d.met.SetRegistrationsCached(func() float64 { return float64(d.reg.Stats().Bindings) })
	d.met.SetTransactionsActive(func() float64 {
		st := d.mgr.Stats()
		return float64(st.LiveClient + st.LiveServer)
	})
	d.met.SetMediaStats(d.mediaStats)
	d.met.SetRelayCPU(func(dst []float64) []float64 {
		// The relay reports its I/O workers' CPU as one total.
		return append(dst, d.relay.Stats().WorkerCPU.Seconds())
	})
	_ = d.met.AddGaugeFunc("sbc_media_sessions", "Media relay sessions (one per anchored stream).",
		func() float64 { return float64(d.relay.Stats().Sessions) })
	_ = d.met.AddGaugeFunc("sbc_media_sockets_idle", "Media sockets kept open between calls by the relay's socket pool.",
		func() float64 {
			n := 0
			for _, f := range d.relay.Stats().Interfaces {
				n += f.SocketsIdle
			}
			return float64(n)
		})
	_ = d.met.AddCounterFunc("sbc_media_sockets_opened_total", "Media sockets opened (a pooled socket taken over is not counted).",
		func() float64 { return float64(d.relay.Stats().SocketsOpened) })
	_ = d.met.AddCounterFunc("sbc_media_sockets_reused_total", "Media sockets taken over from the pool by a new call.",
		func() float64 { return float64(d.relay.Stats().SocketsReused) })
	_ = d.met.AddCounterFunc("sbc_media_idle_datagrams_total", "Datagrams that reached idle pooled media sockets (stale media of ended calls), dropped.",
		func() float64 { return float64(d.relay.Stats().IdleDatagrams) })
	_ = d.met.AddGaugeFunc("sbc_dialogs", "Dialogs known to the B2BUA (two per established call).",
		func() float64 { return float64(d.srv.Dialogs()) })
	_ = d.met.AddGaugeFunc("sbc_calls_in_progress", "Calls in progress across all trunks.",
		func() float64 { return float64(d.srv.ActiveCalls()) })
	_ = d.met.AddCounterFunc("sbc_overload_refused_total", "Out-of-dialog requests refused with 503 because they waited longer than sip.overload_queue_delay in the receive queue.",
		func() float64 { return float64(d.srv.OverloadRefused()) })
	_ = d.met.AddCounterFunc("sbc_sip_retransmissions_timer_total", "Requests and responses sent again by transaction timers (RFC 3261 §17).",
		func() float64 { return float64(d.mgr.Stats().Retransmits) })
	if opts.AdminAddr != "" {
		d.adm, err = admin.New(admin.Config{Addr: opts.AdminAddr, Token: opts.AdminToken, Profiling: opts.AdminPprof, Metrics: d.met.Handler(),
			Calls: calls{d.srv}, Registrations: registrations{d.reg}, Reloader: reloader{d}, Drainer: drainer{d}, Health: health{d},
			Version: opts.Version, Logger: log})
		if err != nil {
			return nil, err
		}
		if err := d.adm.Start(); err != nil {
			return nil, err
		}
	}
	d.log.Info("sbc started", "listeners", len(lcs), "interfaces", strings.Join(names, ","),
		"policy", strings.Join(d.store.Files(), ","), "admin", d.AdminAddr())
	return d, nil
}

// close tears down in dependency order: the admin API (no more operator
// requests), the transaction layer and sockets (no more SIP), the relay
// (media ports back), then the CDR file (every CDR already written).
func (d *Daemon) close() error {
	var errs []error
	if d.adm != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		errs = append(errs, d.adm.Shutdown(ctx))
		cancel()
	}
	if d.reg != nil {
		errs = append(errs, d.reg.Close())
	}
	if d.mgr != nil {
		errs = append(errs, d.mgr.Close())
	}
	if d.layer != nil {
		errs = append(errs, d.layer.Close())
	}
	if d.relay != nil {
		errs = append(errs, d.relay.Close())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	errs = append(errs, d.cdr.close(ctx))
	if d.capt != nil {
		errs = append(errs, d.capt.Close(ctx))
	}
	cancel()
	return errors.Join(errs...)
}

func (d *Daemon) onReload(r policy.ReloadResult) {
	if r.Err != nil {
		var de *policy.DiagError
		if errors.As(r.Err, &de) {
			d.log.Error("policy reload failed; the previous policy stays in force", "trigger", r.Trigger, "diagnostics", de.Text())
		} else {
			d.log.Error("policy reload failed; the previous policy stays in force", "trigger", r.Trigger, "err", r.Err)
		}
		d.met.PolicyReloaded(false, "")
		return
	}
	d.met.PolicyReloaded(true, policyHash(r.Policy))
	d.log.Info("policy reloaded", "trigger", r.Trigger, "generation", r.Policy.Generation())
}

func (d *Daemon) onReject(r transport.Reject) {
	switch r.Reason {
	case transport.RejectUnparseable, transport.RejectUnframeable:
		d.met.ParseError(strings.ToLower(r.Transport.String()))
	case transport.RejectTooLarge:
		d.met.Rejected(metrics.RejectReason("too_large"))
	case transport.RejectConnLimit:
		d.met.Rejected(metrics.RejectReason("conn_limit"))
	default:
		d.met.Rejected(metrics.RejectReason("invalid"))
	}
}

func (d *Daemon) mediaStats(dst []metrics.InterfaceStats) []metrics.InterfaceStats {
	st := d.relay.Stats()
	d.media.mu.Lock()
	defer d.media.mu.Unlock()
	for _, ifc := range st.Interfaces {
		is := metrics.InterfaceStats{Name: ifc.Name, PortsInUse: ifc.PortsInUse, PortsTotal: ifc.PortsTotal,
			Sessions: ifc.PortsInUse / 2}
		if t := d.media.m[ifc.Name]; t != nil {
			is.PacketsIn, is.PacketsOut, is.BytesIn, is.BytesOut, is.PacketsLost = t.pktIn, t.pktOut, t.bytesIn, t.bytesOut, t.lost
		}
		dst = append(dst, is)
	}
	return dst
}

// mediaTotals accumulates, per interface, the media counted by the relay
// for calls that ended (from their CDRs): what the caller sent arrived on
// the A-leg interface and left by the B-leg one, and the other way round.
type mediaTotals struct {
	mu sync.Mutex
	m  map[string]*ifaceTotals
}

type ifaceTotals struct{ pktIn, pktOut, bytesIn, bytesOut, lost uint64 }

func (mt *mediaTotals) add(p *policy.Policy, c *b2bua.CDR) {
	ifaceOf := func(trunk string) string {
		if t, ok := p.Trunk(trunk); ok {
			return t.Interface
		}
		return ""
	}
	a, b := ifaceOf(c.FromTrunk), ifaceOf(c.ToTrunk)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if mt.m == nil {
		mt.m = map[string]*ifaceTotals{}
	}
	get := func(n string) *ifaceTotals {
		if mt.m[n] == nil {
			mt.m[n] = &ifaceTotals{}
		}
		return mt.m[n]
	}
	if a != "" {
		ta := get(a)
		ta.pktIn += c.Media.APackets
		ta.bytesIn += c.Media.ABytes
		ta.lost += c.Media.ALost
		ta.pktOut += c.Media.BPackets
		ta.bytesOut += c.Media.BBytes
	}
	if b != "" {
		tb := get(b)
		tb.pktIn += c.Media.BPackets
		tb.bytesIn += c.Media.BBytes
		tb.lost += c.Media.BLost
		tb.pktOut += c.Media.APackets
		tb.bytesOut += c.Media.ABytes
	}
}

// policyHash identifies the policy in force: a hash of its files' contents
// (or of its generation for the embedded default).
func policyHash(p *policy.Policy) string {
	h := sha256.New()
	for _, f := range p.Files() {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(h, "%s:%d", f, p.Generation())
			continue
		}
		h.Write(b)
	}
	if len(p.Files()) == 0 {
		fmt.Fprintf(h, "embedded")
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// pendingTx stands in until the Manager, which needs the B2BUA as its
// handler, exists.
type pendingTx struct{ b2bua.TxLayer }

type observer struct {
	m *metrics.Metrics
	d *Daemon
}

func (o observer) CallAttempted(trunk string) { o.m.CallAttempted(trunk) }
func (o observer) CallAnswered(trunk string, setup time.Duration) {
	o.m.CallAnswered(trunk, setup)
}
func (o observer) CallFailed(trunk string, code int) { o.m.CallFailed(trunk, code) }
func (o observer) CallEnded(c *b2bua.CDR) {
	o.m.CallEnded(c.FromTrunk)
	o.d.media.add(o.d.store.Current(), c)
}

type calls struct{ s *b2bua.Server }

func (c calls) List() []admin.CallInfo {
	var out []admin.CallInfo
	for _, ci := range c.s.Calls() {
		out = append(out, toAdmin(ci))
	}
	return out
}

func (c calls) Get(id string) (admin.CallInfo, bool) {
	ci, ok := c.s.Call(id)
	if !ok {
		return admin.CallInfo{}, false
	}
	return toAdmin(ci), true
}

func (c calls) Hangup(id string) error {
	if err := c.s.Hangup(id); err != nil {
		if errors.Is(err, b2bua.ErrNoCall) {
			return admin.ErrNotFound
		}
		return err
	}
	return nil
}

func toAdmin(ci b2bua.CallInfo) admin.CallInfo {
	return admin.CallInfo{ID: ci.ID, State: ci.State, From: ci.Caller, To: ci.Callee, InTrunk: ci.FromTrunk,
		OutTrunk: ci.ToTrunk, Start: ci.Start, Answered: ci.Answer, AgeSeconds: ci.AgeSeconds,
		Legs: []admin.LegInfo{
			{Side: "a", Trunk: ci.FromTrunk, CallID: ci.ALegCallID,
				Media: []admin.MediaInfo{{PacketsIn: ci.Media.APackets, BytesIn: ci.Media.ABytes, PacketsLost: ci.Media.ALost}}},
			{Side: "b", Trunk: ci.ToTrunk, CallID: ci.BLegCallID,
				Media: []admin.MediaInfo{{PacketsIn: ci.Media.BPackets, BytesIn: ci.Media.BBytes, PacketsLost: ci.Media.BLost}}},
		}}
}

type reloader struct{ d *Daemon }

func (r reloader) Reload() (string, string, error) {
	p, err := r.d.store.Reload()
	if err != nil {
		r.d.onReload(policy.ReloadResult{Trigger: "admin", Err: err})
		var de *policy.DiagError
		if errors.As(err, &de) {
			return "", de.Text(), err
		}
		return "", err.Error(), err
	}
	r.d.onReload(policy.ReloadResult{Trigger: "admin", Policy: p})
	return fmt.Sprintf("%d trunks, %d routes", len(p.Trunks()), len(p.Routes())), "", nil
}

type drainer struct{ d *Daemon }

func (dr drainer) Drain() (int, error) {
	dr.d.drainOnce.Do(func() { close(dr.d.drainReq) })
	return dr.d.srv.ActiveCalls(), nil
}

type health struct{ d *Daemon }

func (h health) Health() admin.Health {
	st := admin.StatusOK
	select {
	case <-h.d.drainReq:
		st = admin.StatusDraining
	default:
	}
	return admin.Health{Status: st, Version: h.d.opts.Version, UptimeSeconds: time.Since(h.d.started).Seconds(),
		ActiveCalls: h.d.srv.ActiveCalls(), PolicyHash: policyHash(h.d.store.Current())}
}

// locator finds registered UAs for calls from the core.
type locator struct{ r *nat.Registrar }

func (l locator) Locate(ruri sip.URI) (b2bua.LocatedUA, bool) {
	b, ok := l.r.LookupURI(ruri.String())
	if !ok {
		return b2bua.LocatedUA{}, false
	}
	return b2bua.LocatedUA{Trunk: b.Trunk, AOR: b.AOR, Contact: b.Contact, Source: b.Source,
		Transport: b.Transport, Flow: b.Flow}, true
}

type registrations struct{ r *nat.Registrar }

func (rs registrations) List() []admin.RegistrationInfo {
	var out []admin.RegistrationInfo
	for _, b := range rs.r.List() {
		out = append(out, admin.RegistrationInfo{AOR: b.AOR, Contact: b.Contact, Source: b.Source,
			Transport: b.Transport, NAT: b.NAT, UserAgent: b.UserAgent, Expires: b.Expires})
	}
	return out
}
