package integration

// End-to-end tests of the HTTP API v1: the real sidecar binary (serve)
// against the shared 3-node ensemble and the shared Traefik (root
// "traefik"), every endpoint driven over HTTP. Each test runs its own
// sidecar with its own --state-root and its own key secret, so that keys
// and router names never collide between tests on the shared Traefik.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

const apiToken = "api-integration-token-0123456789abcdef"

// apiBinary is the sidecar binary, built at most once per test run
// ($SIDECAR_BIN when set).
var apiBinary struct {
	once sync.Once
	path string
	err  error
}

func apiSidecarBinary(t *testing.T) string {
	t.Helper()
	apiBinary.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		apiBinary.path, apiBinary.err = harness.SidecarBinary(ctx)
	})
	require.NoError(t, apiBinary.err)
	return apiBinary.path
}

// apiSidecar is one running `traefik-zk-sidecar serve` and its state root.
type apiSidecar struct {
	*harness.Sidecar
	t         *testing.T
	stateRoot string
}

// startAPISidecar runs the sidecar on servers with root key "traefik",
// state root stateRoot and the extra flags args; it is closed at the end
// of the test.
func startAPISidecar(t *testing.T, servers []string, stateRoot string, args ...string) *apiSidecar {
	t.Helper()
	return runSidecar(t, harness.SidecarOptions{
		Servers:   servers,
		RootKey:   sharedRoot,
		StateRoot: stateRoot,
		KeySecret: "api-key-secret" + strings.ReplaceAll(stateRoot, "/", "-") + "-0123456789abcdef",
		Args:      append([]string{"--log-level=debug"}, args...),
	})
}

// runSidecar runs the sidecar binary with opts (by default the test run's
// binary and apiToken) until the end of the test, and shows the tail of its
// log when the test failed.
func runSidecar(t *testing.T, opts harness.SidecarOptions) *apiSidecar {
	t.Helper()
	if opts.Binary == "" {
		opts.Binary = apiSidecarBinary(t)
	}
	if opts.Token == "" {
		opts.Token = apiToken
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := harness.StartSidecar(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sidecar %s log tail:\n%s", opts.StateRoot, tail(s.Logs(), 6000))
		}
		_ = s.Close()
	})
	return &apiSidecar{Sidecar: s, t: t, stateRoot: opts.StateRoot}
}

// apiHTTP opens a connection per request, like the harness' probes.
var apiHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

type apiReply struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func (r apiReply) String() string {
	return (&harness.Reply{Status: r.status, Body: r.body, Took: r.took}).String()
}

const (
	apiBearer = "Bearer " + apiToken
	apiNoAuth = harness.NoAuth // send no Authorization header
)

// request sends one request; auth is the Authorization header ("" means
// the right bearer token, apiNoAuth none).
func (s *apiSidecar) request(method, path string, body []byte, auth string, timeout time.Duration) apiReply {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := s.Client(harness.WithHTTPClient(apiHTTP)).Do(ctx, harness.Request{Method: method, Path: path, Body: body, Auth: auth})
	require.NoError(t, err, "%s %s", method, path)
	return apiReply{status: r.Status, header: r.Header, body: r.Body, took: r.Took}
}

func (s *apiSidecar) get(path string) apiReply {
	s.t.Helper()
	return s.request(http.MethodGet, path, nil, "", 30*time.Second)
}

func (s *apiSidecar) post(path string, body []byte) apiReply {
	s.t.Helper()
	return s.request(http.MethodPost, path, body, "", time.Minute)
}

func (s *apiSidecar) put(path string, body []byte) apiReply {
	s.t.Helper()
	return s.request(http.MethodPut, path, body, "", time.Minute)
}

// The wire format is the API's own (apiv1); these tests check the answers'
// raw JSON where its shape matters (requireAPIError, apiMutate).
type (
	apiRoute       = apiv1.RouteView
	apiHookReply   = apiv1.HookResponse
	apiRoutesReply = apiv1.RoutesResponse
	apiPlan        = apiv1.PlanView
	apiSyncReply   = apiv1.SyncResponse
)

func apiDecode[T any](t *testing.T, r apiReply) T {
	t.Helper()
	assert.Equal(t, "application/json", r.header.Get("Content-Type"), r)
	var v T
	require.NoError(t, json.Unmarshal(r.body, &v), r)
	return v
}

// requireAPIError checks status, the JSON error body and its field.
func requireAPIError(t *testing.T, r apiReply, status int, field string) {
	t.Helper()
	require.Equal(t, status, r.status, r)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"), r)
	var body map[string]any
	require.NoError(t, json.Unmarshal(r.body, &body), r)
	msg, _ := body["error"].(string)
	assert.NotEmpty(t, msg, "error message: %s", r)
	got, _ := body["field"].(string)
	assert.Equal(t, field, got, "field: %s", r)
}

