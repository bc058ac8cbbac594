package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultAddr is the admin listener's default address: loopback only.
const DefaultAddr = "127.0.0.1:9060"

// maxBody bounds request bodies; no endpoint takes more than a few bytes.
const maxBody = 4 << 10

// Config configures New. Every data source is optional: an endpoint whose
// source is nil answers 503.
type Config struct {
	// Addr is the listen address; "" means DefaultAddr.
	Addr string
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every endpoint (RFC 6750 §2.1), /metrics included.
	Token string
	// AllowInsecure permits a non-loopback Addr without a Token.
	AllowInsecure bool
	// Profiling serves the Go runtime profiles (net/http/pprof) under
	// /debug/pprof/, behind the same Token: CPU, heap, allocations and
	// goroutines of a live daemon, for diagnosing load problems.
	Profiling bool

	Metrics       http.Handler // served at /metrics
	Calls         Calls
	Registrations Registrations
	Reloader      Reloader
	Drainer       Drainer
	Health        HealthChecker

	// Version is reported by /api/health when Health is nil.
	Version string
	// Logger receives admin actions (hang-up, reload, drain) and serve
	// errors; nil discards.
	Logger *slog.Logger
	// Now is the clock for ages and uptimes; nil is time.Now.
	Now func() time.Time
}

// Server is the admin HTTP server. Its goroutines are owned by Start and end
// with Shutdown.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	started time.Time
	token   [sha256.Size]byte
	handler http.Handler

	mu      sync.Mutex
	srv     *http.Server
	ln      net.Listener
	serveWG sync.WaitGroup
}

// New checks cfg and builds the server; Start binds it.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Token == "" && !cfg.AllowInsecure && !isLoopback(cfg.Addr) {
		return nil, fmt.Errorf("%w: %s", ErrInsecureBind, cfg.Addr)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "admin")
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	s.token = sha256.Sum256([]byte(cfg.Token))
	s.handler = s.routes()
	return s, nil
}

// isLoopback reports whether a host:port names only loopback addresses:
// a loopback IP or "localhost". An empty host (all interfaces) is not.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (s *Server) routes() http.Handler {
	metrics := s.cfg.Metrics
	if metrics == nil {
		metrics = s.unavailable("metrics")
	}
	routes := []struct {
		path    string
		methods map[string]http.Handler
	}{
		{"/metrics", map[string]http.Handler{"GET": metrics}},
		{"/api/calls", map[string]http.Handler{"GET": http.HandlerFunc(s.listCalls)}},
		{"/api/calls/{id}", map[string]http.Handler{"GET": http.HandlerFunc(s.getCall), "DELETE": http.HandlerFunc(s.hangup)}},
		{"/api/calls/{id}/hangup", map[string]http.Handler{"POST": http.HandlerFunc(s.hangup)}},
		{"/api/registrations", map[string]http.Handler{"GET": http.HandlerFunc(s.listRegistrations)}},
		{"/api/reload", map[string]http.Handler{"POST": http.HandlerFunc(s.reload)}},
		{"/api/drain", map[string]http.Handler{"POST": http.HandlerFunc(s.drain)}},
		{"/api/health", map[string]http.Handler{"GET": http.HandlerFunc(s.health)}},
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		var allow []string
		for m, h := range rt.methods {
			mux.Handle(m+" "+rt.path, h) // GET also serves HEAD
			allow = append(allow, m)
			if m == "GET" {
				allow = append(allow, "HEAD")
			}
		}
		slices.Sort(allow)
		allowed := strings.Join(allow, ", ")
		// Other methods on a known path: 405 with Allow (RFC 9110 §15.5.6).
		mux.HandleFunc(rt.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed)
			writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: r.Method + " not allowed on " + r.URL.Path})
		})
	}
	if s.cfg.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "no such endpoint: " + r.URL.Path})
	})
	return http.MaxBytesHandler(s.authenticate(mux), maxBody)
}

// Handler returns the server's handler, authentication included (for tests
// and for mounting on another server).
func (s *Server) Handler() http.Handler { return s.handler }

// authenticate enforces the bearer token (RFC 6750): a missing or wrong token
// gets 401 with a WWW-Authenticate challenge (§3). The comparison runs on
// SHA-256 digests in constant time, so neither content nor length leaks.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sbc"`)
			writeJSON(w, http.StatusUnauthorized, ErrorBody{Error: "bearer token required"})
			return
		}
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], s.token[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sbc", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, ErrorBody{Error: "invalid token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken extracts the token of an "Authorization: Bearer x" header; the
// scheme is case-insensitive (RFC 9110 §11.1).
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func (s *Server) unavailable(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: what + " not available"})
	}
}

func (s *Server) fillCall(c *CallInfo, now time.Time) {
	c.AgeSeconds = now.Sub(c.Start).Seconds()
	if c.Legs == nil {
		c.Legs = []LegInfo{}
	}
}

