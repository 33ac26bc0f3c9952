// Command traefik-zk-sidecar publishes Zoe executions' proxied ports as
// Traefik routes in ZooKeeper: an HTTP API for Zoe's lifecycle hooks
// (serve) and offline and maintenance commands (key, routes, sync).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/config"
)

func main() {
	root := newRootCmd(os.Environ())
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

const rootLong = `traefik-zk-sidecar publishes the proxied ports of Zoe executions as Traefik
routes in ZooKeeper, for Traefik's ZooKeeper provider.

Every setting can be given, from highest to lowest precedence, as a flag, as
an environment variable TRAEFIK_ZK_SIDECAR_<FLAG NAME> (upper case, '-' as
'_', e.g. TRAEFIK_ZK_SIDECAR_TRAEFIK_ZK_IPS), or as a key in the TOML or YAML
file named by --config (the flag name in lowerCamelCase, e.g. traefikZkIps).
Empty environment variables are ignored.`

// newRootCmd builds the command tree; environ is the environment the
// settings are read from (os.Environ() outside tests).
func newRootCmd(environ []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "traefik-zk-sidecar",
		Short:         "Publish Zoe executions as Traefik routes in ZooKeeper",
		Long:          rootLong,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate(versionText() + "\n")
	root.AddCommand(
		newServeCmd(environ),
		newKeyCmd(environ),
		newRoutesCmd(environ),
		newSyncCmd(environ),
		newZKTLSProxyCmd(environ),
		newVersionCmd(),
	)
	return root
}

// The settings each command has flags for; serve has them all. Environment
// variables and the --config file may still set any setting.
var (
	logSettings   = []string{"log-level", "log-format", "config"}
	zkTLSSettings = []string{"zk-tls-ca-file", "zk-tls-cert-file", "zk-tls-key-file", "zk-tls-verify-hostname"}
	// zkSettings connect to ZooKeeper.
	zkSettings = slices.Concat([]string{"traefik-zk-ips", "zk-user", "zk-password", "zk-session-timeout", "zk-op-timeout"}, zkTLSSettings)
	// deriveSettings derive keys, paths and host names.
	deriveSettings = []string{"key-secret", "key-secret-file", "deployment-name", "traefik-base-url", "routing", "proxy-domain"}

	// key derives a route offline.
	keySettings = append(slices.Clone(deriveSettings), "config")
	// routes reads ZooKeeper.
	routesSettings = slices.Concat(zkSettings, []string{"traefik-root-key", "state-root", "public-url"}, logSettings)
	// sync reads and writes ZooKeeper and builds routes as serve does.
	syncSettings = slices.Concat(zkSettings, deriveSettings, []string{"traefik-root-key", "state-root", "public-url",
		"entrypoints", "tls", "cert-resolver", "zoe-ui-url", "zoe-ui-path", "zk-reader-user", "zk-reader-password"}, logSettings)
	// zk-tls-proxy relays plain ZooKeeper clients over TLS.
	zkProxySettings = slices.Concat([]string{"traefik-zk-ips"}, zkTLSSettings, logSettings)
)

// loadConfig reads the settings for a command.
func loadConfig(cmd *cobra.Command, environ []string) (config.Config, error) {
	return config.Load(cmd.Flags(), environ)
}

// newLogger builds the logger the settings ask for (validated by Load).
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