// apiIssueExecution is the example execution: one service, a proxied
// Jupyter port on the test backends' host (harness.BackendHost) at
// backendPort and a Tensorboard port that is not proxied.
func apiIssueExecution(id string, backendPort int) execution.Execution {
	return execution.Execution{ID: execution.ID(id), Name: "nb", Owner: "alice", Services: []execution.Service{{
		Name: "py-notebook0",
		Ports: []execution.Port{
			{Name: "Jupyter", PortNumber: 8888, Protocol: "tcp", Proxy: true, URLTemplate: "http://{ip_port}{proxy_path}",
				ExternalIP: harness.BackendHost(), ExternalPort: backendPort},
			{Name: "Tensorboard", PortNumber: 6006, Protocol: "tcp", URLTemplate: "http://{ip_port}/",
				ExternalIP: harness.BackendHost(), ExternalPort: 32769},
		},
	}}}
}

// apiIssueHook is the body of an event of apiIssueExecution; idJSON is the
// id as JSON: `"42"`, or `42` as Zoe sends it, which stays an integer on
// the wire.
func apiIssueHook(event, idJSON string, backendPort int) []byte {
	var id execution.ID
	if err := json.Unmarshal([]byte(idJSON), &id); err != nil {
		panic(fmt.Sprintf("apiIssueHook: id %s: %v", idJSON, err))
	}
	body := apiJSON(harness.Hook(event, apiIssueExecution(string(id), backendPort)))
	if strings.HasPrefix(idJSON, `"`) {
		return body
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		panic(err)
	}
	apiExec(m)["id"] = json.Number(idJSON)
	return apiJSON(m)
}

// apiJSON is v as JSON.
func apiJSON(v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return out
}

// apiStop is the body of execution id's stop hook.
func apiStop(id string) []byte { return apiJSON(harness.StopHook(id)) }

