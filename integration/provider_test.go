package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

const testSecret = "integration-test-secret-0123456789"

// newProvider runs a provider in-process against the shared ensemble and
// the shared Traefik's root key, with its bookkeeping under stateRoot.
func newProvider(t *testing.T, stateRoot string) *provider.Writer {
	t.Helper()
	// Generous timeouts: a loaded 2-core machine can stall processes for seconds.
	store, err := zkstore.Connect(zkstore.Options{Servers: env.servers, SessionTimeout: 10 * time.Second, OpTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(store.Close)
	require.NoError(t, store.WaitConnected(20*time.Second))
	deriver, err := keys.NewDeriver([]byte(testSecret), "test")
	require.NoError(t, err)
	p, err := provider.NewWriter(store, deriver, provider.Config{
		RootKey:   sharedRoot,
		StateRoot: stateRoot,
		Settings:  execution.Settings{BasePath: "/zoe/proxy", Routing: execution.RoutingPath},
		// Tests collect garbage explicitly.
		GCInterval: time.Hour,
	})
	require.NoError(t, err)
	require.NoError(t, p.Init())
	t.Cleanup(p.Start(context.Background()))
	return p
}

// notebook is a one-service execution with one proxied port on backend b.
func notebook(id string, b *harness.Backend) *execution.Execution {
	ip, port := b.Addr()
	return &execution.Execution{ID: execution.ID(id), Services: []execution.Service{{
		Name: "notebook0",
		Ports: []execution.Port{
			{Name: "Jupyter", PortNumber: 8888, Protocol: "tcp", Proxy: true, URLTemplate: "http://{ip_port}{proxy_path}", ExternalIP: ip, ExternalPort: port},
			{Name: "ssh", PortNumber: 22, Protocol: "tcp", ExternalIP: ip, ExternalPort: 1},
		},
	}}}
}

func revisionVersion(t *testing.T, conn *zk.Conn, stateRoot string) int32 {
	t.Helper()
	syncZK(t, conn)
	_, stat, err := conn.Get(stateRoot + "/revision")
	require.NoError(t, err)
	return stat.Version
}

func TestProviderLifecycle(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/it-lifecycle"
	p := newProvider(t, stateRoot)
	conn := connect(t)
	a, b := startBackend(t, "A"), startBackend(t, "B")
	ctx := context.Background()
	web := env.traefik.WebURL()

	res, err := p.StartExecution(ctx, notebook("101", a))
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Len(t, res.Routes, 1, "only the proxied port gets a route")
	route := res.Routes[0]
	assert.Equal(t, "/zoe/proxy/"+route.Key, route.Path)
	assert.Len(t, route.Key, 64)
	t.Run("start is served", func(t *testing.T) {
		waitBody(t, web+route.Path+"/lab", "", "A "+route.Path+"/lab", 20*time.Second)
	})
	t.Run("start again writes nothing", func(t *testing.T) {
		before, txns := revisionVersion(t, conn, stateRoot), p.Stats().Transactions
		again, err := p.StartExecution(ctx, notebook("101", a))
		require.NoError(t, err)
		assert.False(t, again.Changed)
		assert.Equal(t, res.Routes, again.Routes, "same keys and names")
		assert.Equal(t, before, revisionVersion(t, conn, stateRoot))
		assert.Equal(t, txns, p.Stats().Transactions)
	})
	t.Run("backend change switches traffic in place", func(t *testing.T) {
		moved, err := p.StartExecution(ctx, notebook("101", b))
		require.NoError(t, err)
		require.True(t, moved.Changed)
		assert.Equal(t, route.Traefik.Name, moved.Routes[0].Traefik.Name)
		waitBody(t, web+route.Path+"/", "", "B "+route.Path+"/", 20*time.Second)
	})
	t.Run("stop gives 404", func(t *testing.T) {
		stopped, err := p.StopExecution(ctx, "101")
		require.NoError(t, err)
		require.Len(t, stopped.Routes, 1)
		waitStatus(t, web+route.Path+"/", "", 404, 20*time.Second)
		rec, err := p.Execution("101")
		require.NoError(t, err)
		assert.Nil(t, rec)
	})
	t.Run("stop of an unknown execution is a no-op", func(t *testing.T) {
		before := revisionVersion(t, conn, stateRoot)
		for _, id := range []execution.ID{"101", "never-started"} {
			r, err := p.StopExecution(ctx, id)
			require.NoError(t, err)
			assert.False(t, r.Changed)
			assert.Empty(t, r.Routes)
		}
		assert.Equal(t, before, revisionVersion(t, conn, stateRoot))
	})
	t.Run("restart after stop uses a new router name", func(t *testing.T) {
		again, err := p.StartExecution(ctx, notebook("101", a))
		require.NoError(t, err)
		assert.Equal(t, route.Key, again.Routes[0].Key, "keys are stable")
		assert.NotEqual(t, route.Traefik.Name, again.Routes[0].Traefik.Name, "names are never reused")
		waitBody(t, web+route.Path+"/", "", "A ", 20*time.Second)
	})
}

// TestProviderGarbageCollection stops a route, collects its tombstone after
// a quiet window and checks that another route never failed meanwhile.
func TestProviderGarbageCollection(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/it-gc"
	p := newProvider(t, stateRoot)
	conn := connect(t)
	a := startBackend(t, "A")
	ctx := context.Background()
	web := env.traefik.WebURL()

	keep, err := p.StartExecution(ctx, notebook("201", a))
	require.NoError(t, err)
	gone, err := p.StartExecution(ctx, notebook("202", a))
	require.NoError(t, err)
	keepURL := web + keep.Routes[0].Path + "/probe"
	waitBody(t, keepURL, "", "A ", 20*time.Second)
	waitBody(t, web+gone.Routes[0].Path+"/", "", "A ", 20*time.Second)

	var probes, failures atomic.Int64
	stopProbe := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stopProbe:
				return
			case <-time.After(20 * time.Millisecond):
			}
			status, _, err := harness.Get(ctx, keepURL, "")
			probes.Add(1)
			if err != nil || status != 200 {
				failures.Add(1)
			}
		}
	}()

	_, err = p.StopExecution(ctx, "202")
	require.NoError(t, err)
	waitStatus(t, web+gone.Routes[0].Path+"/", "", 404, 20*time.Second)
	name := gone.Routes[0].Traefik.Name
	syncZK(t, conn)
	exists, _, err := conn.Exists("/" + sharedRoot + "/http/routers/" + name)
	require.NoError(t, err)
	require.True(t, exists, "a stop only tombstones")

	deleted, err := p.CollectGarbage(ctx, 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 1, deleted)
	syncZK(t, conn)
	for _, dir := range []string{"routers", "services"} {
		exists, _, err := conn.Exists("/" + sharedRoot + "/http/" + dir + "/" + name)
		require.NoError(t, err)
		assert.False(t, exists, "%s/%s collected", dir, name)
	}
	tombstones, _, err := conn.Children(stateRoot + "/tombstones")
	require.NoError(t, err)
	assert.Empty(t, tombstones)
	exists, _, err = conn.Exists("/" + sharedRoot + "/http/routers/" + kvschema.SentinelName)
	require.NoError(t, err)
	assert.True(t, exists, "the sentinel is never collected")

	// Give Traefik time to reload after the collection's kick, still probing.
	time.Sleep(3 * time.Second)
	close(stopProbe)
	wg.Wait()
	t.Logf("probes of the kept route during stop and collection: %d, failed: %d", probes.Load(), failures.Load())
	assert.Greater(t, probes.Load(), int64(100))
	assert.Zero(t, failures.Load())
	waitBody(t, keepURL, "", "A ", 5*time.Second)
}

