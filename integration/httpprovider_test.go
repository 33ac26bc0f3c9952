package integration

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// httpReadToken is the read-only token Traefik's HTTP provider sends.
const httpReadToken = "traefik-read-token-0123456789abcdef"

// traefikTokenFile writes the read-only token into a 0600 file.
func traefikTokenFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "traefik-token")
	require.NoError(t, os.WriteFile(p, []byte(httpReadToken+"\n"), 0o600))
	return p
}

// startHTTPTraefik starts a Traefik whose only provider is the HTTP
// provider polling sc's GET /v1/traefik with the read-only token.
func startHTTPTraefik(t *testing.T, sc *apiSidecar, pollInterval time.Duration, extraArgs ...string) *harness.Traefik {
	t.Helper()
	requireOwnStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{HTTP: &harness.HTTPProviderOptions{
		Endpoint:     sc.URL() + "/v1/traefik",
		PollInterval: pollInterval,
		PollTimeout:  5 * time.Second,
		Headers:      map[string]string{"Authorization": "Bearer " + httpReadToken},
	}, ExtraArgs: extraArgs})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Traefik log tail:\n%s", tail(tr.Logs(), 4000))
		}
		_ = tr.Close()
	})
	return tr
}

// startRoute posts a start hook for execution id through sc, retrying
// while the sidecar answers 503 (ZooKeeper electing a leader), and
// returns the route.
func startRoute(t *testing.T, sc *apiSidecar, id string, backendPort int) apiRoute {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := sc.post("/v1/hooks", apiIssueHook("start", strconv.Quote(id), backendPort))
		if r.status == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		require.Equal(t, http.StatusOK, r.status, r)
		reply := apiDecode[apiHookReply](t, r)
		require.Len(t, reply.Routes, 1)
		return reply.Routes[0]
	}
}

func stopRoute(t *testing.T, sc *apiSidecar, id string) {
	t.Helper()
	r := sc.post("/v1/hooks", []byte(`{"event":"stop","execution":{"id":"`+id+`"}}`))
	require.Equal(t, http.StatusOK, r.status, r)
}

// served waits until the route answers through tr with the backend's
// body, and says how long that took.
func served(t *testing.T, tr *harness.Traefik, route apiRoute, backend string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitBody(t, tr.WebURL()+route.Path+"/", "", backend+" "+route.Path+"/", timeout)
	return time.Since(start)
}

// traefikConfig fetches sc's GET /v1/traefik with the read-only token.
func traefikConfig(t *testing.T, sc *apiSidecar) kvschema.Configuration {
	t.Helper()
	r := sc.request(http.MethodGet, "/v1/traefik", nil, "Bearer "+httpReadToken, 10*time.Second)
	require.Equal(t, http.StatusOK, r.status, r)
	require.NotEmpty(t, r.header.Get("ETag"))
	return apiDecode[kvschema.Configuration](t, r)
}

// probeResult is what alwaysServed saw.
type probeResult struct {
	probes   int
	failures []string
}

// alwaysServed probes a route through Traefik until stop is closed and
// reports the probes that did not get the backend's answer.
func alwaysServed(tr *harness.Traefik, route apiRoute, backend string, stop <-chan struct{}) <-chan probeResult {
	out := make(chan probeResult, 1)
	go func() {
		var failures []string
		n := 0
		for {
			select {
			case <-stop:
				out <- probeResult{n, failures}
				return
			case <-time.After(50 * time.Millisecond):
			}
			n++
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			status, body, err := harness.Get(ctx, tr.WebURL()+route.Path+"/", "")
			cancel()
			if err != nil || status != http.StatusOK || !strings.HasPrefix(body, backend+" ") {
				failures = append(failures, fmt.Sprintf("%s: %d %q %v", time.Now().Format("15:04:05.000"), status, harness.Truncate(body, 80), err))
			}
		}
	}()
	return out
}

