package config

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/tlsfiles"
)

// tlsFlags name the settings of one side's TLS files.
type tlsFlags struct{ cert, key, ca string }

var (
	apiTLSFlags = tlsFlags{cert: "tls-cert-file", key: "tls-key-file", ca: "tls-client-ca-file"}
	zkTLSFlags  = tlsFlags{cert: "zk-tls-cert-file", key: "zk-tls-key-file", ca: "zk-tls-ca-file"}
)

func (f tlsFlags) of(role tlsfiles.Role) string {
	switch role {
	case tlsfiles.RoleCert:
		return f.cert
	case tlsfiles.RoleKey:
		return f.key
	default:
		return f.ca
	}
}

// validateTLS checks which TLS files are given together; what the files
// hold is checked when they are loaded.
func (c Config) validateTLS() error {
	var errs []error
	pair := func(flags tlsFlags, cert, key string) {
		switch {
		case cert != "" && key == "":
			errs = append(errs, c.invalid(flags.cert, cert, "needs its private key: give %s", HowToSet(flags.key)))
		case cert == "" && key != "":
			errs = append(errs, c.invalid(flags.key, key, "needs its certificate: give %s", HowToSet(flags.cert)))
		}
	}
	pair(apiTLSFlags, c.TLSCertFile, c.TLSKeyFile)
	pair(zkTLSFlags, c.ZKTLSCertFile, c.ZKTLSKeyFile)
	if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
		errs = append(errs, c.invalid("tls-client-ca-file", c.TLSClientCAFile, "client certificates need HTTPS: give %s", HowToSet("tls-cert-file")))
	}
	return errors.Join(errs...)
}

// loadTLS loads one side's files, naming the setting of the file at fault.
func (c Config) loadTLS(flags tlsFlags, files tlsfiles.Files) (*tlsfiles.Source, error) {
	src, err := tlsfiles.NewSource(files, nil)
	var fe *tlsfiles.FileError
	if errors.As(err, &fe) {
		flag := flags.of(fe.Role)
		return nil, c.invalid(flag, fe.Path, "%v", fe.Err)
	}
	return src, err
}

// APITLS is the API's HTTPS configuration, nil without --tls-cert-file. It
// refuses a bad pair, a key file others may read and an expired
// certificate, naming the setting.
func (c Config) APITLS() (*tls.Config, error) {
	if c.TLSCertFile == "" && c.TLSKeyFile == "" && c.TLSClientCAFile == "" {
		return nil, nil
	}
	if err := c.validateTLS(); err != nil {
		return nil, err
	}
	src, err := c.loadTLS(apiTLSFlags, tlsfiles.Files{Cert: c.TLSCertFile, Key: c.TLSKeyFile, CA: c.TLSClientCAFile})
	if err != nil {
		return nil, err
	}
	return src.ServerConfig(), nil
}

// zooKeeperTLS is the per-server TLS configuration of ZooKeeper
// connections, nil when no --zk-tls-* file is given.
func (c Config) zooKeeperTLS() (func(serverName string) *tls.Config, error) {
	if c.ZKTLSCAFile == "" && c.ZKTLSCertFile == "" && c.ZKTLSKeyFile == "" {
		return nil, nil
	}
	if err := c.validateTLS(); err != nil {
		return nil, err
	}
	src, err := c.loadTLS(zkTLSFlags, tlsfiles.Files{Cert: c.ZKTLSCertFile, Key: c.ZKTLSKeyFile, CA: c.ZKTLSCAFile})
	if err != nil {
		return nil, fmt.Errorf("TLS to ZooKeeper: %w", err)
	}
	verify := c.ZKTLSVerifyHostname
	return func(serverName string) *tls.Config { return src.ClientConfig(serverName, verify) }, nil
}