// TestProviderSyncLeavesForeignRoutes: a resync removes a stale execution
// and never touches a router another tool wrote under the same root.
func TestProviderSyncLeavesForeignRoutes(t *testing.T) {
	requireEnv(t)
	p := newProvider(t, "/it-sync")
	conn := connect(t)
	a, f := startBackend(t, "A"), startBackend(t, "F")
	ctx := context.Background()
	web := env.traefik.WebURL()

	foreign := pathRoute(t, "foreign-tool", "/foreign", f.URL())
	foreignKVs, err := foreign.Encode(sharedRoot)
	require.NoError(t, err)
	w := &kvWriter{conn: conn, root: sharedRoot, rev: 5000}
	w.create(t, foreign)
	waitBody(t, web+"/foreign/x", "", "F /foreign/x", 20*time.Second)

	x, err := p.StartExecution(ctx, notebook("301", a))
	require.NoError(t, err)
	y, err := p.StartExecution(ctx, notebook("302", a))
	require.NoError(t, err)
	waitBody(t, web+y.Routes[0].Path+"/", "", "A ", 20*time.Second)

	dry, err := p.Sync(ctx, []execution.Execution{*notebook("301", a)}, true)
	require.NoError(t, err)
	require.Contains(t, dry.Plans, "302")
	assert.Len(t, dry.Plans["302"].Delete, 1)
	assert.NotContains(t, dry.Plans, "301", "nothing to do for a matching execution")
	rec, err := p.Execution("302")
	require.NoError(t, err)
	require.NotNil(t, rec, "a dry run writes nothing")

	_, err = p.Sync(ctx, []execution.Execution{*notebook("301", a)}, false)
	require.NoError(t, err)
	waitStatus(t, web+y.Routes[0].Path+"/", "", 404, 20*time.Second)
	waitBody(t, web+x.Routes[0].Path+"/", "", "A ", 5*time.Second)
	waitBody(t, web+"/foreign/x", "", "F /foreign/x", 5*time.Second)
	for _, kv := range foreignKVs {
		data, _, err := conn.Get(kv.Key)
		require.NoError(t, err)
		assert.Equal(t, kv.Value, string(data), kv.Key)
	}
	routes, err := p.Routes()
	require.NoError(t, err)
	require.Len(t, routes, 1)
	assert.Equal(t, "301", routes[0].ExecutionID)
}

