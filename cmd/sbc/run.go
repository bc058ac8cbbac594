package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/sbc-project/sbc/config"
	"github.com/sbc-project/sbc/internal/daemon"
	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip/transport"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type commonFlags struct {
	configs  listFlag
	policies listFlag
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.Var(&c.configs, "config", "configuration file (repeatable; default: the embedded loopback configuration)")
	fs.Var(&c.policies, "policy", "policy file (repeatable; overrides the configuration's policy block)")
}

// load reads the configuration and applies the policy override.
func (c *commonFlags) load() (*config.Config, error) {
	cfg, err := config.Load(c.configs...)
	if err != nil {
		return nil, err
	}
	if len(c.policies) > 0 {
		cfg.PolicyFiles = c.policies
	}
	return cfg, nil
}

func printErr(w io.Writer, err error) {
	var ce *config.DiagError
	var pe *policy.DiagError
	switch {
	case errors.As(err, &ce):
		_ = ce.WriteText(w, 100, false)
	case errors.As(err, &pe):
		_ = pe.WriteText(w, 100, false)
	default:
		fmt.Fprintln(w, "sbc:", err)
	}
}

func runCmd(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	adminAddr := fs.String("admin", "", "admin and metrics listen address (overrides the configuration; \"off\" disables)")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn, error (overrides the configuration)")
	logFormat := fs.String("log-format", "", "log format: text or json (overrides the configuration)")
	cdrFile := fs.String("cdr", "", "CDR file, one JSON line per call (overrides the configuration)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		printErr(os.Stderr, err)
		return 1
	}
	switch *adminAddr {
	case "":
	case "off":
		cfg.Admin.Listen = ""
	default:
		cfg.Admin.Listen = *adminAddr
	}
	if *logLevel != "" {
		if err := cfg.Log.Level.UnmarshalText([]byte(*logLevel)); err != nil {
			fmt.Fprintln(os.Stderr, "sbc: -log-level:", err)
			return 2
		}
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	if *cdrFile != "" {
		cfg.CDR.File = *cdrFile
	}
	log := newLogger(os.Stderr, cfg.Log)
	applyRuntime(cfg.Runtime, log)
	opts, err := options(cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbc:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	opts.Reload = hup
	if err := daemon.Run(ctx, opts); err != nil {
		printErr(os.Stderr, err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, l config.Log) *slog.Logger {
	ho := &slog.HandlerOptions{Level: l.Level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// applyRuntime sets the collector's target and the soft memory limit from
// the runtime block, unless GOGC or GOMEMLIMIT were given in the
// environment (which the Go runtime has applied already).
func applyRuntime(rt config.Runtime, log *slog.Logger) {
	gc, limit := "GOGC", "GOMEMLIMIT"
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(rt.GCPercent)
		gc = strconv.Itoa(rt.GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && rt.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(rt.MemoryLimitMB << 20)
		limit = strconv.FormatInt(rt.MemoryLimitMB, 10) + " MiB"
	} else if os.Getenv("GOMEMLIMIT") == "" {
		limit = "none"
	}
	log.Info("runtime", "gc_percent", gc, "memory_limit", limit)
}

// options turns the validated configuration into the daemon's options.
func options(cfg *config.Config, log *slog.Logger) (daemon.Options, error) {
	o := daemon.Options{
		T1: cfg.SIP.T1, T2: cfg.SIP.T2, T4: cfg.SIP.T4,
		Limits:             transport.DefaultLimits(),
		PolicyFiles:        cfg.PolicyFiles,
		AdminAddr:          cfg.Admin.Listen,
		AdminToken:         cfg.Admin.Token,
		AdminPprof:         cfg.Admin.Pprof,
		CDRFile:            cfg.CDR.File,
		CDRMaxBytes:        cfg.CDR.MaxBytes,
		CDRURL:             cfg.CDR.URL,
		MediaTimeout:       cfg.Media.Timeout,
		MediaWorkers:       cfg.Media.Workers,
		MediaIdleSockets:   cfg.Media.IdleSockets,
		MediaReuseDelay:    cfg.Media.ReuseDelay,
		DrainTimeout:       cfg.DrainTimeout,
		OverloadQueueDelay: cfg.SIP.OverloadQueueDelay,
		TryingDelay:        cfg.SIP.TryingDelay,
		RegistrarInterface: cfg.RegistrarInterface,
		Capture: daemon.CaptureOptions{Pcap: cfg.Capture.Pcap, HEP: cfg.Capture.HEP, HEPID: cfg.Capture.HEPID,
			SampleN: cfg.Capture.SampleN, Trunks: cfg.Capture.Trunks, MaxBytes: cfg.Capture.MaxBytes},
		Logger:  log,
		Version: version,
	}
	if cfg.Media.ReuseDelay == 0 {
		o.MediaReuseDelay = -1 // "0s" in the file: no rest (the relay reads 0 as its default)
	}
	if v := cfg.SIP.MaxMessageSize; v > 0 {
		o.Limits.MaxMessageSize = v
	}
	if v := cfg.SIP.MaxConnections; v > 0 {
		o.Limits.MaxConns = v
	}
	if v := cfg.SIP.MaxConnsPerSource; v > 0 {
		o.Limits.MaxConnsPerSource = v
	}
	if v := cfg.SIP.IdleTimeout; v > 0 {
		o.Limits.IdleTimeout = v
	}
	if v := cfg.SIP.PartialTimeout; v > 0 {
		o.Limits.PartialTimeout = v
	}
	for _, ifc := range cfg.Interfaces {
		di := daemon.Interface{Name: ifc.Name, Advertise: ifc.Advertise, MediaAddr: ifc.MediaAddr,
			MediaAdvertise: ifc.MediaAdvertise, PortMin: ifc.PortMin, PortMax: ifc.PortMax}
		for _, l := range ifc.Listeners {
			tr, ok := transport.ParseTransport(l.Transport)
			if !ok {
				return o, fmt.Errorf("interface %s: transport %q", ifc.Name, l.Transport)
			}
			di.Listen = append(di.Listen, daemon.Listener{Transport: tr, Addr: l.Addr, CertFile: l.CertFile, KeyFile: l.KeyFile})
		}
		o.Interfaces = append(o.Interfaces, di)
	}
	return o, nil
}
