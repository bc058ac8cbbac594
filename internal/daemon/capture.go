package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/sbc-project/sbc/b2bua"
	"github.com/sbc-project/sbc/capture"
	"github.com/sbc-project/sbc/cdrpost"
	"github.com/sbc-project/sbc/sip/transport"
)

// CaptureOptions configures SIP capture (pcap file and/or HEP v3).
type CaptureOptions struct {
	Pcap     string
	HEP      string // host:port of a Homer collector
	HEPID    int
	SampleN  int
	Trunks   []string
	MaxBytes int64
}

func openCapture(o CaptureOptions, d *Daemon) (*capture.Capturer, error) {
	cfg := capture.Config{PcapPath: o.Pcap, PcapMaxBytes: o.MaxBytes, HEPAgentID: uint32(o.HEPID),
		SampleOneIn: uint64(max(o.SampleN, 1)), Trunks: o.Trunks}
	if o.HEP != "" {
		ap, err := netip.ParseAddrPort(o.HEP)
		if err != nil {
			return nil, err
		}
		cfg.HEPAddr = ap
	}
	return capture.Open(cfg, d.log)
}

// tap copies every SIP message in and out of the transport layer, on every
// transport, to the capturer, with the Call-ID (so sampling keeps a call
// whole) and the trunk the peer address belongs to. It is on the signalling
// path only (never media), and Capture never blocks: its queue drops when
// full.
func (d *Daemon) tap(in bool, f transport.Flow, b []byte) {
	local, remote := f.Local(), f.Remote()
	src, dst, dir := remote, local, capture.In
	if !in {
		src, dst, dir = local, remote, capture.Out
	}
	tr := strings.ToLower(f.Transport().String())
	trunk := ""
	if p := d.store.Current(); p != nil {
		if t, ok := p.MatchTrunk(netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port()), tr, f.Interface()); ok {
			trunk = t.Name
		}
	}
	d.capt.Capture(dir, tr, src, dst, callIDOf(b), trunk, b, time.Now())
}

// callIDOf finds the Call-ID (or compact i) header value in a raw message
// without parsing it.
func callIDOf(msg []byte) string {
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		line := msg
		if i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return "" // end of the header section
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Call-ID")) || bytes.EqualFold(name, []byte("i")) {
			return string(bytes.TrimSpace(value))
		}
	}
	return ""
}

// cdrSinks writes each CDR to the file and queues it for the HTTP POST.
type cdrSinks struct {
	file *b2bua.FileCDRWriter
	post *cdrpost.Poster
}

func (s cdrSinks) WriteCDR(c *b2bua.CDR) error {
	var errs []error
	if s.file != nil {
		errs = append(errs, s.file.WriteCDR(c))
	}
	if s.post != nil {
		b, err := json.Marshal(c)
		if err == nil && !s.post.Enqueue(b) {
			err = errors.New("daemon: CDR POST queue full")
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s cdrSinks) close(ctx context.Context) error {
	var errs []error
	if s.post != nil {
		errs = append(errs, s.post.Close(ctx)) // drains the queue: no CDR lost on a clean stop
	}
	if s.file != nil {
		errs = append(errs, s.file.Close())
	}
	return errors.Join(errs...)
}
