package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/traefikapi"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// MaxBodyBytes bounds every request body (1 MiB).
const MaxBodyBytes = 1 << 20

// maxDrainBytes bounds what is read, and dropped, of a body over
// MaxBodyBytes so that its client gets the 413.
const maxDrainBytes = 8 << 20

// maxWait bounds ?wait so a client cannot hold a request open for long.
const maxWait = 5 * time.Minute

// Options configure the server.
type Options struct {
	Provider *provider.Writer
	// Token is the bearer token every /v1 request must carry.
	Token string
	// PublicURL is where users reach Traefik ("https://zoe.example.com"); optional.
	PublicURL string
	// TraefikAPIURL enables ?wait ("http://traefik:8080").
	TraefikAPIURL string
	// TraefikProvider is the suffix Traefik gives the names the sidecar
	// writes ("zookeeper", the default): ?wait asks its API for
	// <name>@<provider>.
	TraefikProvider string
	// MaxConcurrentApplies bounds hooks waiting on ZooKeeper at once; more get 503.
	MaxConcurrentApplies int
	Logger               *slog.Logger
	Metrics              *Metrics
	// MetricsElsewhere leaves /metrics out of Handler: the operator serves
	// MetricsHandler on an address of its own (--metrics-listen).
	MetricsElsewhere bool
	// Mirror, when set, serves GET /v1/traefik.
	Mirror Mirror
	// TraefikToken is a read-only bearer token accepted on GET
	// /v1/traefik only, besides Token; optional.
	TraefikToken string
	// PollHold bounds how long GET /v1/traefik holds a poll from a client
	// that already has the current configuration; 0 answers at once.
	PollHold time.Duration
}

// Server serves the HTTP API.
type Server struct {
	opts      Options
	tokenHash [32]byte
	// traefikTokenHash is the read-only token's; hasTraefikToken is 1
	// when there is one (an empty token must never match).
	traefikTokenHash [32]byte
	hasTraefikToken  int
	stopHolding      chan struct{}
	stopOnce         sync.Once
	views            Views
	applies          chan struct{}
	log              *slog.Logger
	metrics          *Metrics
	traefik          *traefikapi.Client // nil without a Traefik API URL
}

// New builds a server; the token must not be empty.
func New(opts Options) (*Server, error) {
	if opts.Token == "" {
		return nil, errors.New("api: empty token")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxConcurrentApplies <= 0 {
		opts.MaxConcurrentApplies = 256
	}
	s := &Server{
		opts:      opts,
		tokenHash: sha256.Sum256([]byte(opts.Token)),
		applies:   make(chan struct{}, opts.MaxConcurrentApplies),
		log:       opts.Logger,
		metrics:   opts.Metrics,

		stopHolding: make(chan struct{}),
	}
	if opts.TraefikToken != "" {
		s.traefikTokenHash, s.hasTraefikToken = sha256.Sum256([]byte(opts.TraefikToken)), 1
	}
	if opts.TraefikAPIURL != "" {
		if opts.TraefikProvider == "" {
			opts.TraefikProvider = "zookeeper"
		}
		s.traefik = traefikapi.NewClient(opts.TraefikAPIURL, opts.TraefikProvider)
	}
	var err error
	if s.views, err = NewViews(opts.PublicURL); err != nil {
		return nil, err
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	return s, nil
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/hooks", s.auth(s.handleHook))
	mux.HandleFunc("GET /v1/routes", s.auth(s.handleRoutes))
	mux.HandleFunc("GET /v1/executions/{id}", s.auth(s.handleExecution))
	mux.HandleFunc("PUT /v1/executions", s.auth(s.handleSync))
	if s.opts.Mirror != nil {
		mux.HandleFunc("GET /v1/traefik", s.authTraefik(s.handleTraefik))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	if !s.opts.MetricsElsewhere {
		mux.Handle("GET /metrics", s.MetricsHandler())
	}
	return mux
}

// MetricsHandler serves GET /metrics (Prometheus text format). It needs no
// token, as scrapers usually carry none: serve it on a separate address
// (Options.MetricsElsewhere) to keep it off the API's port.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	return mux
}

// auth checks the bearer token in constant time (over fixed-length hashes,
// so the token's length does not leak either).
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hash, ok := bearerHash(r)
		if !ok || subtle.ConstantTimeCompare(hash[:], s.tokenHash[:]) != 1 {
			unauthorized(w)
			return
		}
		next(w, r)
	}
}