// apiMutate decodes a JSON object, lets f change it and encodes it again.
func apiMutate(t *testing.T, body []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	f(m)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func apiExec(m map[string]any) map[string]any { return m["execution"].(map[string]any) }
func apiService0(m map[string]any) map[string]any {
	return apiExec(m)["services"].([]any)[0].(map[string]any)
}
func apiPort0(m map[string]any) map[string]any {
	return apiService0(m)["ports"].([]any)[0].(map[string]any)
}

// apiExecutionsBody is a PUT /v1/executions body with the example
// execution under each id, all on backendPort.
func apiExecutionsBody(t *testing.T, backendPort int, ids ...string) []byte {
	t.Helper()
	req := apiv1.ExecutionsRequest{Executions: []execution.Execution{}}
	for _, id := range ids {
		req.Executions = append(req.Executions, apiIssueExecution(id, backendPort))
	}
	return apiJSON(req)
}

func apiEnv(path string) map[string]map[string]string {
	return map[string]map[string]string{"py-notebook0": {"REVERSE_PROXY_PATH_8888": path}}
}

// apiZK is what a request may change in ZooKeeper: the state root's
// execution records, the routers under Traefik's root and the revision.
type apiZK struct {
	Executions []string
	Routers    []string
	Revision   int32
}

func apiSnapshot(t *testing.T, conn *zk.Conn, stateRoot string) apiZK {
	t.Helper()
	syncZK(t, conn)
	executions, _, err := conn.Children(stateRoot + "/executions")
	require.NoError(t, err)
	routers, _, err := conn.Children("/" + sharedRoot + "/http/routers")
	require.NoError(t, err)
	_, stat, err := conn.Get(stateRoot + "/revision")
	require.NoError(t, err)
	return apiZK{Executions: sortedCopy(executions), Routers: sortedCopy(routers), Revision: stat.Version}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func apiZNodeExists(t *testing.T, conn *zk.Conn, path string) bool {
	t.Helper()
	syncZK(t, conn)
	ok, _, err := conn.Exists(path)
	require.NoError(t, err)
	return ok
}

// apiMetrics scrapes /metrics (no token) into series → value.
func (s *apiSidecar) metrics() map[string]float64 {
	t := s.t
	t.Helper()
	r := s.request(http.MethodGet, "/metrics", nil, apiNoAuth, 30*time.Second)
	require.Equal(t, http.StatusOK, r.status, r)
	assert.Contains(t, r.header.Get("Content-Type"), "text/plain")
	out, err := parseMetrics(r.body)
	require.NoError(t, err)
	return out
}

// parseMetrics reads Prometheus' text format into series → value.
func parseMetrics(body []byte) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			return nil, fmt.Errorf("metrics line %q: no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

func apiStep(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	require.True(t, t.Run(name, f), "step %q failed; later steps depend on it", name)
}

// TestAPIHookLifecycle: prepare, start, start again, integer id, ?wait and
// stop, checked in ZooKeeper and by HTTP through the shared Traefik.
func TestAPIHookLifecycle(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/api-lifecycle"
	sc := startAPISidecar(t, env.servers, stateRoot, "--traefik-api-url="+env.traefik.APIURL())
	conn := connect(t)
	a := startBackend(t, "A")
	_, aPort := a.Addr()
	web := env.traefik.WebURL()

	var prepared, started apiRoute
	var startBody []byte

	apiStep(t, "prepare returns key, path and env and writes nothing", func(t *testing.T) {
		before := apiSnapshot(t, conn, stateRoot)
		r := sc.post("/v1/hooks", apiIssueHook("prepare", `"42"`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		assert.Equal(t, "42", got.ExecutionID)
		require.Len(t, got.Routes, 1, "only the proxied port gets a route: %s", r)
		prepared = got.Routes[0]
		assert.Regexp(t, `^[0-9a-f]{64}$`, prepared.Key)
		assert.Equal(t, "/zoe/proxy/"+prepared.Key, prepared.Path)
		assert.Equal(t, "py-notebook0", prepared.Service)
		assert.Equal(t, 8888, prepared.Port)
		assert.Empty(t, prepared.Router, "prepare creates no Traefik objects")
		assert.Equal(t, apiEnv(prepared.Path), got.Env, "REVERSE_PROXY_PATH_8888 only, none for the Tensorboard port")
		assert.Nil(t, got.Served)

		assert.False(t, apiZNodeExists(t, conn, stateRoot+"/executions/42"), "prepare must not write an execution record")
		assert.Equal(t, before, apiSnapshot(t, conn, stateRoot), "prepare writes nothing")

		// Zoe prepares before the containers exist: no address yet.
		noAddress := apiMutate(t, apiIssueHook("prepare", `"42"`, aPort), func(m map[string]any) {
			delete(apiPort0(m), "external_ip")
			delete(apiPort0(m), "external_port")
		})
		r = sc.post("/v1/hooks", noAddress)
		require.Equal(t, http.StatusOK, r.status, r)
		assert.Equal(t, apiEnv(prepared.Path), apiDecode[apiHookReply](t, r).Env)
		assert.Equal(t, before, apiSnapshot(t, conn, stateRoot))
	})

	apiStep(t, "execution id as integer 42 and as string \"42\" give the same key", func(t *testing.T) {
		r := sc.post("/v1/hooks", apiIssueHook("prepare", `42`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		assert.Equal(t, "42", got.ExecutionID)
		require.Len(t, got.Routes, 1)
		assert.Equal(t, prepared.Key, got.Routes[0].Key)
		assert.Equal(t, apiEnv(prepared.Path), got.Env)
	})

	apiStep(t, "start publishes the route", func(t *testing.T) {
		r := sc.post("/v1/hooks", apiIssueHook("start", `"42"`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		startBody = r.body
		assert.Equal(t, "42", got.ExecutionID)
		require.Len(t, got.Routes, 1, "only the proxied port gets a route: %s", r)
		started = got.Routes[0]
		assert.Regexp(t, `^[0-9a-f]{64}$`, started.Key)
		assert.Equal(t, prepared.Key, started.Key, "start keeps the key prepare announced")
		assert.Equal(t, "/zoe/proxy/"+started.Key, started.Path)
		assert.Equal(t, "42", started.ExecutionID)
		assert.Equal(t, "py-notebook0", started.Service)
		assert.Equal(t, 8888, started.Port)
		assert.Equal(t, a.URL(), started.Backend)
		assert.Regexp(t, `^zsc-`+started.Key[:16]+`-[0-9]+$`, started.Router)
		assert.Equal(t, apiEnv(started.Path), got.Env, "env for the proxied port only")
		assert.Nil(t, got.Served, "no ?wait, no served")
		assert.Regexp(t, `^wait;dur=[0-9.]+, zk-read;dur=[0-9.]+, plan;dur=[0-9.]+, zk-commit;dur=[0-9.]+$`, r.header.Get("Server-Timing"))

		assert.True(t, apiZNodeExists(t, conn, stateRoot+"/executions/42"))
		assert.True(t, apiZNodeExists(t, conn, "/"+sharedRoot+"/http/routers/"+started.Router))
		waitBody(t, web+started.Path+"/", "", "A "+started.Path+"/", 20*time.Second)
		waitBody(t, web+started.Path+"/lab/tree", "", "A "+started.Path+"/lab/tree", 5*time.Second)
	})

	apiStep(t, "the same start twice answers the same and writes nothing", func(t *testing.T) {
		before := apiSnapshot(t, conn, stateRoot)
		r := sc.post("/v1/hooks", apiIssueHook("start", `"42"`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		assert.JSONEq(t, string(startBody), string(r.body))
		assert.Equal(t, before, apiSnapshot(t, conn, stateRoot))
	})

	apiStep(t, "start with integer id 42 is the same execution", func(t *testing.T) {
		before := apiSnapshot(t, conn, stateRoot)
		r := sc.post("/v1/hooks", apiIssueHook("start", `42`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		assert.JSONEq(t, string(startBody), string(r.body), "same key, same router")
		assert.Equal(t, before, apiSnapshot(t, conn, stateRoot))
	})

	var waited apiRoute
	apiStep(t, "start with ?wait answers once Traefik serves the route", func(t *testing.T) {
		r := sc.post("/v1/hooks?wait=20s", apiIssueHook("start", `"43"`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		require.NotNil(t, got.Served, "served is set with ?wait: %s", r)
		assert.True(t, *got.Served, r)
		assert.Less(t, r.took, 20*time.Second)
		require.Len(t, got.Routes, 1)
		waited = got.Routes[0]
		assert.NotEqual(t, started.Key, waited.Key, "another execution, another key")
		t.Logf("start?wait answered served=true after %s", r.took.Round(time.Millisecond))
		live, err := env.traefik.RouterLive(context.Background(), waited.Router)
		require.NoError(t, err)
		assert.True(t, live, "Traefik's API lists the router")
		waitBody(t, web+waited.Path+"/", "", "A "+waited.Path+"/", 5*time.Second)

		// Already served: answers at once.
		r = sc.post("/v1/hooks?wait=20s", apiIssueHook("start", `"42"`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		got = apiDecode[apiHookReply](t, r)
		require.NotNil(t, got.Served)
		assert.True(t, *got.Served)
	})

	apiStep(t, "stop lists the removed route and Traefik answers 404", func(t *testing.T) {
		r := sc.post("/v1/hooks", apiIssueHook("stop", `"42"`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		assert.Equal(t, "42", got.ExecutionID)
		require.Len(t, got.Routes, 1, r)
		assert.Equal(t, started.Key, got.Routes[0].Key)
		assert.Equal(t, started.Path, got.Routes[0].Path)
		assert.Equal(t, started.Router, got.Routes[0].Router)
		assert.Empty(t, got.Env, "a stop has no env")
		waitStatus(t, web+started.Path+"/", "", http.StatusNotFound, 20*time.Second)
		assert.False(t, apiZNodeExists(t, conn, stateRoot+"/executions/42"))
		requireAPIError(t, sc.get("/v1/executions/42"), http.StatusNotFound, "id")
		// The other execution is untouched.
		waitBody(t, web+waited.Path+"/", "", "A ", 5*time.Second)
	})

	apiStep(t, "stop again is a no-op", func(t *testing.T) {
		before := apiSnapshot(t, conn, stateRoot)
		r := sc.post("/v1/hooks", []byte(`{"event":"stop","execution":{"id":42}}`))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		assert.Empty(t, got.Routes)
		assert.Equal(t, before, apiSnapshot(t, conn, stateRoot))
	})

	apiStep(t, "stop with only the id", func(t *testing.T) {
		r := sc.post("/v1/hooks", apiStop("43"))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		require.Len(t, got.Routes, 1)
		assert.Equal(t, waited.Router, got.Routes[0].Router)
		waitStatus(t, web+waited.Path+"/", "", http.StatusNotFound, 20*time.Second)
	})
}

// TestAPIQueries: GET /v1/routes and GET /v1/executions/{id}.
func TestAPIQueries(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/api-queries"
	sc := startAPISidecar(t, env.servers, stateRoot)
	a, b := startBackend(t, "A"), startBackend(t, "B")
	_, aPort := a.Addr()
	_, bPort := b.Addr()
	web := env.traefik.WebURL()

	startRoutes := map[string]apiHookReply{}
	for id, port := range map[string]int{"42": aPort, "7": bPort} {
		r := sc.post("/v1/hooks", apiIssueHook("start", strconv.Quote(id), port))
		require.Equal(t, http.StatusOK, r.status, r)
		startRoutes[id] = apiDecode[apiHookReply](t, r)
		require.Len(t, startRoutes[id].Routes, 1)
	}
	t.Cleanup(func() {
		for id := range startRoutes {
			sc.post("/v1/hooks", apiStop(id))
		}
	})
	waitBody(t, web+startRoutes["42"].Routes[0].Path+"/", "", "A ", 20*time.Second)
	waitBody(t, web+startRoutes["7"].Routes[0].Path+"/", "", "B ", 20*time.Second)

	t.Run("GET /v1/routes lists every owned route", func(t *testing.T) {
		r := sc.get("/v1/routes")
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiRoutesReply](t, r)
		require.Len(t, got.Routes, 2, r)
		// Sorted by execution id, then service and port.
		assert.Equal(t, []apiRoute{startRoutes["42"].Routes[0], startRoutes["7"].Routes[0]}, got.Routes)
		for _, route := range got.Routes {
			assert.NotEmpty(t, route.ExecutionID)
			assert.NotEmpty(t, route.Router)
			assert.NotEmpty(t, route.Backend)
		}
	})
	t.Run("GET /v1/executions/{id} answers the routes and env", func(t *testing.T) {
		for id := range startRoutes {
			r := sc.get("/v1/executions/" + id)
			require.Equal(t, http.StatusOK, r.status, r)
			got := apiDecode[apiHookReply](t, r)
			assert.Equal(t, id, got.ExecutionID)
			assert.Equal(t, startRoutes[id].Routes, got.Routes)
			assert.Equal(t, apiEnv(startRoutes[id].Routes[0].Path), got.Env)
		}
	})
	t.Run("GET /v1/executions/{id} of an unknown execution is 404", func(t *testing.T) {
		requireAPIError(t, sc.get("/v1/executions/999"), http.StatusNotFound, "id")
	})
	t.Run("GET /v1/executions/{id} with an invalid id is 400", func(t *testing.T) {
		requireAPIError(t, sc.get("/v1/executions/not_an_id"), http.StatusBadRequest, "id")
	})
	t.Run("queries need the token", func(t *testing.T) {
		for _, path := range []string{"/v1/routes", "/v1/executions/42"} {
			r := sc.request(http.MethodGet, path, nil, apiNoAuth, 10*time.Second)
			requireAPIError(t, r, http.StatusUnauthorized, "Authorization")
			assert.NotContains(t, string(r.body), startRoutes["42"].Routes[0].Key)
		}
	})
}

// TestAPISync: PUT /v1/executions, dry run then for real.
// TestAPIReadsAcrossReplicas: a hook answered by one replica is visible at
// once through the other, although each reads from its own ZooKeeper
// server, which may not have applied the write yet (the reads sync first).
func TestAPIReadsAcrossReplicas(t *testing.T) {
	requireEnv(t)
	if len(env.servers) < 2 {
		t.Skip("needs two ZooKeeper servers, one per replica")
	}
	const stateRoot = "/api-replicas"
	a := startAPISidecar(t, env.servers[:1], stateRoot)
	b := startAPISidecar(t, env.servers[1:2], stateRoot)
	backend := startBackend(t, "R")
	_, port := backend.Addr()
	for i := range 30 {
		id := strconv.Itoa(500 + i)
		r := a.post("/v1/hooks", apiIssueHook("start", strconv.Quote(id), port))
		require.Equal(t, http.StatusOK, r.status, r)
		started := apiDecode[apiHookReply](t, r)
		require.Len(t, started.Routes, 1)

		r = b.get("/v1/executions/" + id)
		require.Equal(t, http.StatusOK, r.status, "execution %s started through replica A, read through B: %s", id, r)
		assert.Equal(t, started.Routes, apiDecode[apiHookReply](t, r).Routes)

		r = b.post("/v1/hooks", apiStop(id))
		require.Equal(t, http.StatusOK, r.status, r)
		require.Len(t, apiDecode[apiHookReply](t, r).Routes, 1, "B's writer re-read what A wrote: %s", r)
		r = a.get("/v1/executions/" + id)
		require.Equal(t, http.StatusNotFound, r.status, "execution %s stopped through B, read through A: %s", id, r)
	}
	// Each replica planned against its own last commit, which the other's
	// had overtaken every time: the conflicts are counted.
	assert.GreaterOrEqual(t, a.metrics()["zk_sidecar_transaction_conflicts_total"], 29.0)
	assert.GreaterOrEqual(t, b.metrics()["zk_sidecar_transaction_conflicts_total"], 29.0)
}

func TestAPISync(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/api-sync"
	sc := startAPISidecar(t, env.servers, stateRoot)
	conn := connect(t)
	a := startBackend(t, "A")
	_, aPort := a.Addr()
	web := env.traefik.WebURL()

	routes := map[string]apiRoute{}
	for _, id := range []string{"42", "43"} {
		r := sc.post("/v1/hooks", apiIssueHook("start", strconv.Quote(id), aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		require.Len(t, got.Routes, 1)
		routes[id] = got.Routes[0]
	}
	t.Cleanup(func() { sc.post("/v1/hooks", apiStop("42")) })
	keep, stale := routes["42"], routes["43"]
	waitBody(t, web+keep.Path+"/", "", "A ", 20*time.Second)
	waitBody(t, web+stale.Path+"/", "", "A ", 20*time.Second)
	desired := apiExecutionsBody(t, aPort, "42")

	checkPlan := func(t *testing.T, got apiSyncReply) {
		t.Helper()
		assert.NotContains(t, got.Plan, "42", "nothing to do for a running execution")
		require.Contains(t, got.Plan, "43")
		p := got.Plan["43"]
		assert.Empty(t, p.Create)
		assert.Empty(t, p.Update)
		require.Len(t, p.Delete, 1)
		assert.Equal(t, stale.Key, p.Delete[0].Key)
		assert.Equal(t, stale.Router, p.Delete[0].Router)
		assert.Equal(t, stale.Path, p.Delete[0].Path)
	}

	apiStep(t, "dry run returns the plan and changes nothing", func(t *testing.T) {
		before := apiSnapshot(t, conn, stateRoot)
		r := sc.put("/v1/executions?dry_run=true", desired)
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiSyncReply](t, r)
		assert.True(t, got.DryRun)
		checkPlan(t, got)
		assert.Equal(t, before, apiSnapshot(t, conn, stateRoot))
		assert.Equal(t, http.StatusOK, sc.get("/v1/executions/43").status)
		status, _, err := harness.Get(context.Background(), web+stale.Path+"/", "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status, "still served")
	})

	apiStep(t, "sync stops the execution it no longer lists", func(t *testing.T) {
		r := sc.put("/v1/executions", desired)
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiSyncReply](t, r)
		assert.False(t, got.DryRun)
		checkPlan(t, got)
		waitStatus(t, web+stale.Path+"/", "", http.StatusNotFound, 20*time.Second)
		waitBody(t, web+keep.Path+"/", "", "A "+keep.Path+"/", 5*time.Second)
		requireAPIError(t, sc.get("/v1/executions/43"), http.StatusNotFound, "id")
		r = sc.get("/v1/routes")
		require.Equal(t, http.StatusOK, r.status, r)
		assert.Equal(t, []apiRoute{keep}, apiDecode[apiRoutesReply](t, r).Routes)
	})

	apiStep(t, "the same sync again has nothing to do", func(t *testing.T) {
		before := apiSnapshot(t, conn, stateRoot)
		r := sc.put("/v1/executions", desired)
		require.Equal(t, http.StatusOK, r.status, r)
		assert.Empty(t, apiDecode[apiSyncReply](t, r).Plan)
		assert.Equal(t, before, apiSnapshot(t, conn, stateRoot))
	})

	t.Run("bad sync requests change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			body       []byte
			status     int
			field      string
		}{
			{"bad dry_run", "/v1/executions?dry_run=maybe", desired, http.StatusBadRequest, "dry_run"},
			{"malformed JSON", "/v1/executions", []byte(`{"executions":[`), http.StatusBadRequest, "body"},
			{"invalid execution", "/v1/executions?dry_run=true", apiExecutionsBody(t, 0, "42"), http.StatusBadRequest, "executions[0].services[0].ports[0].external_port"},
			{"duplicate id", "/v1/executions", apiExecutionsBody(t, aPort, "42", "42"), http.StatusBadRequest, "executions[1].id"},
			// The CLI's sync refuses a missing list: it would stop every route.
			{"no executions list", "/v1/executions", []byte(`{}`), http.StatusBadRequest, "executions"},
			{"null executions list", "/v1/executions", []byte(`{"executions":null}`), http.StatusBadRequest, "executions"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := apiSnapshot(t, conn, stateRoot)
				requireAPIError(t, sc.put(tc.path, tc.body), tc.status, tc.field)
				assert.Equal(t, before, apiSnapshot(t, conn, stateRoot))
				waitBody(t, web+keep.Path+"/", "", "A ", 5*time.Second)
			})
		}
	})
}

// TestAPIHealthAndMetrics: /healthz, /readyz and /metrics.
func TestAPIHealthAndMetrics(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/api-metrics"
	sc := startAPISidecar(t, env.servers, stateRoot)
	a := startBackend(t, "A")
	_, aPort := a.Addr()

	t.Run("healthz", func(t *testing.T) {
		r := sc.request(http.MethodGet, "/healthz", nil, apiNoAuth, 10*time.Second)
		require.Equal(t, http.StatusOK, r.status, r)
		assert.Equal(t, map[string]string{"status": "ok"}, apiDecode[map[string]string](t, r))
	})
	t.Run("readyz", func(t *testing.T) {
		r := sc.request(http.MethodGet, "/readyz", nil, apiNoAuth, 10*time.Second)
		require.Equal(t, http.StatusOK, r.status, r)
		ready := apiDecode[readyReply](t, r)
		assert.Equal(t, "ready", ready.Status)
		require.NotNil(t, ready.Mirror, "the mirror GET /v1/traefik serves is described: %s", r)
	})

	m := sc.metrics()
	assert.Equal(t, 1.0, m["zk_sidecar_zookeeper_connected"])
	assert.Equal(t, 0.0, m["zk_sidecar_routes_owned"])
	require.Contains(t, m, "zk_sidecar_apply_duration_seconds_count")
	appliesBefore := m["zk_sidecar_apply_duration_seconds_count"] // Init's transaction, if it wrote one

	for _, step := range []struct {
		body   []byte
		status int
	}{
		{apiIssueHook("prepare", `"42"`, aPort), 200},
		{apiIssueHook("start", `"42"`, aPort), 200},
		{apiIssueHook("start", `42`, aPort), 200},
		{apiMutate(t, apiIssueHook("start", `"42"`, aPort), func(m map[string]any) { apiPort0(m)["port_number"] = 0 }), 400},
		{apiIssueHook("restart", `"42"`, aPort), 400},
	} {
		r := sc.post("/v1/hooks", step.body)
		require.Equal(t, step.status, r.status, r)
	}
	m = sc.metrics()
	assert.Equal(t, 1.0, m["zk_sidecar_routes_owned"])
	assert.Greater(t, m["zk_sidecar_apply_duration_seconds_count"], appliesBefore, "the start's transaction is timed")
	assert.Greater(t, m["zk_sidecar_apply_duration_seconds_sum"], 0.0)
	assert.Contains(t, m, `zk_sidecar_apply_duration_seconds_bucket{le="+Inf"}`)

	r := sc.post("/v1/hooks", apiIssueHook("stop", `"42"`, aPort))
	require.Equal(t, http.StatusOK, r.status, r)
	m = sc.metrics()
	for series, want := range map[string]float64{
		`zk_sidecar_hooks_total{event="prepare",status="200"}`: 1,
		`zk_sidecar_hooks_total{event="start",status="200"}`:   2,
		`zk_sidecar_hooks_total{event="start",status="400"}`:   1,
		`zk_sidecar_hooks_total{event="invalid",status="400"}`: 1,
		`zk_sidecar_hooks_total{event="stop",status="200"}`:    1,
		"zk_sidecar_zookeeper_connected":                       1,
		"zk_sidecar_routes_owned":                              0,
		"zk_sidecar_transaction_conflicts_total":               0, // one writer
		"zk_sidecar_gc_collected_routes_total":                 0, // within the quiet window
	} {
		got, ok := m[series]
		if assert.True(t, ok, "no series %s", series) {
			assert.Equal(t, want, got, series)
		}
	}
}

// TestAPIRejectsBadInput: every rejected request answers the exact status
// and a JSON error naming the field, and writes nothing to ZooKeeper.
func TestAPIRejectsBadInput(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/api-bad-input"
	// No --traefik-api-url: ?wait is refused.
	sc := startAPISidecar(t, env.servers, stateRoot)
	conn := connect(t)
	a := startBackend(t, "A")
	_, aPort := a.Addr()

	// A running execution, so that "unchanged" is checked against a state
	// that has something in it.
	r := sc.post("/v1/hooks", apiIssueHook("start", `"41"`, aPort))
	require.Equal(t, http.StatusOK, r.status, r)
	t.Cleanup(func() { sc.post("/v1/hooks", apiStop("41")) })

	valid := apiIssueHook("start", `"42"`, aPort)
	mutate := func(f func(m map[string]any)) []byte { return apiMutate(t, valid, f) }
	const port0 = "execution.services[0].ports[0]"
	huge := mutate(func(m map[string]any) { apiExec(m)["name"] = strings.Repeat("x", 2<<20) })
	require.Greater(t, len(huge), 2<<20)

	for _, tc := range []struct {
		name   string
		path   string // default /v1/hooks
		body   []byte
		auth   string // default the right token
		status int
		field  string
	}{
		{name: "malformed JSON", body: []byte(`{"event":"start","execution":{"id":"42",`), status: 400, field: "body"},
		{name: "not an object", body: []byte(`["start"]`), status: 400, field: "body"},
		{name: "trailing data", body: append(append([]byte{}, valid...), []byte(` {"event":"stop"}`)...), status: 400, field: "body"},
		{name: "unknown event", body: apiIssueHook("restart", `"42"`, aPort), status: 400, field: "event"},
		{name: "missing event", body: mutate(func(m map[string]any) { delete(m, "event") }), status: 400, field: "event"},
		{name: "missing execution", body: []byte(`{"event":"start"}`), status: 400, field: "execution"},
		{name: "missing execution id", body: mutate(func(m map[string]any) { delete(apiExec(m), "id") }), status: 400, field: "execution.id"},
		{name: "missing execution id on prepare", body: apiMutate(t, apiIssueHook("prepare", `"42"`, aPort), func(m map[string]any) { delete(apiExec(m), "id") }), status: 400, field: "execution.id"},
		{name: "execution id not an integer", body: []byte(`{"event":"stop","execution":{"id":1.5}}`), status: 400, field: "execution.id"},
		{name: "execution id a boolean", body: []byte(`{"event":"stop","execution":{"id":true}}`), status: 400, field: "execution.id"},
		{name: "invalid execution id on stop", body: []byte(`{"event":"stop","execution":{"id":"a/b"}}`), status: 400, field: "execution.id"},
		{name: "port_number 0", body: mutate(func(m map[string]any) { apiPort0(m)["port_number"] = 0 }), status: 400, field: port0 + ".port_number"},
		{name: "port_number 70000", body: mutate(func(m map[string]any) { apiPort0(m)["port_number"] = 70000 }), status: 400, field: port0 + ".port_number"},
		{name: "port_number a string", body: mutate(func(m map[string]any) { apiPort0(m)["port_number"] = "8888" }), status: 400, field: port0 + ".port_number"},
		{name: "second port's proxy a string", body: mutate(func(m map[string]any) { apiService0(m)["ports"].([]any)[1].(map[string]any)["proxy"] = "yes" }),
			status: 400, field: "execution.services[0].ports[1].proxy"},
		{name: "missing external_ip on start", body: mutate(func(m map[string]any) { delete(apiPort0(m), "external_ip") }), status: 400, field: port0 + ".external_ip"},
		{name: "external_port 0 on start", body: mutate(func(m map[string]any) { apiPort0(m)["external_port"] = 0 }), status: 400, field: port0 + ".external_port"},
		{name: "service name with a backquote", body: mutate(func(m map[string]any) { apiService0(m)["name"] = "py`notebook0" }), status: 400, field: "execution.services[0].name"},
		{name: "service name breaking out of the rule", body: mutate(func(m map[string]any) { apiService0(m)["name"] = "x`) || PathPrefix(`/" }), status: 400, field: "execution.services[0].name"},
		{name: "service name with a slash", body: mutate(func(m map[string]any) { apiService0(m)["name"] = "py/notebook0" }), status: 400, field: "execution.services[0].name"},
		{name: "proxied udp port", body: mutate(func(m map[string]any) { apiPort0(m)["protocol"] = "udp" }), status: 400, field: port0 + ".protocol"},
		{name: "body of 2 MiB", body: huge, status: 413, field: "body"},
		{name: "no token", body: valid, auth: apiNoAuth, status: 401, field: "Authorization"},
		{name: "wrong token", body: valid, auth: "Bearer wrong-" + apiToken, status: 401, field: "Authorization"},
		{name: "token without Bearer", body: valid, auth: apiToken, status: 401, field: "Authorization"},
		{name: "wait without --traefik-api-url", path: "/v1/hooks?wait=20s", body: valid, status: 400, field: "wait"},
		{name: "unknown field", body: mutate(func(m map[string]any) { m["bogus"] = 1 }), status: 400, field: "bogus"},
		{name: "misspelt strip_prefix", body: mutate(func(m map[string]any) { apiPort0(m)["strip_prefx"] = true }), status: 400, field: port0 + ".strip_prefx"},
		{name: "repeated key", body: []byte(`{"event":"stop","event":"start","execution":{"id":"42"}}`), status: 400, field: "event"},
		{name: "malformed wait on stop", path: "/v1/hooks?wait=abc", body: []byte(`{"event":"stop","execution":{"id":"41"}}`), status: 400, field: "wait"},
		{name: "malformed wait on prepare", path: "/v1/hooks?wait=abc", body: apiIssueHook("prepare", `"42"`, aPort), status: 400, field: "wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/v1/hooks"
			}
			before := apiSnapshot(t, conn, stateRoot)
			r := sc.request(http.MethodPost, path, tc.body, tc.auth, time.Minute)
			requireAPIError(t, r, tc.status, tc.field)
			if tc.status == http.StatusUnauthorized {
				assert.NotEmpty(t, r.header.Get("WWW-Authenticate"))
			}
			after := apiSnapshot(t, conn, stateRoot)
			assert.Equal(t, before.Executions, after.Executions, "execution records unchanged")
			assert.Subset(t, before.Routers, after.Routers, "no new router under /%s/http/routers", sharedRoot)
			assert.Equal(t, before, after, "nothing written")
			assert.False(t, apiZNodeExists(t, conn, stateRoot+"/executions/42"))
		})
	}

	// The sidecar still works after all that.
	r = sc.post("/v1/hooks", apiIssueHook("prepare", `"42"`, aPort))
	require.Equal(t, http.StatusOK, r.status, r)
	r = sc.request(http.MethodGet, "/readyz", nil, apiNoAuth, 10*time.Second)
	require.Equal(t, http.StatusOK, r.status, r)
}

// TestAPIZooKeeperUnavailable: with its ZooKeeper frozen the sidecar
// answers a start with 503 and Retry-After in bounded time, and the same
// start succeeds once ZooKeeper is back.
func TestAPIZooKeeperUnavailable(t *testing.T) {
	requireEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ens.Close() })
	sc := startAPISidecar(t, ens.Servers(), "/api-unavailable", "--zk-op-timeout=2s", "--zk-session-timeout=4s")
	a := startBackend(t, "A")
	_, aPort := a.Addr()

	r := sc.post("/v1/hooks", apiIssueHook("start", `"42"`, aPort))
	require.Equal(t, http.StatusOK, r.status, r)

	start := apiIssueHook("start", `"43"`, aPort)
	require.NoError(t, ens.Freeze(0))
	frozen := true
	t.Cleanup(func() {
		if frozen {
			_ = ens.Thaw(0)
		}
	})

	t.Run("start answers 503 with Retry-After", func(t *testing.T) {
		r := sc.request(http.MethodPost, "/v1/hooks", start, "", 20*time.Second)
		t.Logf("start with ZooKeeper frozen: %s", r)
		requireAPIError(t, r, http.StatusServiceUnavailable, "")
		assert.NotEmpty(t, r.header.Get("Retry-After"))
		assert.Less(t, r.took, 15*time.Second)
	})
	t.Run("readyz and metrics follow the session", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := sc.request(http.MethodGet, "/readyz", nil, apiNoAuth, 10*time.Second)
			if r.status == http.StatusServiceUnavailable {
				break
			}
			require.True(t, time.Now().Before(deadline), "readyz still %s", r)
			time.Sleep(200 * time.Millisecond)
		}
		assert.Equal(t, 0.0, sc.metrics()["zk_sidecar_zookeeper_connected"])
		r := sc.request(http.MethodPost, "/v1/hooks", start, "", 20*time.Second)
		requireAPIError(t, r, http.StatusServiceUnavailable, "")
		assert.NotEmpty(t, r.header.Get("Retry-After"))
		assert.Less(t, r.took, 15*time.Second)
	})

	require.NoError(t, ens.Thaw(0))
	frozen = false
	thawed := time.Now()
	t.Run("the same start succeeds after thaw", func(t *testing.T) {
		attempts := 0
		for {
			attempts++
			r := sc.request(http.MethodPost, "/v1/hooks", start, "", 20*time.Second)
			if r.status == http.StatusOK {
				got := apiDecode[apiHookReply](t, r)
				require.Len(t, got.Routes, 1)
				assert.Equal(t, "43", got.Routes[0].ExecutionID)
				break
			}
			requireAPIError(t, r, http.StatusServiceUnavailable, "")
			assert.NotEmpty(t, r.header.Get("Retry-After"))
			require.Less(t, time.Since(thawed), time.Minute, "no 200 a minute after thaw: %s", r)
			time.Sleep(500 * time.Millisecond)
		}
		t.Logf("start answered 200 %s after thaw, attempt %d", time.Since(thawed).Round(time.Millisecond), attempts)
		r := sc.get("/v1/executions/43")
		require.Equal(t, http.StatusOK, r.status, r)
		r = sc.request(http.MethodGet, "/readyz", nil, apiNoAuth, 10*time.Second)
		assert.Equal(t, http.StatusOK, r.status, r)
	})
}
