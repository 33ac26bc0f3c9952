package zkstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/testpki"
)

func TestDialStateCountsUntrustedInARow(t *testing.T) {
	untrusted := &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}
	refused := errors.New("connection refused")
	for _, tc := range []struct {
		name string
		errs []error
		want int
	}{
		{"none", nil, 0},
		{"one untrusted", []error{untrusted}, 1},
		{"three untrusted", []error{untrusted, untrusted, untrusted}, 3},
		{"an outage in between starts again", []error{untrusted, refused, untrusted}, 1},
		{"a success starts again", []error{untrusted, untrusted, nil}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d dialState
			for _, err := range tc.errs {
				d.record(err)
			}
			_, n := d.get()
			assert.Equal(t, tc.want, n)
		})
	}
}

// tlsEcho is a TLS server on 127.0.0.1 that echoes what it reads.
func tlsEcho(t *testing.T, ca *testpki.CA) string {
	t.Helper()
	pair, err := ca.Issue(testpki.Localhost("zookeeper"))
	require.NoError(t, err)
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func trusting(ca *testpki.CA) func(string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	return func(serverName string) *tls.Config {
		return &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	}
}

func TestTLSDialer(t *testing.T) {
	ca, err := testpki.NewCA("zk CA")
	require.NoError(t, err)
	other, err := testpki.NewCA("other CA")
	require.NoError(t, err)
	addr := tlsEcho(t, ca)

	var state dialState
	var asked []string
	config := trusting(ca)
	dial := tlsDialer(func(name string) *tls.Config { asked = append(asked, name); return config(name) }, &state)
	conn, err := dial("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	conn.Close()
	assert.Equal(t, []string{"127.0.0.1"}, asked, "the server name verified is the host of the address")

	_, err = tlsDialer(trusting(other), &state)("tcp", addr, 5*time.Second)
	var verr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verr)
	last, untrusted := state.get()
	assert.Equal(t, err, last)
	assert.Equal(t, 1, untrusted)
}

func TestServeTLSProxyRelays(t *testing.T) {
	ca, err := testpki.NewCA("zk CA")
	require.NoError(t, err)
	addr := tlsEcho(t, ca)
	// A server that is down: the proxy must go on to the next one.
	down, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	downAddr := down.Addr().String()
	down.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeTLSProxy(ctx, ln, Options{Servers: []string{downAddr, addr}, TLS: trusting(ca)}) }()

	for range 4 { // whichever server the proxy tries first
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		_, err = c.Write([]byte("ruok"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		assert.Equal(t, "ruok", string(buf), "relayed to the TLS server and back")
		c.Close()
	}

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("ServeTLSProxy did not return after its context ended")
	}
	assert.Error(t, ServeTLSProxy(context.Background(), ln, Options{Servers: []string{addr}}), "no TLS configuration")
}

func TestNamedHostsKeepNamesAndRoundRobin(t *testing.T) {
	servers := []string{"zk1.example.com:2281", "zk2.example.com:2281", "zk3.example.com:2281"}
	var h namedHosts
	require.NoError(t, h.Init(servers))
	assert.Equal(t, 3, h.Len())

	var seen []string
	for i := range 3 {
		s, retry := h.Next()
		assert.False(t, retry, "attempt %d: not yet around the list", i)
		seen = append(seen, s)
	}
	assert.ElementsMatch(t, servers, seen, "every server once, by the name it was given")
	_, retry := h.Next()
	assert.True(t, retry, "around the list without a connection: the client pauses before going on")

	h.Connected()
	next, retry := h.Next()
	assert.False(t, retry)
	assert.Contains(t, servers, next)

	assert.Error(t, (&namedHosts{}).Init(nil))
}
