package config

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/testpki"
)

type testPair struct{ cert, key string }

func writePair(t *testing.T, ca *testpki.CA, leaf testpki.Leaf, name string) testPair {
	t.Helper()
	pair, err := ca.Issue(leaf)
	require.NoError(t, err)
	f, err := pair.WriteFiles(t.TempDir(), name)
	require.NoError(t, err)
	return testPair{f.Cert, f.Key}
}

func TestTLSSettingsFromEverySource(t *testing.T) {
	ca, err := testpki.NewCA("test CA")
	require.NoError(t, err)
	caFile, err := ca.WriteCA(t.TempDir(), "ca")
	require.NoError(t, err)
	api := writePair(t, ca, testpki.Localhost("api"), "api")
	zk := writePair(t, ca, testpki.Leaf{CommonName: "sidecar"}, "zk")

	fromFlags, err := Load(flags(t, "--tls-cert-file", api.cert, "--tls-key-file", api.key, "--tls-client-ca-file", caFile,
		"--zk-tls-ca-file", caFile, "--zk-tls-cert-file", zk.cert, "--zk-tls-key-file", zk.key, "--zk-tls-verify-hostname=false"), nil)
	require.NoError(t, err)
	fromEnv, err := Load(nil, []string{
		"TRAEFIK_ZK_SIDECAR_TLS_CERT_FILE=" + api.cert, "TRAEFIK_ZK_SIDECAR_TLS_KEY_FILE=" + api.key,
		"TRAEFIK_ZK_SIDECAR_TLS_CLIENT_CA_FILE=" + caFile, "TRAEFIK_ZK_SIDECAR_ZK_TLS_CA_FILE=" + caFile,
		"TRAEFIK_ZK_SIDECAR_ZK_TLS_CERT_FILE=" + zk.cert, "TRAEFIK_ZK_SIDECAR_ZK_TLS_KEY_FILE=" + zk.key,
		"TRAEFIK_ZK_SIDECAR_ZK_TLS_VERIFY_HOSTNAME=false",
	})
	require.NoError(t, err)
	file := writeFile(t, "c.yaml", "tlsCertFile: "+api.cert+"\ntlsKeyFile: "+api.key+"\ntlsClientCaFile: "+caFile+
		"\nzkTlsCaFile: "+caFile+"\nzkTlsCertFile: "+zk.cert+"\nzkTlsKeyFile: "+zk.key+"\nzkTlsVerifyHostname: false\n", 0o644)
	fromFile, err := Load(flags(t, "--config", file), nil)
	require.NoError(t, err)

	for name, cfg := range map[string]Config{"flags": fromFlags, "environment": fromEnv, "file": fromFile} {
		assert.Equal(t, api.cert, cfg.TLSCertFile, name)
		assert.Equal(t, api.key, cfg.TLSKeyFile, name)
		assert.Equal(t, caFile, cfg.TLSClientCAFile, name)
		assert.Equal(t, caFile, cfg.ZKTLSCAFile, name)
		assert.Equal(t, zk.cert, cfg.ZKTLSCertFile, name)
		assert.Equal(t, zk.key, cfg.ZKTLSKeyFile, name)
		assert.False(t, cfg.ZKTLSVerifyHostname, name)
		tlsCfg, err := cfg.APITLS()
		require.NoError(t, err, name)
		assert.NotNil(t, tlsCfg, name)
	}

	defaults, err := Load(nil, nil)
	require.NoError(t, err)
	assert.True(t, defaults.ZKTLSVerifyHostname, "hostname verification is on by default")
	tlsCfg, err := defaults.APITLS()
	require.NoError(t, err)
	assert.Nil(t, tlsCfg, "plain HTTP without --tls-cert-file")
	defaults.TraefikZKIPs = "127.0.0.1:2181"
	opts, err := defaults.ZooKeeperOptions()
	require.NoError(t, err)
	assert.Nil(t, opts.TLS, "plain ZooKeeper without --zk-tls-*")

	fromFlags.TraefikZKIPs = "127.0.0.1:2181"
	opts, err = fromFlags.ZooKeeperOptions()
	require.NoError(t, err)
	require.NotNil(t, opts.TLS)
	c := opts.TLS("zk1.example.com")
	assert.Equal(t, "zk1.example.com", c.ServerName)
	assert.Len(t, c.Certificates, 1, "the client certificate is presented")
}

func TestTLSRefusals(t *testing.T) {
	ca, err := testpki.NewCA("test CA")
	require.NoError(t, err)
	caFile, err := ca.WriteCA(t.TempDir(), "ca")
	require.NoError(t, err)
	good := writePair(t, ca, testpki.Localhost("api"), "good")
	other := writePair(t, ca, testpki.Localhost("other"), "other")
	expired := writePair(t, ca, testpki.Leaf{CommonName: "old", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, "expired")
	loose := writePair(t, ca, testpki.Localhost("loose"), "loose")
	require.NoError(t, os.Chmod(loose.key, 0o644))

	for _, tc := range []struct {
		name string
		args []string
		// at is where the refusal comes from: "load" (Load itself),
		// "api" (APITLS) or "zk" (ZooKeeperOptions).
		at   string
		want string
	}{
		{"certificate without key", []string{"--tls-cert-file", good.cert}, "load", "invalid --tls-cert-file"},
		{"key without certificate", []string{"--tls-key-file", good.key}, "load", "invalid --tls-key-file"},
		{"client CA without HTTPS", []string{"--tls-client-ca-file", caFile}, "load", "invalid --tls-client-ca-file"},
		{"ZooKeeper key without certificate", []string{"--zk-tls-key-file", good.key}, "load", "invalid --zk-tls-key-file"},
		{"bad pair", []string{"--tls-cert-file", good.cert, "--tls-key-file", other.key}, "api", "invalid --tls-key-file"},
		{"key readable by others", []string{"--tls-cert-file", loose.cert, "--tls-key-file", loose.key}, "api", "invalid --tls-key-file"},
		{"expired certificate", []string{"--tls-cert-file", expired.cert, "--tls-key-file", expired.key}, "api", "invalid --tls-cert-file"},
		{"client CA that is no bundle", []string{"--tls-cert-file", good.cert, "--tls-key-file", good.key, "--tls-client-ca-file", good.key}, "api", "invalid --tls-client-ca-file"},
		{"ZooKeeper bad pair", []string{"--zk-tls-cert-file", good.cert, "--zk-tls-key-file", other.key}, "zk", "invalid --zk-tls-key-file"},
		{"ZooKeeper expired certificate", []string{"--zk-tls-cert-file", expired.cert, "--zk-tls-key-file", expired.key}, "zk", "invalid --zk-tls-cert-file"},
		{"ZooKeeper key readable by others", []string{"--zk-tls-cert-file", loose.cert, "--zk-tls-key-file", loose.key}, "zk", "mode 0644"},
		{"ZooKeeper CA missing", []string{"--zk-tls-ca-file", "/nonexistent/ca.crt"}, "zk", "invalid --zk-tls-ca-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(flags(t, append(tc.args, "--traefik-zk-ips", "127.0.0.1:2181")...), nil)
			if tc.at == "load" {
				require.Error(t, err)
				assert.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			if tc.at == "api" {
				_, err = cfg.APITLS()
			} else {
				_, err = cfg.ZooKeeperOptions()
			}
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
