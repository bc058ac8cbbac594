package b2bua

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// CDR is the record written once per call when it ends (one JSON object per
// line). Times are UTC; a zero AnswerTime means the call was never answered.
type CDR struct {
	ID          string    `json:"id"`
	ALegCallID  string    `json:"a_call_id"`
	BLegCallID  string    `json:"b_call_id,omitempty"`
	FromTrunk   string    `json:"from_trunk"`
	ToTrunk     string    `json:"to_trunk,omitempty"`
	Route       string    `json:"route,omitempty"`
	Caller      string    `json:"caller"`               // From user as received
	Callee      string    `json:"callee"`               // Request-URI user as received
	CallerOut   string    `json:"caller_out,omitempty"` // From user after rewriting
	CalleeOut   string    `json:"callee_out,omitempty"` // Request-URI user after rewriting
	Attempts    int       `json:"attempts"`             // B-leg INVITEs sent (failover)
	SetupTime   time.Time `json:"setup_time"`           // A-leg INVITE received
	AnswerTime  time.Time `json:"answer_time,omitzero"` // 2xx relayed to the A leg
	EndTime     time.Time `json:"end_time"`             // last leg released
	Duration    float64   `json:"duration_s"`           // answer to end, seconds
	Disposition string    `json:"disposition"`          // answered, busy, cancelled, failed, rejected, timeout
	SIPCode     int       `json:"sip_code"`             // final code on the A leg
	Reason      string    `json:"reason,omitempty"`     // reason phrase or Reason header
	HangupBy    string    `json:"hangup_by,omitempty"`  // caller, callee, sbc
	Media       MediaCDR  `json:"media"`                //
	Extra       any       `json:"extra,omitempty"`      // reserved for operators' tags
}

// MediaCDR is the media part of a CDR: what the relay counted per leg.
type MediaCDR struct {
	APackets uint64 `json:"a_packets"`
	ABytes   uint64 `json:"a_bytes"`
	ALost    uint64 `json:"a_lost"`
	BPackets uint64 `json:"b_packets"`
	BBytes   uint64 `json:"b_bytes"`
	BLost    uint64 `json:"b_lost"`
}

// CDRSink receives finished CDRs. Write must not block for long: the call's
// teardown path calls it.
type CDRSink interface {
	WriteCDR(*CDR) error
}

// FileCDRWriter appends CDRs as JSON lines to a file and rotates it when it
// grows past MaxBytes: the current file is renamed with a UTC timestamp
// suffix and a new one is opened, so a log shipper sees whole lines only.
type FileCDRWriter struct {
	path     string
	maxBytes int64
	now      func() time.Time

	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	size int64
}

// OpenFileCDRWriter opens (or creates) path for appending. maxBytes <= 0
// disables rotation.
func OpenFileCDRWriter(path string, maxBytes int64) (*FileCDRWriter, error) {
	w := &FileCDRWriter{path: path, maxBytes: maxBytes, now: time.Now}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *FileCDRWriter) open() error {
	if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
		return fmt.Errorf("b2bua: cdr: %w", err)
	}
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("b2bua: cdr: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("b2bua: cdr: %w", err)
	}
	w.f, w.w, w.size = f, bufio.NewWriterSize(f, 64<<10), st.Size()
	return nil
}

// WriteCDR appends one line and flushes it, so a crash loses no finished
// call.
func (w *FileCDRWriter) WriteCDR(c *CDR) error {
	line, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("b2bua: cdr: %w", err)
	}
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("b2bua: cdr: %w", os.ErrClosed)
	}
	if w.maxBytes > 0 && w.size > 0 && w.size+int64(len(line)) > w.maxBytes {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.w.Write(line)
	w.size += int64(n)
	if err == nil {
		err = w.w.Flush()
	}
	if err != nil {
		return fmt.Errorf("b2bua: cdr: %w", err)
	}
	return nil
}

func (w *FileCDRWriter) rotate() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("b2bua: cdr: %w", err)
	}
	w.f.Close()
	rotated := w.path + "." + w.now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(w.path, rotated); err != nil {
		return fmt.Errorf("b2bua: cdr: rotate: %w", err)
	}
	return w.open()
}

// Close flushes and closes the file.
func (w *FileCDRWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.w.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