// TestTwoProvidersApplyConcurrently: two replicas sharing one state root
// each apply 200 starts at once; all 400 routes are recorded and served.
func TestTwoProvidersApplyConcurrently(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/it-replicas"
	replicas := []*provider.Writer{newProvider(t, stateRoot), newProvider(t, stateRoot)}
	a := startBackend(t, "A")
	ctx := context.Background()

	const perReplica = 200
	paths := make([]string, 2*perReplica)
	var wg sync.WaitGroup
	errs := make(chan error, 2*perReplica)
	for r, p := range replicas {
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < perReplica; i += 16 {
					n := r*perReplica + i
					res, err := startRetryingUnavailable(ctx, p, notebook(fmt.Sprintf("rep%d", n), a))
					if err != nil {
						errs <- err
						continue
					}
					paths[n] = res.Routes[0].Path
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	stats := []provider.Stats{replicas[0].Stats(), replicas[1].Stats()}
	t.Logf("replica transactions: %d + %d, conflicts retried: %d + %d",
		stats[0].Transactions, stats[1].Transactions, stats[0].Conflicts, stats[1].Conflicts)

	routes, err := replicas[0].Routes()
	require.NoError(t, err)
	assert.Len(t, routes, 2*perReplica, "no update lost")
	meta, err := replicas[1].Meta()
	require.NoError(t, err)
	assert.Equal(t, 2*perReplica, meta.Routes)

	web := env.traefik.WebURL()
	waitBody(t, web+paths[len(paths)-1]+"/", "", "A ", time.Minute)
	served := 0
	for _, path := range paths {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, _, err := harness.WaitHTTP(ctx, web+path+"/", "", func(s int, body string) bool {
			return s == 200 && strings.HasPrefix(body, "A ")
		})
		cancel()
		if err == nil {
			served++
		}
	}
	assert.Equal(t, 2*perReplica, served)

	// Leave the shared tree small for the tests that follow.
	for n := range paths {
		_, err := replicas[n%2].StopExecution(ctx, execution.ID(fmt.Sprintf("rep%d", n)))
		require.NoError(t, err)
	}
}

// TestApplyAfterLeaderKilled: the ZooKeeper leader dies between two
// applies; the next apply succeeds once a new leader is elected.
func TestApplyAfterLeaderKilled(t *testing.T) {
	requireOwnStack(t)
	p := newProvider(t, "/it-leader")
	a := startBackend(t, "A")
	ctx := context.Background()
	web := env.traefik.WebURL()

	first, err := p.StartExecution(ctx, notebook("401", a))
	require.NoError(t, err)
	waitBody(t, web+first.Routes[0].Path+"/", "", "A ", 20*time.Second)

	leader, err := env.ensemble.Leader()
	require.NoError(t, err)
	require.NoError(t, env.ensemble.Kill(leader))
	t.Cleanup(func() {
		_ = env.ensemble.Restart(leader)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = env.ensemble.WaitForQuorum(ctx)
	})

	deadline := time.Now().Add(time.Minute)
	var second provider.Result
	attempts := 0
	for {
		attempts++
		second, err = p.StartExecution(ctx, notebook("402", a))
		if err == nil {
			break
		}
		require.ErrorIs(t, err, zkstore.ErrUnavailable, "only 'unavailable' is acceptable while the leader is gone")
		require.True(t, time.Now().Before(deadline), "no successful apply within a minute: %v", err)
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("apply succeeded after %d attempt(s)", attempts)
	waitBody(t, web+second.Routes[0].Path+"/", "", "A ", 30*time.Second)
	waitBody(t, web+first.Routes[0].Path+"/", "", "A ", 5*time.Second)
}

// startRetryingUnavailable retries a start while ZooKeeper is unavailable,
// as a client retries a 503: under load a call can time out, and the plan
// is idempotent.
func startRetryingUnavailable(ctx context.Context, p *provider.Writer, e *execution.Execution) (provider.Result, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := p.StartExecution(ctx, e)
		if err == nil || !errors.Is(err, zkstore.ErrUnavailable) || time.Now().After(deadline) {
			return res, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
