package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// maxResponse bounds the answers the Client reads (a call list of tens of
// thousands of calls fits).
const maxResponse = 64 << 20

// APIError is an error answer of the admin API. It unwraps to ErrNotFound
// (404), ErrUnauthorized (401) or ErrUnavailable (503).
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("admin: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Unwrap maps the status to a sentinel.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusServiceUnavailable:
		return ErrUnavailable
	}
	return nil
}

// ReloadError is a reload the server rejected: the policy in force did not
// change. Diagnostics is what to show the operator.
type ReloadError struct {
	Message     string
	Diagnostics string
}

func (e *ReloadError) Error() string { return "admin: policy reload failed: " + e.Message }

// Unwrap returns ErrReloadFailed.
func (e *ReloadError) Unwrap() error { return ErrReloadFailed }

// Client talks to the admin API; the sbc subcommands (calls, hangup, reload,
// drain) use it. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	hc    *http.Client
}

// NewClient returns a client for the admin server at base ("127.0.0.1:9060"
// or "http://host:port"), sending token as a bearer token when not empty.
// hc nil means an http.Client with a 30 s timeout.
func NewClient(base, token string, hc *http.Client) (*Client, error) {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("admin: client: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("admin: client: bad base URL %q", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, token: token, hc: hc}, nil
}

func (c *Client) do(ctx context.Context, method, path string, okStatus int, out any) error {
	u := c.base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return fmt.Errorf("admin: client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin: client: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("admin: client: read %s: %w", path, err)
	}
	if resp.StatusCode != okStatus {
		if resp.StatusCode == http.StatusUnprocessableEntity && path == "/api/reload" {
			var rr ReloadResult
			if json.Unmarshal(body, &rr) == nil {
				return &ReloadError{Message: rr.Error, Diagnostics: rr.Diagnostics}
			}
		}
		var eb ErrorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(body))
		}
		return &APIError{Status: resp.StatusCode, Message: eb.Error}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("admin: client: decode %s: %w", path, err)
		}
	}
	return nil
}

// Calls lists the calls in progress, oldest first.
func (c *Client) Calls(ctx context.Context) ([]CallInfo, error) {
	var calls []CallInfo
	err := c.do(ctx, http.MethodGet, "/api/calls", http.StatusOK, &calls)
	return calls, err
}

// Call returns one call; the error wraps ErrNotFound for an unknown id.
func (c *Client) Call(ctx context.Context, id string) (CallInfo, error) {
	var call CallInfo
	err := c.do(ctx, http.MethodGet, "/api/calls/"+url.PathEscape(id), http.StatusOK, &call)
	return call, err
}

// Hangup ends a call (the SBC sends BYE on both legs); the error wraps
// ErrNotFound for an unknown id.
func (c *Client) Hangup(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/calls/"+url.PathEscape(id), http.StatusAccepted, nil)
}

// Registrations lists the registration cache.
func (c *Client) Registrations(ctx context.Context) ([]RegistrationInfo, error) {
	var regs []RegistrationInfo
	err := c.do(ctx, http.MethodGet, "/api/registrations", http.StatusOK, &regs)
	return regs, err
}

// Reload asks for a policy reload. A rejected policy is a *ReloadError with
// the diagnostics.
func (c *Client) Reload(ctx context.Context) (ReloadResult, error) {
	var rr ReloadResult
	err := c.do(ctx, http.MethodPost, "/api/reload", http.StatusOK, &rr)
	return rr, err
}

// Drain starts a graceful shutdown.
func (c *Client) Drain(ctx context.Context) (DrainResult, error) {
	var dr DrainResult
	err := c.do(ctx, http.MethodPost, "/api/drain", http.StatusAccepted, &dr)
	return dr, err
}

// Health returns the server's health. While draining the server answers 503:
// the Health is returned with an error wrapping ErrUnavailable.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.do(ctx, http.MethodGet, "/api/health", http.StatusOK, &h)
	if ae, ok := errors.AsType[*APIError](err); ok && ae.Status == http.StatusServiceUnavailable {
		h.Status = StatusDraining
	}
	return h, err
}

// WriteCalls prints calls as the table `sbc calls` shows.
func WriteCalls(w io.Writer, calls []CallInfo) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tAGE\tIN\tOUT\tFROM\tTO\tRTP IN/OUT\tLOST\tJITTER")
	for _, c := range calls {
		var in, out, lost uint64
		var jitter float64
		for _, l := range c.Legs {
			for _, m := range l.Media {
				in += m.PacketsIn
				out += m.PacketsOut
				lost += m.PacketsLost
				jitter = max(jitter, m.JitterMs)
			}
		}
		age := time.Duration(c.AgeSeconds * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%d\t%.1fms\n",
			c.ID, c.State, age, dash(c.InTrunk), dash(c.OutTrunk), dash(c.From), dash(c.To), in, out, lost, jitter)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
