package integration

// End-to-end tests of what web applications need from the proxy: WebSocket
// and Server-Sent Events through Traefik, host routing, strip prefix, the
// static route to Zoe's own UI, and TLS on a dedicated entry point. Every
// test runs the real sidecar binary with its own --state-root and key
// secret, posts hooks to its HTTP API, and checks the result by HTTP
// through a real Traefik.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

// webServeTimeout bounds how long a route may take to appear in Traefik.
const webServeTimeout = 20 * time.Second

// webSidecarOptions are the flags one test's sidecar runs with.
type webSidecarOptions struct {
	rootKey   string // Traefik root key; default the shared one
	stateRoot string
	args      []string
}

// startWebSidecar runs `traefik-zk-sidecar serve` with its own state root
// and key secret (derived from the state root, so that a restart with the
// same options derives the same keys); it is closed at the end of the test.
func startWebSidecar(t *testing.T, o webSidecarOptions) *apiSidecar {
	t.Helper()
	if o.rootKey == "" {
		o.rootKey = sharedRoot
	}
	return runSidecar(t, harness.SidecarOptions{
		Servers:   env.servers,
		RootKey:   o.rootKey,
		StateRoot: o.stateRoot,
		KeySecret: "web-key-secret" + strings.ReplaceAll(o.stateRoot, "/", "-") + "-0123456789abcdef",
		Args:      append([]string{"--log-level=debug"}, o.args...),
	})
}

// webPort is one port of a hook's service.
type webPort struct {
	number  int
	backend *harness.Backend
	strip   bool
}

// webHook is a hook for execution id with one service and its proxied ports.
func webHook(t *testing.T, event, id, service string, ports ...webPort) []byte {
	t.Helper()
	var list []execution.Port
	for _, p := range ports {
		ip, port := p.backend.Addr()
		list = append(list, execution.Port{
			Name: "web" + strconv.Itoa(p.number), PortNumber: p.number, Protocol: "tcp", Proxy: true,
			URLTemplate: "http://{ip_port}{proxy_path}", ExternalIP: ip, ExternalPort: port, StripPrefix: p.strip,
		})
	}
	return apiJSON(harness.Hook(event, execution.Execution{ID: execution.ID(id), Name: "webapp", Owner: "alice",
		Services: []execution.Service{{Name: service, Ports: list}}}))
}

// webStart posts a start hook, stops the execution at the end of the test,
// and returns the routes by port number.
func webStart(t *testing.T, sc *apiSidecar, id, service string, ports ...webPort) map[int]apiRoute {
	t.Helper()
	r := sc.post("/v1/hooks", webHook(t, "start", id, service, ports...))
	require.Equal(t, http.StatusOK, r.status, r)
	t.Cleanup(func() { sc.post("/v1/hooks", apiStop(id)) })
	got := apiDecode[apiHookReply](t, r)
	require.Len(t, got.Routes, len(ports), r)
	out := map[int]apiRoute{}
	for _, route := range got.Routes {
		assert.NotEmpty(t, route.Router, r)
		out[route.Port] = route
	}
	return out
}

// wsURL turns http://host:port into ws://host:port.
func wsURL(httpURL string) string {
	return "ws" + strings.TrimPrefix(httpURL, "http")
}

// webEcho dials a WebSocket, sends msgs one by one and then all at once,
// and checks the echoes of backend name come back in order.
func webEcho(t *testing.T, url, name string, msgs []string) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: nil}
	conn, resp, err := d.Dial(url, nil)
	require.NoError(t, err, "dial %s (response %v)", url, resp)
	defer conn.Close()
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	// No X-Backend check here: the upgrader writes its own 101 response,
	// without the headers the backend's handler set; the echoes name it.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	read := func(want string) {
		t.Helper()
		kind, got, err := conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, websocket.TextMessage, kind)
		assert.Equal(t, want, string(got))
	}
	// Ping-pong: each message answered before the next is sent.
	for _, m := range msgs {
		require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte(m)))
		read(name + ": " + m)
	}
	// Pipelined: all sent, then all read, in order.
	for i, m := range msgs {
		require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("%d %s", i, m))))
	}
	for i, m := range msgs {
		read(fmt.Sprintf("%s: %d %s", name, i, m))
	}
	require.NoError(t, conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")))
}