// TestHTTPProvider: two replicas on one ensemble, hooks to A while a real
// Traefik reads B's GET /v1/traefik with its HTTP provider: start, stop,
// B killed with SIGKILL and restarted, the ZooKeeper leader killed.
func TestHTTPProvider(t *testing.T) {
	requireOwnStack(t)
	const stateRoot = "/http-provider"
	tokenFile := traefikTokenFile(t)
	b := startAPISidecar(t, env.servers, stateRoot, "--traefik-token-file="+tokenFile)
	backend := startBackend(t, "H")
	_, port := backend.Addr()
	tr := startHTTPTraefik(t, b, 100*time.Millisecond)
	// A's ?wait asks the Traefik reading B for <router>@http.
	a := startAPISidecar(t, env.servers, stateRoot, "--traefik-token-file="+tokenFile,
		"--traefik-api-url="+tr.APIURL(), "--traefik-provider=http")
	conn := connect(t)

	var first apiRoute
	apiStep(t, "start through A, served by the Traefik reading B", func(t *testing.T) {
		first = startRoute(t, a, "701", port)
		took := served(t, tr, first, "H", 20*time.Second)
		t.Logf("hook answered by A -> served through the Traefik reading B: %s", took.Round(time.Millisecond))

		// Traefik names it router@http, and the router, service and
		// rule are the ones written under the root key.
		live, err := tr.RouterLive(context.Background(), first.Router)
		require.NoError(t, err)
		assert.True(t, live)
		cfg := traefikConfig(t, b)
		syncZK(t, conn)
		rule, _, err := conn.Get("/" + sharedRoot + "/http/routers/" + first.Router + "/rule")
		require.NoError(t, err)
		url, _, err := conn.Get("/" + sharedRoot + "/http/services/" + first.Router + "/loadBalancer/servers/0/url")
		require.NoError(t, err)
		require.Contains(t, cfg.HTTP.Routers, first.Router)
		assert.Equal(t, string(rule), cfg.HTTP.Routers[first.Router].Rule)
		assert.Equal(t, first.Router, cfg.HTTP.Routers[first.Router].Service)
		assert.Equal(t, string(url), cfg.HTTP.Services[first.Router].LoadBalancer.Servers[0].URL)
		assert.Contains(t, cfg.HTTP.Routers, kvschema.SentinelName)
	})

	apiStep(t, "mirror lag: a hook answered by A is in B's mirror", func(t *testing.T) {
		ringsBefore := b.metrics()["zk_sidecar_mirror_bell_rings_total"]
		var lags []time.Duration
		for i := range 20 {
			route := startRoute(t, a, strconv.Itoa(720+i), port)
			answered := time.Now()
			for {
				cfg := traefikConfig(t, b)
				if _, ok := cfg.HTTP.Routers[route.Router]; ok {
					break
				}
				require.Less(t, time.Since(answered), 10*time.Second, "router %s never reached B's mirror", route.Router)
			}
			lags = append(lags, time.Since(answered))
		}
		slices.Sort(lags)
		rings := b.metrics()["zk_sidecar_mirror_bell_rings_total"] - ringsBefore
		t.Logf("hook answered by A -> router in B's GET /v1/traefik (including that GET), 20 hooks: median %s, max %s; B's watch rang %.0f times",
			lags[len(lags)/2].Round(time.Microsecond), lags[len(lags)-1].Round(time.Microsecond), rings)
		// Each hook waited until B had it, so each commit rang B's watch
		// (a ring lost to a dropped connection would be made up by a read).
		assert.GreaterOrEqual(t, rings, 20.0, "B learns of commits from its ZooKeeper watch, not from polling")
	})

	apiStep(t, "stop through A: 404", func(t *testing.T) {
		gone := startRoute(t, a, "702", port)
		served(t, tr, gone, "H", 20*time.Second)
		stopRoute(t, a, "702")
		start := time.Now()
		waitStatus(t, tr.WebURL()+gone.Path+"/", "", http.StatusNotFound, 20*time.Second)
		t.Logf("stop hook answered by A -> 404 through the Traefik reading B: %s", time.Since(start).Round(time.Millisecond))
		assert.NotContains(t, traefikConfig(t, b).HTTP.Routers, gone.Router, "stopped routes are absent from the mirror")
	})

	apiStep(t, "?wait with the HTTP provider: served, then unserved", func(t *testing.T) {
		r := a.post("/v1/hooks?wait=20s", apiIssueHook("start", `"705"`, port))
		require.Equal(t, http.StatusOK, r.status, r)
		started := apiDecode[apiHookReply](t, r)
		require.NotNil(t, started.Served, r)
		assert.True(t, *started.Served, r)
		require.Len(t, started.Routes, 1)
		route := started.Routes[0]
		t.Logf("start?wait answered served=true after %s", r.took.Round(time.Millisecond))
		status, body, err := harness.Get(context.Background(), tr.WebURL()+route.Path+"/", "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status, "served means served: %s", body)

		r = a.post("/v1/hooks?wait=20s", []byte(`{"event":"stop","execution":{"id":"705"}}`))
		require.Equal(t, http.StatusOK, r.status, r)
		var stopped struct {
			Unserved *bool `json:"unserved"`
		}
		require.NoError(t, json.Unmarshal(r.body, &stopped), r)
		require.NotNil(t, stopped.Unserved, r)
		assert.True(t, *stopped.Unserved, r)
		status, _, err = harness.Get(context.Background(), tr.WebURL()+route.Path+"/", "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, status, "unserved means 404")
	})

	apiStep(t, "B killed: Traefik keeps serving; B restarted and polled again", func(t *testing.T) {
		stop := make(chan struct{})
		probes := alwaysServed(tr, first, "H", stop)
		require.NoError(t, b.Kill())
		// A route started while B is down reaches Traefik once B is back.
		late := startRoute(t, a, "703", port)
		time.Sleep(3 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, b.Start(ctx))
		took := served(t, tr, late, "H", 60*time.Second)
		close(stop)
		res := <-probes
		assert.Empty(t, res.failures, "an untouched route kept being served while B was down")
		assert.Positive(t, res.probes)
		t.Logf("B SIGKILLed for 3s: restarted B ready -> route started meanwhile served: %s; untouched route: %d of %d probes failed",
			took.Round(time.Millisecond), len(res.failures), res.probes)
		assert.Contains(t, tr.Logs(), "Provider error, retrying in", "Traefik backed off while B was down")
	})

	apiStep(t, "ZooKeeper leader killed", func(t *testing.T) {
		leader, err := env.ensemble.Leader()
		require.NoError(t, err)
		stop := make(chan struct{})
		probes := alwaysServed(tr, first, "H", stop)
		require.NoError(t, env.ensemble.Kill(leader))
		t.Cleanup(func() {
			_ = env.ensemble.Restart(leader)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, _ = env.ensemble.WaitForQuorum(ctx)
		})
		start := time.Now()
		route := startRoute(t, a, "704", port)
		served(t, tr, route, "H", 60*time.Second)
		close(stop)
		res := <-probes
		assert.Empty(t, res.failures, "an untouched route kept being served")
		assert.Positive(t, res.probes)
		t.Logf("leader (node %d) killed -> a route started through A served through the Traefik reading B: %s (hook retried on 503 meanwhile); untouched route: %d of %d probes failed",
			leader, time.Since(start).Round(time.Millisecond), len(res.failures), res.probes)
		require.NoError(t, env.ensemble.Restart(leader))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = env.ensemble.WaitForQuorum(ctx)
		require.NoError(t, err)
	})

	apiStep(t, "both replicas render the same body", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			ra := a.request(http.MethodGet, "/v1/traefik", nil, "Bearer "+httpReadToken, 10*time.Second)
			rb := b.request(http.MethodGet, "/v1/traefik", nil, "Bearer "+httpReadToken, 10*time.Second)
			require.Equal(t, http.StatusOK, ra.status, ra)
			require.Equal(t, http.StatusOK, rb.status, rb)
			if ra.header.Get("ETag") == rb.header.Get("ETag") {
				assert.Equal(t, ra.body, rb.body)
				break
			}
			require.True(t, time.Now().Before(deadline), "A and B never agreed: %s vs %s", ra.header.Get("ETag"), rb.header.Get("ETag"))
			time.Sleep(50 * time.Millisecond)
		}
	})
}

