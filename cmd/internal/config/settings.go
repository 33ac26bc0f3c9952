package config

import (
	"fmt"
	"strings"
)

// EnvPrefix starts every environment variable the sidecar reads.
const EnvPrefix = "TRAEFIK_ZK_SIDECAR_"

// Kind is the type of a setting's value.
type Kind string

// Kinds of settings.
const (
	KindString   Kind = "string"
	KindBool     Kind = "bool"
	KindInt      Kind = "int"
	KindDuration Kind = "duration"
	// KindList is a comma-separated list (a list in a YAML or TOML file).
	KindList Kind = "list"
)

// Setting is one row of the settings table: the single source for flag
// registration, environment variable names, file keys, defaults, help text
// and the README table.
type Setting struct {
	// Flag is the command-line flag without dashes ("traefik-zk-ips").
	Flag string
	// Field is the Config field the setting fills.
	Field string
	// Env is the environment variable (EnvPrefix + Flag, upper case, '-' → '_').
	Env string
	// FileKey is the key in the --config file; empty when the setting cannot
	// be given in a file.
	FileKey string
	// Default is the default value as text; empty means none.
	Default     string
	Kind        Kind
	Secret      bool
	Description string
}

// table lists every setting, in the order help and the README show them.
var table = []Setting{
	{Flag: "traefik-zk-ips", Field: "TraefikZKIPs", Kind: KindString,
		Description: "ZooKeeper ensemble Traefik reads, as comma-separated host:port (required by serve, routes, sync and zk-tls-proxy)"},
	{Flag: "traefik-base-url", Field: "TraefikBaseURL", Kind: KindString, Default: "/zoe/proxy/",
		Description: "public path under which routes are published in path routing (REVERSE_PROXY_PATH_<port> = <base>/<key>)"},
	{Flag: "traefik-root-key", Field: "TraefikRootKey", Kind: KindString, Default: "traefik",
		Description: "Traefik's providers.zookeeper.rootkey"},
	{Flag: "state-root", Field: "StateRoot", Kind: KindString, Default: "/traefik-zk-sidecar",
		Description: "znode holding the sidecar's bookkeeping; must be outside the Traefik root key"},
	{Flag: "listen", Field: "Listen", Kind: KindString, Default: "0.0.0.0:8480",
		Description: "address the HTTP API listens on (all interfaces by default, for containers; use 127.0.0.1:8480 on a shared host)"},
	{Flag: "metrics-listen", Field: "MetricsListen", Kind: KindString,
		Description: "address that serves /metrics instead of --listen's (e.g. 127.0.0.1:9480, to keep metrics off the API port); /metrics never needs the token"},
	{Flag: "token", Field: "Token", Kind: KindString, Secret: true,
		Description: "bearer token the API requires (prefer --token-file: flags are visible in the process list)"},
	{Flag: "token-file", Field: "TokenFile", Kind: KindString,
		Description: "file holding the API bearer token (mode 0600 or stricter; trailing newline ignored)"},
	{Flag: "key-secret", Field: "KeySecret", Kind: KindString, Secret: true,
		Description: "secret the route keys are derived from, at least 16 bytes; the same on every replica (prefer --key-secret-file)"},
	{Flag: "key-secret-file", Field: "KeySecretFile", Kind: KindString,
		Description: "file holding the key secret (mode 0600 or stricter; trailing newline ignored)"},
	{Flag: "deployment-name", Field: "DeploymentName", Kind: KindString, Default: "prod",
		Description: "Zoe deployment name; part of every key and host name"},
	{Flag: "public-url", Field: "PublicURL", Kind: KindString,
		Description: "where users reach Traefik (https://zoe.example.com); adds full URLs to API answers"},
	{Flag: "routing", Field: "Routing", Kind: KindString, Default: "path",
		Description: "path: route <base>/<key>; host: route <service>-<execution>-<deployment>.<proxy-domain>"},
	{Flag: "proxy-domain", Field: "ProxyDomain", Kind: KindString,
		Description: "DNS domain of the host names in host routing"},
	{Flag: "entrypoints", Field: "EntryPoints", Kind: KindList,
		Description: "Traefik entry points the routers listen on, comma-separated; empty means all"},
	{Flag: "tls", Field: "TLS", Kind: KindBool, Default: "false",
		Description: "serve the routers over TLS only"},
	{Flag: "cert-resolver", Field: "CertResolver", Kind: KindString,
		Description: "Traefik certificate resolver for the routers (implies TLS)"},
	{Flag: "zoe-ui-url", Field: "ZoeUIURL", Kind: KindString,
		Description: "Zoe's web server (http://zoe-master:5001); with --zoe-ui-path the sidecar keeps a static route to it"},
	{Flag: "zoe-ui-path", Field: "ZoeUIPath", Kind: KindString, Default: "/zoe",
		Description: "public path of Zoe's own UI and API (Zoe's reverse-proxy-path); used with --zoe-ui-url"},
	{Flag: "traefik-api-url", Field: "TraefikAPIURL", Kind: KindString,
		Description: "Traefik's API (http://traefik:8080); enables ?wait on start and stop hooks"},
	{Flag: "traefik-provider", Field: "TraefikProvider", Kind: KindString, Default: "zookeeper",
		Description: "the provider Traefik reads the routes with: zookeeper, or http (polling GET /v1/traefik); ?wait looks for <router>@<provider> in Traefik's API"},
	{Flag: "traefik-token", Field: "TraefikToken", Kind: KindString, Secret: true,
		Description: "read-only bearer token accepted only by GET /v1/traefik, for Traefik's HTTP provider (prefer --traefik-token-file)"},
	{Flag: "traefik-token-file", Field: "TraefikTokenFile", Kind: KindString,
		Description: "file holding the read-only token of GET /v1/traefik (mode 0600 or stricter; trailing newline ignored)"},
	{Flag: "traefik-poll-hold", Field: "TraefikPollHold", Kind: KindDuration, Default: "4s",
		Description: "how long GET /v1/traefik holds a poll from a Traefik that already has the current configuration; below Traefik's providers.http.pollTimeout; 0 answers at once"},
	{Flag: "traefik-default-certificate", Field: "TraefikDefaultCertificate", Kind: KindBool, Default: "false",
		Description: "put a certificate into Traefik's default TLS store in GET /v1/traefik (generated once, kept in ZooKeeper), so Traefik stops generating one per reload; leave off when that store is defined elsewhere"},
	{Flag: "zk-user", Field: "ZKUser", Kind: KindString,
		Description: "ZooKeeper digest user; znodes the sidecar creates are then writable only by it"},
	{Flag: "zk-password", Field: "ZKPassword", Kind: KindString, Secret: true,
		Description: "password of --zk-user"},
	{Flag: "zk-reader-user", Field: "ZKReaderUser", Kind: KindString,
		Description: "ZooKeeper digest user given read access (Traefik's); without it anyone may read"},
	{Flag: "zk-reader-password", Field: "ZKReaderPassword", Kind: KindString, Secret: true,
		Description: "password of --zk-reader-user"},
	{Flag: "tls-cert-file", Field: "TLSCertFile", Kind: KindString,
		Description: "PEM certificate (chain) the API serves HTTPS with; with --tls-key-file. Re-read when the file changes"},
	{Flag: "tls-key-file", Field: "TLSKeyFile", Kind: KindString,
		Description: "PEM private key of --tls-cert-file (mode 0600 or stricter)"},
	{Flag: "tls-client-ca-file", Field: "TLSClientCAFile", Kind: KindString,
		Description: "PEM CA bundle: the API then requires a client certificate signed by one of them (mutual TLS; the token is still required)"},
	{Flag: "zk-tls-ca-file", Field: "ZKTLSCAFile", Kind: KindString,
		Description: "PEM CA bundle the ZooKeeper servers' certificates are verified against; turns on TLS to ZooKeeper"},
	{Flag: "zk-tls-cert-file", Field: "ZKTLSCertFile", Kind: KindString,
		Description: "PEM client certificate presented to ZooKeeper (with --zk-tls-key-file); turns on TLS to ZooKeeper"},
	{Flag: "zk-tls-key-file", Field: "ZKTLSKeyFile", Kind: KindString,
		Description: "PEM private key of --zk-tls-cert-file (mode 0600 or stricter)"},
	{Flag: "zk-tls-verify-hostname", Field: "ZKTLSVerifyHostname", Kind: KindBool, Default: "true",
		Description: "require the ZooKeeper server's certificate to name the host of --traefik-zk-ips (the chain is verified either way)"},
	{Flag: "zk-session-timeout", Field: "ZKSessionTimeout", Kind: KindDuration, Default: "10s",
		Description: "ZooKeeper session timeout"},
	{Flag: "zk-op-timeout", Field: "ZKOpTimeout", Kind: KindDuration, Default: "5s",
		Description: "timeout of every ZooKeeper call"},
	{Flag: "gc-interval", Field: "GCInterval", Kind: KindDuration, Default: "5s",
		Description: "how often the garbage collector checks for removable stopped routes"},
	{Flag: "gc-quiet-window", Field: "GCQuietWindow", Kind: KindDuration, Default: "0s",
		Description: "quiet time before stopped routes' znodes are deleted; 0 derives it from the tree size"},
	{Flag: "max-concurrent-applies", Field: "MaxConcurrentApplies", Kind: KindInt, Default: "256",
		Description: "hooks waiting on ZooKeeper at once; more are answered 503"},
	{Flag: "log-level", Field: "LogLevel", Kind: KindString, Default: "info",
		Description: "debug, info, warn or error"},
	{Flag: "log-format", Field: "LogFormat", Kind: KindString, Default: "text",
		Description: "text or json"},
	{Flag: "config", Field: "ConfigFile", Kind: KindString,
		Description: "TOML (.toml) or YAML (.yaml, .yml) file with settings; flags and environment override it"},
}