// TestWebAppWebSocket: a WebSocket through Traefik to a proxied port.
func TestWebAppWebSocket(t *testing.T) {
	requireEnv(t)
	sc := startWebSidecar(t, webSidecarOptions{stateRoot: "/web-ws"})
	b := startBackend(t, "WS")
	route := webStart(t, sc, "51", "ws0", webPort{number: 8888, backend: b})[8888]
	web := env.traefik.WebURL()
	waitBody(t, web+route.Path+"/", "", "WS "+route.Path+"/", webServeTimeout)

	webEcho(t, wsURL(web)+route.Path+"/ws", "WS", []string{"hello", "second message", "third", "ünïcödé ✓", strings.Repeat("x", 70000)})
	// A second connection at once, on another path under the route.
	webEcho(t, wsURL(web)+route.Path+"/api/kernels/k1/ws", "WS", []string{"again"})
}

// TestWebAppServerSentEvents: an event stream through Traefik is not
// buffered: the first event arrives while the backend still holds the
// stream open, before it is allowed to send the second.
func TestWebAppServerSentEvents(t *testing.T) {
	requireEnv(t)
	sc := startWebSidecar(t, webSidecarOptions{stateRoot: "/web-sse"})
	b := startBackend(t, "SSE")
	route := webStart(t, sc, "52", "sse0", webPort{number: 8888, backend: b})[8888]
	web := env.traefik.WebURL()
	waitBody(t, web+route.Path+"/", "", "SSE "+route.Path+"/", webServeTimeout)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, web+route.Path+"/events/sse", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil, DisableCompression: true}}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "SSE", resp.Header.Get("X-Backend"))

	rd := bufio.NewReader(resp.Body)
	// readEvent reads the lines of one event up to its blank line.
	readEvent := func() []string {
		t.Helper()
		var lines []string
		for {
			line, err := rd.ReadString('\n')
			require.NoError(t, err, "reading the event stream after %q", lines)
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				return lines
			}
			lines = append(lines, line)
		}
	}
	// The backend cannot send "two" nor end the stream before ReleaseSSE:
	// reading "one" now proves Traefik forwarded it without buffering.
	assert.Equal(t, []string{"data: one"}, readEvent())
	b.ReleaseSSE()
	assert.Equal(t, []string{"data: two"}, readEvent())
	rest, err := io.ReadAll(rd)
	require.NoError(t, err, "the stream ends cleanly")
	assert.Empty(t, string(rest))
}

// TestWebAppHostRouting: with --routing=host a route is a host name under
// --proxy-domain, served at "/", and only for that host.
func TestWebAppHostRouting(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/web-host"
	sc := startWebSidecar(t, webSidecarOptions{stateRoot: stateRoot, args: []string{"--routing=host", "--proxy-domain=apps.test"}})
	conn := connect(t)
	b := startBackend(t, "H")
	route := webStart(t, sc, "53", "notebook0", webPort{number: 8888, backend: b})[8888]
	const host = "notebook0-53-prod.apps.test"
	assert.Equal(t, host, route.Host)
	assert.Equal(t, "/", route.Path)

	syncZK(t, conn)
	rule, _, err := conn.Get("/" + sharedRoot + "/http/routers/" + route.Router + "/rule")
	require.NoError(t, err)
	assert.Equal(t, "Host(`"+host+"`)", string(rule))

	web := env.traefik.WebURL()
	waitBody(t, web+"/", host, "H /\n", webServeTimeout)
	waitBody(t, web+"/lab/tree/x", host, "H /lab/tree/x\n", 5*time.Second)
	// Host names are case-insensitive, and a port in Host does not matter.
	waitBody(t, web+"/", strings.ToUpper(host), "H /\n", 5*time.Second)
	waitBody(t, web+"/", host+":80", "H /\n", 5*time.Second)
	for _, other := range []string{"notebook0-54-prod.apps.test", "apps.test", "x." + host, "127.0.0.1"} {
		status, body, err := harness.Get(context.Background(), web+"/", other)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, status, "Host %s: %s", other, body)
	}
	// A WebSocket under the host works as well.
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial(wsURL(web)+"/ws", http.Header{"Host": {host}})
	require.NoError(t, err, "response %v", resp)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte("hi")))
	_, msg, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "H: hi", string(msg))

	r := sc.post("/v1/hooks", apiStop("53"))
	require.Equal(t, http.StatusOK, r.status, r)
	waitStatus(t, web+"/", host, http.StatusNotFound, webServeTimeout)
}