type readyReply struct {
	Status string `json:"status"`
	Mirror *struct {
		Loaded     bool    `json:"loaded"`
		Revision   int64   `json:"revision"`
		Routes     int     `json:"routes"`
		AgeSeconds float64 `json:"age_seconds"`
	} `json:"mirror"`
}

// TestHTTPProviderZooKeeperDown: with its whole (one-node) ensemble
// stopped, the sidecar keeps serving the last mirror, Traefik keeps
// serving the routes, and /readyz and the metrics show the mirror's age.
func TestHTTPProviderZooKeeperDown(t *testing.T) {
	requireOwnStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ens.Close() })
	sc := startAPISidecar(t, ens.Servers(), "/http-zk-down", "--traefik-token-file="+traefikTokenFile(t),
		"--zk-session-timeout=4s", "--zk-op-timeout=1s")
	backend := startBackend(t, "Z")
	_, port := backend.Addr()
	tr := startHTTPTraefik(t, sc, 100*time.Millisecond)
	route := startRoute(t, sc, "801", port)
	served(t, tr, route, "Z", 20*time.Second)
	before := sc.request(http.MethodGet, "/v1/traefik", nil, "Bearer "+httpReadToken, 10*time.Second)
	require.Equal(t, http.StatusOK, before.status, before)
	assert.Equal(t, 0.0, sc.metrics()["zk_sidecar_mirror_age_seconds"])

	require.NoError(t, ens.Stop(0))
	time.Sleep(3 * time.Second)
	during := sc.request(http.MethodGet, "/v1/traefik", nil, "Bearer "+httpReadToken, 10*time.Second)
	require.Equal(t, http.StatusOK, during.status, "the last mirror stays served: %s", during)
	assert.Equal(t, before.body, during.body)
	r := sc.request(http.MethodGet, "/readyz", nil, apiNoAuth, 10*time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, r.status, r)
	ready := apiDecode[readyReply](t, r)
	require.NotNil(t, ready.Mirror, r)
	assert.True(t, ready.Mirror.Loaded)
	assert.Equal(t, 1, ready.Mirror.Routes)
	assert.Greater(t, ready.Mirror.AgeSeconds, 1.0, "the mirror's age grows while ZooKeeper is away: %s", r)
	assert.Greater(t, sc.metrics()["zk_sidecar_mirror_age_seconds"], 1.0)
	waitBody(t, tr.WebURL()+route.Path+"/", "", "Z ", 5*time.Second)

	require.NoError(t, ens.Restart(0))
	deadline := time.Now().Add(60 * time.Second)
	for sc.metrics()["zk_sidecar_mirror_age_seconds"] != 0 {
		require.True(t, time.Now().Before(deadline), "the mirror never followed ZooKeeper again")
		time.Sleep(200 * time.Millisecond)
	}
	next := startRoute(t, sc, "802", port)
	served(t, tr, next, "Z", 30*time.Second)
}

