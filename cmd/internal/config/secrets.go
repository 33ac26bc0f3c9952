package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
)

// ResolveToken is the API bearer token from --token or --token-file. (The
// field Token holds the flag's value and must keep that name: it is the file
// key, so the method cannot be called Token.)
func (c Config) ResolveToken() (string, error) {
	return c.secret("token", c.Token, "token-file", c.TokenFile, "API token")
}

// ResolveTraefikToken is the read-only token of GET /v1/traefik from
// --traefik-token or --traefik-token-file; empty when neither is given.
func (c Config) ResolveTraefikToken() (string, error) {
	if c.TraefikToken == "" && c.TraefikTokenFile == "" {
		return "", nil
	}
	return c.secret("traefik-token", c.TraefikToken, "traefik-token-file", c.TraefikTokenFile, "Traefik token")
}

// ResolveKeySecret is the key-derivation secret from --key-secret or
// --key-secret-file, at least keys.MinSecretLength bytes.
func (c Config) ResolveKeySecret() (string, error) {
	secret, err := c.secret("key-secret", c.KeySecret, "key-secret-file", c.KeySecretFile, "key secret")
	if err != nil {
		return "", err
	}
	if len(secret) < keys.MinSecretLength {
		flag := "key-secret"
		if c.KeySecretFile != "" {
			flag = "key-secret-file"
		}
		return "", &Error{
			Setting: mustLookup(flag), Source: c.Source(flag), Value: c.KeySecretFile,
			Message: fmt.Sprintf("the key secret is %d bytes; at least %d are required (e.g. openssl rand -hex 32)", len(secret), keys.MinSecretLength),
		}
	}
	return secret, nil
}

// Deriver is the route-key deriver for the key secret and deployment name.
func (c Config) Deriver() (*keys.Deriver, error) {
	secret, err := c.ResolveKeySecret()
	if err != nil {
		return nil, err
	}
	d, err := keys.NewDeriver([]byte(secret), c.DeploymentName)
	if err != nil {
		return nil, c.invalid("deployment-name", c.DeploymentName, "%v", err)
	}
	return d, nil
}

func (c Config) secret(valueFlag, value, fileFlag, path, what string) (string, error) {
	if err := c.bothGiven(valueFlag, value, fileFlag, path); err != nil {
		return "", err
	}
	if value != "" {
		return value, nil
	}
	if path == "" {
		return "", Missing("no "+what, fileFlag, valueFlag)
	}
	invalid := func(format string, args ...any) error {
		return &Error{Setting: mustLookup(fileFlag), Source: c.Source(fileFlag), Value: path, Message: fmt.Sprintf(format, args...)}
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", invalid("cannot read the %s: %v", what, err)
	}
	if !info.Mode().IsRegular() {
		return "", invalid("%s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", invalid("%s has mode %04o: group and others may read it; run chmod 600 %s (with Docker or Kubernetes secrets, mount them with mode 0400 or 0600)", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", invalid("cannot read the %s: %v", what, err)
	}
	secret := strings.TrimRight(string(data), "\r\n")
	if secret == "" {
		return "", invalid("%s is empty", path)
	}
	return secret, nil
}