// TestWebAppStripPrefix: a port with strip_prefix sees paths below its
// public path; a port without it sees the full public path.
func TestWebAppStripPrefix(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/web-strip"
	sc := startWebSidecar(t, webSidecarOptions{stateRoot: stateRoot})
	conn := connect(t)
	s, f := startBackend(t, "S"), startBackend(t, "F")
	routes := webStart(t, sc, "54", "app0",
		webPort{number: 8888, backend: s, strip: true},
		webPort{number: 8080, backend: f})
	stripped, full := routes[8888], routes[8080]
	require.NotEqual(t, stripped.Path, full.Path)

	// Only the stripping route has a middleware.
	syncZK(t, conn)
	mws, _, err := conn.Get("/" + sharedRoot + "/http/routers/" + stripped.Router + "/middlewares/0")
	require.NoError(t, err)
	assert.Equal(t, stripped.Router+"-strip", string(mws))
	ok, _, err := conn.Exists("/" + sharedRoot + "/http/routers/" + full.Router + "/middlewares")
	require.NoError(t, err)
	assert.False(t, ok, "no middleware without strip_prefix")

	web := env.traefik.WebURL()
	waitBody(t, web+stripped.Path+"/", "", "S /\n", webServeTimeout)
	waitBody(t, web+stripped.Path+"/x/y", "", "S /x/y\n", 5*time.Second)
	waitBody(t, web+stripped.Path, "", "S /\n", 5*time.Second)
	waitBody(t, web+full.Path+"/", "", "F "+full.Path+"/\n", webServeTimeout)
	waitBody(t, web+full.Path+"/x/y", "", "F "+full.Path+"/x/y\n", 5*time.Second)
	// The key is matched as a whole segment, stripped or not.
	status, _, err := harness.Get(context.Background(), web+stripped.Path+"0/x", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, status)
	// A WebSocket behind the stripped prefix reaches the backend's /ws.
	webEcho(t, wsURL(web)+stripped.Path+"/ws", "S", []string{"one", "two"})
}

