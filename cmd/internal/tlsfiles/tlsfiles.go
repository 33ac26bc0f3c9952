// Package tlsfiles builds TLS configurations from PEM files and keeps them
// current: the files are re-read when they change, so certificates rotate
// without a restart. The checks on what the files hold are pure functions;
// Source adds the file reading and the reload.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// MinVersion is the oldest protocol version spoken, in both directions.
const MinVersion = tls.VersionTLS12

// Role says which of a Source's files a problem is about, so that callers
// can name the setting that gave it.
type Role string

// The files a Source reads.
const (
	RoleCert Role = "certificate"
	RoleKey  Role = "private key"
	RoleCA   Role = "CA bundle"
)

// FileError is a problem with one file.
type FileError struct {
	Role Role
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s %s: %v", e.Role, e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// CheckKeyMode refuses a private key file that group or others may read or
// write: the same rule as for the other secret files.
func CheckKeyMode(mode fs.FileMode) error {
	if !mode.IsRegular() {
		return errors.New("not a regular file")
	}
	if perm := mode.Perm(); perm&0o077 != 0 {
		return fmt.Errorf("mode %04o lets group or others read it; run chmod 600 on it (mount Docker or Kubernetes secrets with mode 0400 or 0600)", perm)
	}
	return nil
}

// CheckValidity refuses a certificate outside its validity period at now.
func CheckValidity(cert *x509.Certificate, now time.Time) error {
	switch {
	case now.After(cert.NotAfter):
		return fmt.Errorf("certificate %q expired on %s", cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(cert.NotBefore):
		return fmt.Errorf("certificate %q is not valid before %s", cert.Subject.CommonName, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// ParsePair checks that certPEM and keyPEM are a matching certificate chain
// and private key and that the leaf certificate is valid at now.
func ParsePair(certPEM, keyPEM []byte, now time.Time) (tls.Certificate, error) {
	if !hasBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, &FileError{Role: RoleCert, Err: errors.New("no PEM CERTIFICATE block")}
	}
	if !hasPrivateKeyBlock(keyPEM) {
		return tls.Certificate{}, &FileError{Role: RoleKey, Err: errors.New("no PEM private key block")}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// Both files parse as PEM, so the fault is the pairing or the key.
		return tls.Certificate{}, &FileError{Role: RoleKey, Err: fmt.Errorf("does not match the certificate: %w", err)}
	}
	if err := CheckValidity(pair.Leaf, now); err != nil {
		return tls.Certificate{}, &FileError{Role: RoleCert, Err: err}
	}
	return pair, nil
}

// ParsePool reads every certificate of a PEM bundle into a pool; a bundle
// without one is an error (it would trust nothing, silently).
func ParsePool(bundle []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		return nil, &FileError{Role: RoleCA, Err: errors.New("no PEM CERTIFICATE block")}
	}
	return pool, nil
}

func hasBlock(data []byte, kind string) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == kind {
			return true
		}
	}
}

func hasPrivateKeyBlock(data []byte) bool {
	for _, kind := range []string{"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"} {
		if hasBlock(data, kind) {
			return true
		}
	}
	return false
}
