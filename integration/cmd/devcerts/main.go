// Command devcerts writes a throw-away certificate authority and the
// certificates of every TLS hop of the compose stack (docker-compose.tls.yml)
// into a directory: for trying TLS out, never for production.
//
//	go run ./integration/cmd/devcerts -dir tls
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/testpki"
)

func main() {
	dir := flag.String("dir", "tls", "directory to write the files into (created; keys are mode 0600)")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "devcerts:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ca, err := testpki.NewCA("traefik-zk-sidecar development CA")
	if err != nil {
		return err
	}
	if _, err := ca.WriteCA(dir, "ca"); err != nil {
		return err
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	for _, c := range []struct {
		name string
		leaf testpki.Leaf
	}{
		// The servers are verified against the names clients dial.
		{"zookeeper", testpki.Leaf{CommonName: "zookeeper", DNSNames: []string{"zk1", "zk2", "zk3", "localhost"}, IPs: loopback}},
		{"sidecar-api", testpki.Leaf{CommonName: "sidecar", DNSNames: []string{"sidecar", "localhost"}, IPs: loopback}},
		// Clients: the sidecar's and the proxy's (Traefik's) to ZooKeeper,
		// and Zoe's master's to the sidecar.
		{"sidecar-zk", testpki.Leaf{CommonName: "sidecar"}},
		{"traefik-zk", testpki.Leaf{CommonName: "traefik"}},
		{"zoe-master", testpki.Leaf{CommonName: "zoe-master"}},
	} {
		pair, err := ca.Issue(c.leaf)
		if err != nil {
			return err
		}
		if _, err := pair.WriteFiles(dir, c.name); err != nil {
			return err
		}
		if c.name == "zookeeper" {
			// ZooKeeper's PEM key store: the private key, then the certificate.
			keyStore := append(append([]byte{}, pair.KeyPEM...), pair.CertPEM...)
			if err := os.WriteFile(filepath.Join(dir, "zookeeper-keystore.pem"), keyStore, 0o600); err != nil {
				return err
			}
		}
	}
	fmt.Printf("wrote ca.crt, zookeeper-keystore.pem and the *.crt/*.key pairs of every hop into %s\n", dir)
	return nil
}