// TestWebAppZoeUI: --zoe-ui-url and --zoe-ui-path keep a static route to
// Zoe's own web server, WebSockets included, across sidecar restarts. It
// runs on a Traefik of its own: a route for /zoe on the shared Traefik
// would also catch the other tests' stopped /zoe/proxy/<key> paths.
func TestWebAppZoeUI(t *testing.T) {
	requireOwnStack(t)
	const root, stateRoot = "webzoeui", "/web-zoe-ui"
	tr := startTraefik(t, root)
	conn := connect(t)
	z := startBackend(t, "Z")
	opts := webSidecarOptions{rootKey: root, stateRoot: stateRoot, args: []string{"--zoe-ui-url=" + z.URL(), "--zoe-ui-path=/zoe"}}
	sc := startWebSidecar(t, opts)
	web := tr.WebURL()
	routers := "/" + root + "/http/routers"

	served := func(t *testing.T) {
		t.Helper()
		waitBody(t, web+"/zoe/", "", "Z /zoe/\n", webServeTimeout)
		waitBody(t, web+"/zoe/api/x", "", "Z /zoe/api/x\n", 5*time.Second)
		waitBody(t, web+"/zoe", "", "Z /zoe\n", 5*time.Second)
		status, _, err := harness.Get(context.Background(), web+"/zoey", "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, status, "/zoe is matched as a whole segment")
		webEcho(t, wsURL(web)+"/zoe/ws", "Z", []string{"ui", "events"})
	}
	staticRouters := func(t *testing.T) []string {
		t.Helper()
		syncZK(t, conn)
		children, _, err := conn.Children(routers)
		require.NoError(t, err)
		var out []string
		for _, c := range children {
			if strings.HasPrefix(c, "zsc-static-") {
				out = append(out, c)
			}
		}
		return out
	}
	liveRouters := func(t *testing.T) []string {
		t.Helper()
		status, body, err := harness.Get(context.Background(), tr.APIURL()+"/api/http/routers?per_page=1000", "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		var list []struct {
			Name string `json:"name"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &list))
		var out []string
		for _, r := range list {
			if strings.Contains(r.Name, "zsc-static-") {
				out = append(out, r.Name)
			}
		}
		return out
	}

	served(t)
	assert.Equal(t, []string{"zsc-static-zoe-ui"}, staticRouters(t))
	rule, ruleStat, err := conn.Get(routers + "/zsc-static-zoe-ui/rule")
	require.NoError(t, err)
	assert.Equal(t, "(Path(`/zoe`) || PathPrefix(`/zoe/`)) && !PathPrefix(`/zoe/proxy/`)", string(rule), "the proxied paths below /zoe are not Zoe's")
	url, _, err := conn.Get("/" + root + "/http/services/zsc-static-zoe-ui/loadBalancer/servers/0/url")
	require.NoError(t, err)
	assert.Equal(t, z.URL(), string(url))
	assert.Equal(t, []string{"zsc-static-zoe-ui@zookeeper"}, liveRouters(t))
	// First in Traefik's order: a request for the UI does not try every
	// execution's route before it (the rule keeps the proxied paths out).
	priority, _, err := conn.Get(routers + "/zsc-static-zoe-ui/priority")
	require.NoError(t, err)
	assert.Equal(t, "1000000", string(priority))
	status, body, err := harness.Get(context.Background(), tr.APIURL()+"/api/http/routers/zsc-static-zoe-ui@zookeeper", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, body)
	var uiRouter struct {
		Priority int `json:"priority"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &uiRouter))
	assert.Equal(t, 1000000, uiRouter.Priority, "Traefik uses the priority written")

	// The route is Traefik's, not the process's: it stays while the
	// sidecar is down, and a restart neither duplicates nor rewrites it.
	require.NoError(t, sc.Close())
	served(t)
	sc2 := startWebSidecar(t, opts)
	served(t)
	assert.Equal(t, []string{"zsc-static-zoe-ui"}, staticRouters(t), "one static router after the restart")
	assert.Equal(t, []string{"zsc-static-zoe-ui@zookeeper"}, liveRouters(t))
	_, after, err := conn.Get(routers + "/zsc-static-zoe-ui/rule")
	require.NoError(t, err)
	assert.Equal(t, ruleStat.Mzxid, after.Mzxid, "the restart did not rewrite the rule")

	// An application under /zoe/proxy/ is its own, and once stopped its
	// path answers 404 from Traefik, not Zoe's UI.
	app := startBackend(t, "N")
	route := webStart(t, sc2, "56", "notebook0", webPort{number: 8888, backend: app})[8888]
	require.True(t, strings.HasPrefix(route.Path, "/zoe/proxy/"), route.Path)
	waitBody(t, web+route.Path+"/tree", "", "N "+route.Path+"/tree\n", webServeTimeout)
	r := sc2.post("/v1/hooks", apiStop("56"))
	require.Equal(t, http.StatusOK, r.status, r)
	waitStatus(t, web+route.Path+"/tree", "", http.StatusNotFound, webServeTimeout)
	served(t)
}

// TestWebAppZoeUIHostRouting: with host routing, Zoe's UI route matches
// its path on any host, an application's too; an application's host is
// the application's, whatever its path, however short its host name (a
// rule shorter than the UI's would otherwise come after it).
func TestWebAppZoeUIHostRouting(t *testing.T) {
	requireOwnStack(t)
	const root, stateRoot = "webzoeuihost", "/web-zoe-ui-host"
	tr := startTraefik(t, root)
	z, app := startBackend(t, "Z"), startBackend(t, "A")
	sc := startWebSidecar(t, webSidecarOptions{rootKey: root, stateRoot: stateRoot,
		args: []string{"--routing=host", "--proxy-domain=a.io", "--deployment-name=p", "--zoe-ui-url=" + z.URL(), "--zoe-ui-path=/zoe"}})
	route := webStart(t, sc, "7", "n", webPort{number: 8888, backend: app})[8888]
	const host = "n-7-p.a.io"
	require.Equal(t, host, route.Host)
	require.Less(t, len("Host(`"+host+"`)"), len("Path(`/zoe`) || PathPrefix(`/zoe/`)"), "the application's rule is the shorter")

	web := tr.WebURL()
	waitBody(t, web+"/zoe/x", "zoe.a.io", "Z /zoe/x\n", webServeTimeout)
	waitBody(t, web+"/", host, "A /\n", webServeTimeout)
	for _, path := range []string{"/zoe", "/zoe/", "/zoe/api/x"} {
		status, body, err := harness.Get(context.Background(), web+path, host)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "A "+path+"\n", body, "Host %s%s is the application's", host, path)
	}
}

