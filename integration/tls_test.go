package integration

// Every hop encrypted, with real components: Zoe's master → sidecar over
// HTTPS with client certificates, sidecar → ZooKeeper over TLS (the
// ensemble's TLS client port, ZooKeeper 3.8's Netty connection factory with
// PEM files), Traefik → ZooKeeper over TLS through zk-tls-proxy (Traefik's
// ZooKeeper provider has no TLS option). Certificates are made here with
// crypto/x509.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/testpki"
)

const (
	tlsRoot      = "tlshops"
	tlsStateRoot = "/tls-state"
	tlsToken     = "tls-test-token-0123456789"
	tlsKeySecret = "tls-test-key-secret-0123456789"
)

// tlsPKI is every certificate of the test, written to files.
type tlsPKI struct {
	dir    string
	ca     *testpki.CA
	caFile string
	// zookeeper and api are servers' pairs; sidecarZK, traefikZK and
	// master are clients'; foreign is a client's from another CA.
	zookeeper, api, sidecarZK, traefikZK, master, foreign testpki.Files
	// otherCAFile is the bundle of that other CA.
	otherCAFile string
}

func newTLSPKI(t *testing.T) *tlsPKI {
	t.Helper()
	p := &tlsPKI{dir: t.TempDir()}
	var err error
	p.ca, err = testpki.NewCA("traefik-zk-sidecar test CA")
	require.NoError(t, err)
	p.caFile, err = p.ca.WriteCA(p.dir, "ca")
	require.NoError(t, err)
	other, err := testpki.NewCA("another CA")
	require.NoError(t, err)
	p.otherCAFile, err = other.WriteCA(p.dir, "other-ca")
	require.NoError(t, err)
	issue := func(ca *testpki.CA, leaf testpki.Leaf, name string) testpki.Files {
		pair, err := ca.Issue(leaf)
		require.NoError(t, err)
		f, err := pair.WriteFiles(p.dir, name)
		require.NoError(t, err)
		return f
	}
	// A name only, no address: clients must verify the name they dial.
	p.zookeeper = issue(p.ca, testpki.Leaf{CommonName: "zookeeper", DNSNames: []string{"localhost"}}, "zookeeper")
	p.api = issue(p.ca, testpki.Localhost("sidecar-api"), "api")
	p.sidecarZK = issue(p.ca, testpki.Leaf{CommonName: "sidecar"}, "sidecar-zk")
	p.traefikZK = issue(p.ca, testpki.Leaf{CommonName: "traefik"}, "traefik-zk")
	p.master = issue(p.ca, testpki.Leaf{CommonName: "zoe-master"}, "master")
	p.foreign = issue(other, testpki.Leaf{CommonName: "intruder"}, "foreign")
	return p
}

// clientTLS trusts the test CA and presents pair (none when empty).
func (p *tlsPKI) clientTLS(t *testing.T, pair testpki.Files) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(p.ca.PEM))
	c := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if pair.Cert != "" {
		cert, err := tls.LoadX509KeyPair(pair.Cert, pair.Key)
		require.NoError(t, err)
		// Presented whatever CAs the server asks for (Go's client would
		// otherwise keep back a certificate from another CA).
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return c
}

// connectTLS opens a ZooKeeper session over TLS, as the test's own reader.
func connectTLS(t *testing.T, servers []string, config *tls.Config) *zk.Conn {
	t.Helper()
	dialer := func(network, address string, timeout time.Duration) (net.Conn, error) {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: config}
		return d.Dial(network, address)
	}
	return connectWith(t, servers, dialer)
}

