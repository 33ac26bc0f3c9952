package provider

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// The writer's unit tests run it against memStore: the same transactions
// as against ZooKeeper, checked op by op, without a server.

const revisionPath = "/traefik-zk-sidecar/revision"

func testDeriver(t *testing.T) *keys.Deriver {
	t.Helper()
	d, err := keys.NewDeriver([]byte("unit-test-secret-0123456789"), "prod")
	require.NoError(t, err)
	return d
}

func testConfig(t *testing.T) Config {
	t.Helper()
	return Config{
		RootKey:    "traefik",
		Settings:   execution.Settings{BasePath: "/zoe/proxy", Routing: execution.RoutingPath, EntryPoints: []string{"web"}},
		GCInterval: time.Hour,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// newTestProvider is an initialised provider on store; its writer is not
// running (see runWriter), so tests may drive applyBatch themselves.
func newTestProvider(t *testing.T, store *memStore, opts ...func(*Config)) *Writer {
	t.Helper()
	cfg := testConfig(t)
	for _, o := range opts {
		o(&cfg)
	}
	p, err := NewWriter(store, testDeriver(t), cfg)
	require.NoError(t, err)
	require.NoError(t, p.Init())
	return p
}

func runWriter(t *testing.T, p *Writer) { t.Cleanup(p.Start(context.Background())) }

// notebookExec is a one-service execution with one proxied port.
func notebookExec(id, ip string, port int) *execution.Execution {
	return &execution.Execution{ID: execution.ID(id), Services: []execution.Service{{
		Name:  "nb0",
		Ports: []execution.Port{{PortNumber: 8888, Proxy: true, ExternalIP: ip, ExternalPort: port}},
	}}}
}

func startRequest(t *testing.T, p *Writer, e *execution.Execution) *request {
	t.Helper()
	desired, err := execution.Routes(e, p.cfg.Settings, p.deriver, true)
	require.NoError(t, err)
	return &request{ctx: context.Background(), id: string(e.ID), desired: desired, done: make(chan requestResult, 1), enqueued: time.Now()}
}

func stopRequest(id string) *request {
	return &request{ctx: context.Background(), id: id, stop: true, done: make(chan requestResult, 1), enqueued: time.Now()}
}

// outcome is the answer a request got; the writer must have answered it.
func outcome(t *testing.T, r *request) requestResult {
	t.Helper()
	select {
	case res := <-r.done:
		return res
	default:
		t.Fatalf("request %s was not answered", r.id)
		return requestResult{}
	}
}

func revisionVersion(t *testing.T, s *memStore) int32 {
	t.Helper()
	_, stat, err := s.Get(revisionPath)
	require.NoError(t, err)
	return stat.Version
}

func metaJSON(routes, tombstones int) string {
	data, _ := json.Marshal(state.Meta{Routes: routes, Tombstones: tombstones})
	return string(data)
}

func kickStrings(revision int) []string {
	p := "/traefik/zsc-kick-" + strconv.Itoa(revision)
	return []string{create(p, ""), del(p, zkstore.AnyVersion)}
}

func TestStartStopThroughTheWriter(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	runWriter(t, p)
	ctx := context.Background()
	v := revisionVersion(t, store)
	require.Equal(t, int32(1), v, "Init set the revision once")
	from := store.commitCount()

	res, err := p.StartExecution(ctx, notebookExec("42", "10.1.2.3", 32768))
	require.NoError(t, err)
	assert.True(t, res.Changed)
	require.Len(t, res.Routes, 1)
	route := res.Routes[0]
	assert.Equal(t, execution.RouterName(route.Key, 2), route.Traefik.Name, "named after the revision that creates it")
	assert.Equal(t, "http://10.1.2.3:32768", route.Traefik.Backend)

	txns := store.committed(from)
	require.Len(t, txns, 1, "one transaction")
	want := []string{set(revisionPath, metaJSON(1, 0), 1), changeCreate(t, 2, []kvschema.Route{route.Traefik})}
	want = append(want, routeCreates(route.Traefik.Name, route.Traefik.Rule, "http://10.1.2.3:32768")...)
	want = append(want, create("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", 2, route)))
	want = append(want, kickStrings(2)...)
	assert.Equal(t, want, opStrings(txns[0]))

	t.Run("the same start writes nothing and is confirmed by a check", func(t *testing.T) {
		from := store.commitCount()
		txnsBefore := p.Stats().Transactions
		again, err := p.StartExecution(ctx, notebookExec("42", "10.1.2.3", 32768))
		require.NoError(t, err)
		assert.False(t, again.Changed)
		assert.Equal(t, res.Routes, again.Routes)
		assert.Equal(t, [][]string{{opString(zkstore.Check(revisionPath, 2))}}, opStringsOf(store.committed(from)))
		assert.Equal(t, txnsBefore, p.Stats().Transactions, "a check is not a write")
	})

	t.Run("a new backend is a value change", func(t *testing.T) {
		from := store.commitCount()
		moved, err := p.StartExecution(ctx, notebookExec("42", "10.9.9.9", 80))
		require.NoError(t, err)
		assert.True(t, moved.Changed)
		assert.Equal(t, route.Traefik.Name, moved.Routes[0].Traefik.Name, "same router")
		txns := store.committed(from)
		require.Len(t, txns, 1)
		ops := opStrings(txns[0])
		assert.Contains(t, ops, set("/traefik/http/services/"+route.Traefik.Name+"/loadBalancer/servers/0/url", "http://10.9.9.9:80", zkstore.AnyVersion))
		assertNoExistenceChangeUnderRoot(t, txns[0][:len(txns[0])-2], false)
		assert.Equal(t, kickStrings(3), ops[len(ops)-2:])
	})

	t.Run("stop tombstones and deletes the record", func(t *testing.T) {
		stopped, err := p.StopExecution(ctx, "42")
		require.NoError(t, err)
		assert.True(t, stopped.Changed)
		require.Len(t, stopped.Routes, 1, "the routes it removed")
		assert.False(t, store.has("/traefik-zk-sidecar/executions/42"))
		assert.True(t, store.has("/traefik-zk-sidecar/tombstones/"+route.Traefik.Name))
		meta, err := p.Meta()
		require.NoError(t, err)
		assert.Equal(t, state.Meta{Routes: 0, Tombstones: 1}, meta)
	})

	t.Run("stopping it again writes nothing", func(t *testing.T) {
		from := store.commitCount()
		again, err := p.StopExecution(ctx, "42")
		require.NoError(t, err)
		assert.False(t, again.Changed)
		assert.Empty(t, again.Routes)
		txns := store.committed(from)
		require.Len(t, txns, 1)
		assert.Equal(t, zkstore.OpCheck, txns[0][0].Kind)
	})
}

func opStringsOf(txns [][]zkstore.Op) [][]string {
	out := make([][]string, len(txns))
	for i, ops := range txns {
		out[i] = opStrings(ops)
	}
	return out
}

// A static route written before it had a priority gets one by a create
// of its priority znode: nothing is deleted while Traefik may walk the tree.
func TestInitAddsTheStaticRoutePriority(t *testing.T) {
	store := newMemStore()
	static, err := execution.StaticRoute("zoe-ui", "/zoe", "http://10.0.0.9:5001", testConfig(t).Settings)
	require.NoError(t, err)
	require.Equal(t, execution.StaticRoutePriority, static.Priority)
	unprioritized := static
	unprioritized.Priority = 0
	newTestProvider(t, store, func(c *Config) { c.StaticRoutes = []kvschema.Route{unprioritized} })

	newTestProvider(t, store, func(c *Config) { c.StaticRoutes = []kvschema.Route{static} })
	txns := store.committed(1)
	require.Len(t, txns, 1)
	permanent, err := json.Marshal(state.Permanent{Routes: []kvschema.Route{kvschema.SentinelRoute(), static}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		set(revisionPath, metaJSON(0, 0), 1),
		changeCreate(t, 2, []kvschema.Route{kvschema.SentinelRoute(), static}),
		create("/traefik/http/routers/zsc-static-zoe-ui/priority", "1000000"),
		set("/traefik-zk-sidecar/permanent", string(permanent), 0),
		kickStrings(2)[0], kickStrings(2)[1],
	}, opStrings(txns[0]), "the revision, its change record, the priority, the permanent record, the kick")
}

func TestInitIsIdempotent(t *testing.T) {
	store := newMemStore()
	static, err := execution.StaticRoute("zoe-ui", "/zoe", "http://10.0.0.9:5001", testConfig(t).Settings)
	require.NoError(t, err)
	withStatic := func(c *Config) { c.StaticRoutes = []kvschema.Route{static} }
	p := newTestProvider(t, store, withStatic)
	require.Equal(t, 1, store.commitCount(), "one transaction")
	for _, path := range []string{"/traefik", "/traefik/http/routers/zsc-sentinel", "/traefik/http/middlewares/zsc-sentinel-strip",
		"/traefik/http/routers/zsc-static-zoe-ui/rule", "/traefik-zk-sidecar/executions", "/traefik-zk-sidecar/tombstones",
		"/traefik-zk-sidecar/changes/0000000001", "/traefik-zk-sidecar/permanent"} {
		assert.True(t, store.has(path), path)
	}
	last := store.committed(0)[0]
	assert.Equal(t, set(revisionPath, metaJSON(0, 0), 0), opString(last[0]), "ordered by the revision")
	assert.Equal(t, kickStrings(1), opStrings(last[len(last)-2:]))

	require.NoError(t, p.Init())
	assert.Equal(t, 1, store.commitCount(), "nothing missing: nothing written")

	moved := static
	moved.Backend = "http://10.0.0.10:5001"
	newTestProvider(t, store, func(c *Config) { c.StaticRoutes = []kvschema.Route{moved} })
	txns := store.committed(1)
	require.Len(t, txns, 1)
	permanent, err := json.Marshal(state.Permanent{Routes: []kvschema.Route{kvschema.SentinelRoute(), moved}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		set(revisionPath, metaJSON(0, 0), 1),
		changeCreate(t, 2, []kvschema.Route{kvschema.SentinelRoute(), moved}),
		set("/traefik/http/services/zsc-static-zoe-ui/loadBalancer/servers/0/url", "http://10.0.0.10:5001", zkstore.AnyVersion),
		set("/traefik-zk-sidecar/permanent", string(permanent), 0),
		kickStrings(2)[0], kickStrings(2)[1],
	}, opStrings(txns[0]), "the revision, its change record, the one value, the permanent record, the kick")
}