// TestHTTPProviderHoldVersusPlainPolling measures hook -> served and what
// an idle Traefik fetches, with polls held (the default) and answered at
// once; it prints the figures and checks only that both modes serve.
func TestHTTPProviderHoldVersusPlainPolling(t *testing.T) {
	requireOwnStack(t)
	for _, mode := range []struct {
		name     string
		hold     string
		interval time.Duration
	}{
		{"held polls (4s), pollInterval 100ms", "4s", 100 * time.Millisecond},
		{"plain polling, pollInterval 100ms", "0s", 100 * time.Millisecond},
	} {
		t.Run(mode.name, func(t *testing.T) {
			stateRoot := "/http-hold-" + strings.ReplaceAll(mode.hold, "s", "") + "-" + strconv.Itoa(int(mode.interval.Milliseconds()))
			sc := startAPISidecar(t, env.servers, stateRoot, "--traefik-token-file="+traefikTokenFile(t), "--traefik-poll-hold="+mode.hold)
			backend := startBackend(t, "P")
			_, port := backend.Addr()
			tr := startHTTPTraefik(t, sc, mode.interval)
			var took []time.Duration
			for i := range 5 {
				route := startRoute(t, sc, strconv.Itoa(900+i), port)
				took = append(took, served(t, tr, route, "P", 30*time.Second))
			}
			slices.Sort(took)
			bodies := func() float64 {
				m := sc.metrics()
				return m[`zk_sidecar_traefik_config_answers_total{answer="body"}`] + m[`zk_sidecar_traefik_config_answers_total{answer="body-after-hold"}`]
			}
			idleFrom := bodies()
			time.Sleep(8 * time.Second)
			t.Logf("%s: hook -> served median %s (min %s, max %s, 5 hooks); idle Traefik fetched %.0f bodies in 8s",
				mode.name, took[len(took)/2].Round(time.Millisecond), took[0].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), bodies()-idleFrom)
		})
	}
}