// zkTree reads every znode under roots (path → data), after a sync: what
// "writes nothing" is checked against.
func zkTree(t *testing.T, conn *zk.Conn, roots ...string) map[string]string {
	t.Helper()
	syncZK(t, conn)
	tree := map[string]string{}
	var walk func(p string)
	walk = func(p string) {
		data, _, err := conn.Get(p)
		if err == zk.ErrNoNode {
			return
		}
		require.NoError(t, err)
		tree[p] = string(data)
		children, _, err := conn.Children(p)
		require.NoError(t, err)
		for _, c := range children {
			walk(path.Join(p, c))
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return tree
}

// hookClient posts hooks over HTTPS as one client identity.
type hookClient struct {
	url    string
	client *http.Client
}

func (h hookClient) post(body []byte) (int, string, error) {
	r, err := harness.NewClient(h.url, tlsToken, harness.WithHTTPClient(h.client)).
		Do(context.Background(), harness.Request{Method: http.MethodPost, Path: "/v1/hooks", Body: body})
	if err != nil {
		return 0, "", err
	}
	return r.Status, string(r.Body), nil
}

func TestTLSEveryHop(t *testing.T) {
	requireOwnStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pki := newTLSPKI(t)

	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 1, TLS: &harness.EnsembleTLS{
		CertFile: pki.zookeeper.Cert, KeyFile: pki.zookeeper.Key, CAFile: pki.caFile, ClientAuth: "need",
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ens.Close() })
	// By name: the servers' certificate names localhost, no address, so
	// this checks that every client verifies the name it was given (the
	// ZooKeeper client resolves names before dialing unless told not to).
	var secure []string
	for _, s := range ens.SecureServers() {
		secure = append(secure, strings.Replace(s, "127.0.0.1:", "localhost:", 1))
	}
	t.Logf("ZooKeeper TLS client port %s (plain port %s kept for the harness's four-letter-word probes)", secure[0], ens.Servers()[0])

	readerTLS := pki.clientTLS(t, pki.sidecarZK)
	readerTLS.ServerName = "localhost"
	reader := connectTLS(t, secure, readerTLS)
	_, err = reader.Create("/"+tlsRoot, []byte("true"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)

	proxy, err := harness.StartZKTLSProxy(ctx, harness.ZKTLSProxyOptions{
		Binary: apiSidecarBinary(t), Servers: secure,
		CAFile: pki.caFile, CertFile: pki.traefikZK.Cert, KeyFile: pki.traefikZK.Key,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("zk-tls-proxy log tail:\n%s", tail(proxy.Logs(), 3000))
		}
		_ = proxy.Close()
	})
	tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{Endpoints: []string{proxy.Addr()}, RootKey: tlsRoot})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Traefik log tail:\n%s", tail(tr.Logs(), 3000))
		}
		_ = tr.Close()
	})

	// The API's certificate is a copy the rotation step overwrites.
	apiCert, apiKey := pki.dir+"/api-live.crt", pki.dir+"/api-live.key"
	copyFile(t, pki.api.Cert, apiCert, 0o644)
	copyFile(t, pki.api.Key, apiKey, 0o600)
	sc, err := harness.StartSidecar(ctx, harness.SidecarOptions{
		Binary: apiSidecarBinary(t), Servers: secure, RootKey: tlsRoot, StateRoot: tlsStateRoot,
		Token: tlsToken, KeySecret: tlsKeySecret,
		Args: []string{"--tls-cert-file=" + apiCert, "--tls-key-file=" + apiKey, "--tls-client-ca-file=" + pki.caFile,
			"--traefik-token-file=" + traefikTokenFile(t),
			"--zk-tls-ca-file=" + pki.caFile, "--zk-tls-cert-file=" + pki.sidecarZK.Cert, "--zk-tls-key-file=" + pki.sidecarZK.Key},
		HTTPS: pki.clientTLS(t, pki.master),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sidecar log tail:\n%s", tail(sc.Logs(), 4000))
		}
		_ = sc.Close()
	})
	require.True(t, strings.HasPrefix(sc.URL(), "https://"))
	master := hookClient{url: sc.URL(), client: harness.TLSClient(pki.clientTLS(t, pki.master))}
	a := startBackend(t, "A")
	_, aPort := a.Addr()

	var routePath string
	apiStep(t, "lifecycle with every hop encrypted: prepare, start, served through Traefik, stop, 404", func(t *testing.T) {
		before := zkTree(t, reader, "/"+tlsRoot, tlsStateRoot)
		status, body, err := master.post(apiIssueHook("prepare", `"7"`, aPort))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, before, zkTree(t, reader, "/"+tlsRoot, tlsStateRoot), "prepare writes nothing")

		status, body, err = master.post(apiIssueHook("start", `"7"`, aPort))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		var got apiHookReply
		require.NoError(t, json.Unmarshal([]byte(body), &got), body)
		require.Len(t, got.Routes, 1)
		routePath = got.Routes[0].Path
		assert.Contains(t, zkTree(t, reader, tlsStateRoot), tlsStateRoot+"/executions/7", "the sidecar wrote over TLS")
		waitBody(t, tr.WebURL()+routePath+"/", "", "A "+routePath+"/", 30*time.Second)

		status, body, err = master.post(apiIssueHook("stop", `"7"`, aPort))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		waitStatus(t, tr.WebURL()+routePath+"/", "", http.StatusNotFound, 30*time.Second)
		assert.Contains(t, proxy.Logs(), "relaying", "Traefik reached ZooKeeper through the TLS proxy")
		// ZooKeeper names the certificate each TLS client authenticated with.
		zkLog := ens.Logs(0)
		assert.Contains(t, zkLog, "Authenticated Id 'CN=sidecar' for Scheme 'x509'", "the sidecar's session is TLS with its client certificate")
		assert.Contains(t, zkLog, "Authenticated Id 'CN=traefik' for Scheme 'x509'", "Traefik's session (through the proxy) is TLS with its client certificate")
	})

	apiStep(t, "Traefik's HTTP provider reads /v1/traefik over mutual TLS", func(t *testing.T) {
		tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{HTTP: &harness.HTTPProviderOptions{
			Endpoint: sc.URL() + "/v1/traefik", PollTimeout: 5 * time.Second,
			Headers: map[string]string{"Authorization": "Bearer " + httpReadToken},
			CAFile:  pki.caFile, CertFile: pki.traefikZK.Cert, KeyFile: pki.traefikZK.Key,
		}})
		require.NoError(t, err)
		defer tr.Close()
		status, body, err := master.post(apiIssueHook("start", `"10"`, aPort))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		var got apiHookReply
		require.NoError(t, json.Unmarshal([]byte(body), &got), body)
		require.Len(t, got.Routes, 1)
		waitBody(t, tr.WebURL()+got.Routes[0].Path+"/", "", "A "+got.Routes[0].Path+"/", 30*time.Second)
		status, body, err = master.post(apiIssueHook("stop", `"10"`, aPort))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		waitStatus(t, tr.WebURL()+got.Routes[0].Path+"/", "", http.StatusNotFound, 30*time.Second)
	})

	apiStep(t, "/healthz answers on the same HTTPS port", func(t *testing.T) {
		status, _, err := harness.GetWith(ctx, master.client, sc.URL()+"/healthz", "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status)
	})

	start := apiIssueHook("start", `"8"`, aPort)
	apiStep(t, "a client certificate does not replace the token", func(t *testing.T) {
		before := zkTree(t, reader, "/"+tlsRoot, tlsStateRoot)
		r, err := harness.NewClient(sc.URL(), tlsToken, harness.WithHTTPClient(master.client)).
			Do(ctx, harness.Request{Method: http.MethodPost, Path: "/v1/hooks", Body: start, Auth: harness.NoAuth})
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, r.Status, string(r.Body))
		assert.Equal(t, before, zkTree(t, reader, "/"+tlsRoot, tlsStateRoot))
	})

	refused := []struct {
		name    string
		post    func() (int, string, error)
		wantErr string
		// logged is what the sidecar logs about the refused handshake.
		logged string
	}{
		{"plain HTTP to the TLS listener", func() (int, string, error) {
			return hookClient{url: strings.Replace(sc.URL(), "https://", "http://", 1), client: http.DefaultClient}.post(start)
		}, "", "client sent an HTTP request to an HTTPS server"},
		{"a client without a certificate", func() (int, string, error) {
			return hookClient{url: sc.URL(), client: harness.TLSClient(pki.clientTLS(t, testpki.Files{}))}.post(start)
		}, "remote error: tls: certificate required", "client didn't provide a certificate"},
		{"a client certificate from another CA", func() (int, string, error) {
			return hookClient{url: sc.URL(), client: harness.TLSClient(pki.clientTLS(t, pki.foreign))}.post(start)
		}, "remote error: tls:", "certificate signed by unknown authority"},
	}
	for _, tc := range refused {
		apiStep(t, tc.name+" is refused and writes nothing", func(t *testing.T) {
			before := zkTree(t, reader, "/"+tlsRoot, tlsStateRoot)
			status, body, err := tc.post()
			if tc.wantErr == "" {
				// Go's server answers 400 and closes; with the request body
				// still unread the close may reach the client as a reset
				// before the answer does. The server's log says which.
				if err == nil {
					assert.Equal(t, http.StatusBadRequest, status)
					assert.Contains(t, body, "Client sent an HTTP request to an HTTPS server")
				} else {
					assert.ErrorContains(t, err, "connection reset by peer")
				}
			} else {
				require.Error(t, err, "status %d %s", status, body)
				assert.ErrorContains(t, err, tc.wantErr)
			}
			assert.Eventually(t, func() bool { return strings.Contains(sc.Logs(), tc.logged) },
				5*time.Second, 50*time.Millisecond, "the sidecar logs why: %s", tc.logged)
			assert.Equal(t, before, zkTree(t, reader, "/"+tlsRoot, tlsStateRoot))
			assert.NotContains(t, zkTree(t, reader, tlsStateRoot), tlsStateRoot+"/executions/8")
		})
	}

	apiStep(t, "rotating the API certificate drops no in-flight hook", func(t *testing.T) {
		body := apiIssueHook("start", `"9"`, aPort)
		conn, err := tls.Dial("tcp", strings.TrimPrefix(sc.URL(), "https://"), pki.clientTLS(t, pki.master))
		require.NoError(t, err)
		defer conn.Close()
		assert.Equal(t, "sidecar-api", conn.ConnectionState().PeerCertificates[0].Subject.CommonName)
		head := fmt.Sprintf("POST /v1/hooks HTTP/1.1\r\nHost: sidecar\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", tlsToken, len(body))
		_, err = io.WriteString(conn, head)
		require.NoError(t, err)
		_, err = conn.Write(body[:len(body)/2])
		require.NoError(t, err)

		rotated, err := pki.ca.Issue(testpki.Localhost("sidecar-api-rotated"))
		require.NoError(t, err)
		// Key first, then certificate: in between the pair does not match
		// and the sidecar keeps serving the old one.
		require.NoError(t, os.WriteFile(apiKey, rotated.KeyPEM, 0o600))
		require.NoError(t, os.WriteFile(apiCert, rotated.CertPEM, 0o644))
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := tls.Dial("tcp", strings.TrimPrefix(sc.URL(), "https://"), pki.clientTLS(t, pki.master))
			require.NoError(t, err)
			cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName
			_ = c.Close()
			if cn == "sidecar-api-rotated" {
				break
			}
			require.True(t, time.Now().Before(deadline), "new connections still get %q", cn)
			time.Sleep(100 * time.Millisecond)
		}

		_, err = conn.Write(body[len(body)/2:])
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		reply, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode, string(reply))
		assert.Contains(t, zkTree(t, reader, tlsStateRoot), tlsStateRoot+"/executions/9", "the hook begun before the rotation was applied")
		assert.Contains(t, sc.Logs(), "TLS files reloaded")
	})

	apiStep(t, "examples/lifecycle.sh drives the lifecycle with a CA and a client certificate", func(t *testing.T) {
		if _, err := exec.LookPath("jq"); err != nil {
			t.Skip("examples/lifecycle.sh with TRAEFIK_URL needs jq")
		}
		_, self, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(self), "..", "examples", "lifecycle.sh")
		run := func(extra ...string) (string, error) {
			cmd := exec.Command("bash", script, "notebook")
			cmd.Env = append(os.Environ(), "TOKEN="+tlsToken, "SIDECAR_URL="+sc.URL(), "WAIT=",
				"TRAEFIK_URL="+tr.WebURL(), "BACKEND_HOST=127.0.0.1", fmt.Sprintf("BACKEND_PORT=%d", aPort))
			cmd.Env = append(cmd.Env, extra...)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		before := zkTree(t, reader, "/"+tlsRoot, tlsStateRoot)
		out, err := run("CA_FILE="+pki.caFile, "CERT_FILE="+pki.master.Cert, "KEY_FILE="+pki.master.Key)
		require.NoError(t, err, out)
		assert.Equal(t, 4, strings.Count(out, "<- HTTP 200"), "prepare, start, GET /v1/executions/42, stop: %s", out)
		assert.NotEqual(t, before, zkTree(t, reader, "/"+tlsRoot, tlsStateRoot), "start and stop wrote")

		before = zkTree(t, reader, "/"+tlsRoot, tlsStateRoot)
		out, err = run("CA_FILE=" + pki.caFile) // no client certificate
		require.Error(t, err, out)
		assert.Contains(t, out, "no answer")
		assert.Equal(t, before, zkTree(t, reader, "/"+tlsRoot, tlsStateRoot), "refused, nothing written")
	})

	apiStep(t, "the Zoe client (examples/zoe) talks to the sidecar with a CA and a client certificate", func(t *testing.T) {
		python, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 not installed")
		}
		tokenFile := filepath.Join(t.TempDir(), "token")
		require.NoError(t, os.WriteFile(tokenFile, []byte(tlsToken+"\n"), 0o600))
		const script = `
import sys, zoe_sidecar as zs
url, token, ca, cert, key = sys.argv[1:6]
c = zs.Client.from_config(url, token, ca_file=ca, cert_file=cert, key_file=key)
assert c.ready(), "not ready"
print("routes", len(c.routes()))
try:
    zs.Client.from_config(url, token, ca_file=ca, retry=zs.NO_RETRY).routes()
except zs.SidecarError as e:
    print("without a client certificate:", type(e).__name__, e)
else:
    sys.exit("answered without a client certificate")
`
		_, self, _, _ := runtime.Caller(0)
		cmd := exec.Command(python, "-B", "-c", script, sc.URL(), tokenFile, pki.caFile, pki.master.Cert, pki.master.Key)
		cmd.Dir = filepath.Join(filepath.Dir(self), "..", "examples", "zoe")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Regexp(t, `routes [1-9]`, string(out))
		assert.Contains(t, string(out), "without a client certificate: TLSError")
	})

	apiStep(t, "routes and sync reach ZooKeeper over TLS too", func(t *testing.T) {
		zkFlags := []string{"--traefik-zk-ips=" + strings.Join(secure, ","), "--traefik-root-key=" + tlsRoot, "--state-root=" + tlsStateRoot,
			"--zk-tls-ca-file=" + pki.caFile, "--zk-tls-cert-file=" + pki.sidecarZK.Cert, "--zk-tls-key-file=" + pki.sidecarZK.Key}
		out, err := exec.Command(apiSidecarBinary(t), append([]string{"routes", "--json"}, zkFlags...)...).CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Regexp(t, `"execution_id":\s*"9"`, string(out), "the route started over HTTPS is listed")

		executions := filepath.Join(t.TempDir(), "executions.json")
		require.NoError(t, os.WriteFile(executions, apiExecutionsBody(t, aPort, "9"), 0o644))
		out, err = exec.Command(apiSidecarBinary(t), append([]string{"sync", "--dry-run", "--file", executions, "--key-secret", tlsKeySecret}, zkFlags...)...).CombinedOutput()
		require.NoError(t, err, string(out))

		out, err = exec.Command(apiSidecarBinary(t), "routes", "--traefik-zk-ips="+strings.Join(secure, ","), "--zk-tls-ca-file="+pki.otherCAFile,
			"--zk-tls-cert-file="+pki.sidecarZK.Cert, "--zk-tls-key-file="+pki.sidecarZK.Key).CombinedOutput()
		require.Error(t, err, string(out))
		assert.Contains(t, string(out), "certificate signed by unknown authority")
	})

	apiStep(t, "the ZooKeeper server's host name is verified unless turned off", func(t *testing.T) {
		// The servers' certificate names localhost; dial them by address.
		byAddress := []string{"routes", "--traefik-zk-ips=" + strings.Join(ens.SecureServers(), ","), "--traefik-root-key=" + tlsRoot,
			"--state-root=" + tlsStateRoot, "--zk-tls-ca-file=" + pki.caFile, "--zk-tls-cert-file=" + pki.sidecarZK.Cert, "--zk-tls-key-file=" + pki.sidecarZK.Key}
		out, err := exec.Command(apiSidecarBinary(t), byAddress...).CombinedOutput()
		require.Error(t, err, string(out))
		assert.Contains(t, string(out), "cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs")
		out, err = exec.Command(apiSidecarBinary(t), append(byAddress, "--zk-tls-verify-hostname=false")...).CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Contains(t, string(out), "py-notebook0", "the chain alone is verified: the routes are listed")
	})

	apiStep(t, "a sidecar without the ZooKeeper CA refuses to start and writes nothing", func(t *testing.T) {
		const badState = "/tls-untrusted"
		out := &lockedBuffer{}
		_, err := harness.StartSidecar(ctx, harness.SidecarOptions{
			Binary: apiSidecarBinary(t), Servers: secure, RootKey: tlsRoot, StateRoot: badState,
			Token: tlsToken, KeySecret: tlsKeySecret, Log: out,
			// A client certificate but no CA bundle: the system's roots do
			// not know the test CA.
			Args: []string{"--zk-tls-cert-file=" + pki.sidecarZK.Cert, "--zk-tls-key-file=" + pki.sidecarZK.Key},
		})
		require.Error(t, err)
		assert.Contains(t, out.String(), "certificate signed by unknown authority")
		assert.Contains(t, out.String(), "--zk-tls-ca-file")
		assert.Empty(t, zkTree(t, reader, badState), "no session, nothing written")
	})

	apiStep(t, "the TLS client port speaks only TLS", func(t *testing.T) {
		conn, _, err := zk.Connect(secure, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
		require.NoError(t, err)
		defer conn.Close()
		time.Sleep(3 * time.Second)
		assert.NotEqual(t, zk.StateHasSession, conn.State(), "a plain client got a session on the TLS port")
	})
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, mode))
}