// bearerHash is the SHA-256 of the request's bearer token; ok is false
// when the scheme is not Bearer. The scheme's name is case-insensitive and
// may be followed by several spaces (RFC 9110, 11.1).
func bearerHash(r *http.Request) (hash [sha256.Size]byte, ok bool) {
	scheme, given, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return sha256.Sum256([]byte(strings.TrimLeft(given, " "))), strings.EqualFold(scheme, "Bearer")
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="traefik-zk-sidecar"`)
	writeJSON(w, http.StatusUnauthorized, ErrorResponse{Error: "missing or wrong bearer token", Field: "Authorization"})
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	resp := apiv1.ReadyResponse{Status: "ready"}
	if m := s.opts.Mirror; m != nil {
		resp.Mirror = &apiv1.MirrorStatus{}
		if snap := m.Snapshot(); snap != nil {
			resp.Mirror = &apiv1.MirrorStatus{Loaded: true, Revision: snap.Revision, Routes: snap.Routes(), AgeSeconds: max(m.Age(), 0).Seconds()}
		}
	}
	status := http.StatusOK
	if !s.opts.Provider.Connected() {
		resp.Status, status = "zookeeper session down", http.StatusServiceUnavailable
	}
	writeJSON(w, status, resp)
}

func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req HookRequest
	status, resp, err := s.hook(r, &req)
	event := req.Event
	switch event {
	case EventPrepare, EventStart, EventStop:
	default:
		event = "invalid"
	}
	s.metrics.hooks.WithLabelValues(event, strconv.Itoa(status)).Inc()
	attrs := []any{"event", event, "status", status, "duration", time.Since(start).Round(time.Microsecond)}
	if req.Execution != nil {
		attrs = append(attrs, "execution", string(req.Execution.ID))
	}
	if err != nil {
		s.log.Info("hook", append(attrs, "error", err)...)
		s.writeError(w, status, err)
		return
	}
	s.log.Info("hook", append(attrs, "routes", len(resp.Routes))...)
	if resp.timing != nil {
		w.Header().Set("Server-Timing", serverTiming(*resp.timing))
	}
	writeJSON(w, status, resp)
}

// serverTiming renders where a start or stop spent its time in the writer
// (W3C Server-Timing, milliseconds), so that a client can tell the
// sidecar's queueing and ZooKeeper's round trips from the network's.
func serverTiming(t provider.Timing) string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 3, 64) }
	return "wait;dur=" + ms(t.Wait) + ", zk-read;dur=" + ms(t.Read) + ", plan;dur=" + ms(t.Plan) + ", zk-commit;dur=" + ms(t.Commit)
}

// hook decodes, validates and runs one hook; it returns the status to send.
func (s *Server) hook(r *http.Request, req *HookRequest) (int, *HookResponse, error) {
	if status, err := decodeBody(r, req); err != nil {
		return status, nil, err
	}
	if req.Execution == nil {
		return http.StatusBadRequest, nil, &execution.FieldError{Field: "execution", Message: "required"}
	}
	// Checked for every event, so that a client learns of a bad wait on
	// its first hook; a prepare writes nothing and has nothing to wait for.
	wait, err := s.waitParam(r)
	if err != nil {
		return http.StatusBadRequest, nil, err
	}
	p := s.opts.Provider
	switch req.Event {
	case EventPrepare:
		routes, err := p.Prepare(req.Execution)
		if err != nil {
			return statusOf(err), nil, err
		}
		return http.StatusOK, s.hookResponse(req.Execution.ID, routes, true), nil
	case EventStart:
		release, err := s.acquire()
		if err != nil {
			return http.StatusServiceUnavailable, nil, err
		}
		res, err := p.StartExecution(r.Context(), req.Execution)
		release()
		if err != nil {
			return statusOf(err), nil, err
		}
		resp := s.hookResponse(req.Execution.ID, res.Routes, true)
		resp.timing = &res.Timing
		if wait > 0 {
			served := s.waitTraefik(r.Context(), wait, req.Execution.ID, res.Routes, res.Removed)
			resp.Served = &served
		}
		return http.StatusOK, resp, nil
	case EventStop:
		release, err := s.acquire()
		if err != nil {
			return http.StatusServiceUnavailable, nil, err
		}
		res, err := p.StopExecution(r.Context(), req.Execution.ID)
		release()
		if err != nil {
			return statusOf(err), nil, err
		}
		resp := s.hookResponse(req.Execution.ID, res.Routes, false)
		resp.timing = &res.Timing
		if wait > 0 {
			unserved := s.waitTraefik(r.Context(), wait, req.Execution.ID, nil, res.Routes)
			resp.Unserved = &unserved
		}
		return http.StatusOK, resp, nil
	case "":
		return http.StatusBadRequest, nil, &execution.FieldError{Field: "event", Message: "required: prepare, start or stop"}
	default:
		return http.StatusBadRequest, nil, &execution.FieldError{Field: "event", Message: fmt.Sprintf("unknown event %q: want prepare, start or stop", req.Event)}
	}
}

func (s *Server) hookResponse(id execution.ID, routes []state.Route, withEnv bool) *HookResponse {
	resp := &HookResponse{HookResponse: apiv1.HookResponse{ExecutionID: string(id), Routes: s.views.Routes(routes), Env: map[string]map[string]string{}}}
	if withEnv {
		resp.Env = envOf(routes)
	}
	return resp
}

func (s *Server) waitParam(r *http.Request) (time.Duration, error) {
	raw, given := r.URL.Query()["wait"]
	if !given {
		return 0, nil
	}
	d, err := time.ParseDuration(raw[0])
	if len(raw) != 1 || err != nil || d <= 0 || d > maxWait {
		return 0, &execution.FieldError{Field: "wait", Message: fmt.Sprintf("want one duration greater than 0 and at most %s, like 10s", maxWait)}
	}
	if s.traefik == nil {
		return 0, &execution.FieldError{Field: "wait", Message: "needs --traefik-api-url"}
	}
	return d, nil
}

// waitTraefik polls Traefik's API for at most wait until it serves every
// route of served exactly as written and routes none of unserved; false
// when wait passes first (the reason is logged).
func (s *Server) waitTraefik(ctx context.Context, wait time.Duration, id execution.ID, served, unserved []state.Route) bool {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := s.traefik.Wait(ctx, traefikRoutes(served), traefikRoutes(unserved))
	if err != nil {
		s.log.Info("wait: Traefik did not show the change in time", "execution", string(id), "wait", wait, "error", err)
	}
	return err == nil
}

func traefikRoutes(rs []state.Route) []kvschema.Route {
	out := make([]kvschema.Route, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Traefik)
	}
	return out
}

func (s *Server) handleRoutes(w http.ResponseWriter, _ *http.Request) {
	routes, err := s.opts.Provider.Routes()
	if err != nil {
		s.writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, RoutesResponse{Routes: s.views.Routes(routes)})
}

func (s *Server) handleExecution(w http.ResponseWriter, r *http.Request) {
	id := execution.ID(r.PathValue("id"))
	rec, err := s.opts.Provider.Execution(id)
	if err != nil {
		s.writeError(w, statusOf(err), err)
		return
	}
	if rec == nil {
		writeJSON(w, http.StatusNotFound, ErrorResponse{Error: "no routes for execution " + string(id), Field: "id"})
		return
	}
	writeJSON(w, http.StatusOK, s.hookResponse(id, rec.Routes, true))
}

func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	var req ExecutionsRequest
	if status, err := decodeBody(r, &req); err != nil {
		s.writeError(w, status, err)
		return
	}
	if req.Executions == nil {
		// Missing or null (a typo such as "execution" lands here too): an
		// empty list stops every route, so it must be given explicitly, as
		// the sync command requires.
		s.writeError(w, http.StatusBadRequest, &execution.FieldError{Field: "executions",
			Message: `required: want {"executions": [...]} (an empty list stops every route)`})
		return
	}
	dryRun := false
	if raw := r.URL.Query().Get("dry_run"); raw != "" {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			s.writeError(w, http.StatusBadRequest, &execution.FieldError{Field: "dry_run", Message: "want true or false"})
			return
		}
		dryRun = v
	}
	release, err := s.acquire()
	if err != nil {
		s.writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	sp, err := s.opts.Provider.Sync(r.Context(), req.Executions, dryRun)
	release()
	if err != nil {
		s.writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, s.views.Sync(sp, dryRun))
}

var errMirrorNotLoaded = fmt.Errorf("%w: the routes have not been loaded from ZooKeeper yet", zkstore.ErrUnavailable)

var errBusy = fmt.Errorf("%w: too many concurrent requests", zkstore.ErrUnavailable)

// acquire bounds concurrent applies so a flood queues no unbounded work.
func (s *Server) acquire() (func(), error) {
	select {
	case s.applies <- struct{}{}:
		return func() { <-s.applies }, nil
	default:
		return nil, errBusy
	}
}

// decodeBody reads at most MaxBodyBytes of JSON into v.
func decodeBody(r *http.Request, v any) (int, error) {
	tooLarge := &execution.FieldError{Field: "body", Message: fmt.Sprintf("larger than %d bytes", MaxBodyBytes)}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		// Read what the client still sends, up to a bound (and the
		// server's read timeout), before answering: a connection closed
		// with unread data is reset, and a client still writing its body
		// then loses the answer.
		_, _ = io.CopyN(io.Discard, r.Body, maxDrainBytes)
		return http.StatusRequestEntityTooLarge, tooLarge
	}
	if err != nil {
		return http.StatusBadRequest, &execution.FieldError{Field: "body", Message: "reading: " + err.Error()}
	}
	if err := DecodeStrict(body, v); err != nil {
		return http.StatusBadRequest, err
	}
	return 0, nil
}

// statusOf maps provider errors to HTTP statuses.
func statusOf(err error) int {
	var fe *execution.FieldError
	switch {
	case errors.As(err, &fe):
		return http.StatusBadRequest
	case errors.Is(err, provider.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, zkstore.ErrUnavailable), errors.Is(err, zkstore.ErrConflict),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

func (s *Server) writeError(w http.ResponseWriter, status int, err error) {
	resp := ErrorResponse{Error: err.Error()}
	var fe *execution.FieldError
	if errors.As(err, &fe) {
		resp = ErrorResponse{Error: fe.Message, Field: fe.Field}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.log.Error("request failed", "error", err)
	}
	writeJSON(w, status, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
