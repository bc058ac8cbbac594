package capture

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
)

// Config is the capture section of the daemon's settings, as the config
// package decodes it; Open turns it into a running Capturer.
type Config struct {
	// PcapPath enables the pcap sink ("" disables it).
	PcapPath     string
	PcapLinkType LinkType // 0: Ethernet
	PcapMaxBytes int64    // 0: DefaultMaxBytes
	PcapMaxFiles int      // 0: DefaultMaxFiles
	// HEPAddr enables the HEP v3 sink towards a Homer collector.
	HEPAddr    netip.AddrPort
	HEPAgentID uint32
	HEPAuthKey string
	// SampleOneIn, Trunks and QueueSize are the Capturer's Options.
	SampleOneIn uint64
	Trunks      []string
	QueueSize   int
}

// Enabled reports whether any sink is configured.
func (c Config) Enabled() bool { return c.PcapPath != "" || c.HEPAddr.IsValid() }

// Open opens the configured sinks and starts a Capturer; with no sink it
// returns a nil *Capturer, which captures nothing at no cost.
func Open(cfg Config, log *slog.Logger) (*Capturer, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	sinks := map[string]Sink{}
	if cfg.PcapPath != "" {
		w, err := OpenPcap(cfg.PcapPath, PcapOptions{LinkType: cfg.PcapLinkType, MaxBytes: cfg.PcapMaxBytes, MaxFiles: cfg.PcapMaxFiles})
		if err != nil {
			return nil, err
		}
		sinks["pcap"] = w
	}
	if cfg.HEPAddr.IsValid() {
		h, err := DialHEP(cfg.HEPAddr, HEPOptions{AgentID: cfg.HEPAgentID, AuthKey: cfg.HEPAuthKey})
		if err != nil {
			var errs []error
			for _, s := range sinks {
				errs = append(errs, s.Close())
			}
			return nil, errors.Join(append([]error{err}, errs...)...)
		}
		sinks["hep"] = h
	}
	c := New(Options{SampleOneIn: cfg.SampleOneIn, Trunks: cfg.Trunks, QueueSize: cfg.QueueSize, Logger: log}, sinks)
	c.log.Info("capture on", "pcap", cfg.PcapPath, "hep", fmt.Sprint(cfg.HEPAddr), "sample_one_in", cfg.SampleOneIn, "trunks", cfg.Trunks)
	return c, nil
}
