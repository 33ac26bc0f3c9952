package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/testpki"
)

func TestCheckKeyMode(t *testing.T) {
	for _, tc := range []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o640, false},
		{0o644, false},
		{0o604, false},
		{0o660, false},
		{fs.ModeDir | 0o700, false},
	} {
		err := CheckKeyMode(tc.mode)
		assert.Equal(t, tc.ok, err == nil, "mode %v: %v", tc.mode, err)
	}
}

func TestCheckValidity(t *testing.T) {
	cert := &x509.Certificate{
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), ""},
		{time.Date(2026, 2, 1, 0, 0, 1, 0, time.UTC), "expired on 2026-02-01T00:00:00Z"},
		{time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), "not valid before 2026-01-01T00:00:00Z"},
	} {
		err := CheckValidity(cert, tc.now)
		if tc.want == "" {
			assert.NoError(t, err)
		} else {
			assert.ErrorContains(t, err, tc.want)
		}
	}
}

func TestParsePair(t *testing.T) {
	ca, err := testpki.NewCA("test CA")
	require.NoError(t, err)
	good, err := ca.Issue(testpki.Localhost("server"))
	require.NoError(t, err)
	other, err := ca.Issue(testpki.Localhost("other"))
	require.NoError(t, err)
	expired, err := ca.Issue(testpki.Leaf{CommonName: "old", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	require.NoError(t, err)

	for _, tc := range []struct {
		name      string
		cert, key []byte
		role      Role
		want      string
	}{
		{"matching pair", good.CertPEM, good.KeyPEM, "", ""},
		{"key of another certificate", good.CertPEM, other.KeyPEM, RoleKey, "does not match the certificate"},
		{"key where the certificate belongs", good.KeyPEM, good.KeyPEM, RoleCert, "no PEM CERTIFICATE block"},
		{"certificate where the key belongs", good.CertPEM, good.CertPEM, RoleKey, "no PEM private key block"},
		{"not PEM", []byte("hello"), good.KeyPEM, RoleCert, "no PEM CERTIFICATE block"},
		{"expired", expired.CertPEM, expired.KeyPEM, RoleCert, "expired on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair, err := ParsePair(tc.cert, tc.key, time.Now())
			if tc.want == "" {
				require.NoError(t, err)
				assert.Equal(t, "server", pair.Leaf.Subject.CommonName)
				return
			}
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.role, fe.Role)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParsePool(t *testing.T) {
	ca, err := testpki.NewCA("test CA")
	require.NoError(t, err)
	_, err = ParsePool(ca.PEM)
	assert.NoError(t, err)
	_, err = ParsePool([]byte("not a bundle"))
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, RoleCA, fe.Role)
}

// pki writes a CA, a server pair and a client pair into a directory.
type pki struct {
	dir            string
	ca             *testpki.CA
	caFile         string
	server, client testpki.Files
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	ca, err := testpki.NewCA("test CA")
	require.NoError(t, err)
	caFile, err := ca.WriteCA(dir, "ca")
	require.NoError(t, err)
	server, err := ca.Issue(testpki.Localhost("server"))
	require.NoError(t, err)
	client, err := ca.Issue(testpki.Leaf{CommonName: "client"})
	require.NoError(t, err)
	p := pki{dir: dir, ca: ca, caFile: caFile}
	p.server, err = server.WriteFiles(dir, "server")
	require.NoError(t, err)
	p.client, err = client.WriteFiles(dir, "client")
	require.NoError(t, err)
	return p
}

func TestNewSourceNamesTheFile(t *testing.T) {
	p := newPKI(t)
	loose := filepath.Join(p.dir, "loose.key")
	data, err := os.ReadFile(p.server.Key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(loose, data, 0o644))

	for _, tc := range []struct {
		name  string
		files Files
		role  Role
		path  string
	}{
		{"key readable by others", Files{Cert: p.server.Cert, Key: loose}, RoleKey, loose},
		{"key of another certificate", Files{Cert: p.server.Cert, Key: p.client.Key}, RoleKey, p.client.Key},
		{"missing certificate", Files{Cert: filepath.Join(p.dir, "nope.crt"), Key: p.server.Key}, RoleCert, filepath.Join(p.dir, "nope.crt")},
		{"CA bundle that is a key", Files{Cert: p.server.Cert, Key: p.server.Key, CA: p.server.Key}, RoleCA, p.server.Key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSource(tc.files, nil)
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.role, fe.Role)
			assert.Equal(t, tc.path, fe.Path)
		})
	}
}

// handshake runs one TLS handshake between a server and a client
// configuration over a loopback connection and returns both sides' errors.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error, peer *x509.Certificate) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, server)
		err = tc.Handshake()
		if err == nil {
			// TLS 1.3 clients learn of a refused certificate on first read.
			_, err = tc.Write([]byte("x"))
		}
		done <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		peer = c.ConnectionState().PeerCertificates[0]
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	return <-done, err, peer
}