// webCertificate writes a self-signed ECDSA P-256 certificate for
// 127.0.0.1 and apps.test into dir.
func webCertificate(t *testing.T, dir string) (cert *x509.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	require.NoError(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "apps.test"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"apps.test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return cert, certFile, keyFile
}

// TestWebAppTLS: with --entrypoints=websecure --tls the routes are served
// over HTTPS on that entry point only, with the store's default certificate.
func TestWebAppTLS(t *testing.T) {
	requireOwnStack(t)
	const root, stateRoot = "tlsroot", "/web-tls"
	dir := t.TempDir()
	cert, certFile, keyFile := webCertificate(t, dir)
	dyn := filepath.Join(dir, "dyn.yml")
	require.NoError(t, os.WriteFile(dyn, []byte(fmt.Sprintf(
		"tls:\n  stores:\n    default:\n      defaultCertificate:\n        certFile: %q\n        keyFile: %q\n",
		certFile, keyFile)), 0o644))

	require.NoError(t, ensureRoot(root))
	ports, err := harness.FreePorts(1)
	require.NoError(t, err)
	secure := fmt.Sprintf("127.0.0.1:%d", ports[0])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{Endpoints: env.servers, RootKey: root, ExtraArgs: []string{
		"--entryPoints.websecure.address=" + secure,
		"--entryPoints.websecure.transport.lifeCycle.graceTimeOut=1s",
		"--providers.file.filename=" + dyn,
	}})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Traefik log tail:\n%s", tail(tr.Logs(), 4000))
		}
		_ = tr.Close()
	})

	sc := startWebSidecar(t, webSidecarOptions{rootKey: root, stateRoot: stateRoot, args: []string{"--entrypoints=websecure", "--tls"}})
	conn := connect(t)
	b := startBackend(t, "T")
	route := webStart(t, sc, "55", "secure0", webPort{number: 8888, backend: b})[8888]
	syncZK(t, conn)
	tlsValue, _, err := conn.Get("/" + root + "/http/routers/" + route.Router + "/tls")
	require.NoError(t, err)
	t.Logf("router %s: tls znode = %q", route.Router, tlsValue)
	ep, _, err := conn.Get("/" + root + "/http/routers/" + route.Router + "/entryPoints/0")
	require.NoError(t, err)
	assert.Equal(t, "websecure", string(ep))

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			Proxy: nil, DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}
	httpsURL := "https://" + secure + route.Path + "/"
	var (
		status int
		body   string
		peer   *x509.Certificate
		last   error
	)
	deadline := time.Now().Add(webServeTimeout)
	for {
		resp, err := client.Get(httpsURL)
		if err == nil {
			raw, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			status, body, last = resp.StatusCode, string(raw), rerr
			if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
				peer = resp.TLS.PeerCertificates[0]
			}
			if rerr == nil && status == http.StatusOK {
				break
			}
		} else {
			last = err
		}
		require.True(t, time.Now().Before(deadline), "GET %s: last status %d body %q error %v", httpsURL, status, body, last)
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, "T "+route.Path+"/\n", body)
	require.NotNil(t, peer)
	assert.True(t, peer.Equal(cert), "Traefik serves the certificate of the file provider's default store, not %s", peer.Subject)

	// With SNI apps.test the same certificate, and the same route: path
	// routing does not look at the host.
	sni := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		Proxy: nil, DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "apps.test", MinVersion: tls.VersionTLS12},
	}}
	resp, err := sni.Get(httpsURL)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "T "+route.Path+"/\n", string(raw))
	assert.True(t, resp.TLS.PeerCertificates[0].Equal(cert))

	// The router listens on websecure only: plain HTTP on web is 404.
	status, body, err = harness.Get(context.Background(), tr.WebURL()+route.Path+"/", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, status, body)
	// And plain HTTP on the TLS port is no route either.
	plain, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}).Get("http://" + secure + route.Path + "/")
	if err == nil {
		_ = plain.Body.Close()
		assert.NotEqual(t, http.StatusOK, plain.StatusCode, "plain HTTP on the TLS entry point")
	}

	r := sc.post("/v1/hooks", apiStop("55"))
	require.Equal(t, http.StatusOK, r.status, r)
	deadline = time.Now().Add(webServeTimeout)
	for {
		resp, err := client.Get(httpsURL)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "still served over HTTPS after stop: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
}
