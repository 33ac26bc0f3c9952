package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/testpki"
)

// demoPKI is the TLS demo's throw-away certificates, one CA for every hop.
type demoPKI struct {
	dir    string
	caFile string
	// zookeeper and api are servers'; sidecar, traefik and master are
	// clients' (the sidecar's to ZooKeeper, the zk-tls-proxy's for
	// Traefik, and the hook poster's).
	zookeeper, api, sidecar, traefik, master testpki.Files
	client                                   *tls.Config
}

func newDemoPKI() (*demoPKI, error) {
	dir, err := os.MkdirTemp("", "demo-tls-")
	if err != nil {
		return nil, err
	}
	ca, err := testpki.NewCA("traefik-zk-sidecar demo CA")
	if err != nil {
		return nil, err
	}
	p := &demoPKI{dir: dir}
	if p.caFile, err = ca.WriteCA(dir, "ca"); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		to   *testpki.Files
		leaf testpki.Leaf
		name string
	}{
		{&p.zookeeper, testpki.Localhost("zookeeper"), "zookeeper"},
		{&p.api, testpki.Localhost("sidecar-api"), "sidecar-api"},
		{&p.sidecar, testpki.Leaf{CommonName: "sidecar"}, "sidecar-zk"},
		{&p.traefik, testpki.Leaf{CommonName: "traefik"}, "traefik-zk"},
		{&p.master, testpki.Leaf{CommonName: "zoe-master"}, "zoe-master"},
	} {
		pair, err := ca.Issue(c.leaf)
		if err != nil {
			return nil, err
		}
		if *c.to, err = pair.WriteFiles(dir, c.name); err != nil {
			return nil, err
		}
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	cert, err := tls.LoadX509KeyPair(p.master.Cert, p.master.Key)
	if err != nil {
		return nil, err
	}
	p.client = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return p, nil
}

func (p *demoPKI) ensembleTLS() *harness.EnsembleTLS {
	return &harness.EnsembleTLS{CertFile: p.zookeeper.Cert, KeyFile: p.zookeeper.Key, CAFile: p.caFile}
}

func (p *demoPKI) sidecarArgs() []string {
	return []string{"--tls-cert-file=" + p.api.Cert, "--tls-key-file=" + p.api.Key, "--tls-client-ca-file=" + p.caFile,
		"--zk-tls-ca-file=" + p.caFile, "--zk-tls-cert-file=" + p.sidecar.Cert, "--zk-tls-key-file=" + p.sidecar.Key}
}

func (p *demoPKI) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: p.client}}
}

// curlFlags are what curl needs to post a hook as Zoe's master.
func (p *demoPKI) curlFlags() string {
	return fmt.Sprintf("--cacert %s --cert %s --key %s", p.caFile, p.master.Cert, p.master.Key)
}

func (p *demoPKI) close() { _ = os.RemoveAll(p.dir) }

func (p *demoPKI) describe() string {
	return fmt.Sprintf("certificates (one throw-away CA) in %s: %s", p.dir, filepath.Base(p.caFile))
}