// listCalls serves GET /api/calls, oldest call first; ?trunk=name keeps the
// calls with that trunk on either side.
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Calls == nil {
		s.unavailable("calls")(w, r)
		return
	}
	calls := s.cfg.Calls.List()
	if trunk := r.URL.Query().Get("trunk"); trunk != "" {
		calls = slices.DeleteFunc(calls, func(c CallInfo) bool { return c.InTrunk != trunk && c.OutTrunk != trunk })
	}
	slices.SortStableFunc(calls, func(a, b CallInfo) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	now := s.now()
	for i := range calls {
		s.fillCall(&calls[i], now)
	}
	if calls == nil {
		calls = []CallInfo{}
	}
	writeJSON(w, http.StatusOK, calls)
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Calls == nil {
		s.unavailable("calls")(w, r)
		return
	}
	id := r.PathValue("id")
	c, ok := s.cfg.Calls.Get(id)
	if !ok {
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "no call " + id})
		return
	}
	s.fillCall(&c, s.now())
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) hangup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Calls == nil {
		s.unavailable("calls")(w, r)
		return
	}
	id := r.PathValue("id")
	if err := s.cfg.Calls.Hangup(id); err != nil {
		if errors.Is(err, ErrNotFound) {
			writeJSON(w, http.StatusNotFound, ErrorBody{Error: "no call " + id})
			return
		}
		s.log.Warn("hangup failed", "call", id, "remote", r.RemoteAddr, "err", err)
		writeJSON(w, http.StatusInternalServerError, ErrorBody{Error: err.Error()})
		return
	}
	s.log.Info("call hung up by operator", "call", id, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusAccepted, HangupResult{ID: id, Hangup: true})
}

func (s *Server) listRegistrations(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Registrations == nil {
		s.unavailable("registrations")(w, r)
		return
	}
	regs := s.cfg.Registrations.List()
	slices.SortStableFunc(regs, func(a, b RegistrationInfo) int {
		if c := strings.Compare(a.AOR, b.AOR); c != 0 {
			return c
		}
		return strings.Compare(a.Contact, b.Contact)
	})
	now := s.now()
	for i := range regs {
		regs[i].ExpiresInSeconds = max(0, regs[i].Expires.Sub(now).Seconds())
	}
	if regs == nil {
		regs = []RegistrationInfo{}
	}
	writeJSON(w, http.StatusOK, regs)
}

// reload serves POST /api/reload: 200 on success, 422 with the diagnostics
// when the new policy is invalid (the old one stays in force).
func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Reloader == nil {
		s.unavailable("reload")(w, r)
		return
	}
	summary, diags, err := s.cfg.Reloader.Reload()
	res, status := ReloadResult{OK: true, Summary: summary, Diagnostics: diags}, http.StatusOK
	if err != nil {
		s.log.Warn("policy reload failed", "remote", r.RemoteAddr, "err", err)
		res, status = ReloadResult{Error: err.Error(), Diagnostics: diags}, http.StatusUnprocessableEntity
	} else {
		s.log.Info("policy reloaded", "remote", r.RemoteAddr, "summary", summary)
	}
	if wantsText(r) { // curl -H 'Accept: text/plain': the diagnostics as the policy printed them
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if err != nil {
			fmt.Fprintf(w, "reload failed: %s\n", res.Error)
		} else {
			fmt.Fprintf(w, "reloaded: %s\n", res.Summary)
		}
		io.WriteString(w, res.Diagnostics)
		return
	}
	writeJSON(w, status, res)
}

// wantsText reports whether the client asked for text/plain rather than JSON.
func wantsText(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "text/plain") && !strings.Contains(a, "application/json")
}

func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Drainer == nil {
		s.unavailable("drain")(w, r)
		return
	}
	n, err := s.cfg.Drainer.Drain()
	if err != nil {
		s.log.Warn("drain failed", "remote", r.RemoteAddr, "err", err)
		writeJSON(w, http.StatusInternalServerError, ErrorBody{Error: err.Error()})
		return
	}
	s.log.Info("drain requested", "remote", r.RemoteAddr, "active_calls", n)
	writeJSON(w, http.StatusAccepted, DrainResult{Draining: true, ActiveCalls: n})
}

// health serves GET /api/health: 200 while serving, 503 while draining so
// that load balancers stop sending new work.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	h := Health{Status: StatusOK, Version: s.cfg.Version}
	if s.cfg.Health != nil {
		h = s.cfg.Health.Health()
	} else if s.cfg.Calls != nil {
		h.ActiveCalls = len(s.cfg.Calls.List())
	}
	if h.UptimeSeconds == 0 {
		h.UptimeSeconds = s.now().Sub(s.started).Seconds()
	}
	status := http.StatusOK
	if h.Status != StatusOK {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

// Start binds the listener and serves in the background. A bind error (port
// in use, permission) is returned here, not later.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("admin: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("admin: listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin server stopped", "err", err)
		}
	}()
	s.log.Info("admin listening", "addr", ln.Addr().String(), "auth", s.cfg.Token != "")
	return nil
}

// Addr returns the bound address (useful with port 0), or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops the listener and waits, until ctx ends, for requests in
// progress, like net/http.Server.Shutdown.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	s.serveWG.Wait()
	if err != nil {
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	return nil
}
