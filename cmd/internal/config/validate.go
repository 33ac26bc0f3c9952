package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/traefik/paerser/types"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// invalid is the error of a value refused for a setting, naming where it came from.
func (c Config) invalid(flag, value, format string, args ...any) *Error {
	return &Error{Setting: mustLookup(flag), Source: c.Source(flag), Value: value, Message: fmt.Sprintf(format, args...)}
}

// Validate checks every value that is set. Settings only some commands need
// (ZooKeeper servers, token, key secret) are checked by those commands.
func (c Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if c.TraefikZKIPs != "" {
		if _, err := zkstore.ParseServers(c.TraefikZKIPs); err != nil {
			add(c.invalid("traefik-zk-ips", c.TraefikZKIPs, "%v; want host:port[,host:port...]", err))
		}
	}
	if _, err := keys.NormalizeBasePath(c.TraefikBaseURL); err != nil {
		add(c.invalid("traefik-base-url", c.TraefikBaseURL, "want a URL path such as /zoe/proxy/ (letters, digits, '-', '.', '_', '~' per segment)"))
	}
	root, err := kvschema.RootPath(c.TraefikRootKey)
	if err != nil {
		add(c.invalid("traefik-root-key", c.TraefikRootKey, "want Traefik's rootkey, such as traefik (%v)", err))
	}
	if err := validateZnodePath(c.StateRoot); err != nil {
		add(c.invalid("state-root", c.StateRoot, "%v", err))
	} else if root != "" {
		if _, err := provider.StateRootPath(root, c.StateRoot); err != nil {
			add(c.invalid("state-root", c.StateRoot, "must be outside the Traefik root key %s (Traefik re-reads everything under it); the default is /traefik-zk-sidecar", root))
		}
	}
	add(c.validAddress("listen", c.Listen))
	if c.MetricsListen != "" {
		add(c.validAddress("metrics-listen", c.MetricsListen))
		if c.MetricsListen == c.Listen {
			add(c.invalid("metrics-listen", c.MetricsListen, "is --listen's address; leave it empty to serve /metrics there"))
		}
	}
	add(c.bothGiven("token", c.Token, "token-file", c.TokenFile))
	add(c.bothGiven("traefik-token", c.TraefikToken, "traefik-token-file", c.TraefikTokenFile))
	add(c.bothGiven("key-secret", c.KeySecret, "key-secret-file", c.KeySecretFile))
	if err := kvschema.ValidateName(c.DeploymentName); err != nil {
		add(c.invalid("deployment-name", c.DeploymentName, "want 1-63 letters, digits or inner '-' (it becomes part of keys and host names)"))
	}
	if c.ZoeUIURL != "" {
		if err := kvschema.ValidateBackend(strings.TrimRight(c.ZoeUIURL, "/")); err != nil {
			add(c.invalid("zoe-ui-url", c.ZoeUIURL, "want http(s)://host:port of Zoe's web server"))
		}
		if _, err := keys.NormalizeBasePath(c.ZoeUIPath); err != nil || strings.Trim(c.ZoeUIPath, "/") == "" {
			add(c.invalid("zoe-ui-path", c.ZoeUIPath, "want a path such as /zoe"))
		}
	}
	if c.PublicURL != "" && !isHTTPURL(c.PublicURL) {
		add(c.invalid("public-url", c.PublicURL, "want http(s)://host[:port][/path]"))
	}
	if err := c.executionSettings("").Validate(); err != nil {
		add(c.settingError(err))
	}
	if c.ProxyDomain != "" && c.Routing != execution.RoutingHost {
		// Unused in path routing, but a typo should not wait for a switch.
		if err := execution.ValidateProxyDomain(normalizeDomain(c.ProxyDomain)); err != nil {
			add(c.settingError(err))
		}
	}
	if c.TraefikAPIURL != "" && !isHTTPURL(c.TraefikAPIURL) {
		add(c.invalid("traefik-api-url", c.TraefikAPIURL, "want http(s)://host:port of Traefik's API"))
	}
	switch c.TraefikProvider {
	case "zookeeper", "http":
	default:
		add(c.invalid("traefik-provider", c.TraefikProvider, "want zookeeper or http"))
	}
	switch {
	case c.ZKUser == "" && c.ZKPassword != "":
		add(c.invalid("zk-password", "", "given without --zk-user; give %s", HowToSet("zk-user")))
	case c.ZKUser != "" && c.ZKPassword == "":
		add(c.invalid("zk-user", c.ZKUser, "needs a password: give %s", HowToSet("zk-password")))
	}
	switch {
	case c.ZKReaderUser != "" && c.ZKUser == "":
		add(c.invalid("zk-reader-user", c.ZKReaderUser, "only applies with --zk-user (without it every znode is world-readable): give %s", HowToSet("zk-user")))
	case c.ZKReaderUser != "" && c.ZKReaderPassword == "":
		add(c.invalid("zk-reader-user", c.ZKReaderUser, "needs a password: give %s", HowToSet("zk-reader-password")))
	case c.ZKReaderUser == "" && c.ZKReaderPassword != "":
		add(c.invalid("zk-reader-password", "", "given without --zk-reader-user; give %s", HowToSet("zk-reader-user")))
	}
	add(c.validateTLS())
	for _, d := range []struct {
		flag  string
		value types.Duration
		zero  bool
	}{
		{"zk-session-timeout", c.ZKSessionTimeout, false},
		{"zk-op-timeout", c.ZKOpTimeout, false},
		{"gc-interval", c.GCInterval, false},
		{"gc-quiet-window", c.GCQuietWindow, true},
		{"traefik-poll-hold", c.TraefikPollHold, true},
	} {
		if d.value < 0 || (d.value == 0 && !d.zero) {
			want := "more than 0"
			if d.zero {
				want = "0 or more"
			}
			add(c.invalid(d.flag, d.value.String(), "want a duration of %s", want))
		}
	}
	if c.MaxConcurrentApplies < 1 {
		add(c.invalid("max-concurrent-applies", strconv.Itoa(c.MaxConcurrentApplies), "want at least 1"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(c.invalid("log-level", c.LogLevel, "want debug, info, warn or error"))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		add(c.invalid("log-format", c.LogFormat, "want text or json"))
	}
	return errors.Join(errs...)
}

// validAddress checks a host:port to listen on.
func (c Config) validAddress(flag, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return c.invalid(flag, addr, "want host:port, e.g. 0.0.0.0:8480 or 127.0.0.1:8480")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return c.invalid(flag, addr, "port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// settingError names the flag behind an error of the routing settings' check.
func (c Config) settingError(err error) error {
	var se *execution.SettingError
	if !errors.As(err, &se) {
		return fmt.Errorf("routing settings: %w", err)
	}
	switch se.Setting {
	case execution.SettingRouting:
		return c.invalid("routing", c.Routing, "want %q or %q", execution.RoutingPath, execution.RoutingHost)
	case execution.SettingProxyDomain:
		if c.ProxyDomain == "" {
			return c.invalid("routing", c.Routing, "host routing needs a domain: give %s", HowToSet("proxy-domain"))
		}
		return c.invalid("proxy-domain", c.ProxyDomain, "want a DNS name such as apps.example.com")
	case execution.SettingEntryPoints:
		return c.invalid("entrypoints", strings.Join(c.EntryPoints, ","), "entry point %q: want Traefik entry point names (letters, digits, inner '-'), comma-separated", se.Value)
	case execution.SettingCertResolver:
		return c.invalid("cert-resolver", c.CertResolver, "want a Traefik certificate resolver name (letters, digits, inner '-')")
	}
	return fmt.Errorf("routing settings: %w", err)
}

func (c Config) bothGiven(valueFlag, value, fileFlag, path string) error {
	if value != "" && path != "" {
		return &Error{
			Setting: mustLookup(valueFlag), Source: c.Source(valueFlag),
			Message: fmt.Sprintf("also given as --%s (from %s): give only one of them", fileFlag, c.Source(fileFlag)),
		}
	}
	return nil
}

func validateZnodePath(p string) error {
	trimmed := strings.Trim(p, "/")
	if trimmed == "" {
		return errors.New("want an absolute znode path such as /traefik-zk-sidecar")
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if err := kvschema.ValidateName(seg); err != nil {
			return fmt.Errorf("segment %q: want letters, digits or inner '-'", seg)
		}
	}
	return nil
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func normalizeDomain(d string) string { return strings.ToLower(strings.Trim(d, ".")) }
