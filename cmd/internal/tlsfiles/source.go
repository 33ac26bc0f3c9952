package tlsfiles

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// recheckInterval bounds how often the files are read again: at most once
// per interval, at the next handshake.
const recheckInterval = time.Second

// Files names the PEM files of one side of a connection. Cert and Key go
// together; CA is optional.
type Files struct {
	Cert, Key, CA string
}

// Source holds what the files say and reads them again, at most once per
// recheckInterval, when a handshake needs them. A change that does not
// load (a half-written rotation, an expired certificate) keeps the last
// good state and is logged; the next check tries again. Connections already
// established are never touched, so a rotation drops nothing in flight.
type Source struct {
	files Files
	log   *slog.Logger
	now   func() time.Time

	mu        sync.Mutex
	checked   time.Time
	raw       contents // the files' contents as last loaded, to see changes
	cert      *tls.Certificate
	pool      *x509.CertPool
	lastError string
}

// NewSource loads the files once; every problem is a *FileError. A nil log
// means slog's default logger at the time of logging.
func NewSource(files Files, log *slog.Logger) (*Source, error) {
	s := &Source{files: files, log: log, now: time.Now}
	raw, err := s.read()
	if err != nil {
		return nil, err
	}
	cert, pool, err := s.parse(raw)
	if err != nil {
		return nil, err
	}
	s.raw, s.cert, s.pool, s.checked = raw, cert, pool, s.now()
	return s, nil
}

// contents are the certificate, key and CA files' bytes (nil when not
// given).
type contents [3][]byte

func (c contents) equal(o contents) bool {
	return bytes.Equal(c[0], o[0]) && bytes.Equal(c[1], o[1]) && bytes.Equal(c[2], o[2])
}

// read returns the files' contents, checking the key file's mode first.
func (s *Source) read() (contents, error) {
	var all contents
	for i, f := range []struct {
		role Role
		path string
	}{{RoleCert, s.files.Cert}, {RoleKey, s.files.Key}, {RoleCA, s.files.CA}} {
		if f.path == "" {
			continue
		}
		if f.role == RoleKey {
			info, err := os.Stat(f.path)
			if err != nil {
				return all, &FileError{Role: f.role, Path: f.path, Err: err}
			}
			if err := CheckKeyMode(info.Mode()); err != nil {
				return all, &FileError{Role: f.role, Path: f.path, Err: err}
			}
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			return all, &FileError{Role: f.role, Path: f.path, Err: err}
		}
		all[i] = data
	}
	return all, nil
}

func (s *Source) parse(parts contents) (*tls.Certificate, *x509.CertPool, error) {
	var cert *tls.Certificate
	if s.files.Cert != "" || s.files.Key != "" {
		if s.files.Cert == "" || s.files.Key == "" {
			return nil, nil, errors.New("a certificate needs its private key and the other way round")
		}
		pair, err := ParsePair(parts[0], parts[1], s.now())
		if err != nil {
			return nil, nil, s.withPath(err)
		}
		cert = &pair
	}
	var pool *x509.CertPool
	if s.files.CA != "" {
		p, err := ParsePool(parts[2])
		if err != nil {
			return nil, nil, s.withPath(err)
		}
		pool = p
	}
	return cert, pool, nil
}

func (s *Source) withPath(err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		switch fe.Role {
		case RoleCert:
			fe.Path = s.files.Cert
		case RoleKey:
			fe.Path = s.files.Key
		case RoleCA:
			fe.Path = s.files.CA
		}
	}
	return err
}

func (s *Source) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

// current returns the certificate and CA pool, reloading them first when
// the files changed since the last check.
func (s *Source) current() (*tls.Certificate, *x509.CertPool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.checked) < recheckInterval {
		return s.cert, s.pool
	}
	s.checked = now
	raw, err := s.read()
	if err == nil && raw.equal(s.raw) {
		return s.cert, s.pool
	}
	var cert *tls.Certificate
	var pool *x509.CertPool
	if err == nil {
		cert, pool, err = s.parse(raw)
	}
	if err != nil {
		if msg := err.Error(); msg != s.lastError {
			s.lastError = msg
			s.logger().Error("TLS files changed but do not load; keeping the previous ones", "error", err)
		}
		return s.cert, s.pool
	}
	s.raw, s.cert, s.pool, s.lastError = raw, cert, pool, ""
	attrs := []any{"files", fmt.Sprintf("%s %s %s", s.files.Cert, s.files.Key, s.files.CA)}
	if cert != nil {
		attrs = append(attrs, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter.UTC())
	}
	s.logger().Info("TLS files reloaded", attrs...)
	return cert, pool
}

// ServerConfig is the listener's configuration: the current certificate
// and, with a CA bundle, mutual TLS — a client without a certificate signed
// by one of those CAs is refused during the handshake.
func (s *Source) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: MinVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, pool := s.current()
			c := &tls.Config{MinVersion: MinVersion, Certificates: []tls.Certificate{*cert}}
			if pool != nil {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = pool
			}
			return c, nil
		},
	}
}

// ClientConfig is a configuration for dialing serverName: the CA bundle (or
// the system's roots without one) and the client certificate, if any. With
// verifyHostname false the chain is still verified but the certificate
// need not name serverName.
func (s *Source) ClientConfig(serverName string, verifyHostname bool) *tls.Config {
	cert, pool := s.current()
	c := &tls.Config{MinVersion: MinVersion, RootCAs: pool, ServerName: serverName}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	if !verifyHostname {
		// Go verifies the name together with the chain; turn both off and
		// verify the chain alone.
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			return VerifyChain(cs.PeerCertificates, pool, s.now())
		}
	}
	return c
}

// VerifyChain verifies a peer's chain against roots (the system's when
// nil) for server authentication, without looking at names.
func VerifyChain(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: chain, Err: err}
	}
	return nil
}