func TestServerConfigMutualTLS(t *testing.T) {
	p := newPKI(t)
	src, err := NewSource(Files{Cert: p.server.Cert, Key: p.server.Key, CA: p.caFile}, nil)
	require.NoError(t, err)
	clientSrc, err := NewSource(Files{Cert: p.client.Cert, Key: p.client.Key, CA: p.caFile}, nil)
	require.NoError(t, err)

	serverErr, clientErr, _ := handshake(t, src.ServerConfig(), clientSrc.ClientConfig("127.0.0.1", true))
	assert.NoError(t, serverErr)
	assert.NoError(t, clientErr)

	noCert, err := NewSource(Files{CA: p.caFile}, nil)
	require.NoError(t, err)
	serverErr, _, _ = handshake(t, src.ServerConfig(), noCert.ClientConfig("127.0.0.1", true))
	assert.ErrorContains(t, serverErr, "client didn't provide a certificate")

	other := newPKI(t) // a client certificate from another CA
	foreign, err := NewSource(Files{Cert: other.client.Cert, Key: other.client.Key, CA: p.caFile}, nil)
	require.NoError(t, err)
	serverErr, _, _ = handshake(t, src.ServerConfig(), foreign.ClientConfig("127.0.0.1", true))
	assert.ErrorContains(t, serverErr, "certificate signed by unknown authority")

	old := &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true} // an old client, to be refused
	serverErr, _, _ = handshake(t, src.ServerConfig(), old)
	assert.ErrorContains(t, serverErr, "client offered only unsupported versions", "TLS 1.2 is the minimum")
}

func TestClientConfigHostnameVerification(t *testing.T) {
	p := newPKI(t)
	server, err := NewSource(Files{Cert: p.server.Cert, Key: p.server.Key}, nil)
	require.NoError(t, err)
	client, err := NewSource(Files{CA: p.caFile}, nil)
	require.NoError(t, err)

	_, clientErr, _ := handshake(t, server.ServerConfig(), client.ClientConfig("zk1.example.com", true))
	var hostErr x509.HostnameError
	assert.ErrorAs(t, clientErr, &hostErr, "the server's certificate does not name zk1.example.com")

	_, clientErr, _ = handshake(t, server.ServerConfig(), client.ClientConfig("zk1.example.com", false))
	assert.NoError(t, clientErr, "without hostname verification the chain alone counts")

	other := newPKI(t)
	stranger, err := NewSource(Files{CA: other.caFile}, nil)
	require.NoError(t, err)
	_, clientErr, _ = handshake(t, server.ServerConfig(), stranger.ClientConfig("zk1.example.com", false))
	var verr *tls.CertificateVerificationError
	assert.ErrorAs(t, clientErr, &verr, "the chain is still verified without hostname verification")
}

func TestSourceReloadsChangedFiles(t *testing.T) {
	p := newPKI(t)
	src, err := NewSource(Files{Cert: p.server.Cert, Key: p.server.Key}, nil)
	require.NoError(t, err)
	now := time.Now()
	src.now = func() time.Time { return now }
	client, err := NewSource(Files{CA: p.caFile}, nil)
	require.NoError(t, err)
	servedSubject := func() string {
		t.Helper()
		_, clientErr, peer := handshake(t, src.ServerConfig(), client.ClientConfig("127.0.0.1", true))
		require.NoError(t, clientErr)
		return peer.Subject.CommonName
	}
	rotate := func(leaf testpki.Leaf, keyMode os.FileMode) {
		t.Helper()
		pair, err := p.ca.Issue(leaf)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p.server.Cert, pair.CertPEM, 0o644))
		require.NoError(t, os.WriteFile(p.server.Key, pair.KeyPEM, 0o600))
		require.NoError(t, os.Chmod(p.server.Key, keyMode))
	}
	assert.Equal(t, "server", servedSubject())

	rotate(testpki.Localhost("rotated"), 0o600)
	assert.Equal(t, "server", servedSubject(), "files are read again at most once per interval")
	now = now.Add(recheckInterval)
	assert.Equal(t, "rotated", servedSubject())

	for _, bad := range []struct {
		leaf testpki.Leaf
		mode os.FileMode
	}{
		{testpki.Leaf{CommonName: "expired", IPs: testpki.Localhost("").IPs, NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)}, 0o600},
		{testpki.Localhost("world-readable"), 0o644},
	} {
		rotate(bad.leaf, bad.mode)
		now = now.Add(recheckInterval)
		assert.Equal(t, "rotated", servedSubject(), "%s: a change that does not load keeps the last good certificate", bad.leaf.CommonName)
	}

	// Half a rotation: a new certificate next to the old key.
	pair, err := p.ca.Issue(testpki.Localhost("half"))
	require.NoError(t, err)
	require.NoError(t, os.Chmod(p.server.Key, 0o600))
	require.NoError(t, os.WriteFile(p.server.Cert, pair.CertPEM, 0o644))
	now = now.Add(recheckInterval)
	assert.Equal(t, "rotated", servedSubject())
	require.NoError(t, os.WriteFile(p.server.Key, pair.KeyPEM, 0o600))
	now = now.Add(recheckInterval)
	assert.Equal(t, "half", servedSubject(), "once the key follows, the pair loads")
}

func TestFileErrorUnwraps(t *testing.T) {
	err := error(&FileError{Role: RoleKey, Path: "/k", Err: os.ErrNotExist})
	assert.True(t, errors.Is(err, os.ErrNotExist))
	assert.Equal(t, "private key /k: file does not exist", err.Error())
}
