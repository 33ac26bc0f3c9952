package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/config"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// connectTimeout bounds the wait for the first ZooKeeper session.
const connectTimeout = 30 * time.Second

// zooKeeperOptions are the connection options, logging to log.
func zooKeeperOptions(cfg config.Config, log *slog.Logger) (zkstore.Options, error) {
	opts, err := cfg.ZooKeeperOptions()
	opts.Logger = log
	return opts, err
}

// connect opens the ZooKeeper session and waits for it, giving up after
// connectTimeout or when ctx ends.
func connect(ctx context.Context, cfg config.Config, log *slog.Logger) (*zkstore.Store, error) {
	opts, err := zooKeeperOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	return connectWith(ctx, cfg, opts, log)
}

// connectWith is connect with the options made already.
func connectWith(ctx context.Context, cfg config.Config, opts zkstore.Options, log *slog.Logger) (*zkstore.Store, error) {
	log.Debug("connecting to zookeeper", "servers", strings.Join(opts.Servers, ","))
	store, err := zkstore.Connect(opts)
	if err != nil {
		return nil, err
	}
	waited := make(chan error, 1)
	go func() { waited <- store.WaitConnected(connectTimeout) }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		store.Close()
		if errors.Is(err, zkstore.ErrUntrusted) {
			return nil, fmt.Errorf("no ZooKeeper server of %s presented a certificate that verifies: check %s (and --zk-tls-verify-hostname): %w",
				cfg.TraefikZKIPs, config.HowToSet("zk-tls-ca-file"), err)
		}
		if errors.Is(err, zkstore.ErrUnavailable) {
			hint := ""
			if opts.TLS == nil {
				hint = "; if the ensemble's client port expects TLS, give --zk-tls-ca-file"
			}
			return nil, fmt.Errorf("no ZooKeeper session with %s after %s: check --traefik-zk-ips and that the ensemble is reachable%s (%w)",
				cfg.TraefikZKIPs, connectTimeout, hint, err)
		}
		return nil, err
	}
	return store, nil
}

// writerConfig is the writer's configuration from the settings.
func writerConfig(cfg config.Config, log *slog.Logger) (provider.Config, error) {
	settings, err := cfg.ExecutionSettings()
	if err != nil {
		return provider.Config{}, err
	}
	static, err := cfg.StaticRoutes(settings)
	if err != nil {
		return provider.Config{}, err
	}
	return provider.Config{
		StaticRoutes:  static,
		RootKey:       cfg.TraefikRootKey,
		StateRoot:     cfg.StateRoot,
		Settings:      settings,
		GCInterval:    time.Duration(cfg.GCInterval),
		GCQuietWindow: time.Duration(cfg.GCQuietWindow),
		Logger:        log,

		DefaultCertificate: cfg.TraefikDefaultCertificate,
	}, nil
}

// openReader connects to ZooKeeper for a command that only reads; close
// ends the session.
func openReader(ctx context.Context, cfg config.Config, log *slog.Logger) (r *provider.Reader, close func(), err error) {
	if _, err := cfg.ZooKeeperServers(); err != nil {
		return nil, nil, err
	}
	store, err := connect(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if r, err = provider.NewReader(store, cfg.TraefikRootKey, cfg.StateRoot); err != nil {
		store.Close()
		return nil, nil, err
	}
	return r, store.Close, nil
}

// openWriter connects to ZooKeeper and builds a writer for a one-shot
// command; close ends the session.
func openWriter(ctx context.Context, cfg config.Config, deriver *keys.Deriver, log *slog.Logger) (w *provider.Writer, close func(), err error) {
	if _, err := cfg.ZooKeeperServers(); err != nil {
		return nil, nil, err
	}
	wcfg, err := writerConfig(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	store, err := connect(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if w, err = provider.NewWriter(store, deriver, wcfg); err != nil {
		store.Close()
		return nil, nil, err
	}
	return w, store.Close, nil
}
