package cdrpost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultQueueSize   = 4096
	DefaultWorkers     = 2
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultTimeout     = 10 * time.Second
)

// Options configures New; zero fields take the defaults above.
type Options struct {
	QueueSize   int           // CDRs waiting for a worker
	Workers     int           // concurrent POSTs
	MaxAttempts int           // tries per CDR, first one included
	BaseBackoff time.Duration // delay before the first retry, doubled each time
	MaxBackoff  time.Duration // cap of the delay (and of a Retry-After)
	Timeout     time.Duration // per request
	// Client sends the requests; nil is a client with default transport.
	// Its own Timeout, if any, applies too.
	Client *http.Client
	// Header is added to every request (e.g. Authorization).
	Header http.Header
	// ContentType of the body; "" is application/json.
	ContentType string
	// OnGiveUp receives every CDR that could not be delivered, with the
	// reason (wrapping ErrRejected, ErrAttempts or ErrAborted), so the
	// daemon can log or spill it. It is called from worker goroutines.
	OnGiveUp func(cdr []byte, err error)
	// Logger receives delivery failures (one line per CDR given up and
	// per outage start / end, never one per retry); nil discards.
	Logger *slog.Logger
}

// Stats are a Poster's counters.
type Stats struct {
	Enqueued  uint64 // accepted by Enqueue
	Dropped   uint64 // refused by Enqueue: queue full or closed
	Delivered uint64 // answered with 2xx
	Retries   uint64 // attempts after the first
	GivenUp   uint64 // passed to OnGiveUp
	Queued    int    // waiting now
}

// Poster posts CDRs to one URL. Its worker goroutines start in New and end in
// Close.
type Poster struct {
	url   string
	opts  Options
	log   *slog.Logger
	q     chan []byte
	mu    sync.RWMutex // guards closed against Enqueue's send
	close bool

	abortCtx context.Context // cancelled when Close's deadline passes
	abort    context.CancelFunc
	done     chan struct{} // closed when every worker has returned
	failing  atomic.Bool

	enqueued, dropped, delivered, retries, givenUp atomic.Uint64
}

// New validates url and starts the workers.
func New(rawURL string, opts Options) (*Poster, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q", ErrBadURL, rawURL)
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = DefaultBaseBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.ContentType == "" {
		opts.ContentType = "application/json"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Poster{
		url:  u.String(),
		opts: opts,
		log:  log.With("component", "cdrpost", "url", u.Redacted()),
		q:    make(chan []byte, opts.QueueSize),
		done: make(chan struct{}),
	}
	p.abortCtx, p.abort = context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work()
		}()
	}
	go func() { wg.Wait(); close(p.done) }()
	return p, nil
}

// Enqueue queues a copy of cdr for delivery. It never blocks: when the queue
// is full, or after Close, it returns false and counts a drop.
func (p *Poster) Enqueue(cdr []byte) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.close {
		p.dropped.Add(1)
		return false
	}
	select {
	case p.q <- bytes.Clone(cdr):
		p.enqueued.Add(1)
		return true
	default:
		p.dropped.Add(1)
		return false
	}
}

// Close stops accepting CDRs and waits until every queued CDR is delivered or
// given up. If ctx ends first, requests and backoffs in progress are
// cancelled, the remaining CDRs go to OnGiveUp (wrapping ErrAborted) and Close
// returns ctx's error once the workers have returned.
func (p *Poster) Close(ctx context.Context) error {
	p.mu.Lock()
	already := p.close
	if !already {
		p.close = true
		close(p.q) // the workers drain what is queued, then return
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		p.abort() // releases the context; nothing is left to cancel
		return nil
	case <-ctx.Done():
		p.abort()
		<-p.done
		return fmt.Errorf("cdrpost: close: %w", ctx.Err())
	}
}

// Stats returns the counters.
func (p *Poster) Stats() Stats {
	return Stats{
		Enqueued:  p.enqueued.Load(),
		Dropped:   p.dropped.Load(),
		Delivered: p.delivered.Load(),
		Retries:   p.retries.Load(),
		GivenUp:   p.givenUp.Load(),
		Queued:    len(p.q),
	}
}

func (p *Poster) work() {
	for cdr := range p.q {
		p.deliver(cdr)
	}
}

func (p *Poster) giveUp(cdr []byte, err error) {
	p.givenUp.Add(1)
	p.log.Warn("CDR not delivered", "err", err, "bytes", len(cdr))
	if p.opts.OnGiveUp != nil {
		p.opts.OnGiveUp(cdr, err)
	}
}

func (p *Poster) deliver(cdr []byte) {
	for attempt := 1; ; attempt++ {
		if p.abortCtx.Err() != nil {
			p.giveUp(cdr, ErrAborted)
			return
		}
		retry, wait, err := p.post(cdr)
		if err == nil {
			p.delivered.Add(1)
			if p.failing.CompareAndSwap(true, false) {
				p.log.Info("CDR endpoint recovered")
			}
			return
		}
		if !retry {
			p.giveUp(cdr, err)
			return
		}
		if p.failing.CompareAndSwap(false, true) {
			p.log.Warn("CDR endpoint failing, retrying", "err", err)
		}
		if attempt >= p.opts.MaxAttempts {
			p.giveUp(cdr, fmt.Errorf("%w after %d: %w", ErrAttempts, attempt, err))
			return
		}
		if wait <= 0 {
			wait = Backoff(attempt, p.opts.BaseBackoff, p.opts.MaxBackoff, rand.Float64())
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.abortCtx.Done():
			t.Stop()
			p.giveUp(cdr, fmt.Errorf("%w: %w", ErrAborted, err))
			return
		}
		p.retries.Add(1)
	}
}

// post makes one attempt. It reports whether a failure is worth retrying and
// the delay the server asked for (Retry-After), if any.
func (p *Poster) post(cdr []byte) (retry bool, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(p.abortCtx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(cdr))
	if err != nil {
		return false, 0, fmt.Errorf("cdrpost: %w", err)
	}
	for k, v := range p.opts.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", p.opts.ContentType)
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		// Connection refused or reset, DNS, TLS, timeout: all transient.
		return true, 0, fmt.Errorf("cdrpost: %w", err)
	}
	// Drain a little of the body so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, 0, nil
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		// Server errors are transient; 408 (RFC 9110 §15.5.9) and 429
		// (RFC 6585 §4) are the 4xx answers that ask for a later retry.
		return true, min(retryAfter(resp.Header.Get("Retry-After")), p.opts.MaxBackoff),
			fmt.Errorf("cdrpost: status %d", code)
	default:
		return false, 0, fmt.Errorf("%w: status %d", ErrRejected, code)
	}
}

// retryAfter parses a Retry-After value in delay-seconds or HTTP-date form
// (RFC 9110 §10.2.3); 0 when absent or invalid.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// Backoff returns the delay before retry number attempt (1 for the first
// retry): base doubled per attempt, capped at maxDelay, with "equal jitter":
// half of it fixed and half scaled by r in [0, 1), so workers retrying
// together spread out.
func Backoff(attempt int, base, maxDelay time.Duration, r float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return d/2 + time.Duration(r*float64(d/2))
}
