// Package defaultcert makes the certificate the sidecar can give Traefik's
// default TLS store. Without one, Traefik generates a fresh RSA-2048
// certificate on every reload (measured at ~55 ms of each rebuild); one
// generated once and kept in ZooKeeper is the same on every replica and
// every reload. It is only what Traefik answers a TLS client whose server
// name matches no router's certificate, so it is self-signed.
package defaultcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// CommonName names the generated certificate.
const CommonName = "TRAEFIK ZK SIDECAR DEFAULT CERT"

// validity is long: the certificate is never trusted by anyone, and
// replacing it would change every replica's body at once.
const validity = 10 * 365 * 24 * time.Hour

// Generate makes a self-signed ECDSA P-256 certificate valid from now.
func Generate(now time.Time) (state.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return state.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return state.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CommonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return state.Certificate{}, fmt.Errorf("default certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return state.Certificate{}, err
	}
	return state.Certificate{
		Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}, nil
}