func init() {
	for i := range table {
		s := &table[i]
		s.Env = EnvPrefix + strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_"))
		if s.Flag != "config" {
			s.FileKey = lowerCamel(s.Flag)
		}
	}
}

// lowerCamel turns "traefik-zk-ips" into "traefikZkIps".
func lowerCamel(flag string) string {
	parts := strings.Split(flag, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// Settings returns the settings table (a copy).
func Settings() []Setting {
	return append([]Setting(nil), table...)
}

// Lookup returns the setting of a flag name.
func Lookup(flag string) (Setting, bool) {
	for _, s := range table {
		if s.Flag == flag {
			return s, true
		}
	}
	return Setting{}, false
}

func mustLookup(flag string) Setting {
	s, ok := Lookup(flag)
	if !ok {
		panic("config: no setting " + flag)
	}
	return s
}

// HowToSet lists every way to give a setting, for error messages:
// "--token, TRAEFIK_ZK_SIDECAR_TOKEN or token in the --config file".
func HowToSet(flag string) string {
	s := mustLookup(flag)
	ways := "--" + s.Flag
	if s.Kind != KindBool {
		ways += " " + placeholder(s)
	}
	ways += ", environment variable " + s.Env
	if s.FileKey != "" {
		ways += ", or key " + s.FileKey + " in the --config file"
	}
	return ways
}

func placeholder(s Setting) string {
	switch {
	case strings.HasSuffix(s.Flag, "-file") || s.Flag == "config":
		return "FILE"
	case s.Kind == KindDuration:
		return "DURATION"
	case s.Kind == KindInt:
		return "N"
	case s.Kind == KindList:
		return "A,B"
	default:
		return "VALUE"
	}
}

// MarkdownTable renders the settings as the README's table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Flag | Environment variable | File key | Default | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, s := range table {
		fileKey := "—"
		if s.FileKey != "" {
			fileKey = "`" + s.FileKey + "`"
		}
		def := ""
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		desc := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s.Description)
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s | %s |\n", s.Flag, s.Env, fileKey, def, desc)
	}
	return b.String()
}
