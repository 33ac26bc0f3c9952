package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/testpki"
)

// serve refuses bad TLS files before it listens or connects, naming the
// setting; the environment works as the flags do.
func TestServeRefusesBadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	ca, err := testpki.NewCA("test CA")
	require.NoError(t, err)
	write := func(name string, leaf testpki.Leaf) testpki.Files {
		pair, err := ca.Issue(leaf)
		require.NoError(t, err)
		f, err := pair.WriteFiles(dir, name)
		require.NoError(t, err)
		return f
	}
	good := write("good", testpki.Localhost("api"))
	other := write("other", testpki.Localhost("other"))
	expired := write("expired", testpki.Leaf{CommonName: "old", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	loose := write("loose", testpki.Localhost("loose"))
	require.NoError(t, os.Chmod(loose.Key, 0o644))

	base := []string{"TRAEFIK_ZK_SIDECAR_TOKEN=tok", "TRAEFIK_ZK_SIDECAR_KEY_SECRET=" + testSecret, "TRAEFIK_ZK_SIDECAR_TRAEFIK_ZK_IPS=127.0.0.1:1"}
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"a certificate and a key that do not match",
			[]string{"TRAEFIK_ZK_SIDECAR_TLS_CERT_FILE=" + good.Cert, "TRAEFIK_ZK_SIDECAR_TLS_KEY_FILE=" + other.Key},
			[]string{"refusing to start", "invalid --tls-key-file", "does not match the certificate"}},
		{"a key file others may read",
			[]string{"TRAEFIK_ZK_SIDECAR_TLS_CERT_FILE=" + loose.Cert, "TRAEFIK_ZK_SIDECAR_TLS_KEY_FILE=" + loose.Key},
			[]string{"refusing to start", "invalid --tls-key-file", "mode 0644", "chmod 600"}},
		{"an expired certificate",
			[]string{"TRAEFIK_ZK_SIDECAR_TLS_CERT_FILE=" + expired.Cert, "TRAEFIK_ZK_SIDECAR_TLS_KEY_FILE=" + expired.Key},
			[]string{"refusing to start", "invalid --tls-cert-file", "expired on"}},
		{"a client CA file that holds no certificate",
			[]string{"TRAEFIK_ZK_SIDECAR_TLS_CERT_FILE=" + good.Cert, "TRAEFIK_ZK_SIDECAR_TLS_KEY_FILE=" + good.Key, "TRAEFIK_ZK_SIDECAR_TLS_CLIENT_CA_FILE=" + good.Key},
			[]string{"refusing to start", "invalid --tls-client-ca-file"}},
		{"a ZooKeeper key file others may read",
			[]string{"TRAEFIK_ZK_SIDECAR_ZK_TLS_CERT_FILE=" + loose.Cert, "TRAEFIK_ZK_SIDECAR_ZK_TLS_KEY_FILE=" + loose.Key},
			[]string{"invalid --zk-tls-key-file", "mode 0644"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, append(append([]string(nil), base...), tc.env...), "serve", "--listen", "127.0.0.1:0")
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