// TestHTTPProviderDefaultCertificate: with --traefik-default-certificate
// the Traefik reading GET /v1/traefik answers TLS with the certificate
// generated once into ZooKeeper, and stops generating one per reload.
func TestHTTPProviderDefaultCertificate(t *testing.T) {
	requireOwnStack(t)
	const stateRoot = "/http-default-cert"
	sc := startAPISidecar(t, env.servers, stateRoot, "--traefik-token-file="+traefikTokenFile(t), "--traefik-default-certificate")
	ports, err := harness.FreePorts(1)
	require.NoError(t, err)
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	tr := startHTTPTraefik(t, sc, 100*time.Millisecond,
		"--entryPoints.websecure.address="+tlsAddr, "--entryPoints.websecure.http.tls=true")
	backend := startBackend(t, "C")
	_, port := backend.Addr()
	served(t, tr, startRoute(t, sc, "601", port), "C", 20*time.Second)

	conn := connect(t)
	syncZK(t, conn)
	data, _, err := conn.Get(stateRoot + "/default-certificate")
	require.NoError(t, err)
	var stored struct{ Cert string }
	require.NoError(t, json.Unmarshal(data, &stored))
	block, _ := pem.Decode([]byte(stored.Cert))
	require.NotNil(t, block)

	const generated = "No default certificate, fallback to the internal generated certificate"
	before := strings.Count(tr.Logs(), generated)
	served(t, tr, startRoute(t, sc, "602", port), "C", 20*time.Second)
	served(t, tr, startRoute(t, sc, "603", port), "C", 20*time.Second)
	assert.Equal(t, before, strings.Count(tr.Logs(), generated), "reloads with the default certificate generate none")

	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, ServerName: "no-such-host.example"}} //nolint:gosec // the certificate is what is checked
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", tlsAddr)
	require.NoError(t, err)
	defer c.Close()
	peer := c.(*tls.Conn).ConnectionState().PeerCertificates
	require.NotEmpty(t, peer)
	assert.Equal(t, block.Bytes, peer[0].Raw, "Traefik answers with the certificate kept in ZooKeeper")

	// The control: without the setting, each reload generates one.
	plain := startAPISidecar(t, env.servers, stateRoot+"-off", "--traefik-token-file="+traefikTokenFile(t))
	trPlain := startHTTPTraefik(t, plain, 100*time.Millisecond)
	served(t, trPlain, startRoute(t, plain, "611", port), "C", 20*time.Second)
	before = strings.Count(trPlain.Logs(), generated)
	served(t, trPlain, startRoute(t, plain, "612", port), "C", 20*time.Second)
	assert.Greater(t, strings.Count(trPlain.Logs(), generated), before, "without it, a reload generates a certificate")
}
