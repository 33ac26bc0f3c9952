package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/api"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/config"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/retry"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// HTTP server limits. WriteTimeout covers a start hook with ?wait (at most
// five minutes) plus the apply itself.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 6 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// shutdownGrace is how long in-flight requests may finish after
	// SIGTERM; it fits in Kubernetes' default 30 s termination grace.
	shutdownGrace = 25 * time.Second
)

func newServeCmd(environ []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API Zoe's lifecycle hooks call",
		Long: `Serve the HTTP API (POST /v1/hooks, GET /v1/routes, GET /v1/executions/{id},
PUT /v1/executions, /healthz, /readyz, /metrics) and keep ZooKeeper's routes
in step. Needs --traefik-zk-ips, an API token and a key secret.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, environ)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, newLogger(cfg, cmd.ErrOrStderr()))
		},
	}
	config.RegisterFlags(cmd.Flags())
	return cmd
}

// serveRequirements checks what serve needs before it touches the network,
// reporting everything that is missing at once.
func serveRequirements(cfg config.Config) (string, *keys.Deriver, error) {
	token, tokenErr := cfg.ResolveToken()
	deriver, keyErr := cfg.Deriver()
	_, zkErr := cfg.ZooKeeperServers()
	_, traefikTokenErr := cfg.ResolveTraefikToken()
	var problems []string
	for _, err := range []error{tokenErr, keyErr, zkErr, traefikTokenErr} {
		if err != nil {
			problems = append(problems, "  - "+err.Error())
		}
	}
	if len(problems) == 0 {
		return token, deriver, nil
	}
	hint := ""
	if errors.Is(tokenErr, config.ErrMissing) || errors.Is(keyErr, config.ErrMissing) {
		hint = "\nFor example: (umask 077; openssl rand -hex 32 > token; openssl rand -hex 32 > key-secret)" +
			"\nthen: serve --token-file token --key-secret-file key-secret. Every replica needs the same key secret."
	}
	return "", nil, fmt.Errorf("serve: refusing to start:\n%s%s", strings.Join(problems, "\n"), hint)
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	token, deriver, err := serveRequirements(cfg)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	traefikToken, _ := cfg.ResolveTraefikToken() // checked by serveRequirements
	apiTLS, err := cfg.APITLS()
	if err != nil {
		return fmt.Errorf("serve: refusing to start: %w", err)
	}

	// Bind first: a taken port fails at once, not after ZooKeeper.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (--listen): %w", cfg.Listen, err)
	}
	defer ln.Close()
	if apiTLS != nil {
		// Handshakes happen in the server's connection goroutines, bounded
		// by its read timeouts; failures are logged by ErrorLog.
		ln = tls.NewListener(ln, apiTLS)
	}
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		// Plain HTTP, as scrapers expect: an address the operator chose
		// to keep apart from the API's.
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fmt.Errorf("listen on %s (--metrics-listen): %w", cfg.MetricsListen, err)
		}
		defer metricsLn.Close()
	}
	log.Info("starting traefik-zk-sidecar", "version", versionString(), "listen", ln.Addr().String(), "config", cfg)

	// One set of options (the TLS files loaded once) for the writer's
	// session and the mirror's doorbell.
	zkOpts, err := zooKeeperOptions(cfg, log)
	if err != nil {
		return err
	}
	store, err := connectWith(ctx, cfg, zkOpts, log)
	if err != nil {
		return err
	}
	defer store.Close()
	log.Info("zookeeper session established", "servers", cfg.TraefikZKIPs)

	metrics := api.NewMetrics()
	wcfg, err := writerConfig(cfg, log)
	if err != nil {
		return err
	}
	wcfg.OnCommit = metrics.ObserveApply
	writer, err := provider.NewWriter(store, deriver, wcfg)
	if err != nil {
		return err
	}
	metrics.Track(writer)
	if err := initWriter(ctx, writer, log); err != nil {
		return fmt.Errorf("initialise znodes under %s and %s: %w", cfg.TraefikRootKey, cfg.StateRoot, err)
	}

	// The writer outlives the HTTP server so in-flight hooks can finish.
	stopWriter := writer.Start(context.Background())
	defer stopWriter() // on early returns; a second call is harmless
	bell := zkstore.NewDoorbell(zkOpts)
	defer bell.Close()
	follower := provider.NewFollower(writer.Reader, bell, log)
	follower.DefaultCertificate = cfg.TraefikDefaultCertificate
	metrics.RegisterMirror(mirrorMetrics{follower})
	stopFollower := follower.Start(context.Background())
	defer stopFollower()

	apiServer, err := api.New(api.Options{
		Provider:             writer,
		Token:                token,
		PublicURL:            cfg.PublicURL,
		TraefikAPIURL:        cfg.TraefikAPIURL,
		TraefikProvider:      cfg.TraefikProvider,
		MaxConcurrentApplies: cfg.MaxConcurrentApplies,
		Logger:               log,
		Metrics:              metrics,
		MetricsElsewhere:     metricsLn != nil,
		Mirror:               follower,
		TraefikToken:         traefikToken,
		PollHold:             time.Duration(cfg.TraefikPollHold),
	})
	if err != nil {
		return err
	}
	httpServer := &http.Server{
		Handler:           apiServer.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnContext:       api.ConnContext,
	}
	httpServer.RegisterOnShutdown(apiServer.StopHolding)
	served := make(chan error, 2) // the API's server and the metrics' one
	go func() { served <- httpServer.Serve(ln) }()
	log.Info("serving", "listen", ln.Addr().String(), "https", apiTLS != nil, "client_certificates", cfg.TLSClientCAFile != "")
	var metricsServer *http.Server
	if metricsLn != nil {
		metricsServer = &http.Server{
			Handler:           apiServer.MetricsHandler(),
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      readTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		go func() { served <- metricsServer.Serve(metricsLn) }()
		log.Info("serving /metrics", "listen", metricsLn.Addr().String())
	}

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", shutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests still running at the end of the grace period were cut", "error", err)
		_ = httpServer.Close()
	}
	if metricsServer != nil {
		_ = metricsServer.Close() // a scrape can be repeated
	}
	stopWriter()
	stopFollower()
	log.Debug("writer stopped")
	store.Close()
	log.Info("stopped")
	return nil
}

// initWriter runs Init, retrying while ZooKeeper is unavailable for up to
// connectTimeout, as connect waits for the session: a session does not
// mean the ensemble answers writes in time (a fresh ensemble's first write,
// a leader election), and Init is safe to repeat.
func initWriter(ctx context.Context, w *provider.Writer, log *slog.Logger) error {
	unavailable := func(err error) bool {
		if !errors.Is(err, zkstore.ErrUnavailable) {
			return false
		}
		log.Warn("initialising znodes: zookeeper unavailable, retrying", "error", err)
		return true
	}
	return retry.Do(ctx, retry.Policy{Within: connectTimeout, Pause: retry.Constant(time.Second)}, unavailable, w.Init)
}

// mirrorMetrics feeds the mirror's gauges.
type mirrorMetrics struct{ f *provider.Follower }

func (m mirrorMetrics) Age() time.Duration { return m.f.Age() }
func (m mirrorMetrics) Revision() int64    { return m.f.Revision() }
func (m mirrorMetrics) FullLoads() float64 { return float64(m.f.Stats().FullLoads) }
func (m mirrorMetrics) BellRings() float64 { return float64(m.f.Stats().Rings) }
