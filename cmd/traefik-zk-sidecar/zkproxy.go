package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/config"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

func newZKTLSProxyCmd(environ []string) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "zk-tls-proxy",
		Short: "Relay a ZooKeeper client that cannot speak TLS to the ensemble over TLS",
		Long: `Listen on --proxy-listen (loopback by default) and relay every connection to
one of --traefik-zk-ips over TLS, with the --zk-tls-* settings (CA bundle,
client certificate, hostname verification; files re-read when they change).

Traefik's ZooKeeper provider (v3.6) has no TLS option: run this next to
Traefik (same host, pod or network namespace) and give Traefik
--providers.zookeeper.endpoints=<--proxy-listen>. Only loopback traffic is
then in clear.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, environ)
			if err != nil {
				return err
			}
			log := newLogger(cfg, cmd.ErrOrStderr())
			opts, err := cfg.ZooKeeperOptions()
			if err != nil {
				return err
			}
			if opts.TLS == nil {
				return fmt.Errorf("zk-tls-proxy: refusing to start: TLS to ZooKeeper is not configured: give --zk-tls-ca-file (and --zk-tls-cert-file/--zk-tls-key-file when the ensemble requires client certificates)")
			}
			opts.Logger = log
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s (--proxy-listen): %w", listen, err)
			}
			log.Info("relaying ZooKeeper clients over TLS", "listen", ln.Addr().String(), "servers", cfg.TraefikZKIPs)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return zkstore.ServeTLSProxy(ctx, ln, opts)
		},
	}
	cmd.Flags().StringVar(&listen, "proxy-listen", "127.0.0.1:2181", "address the plain ZooKeeper clients connect to")
	config.RegisterFlags(cmd.Flags(), zkProxySettings...)
	return cmd
}
