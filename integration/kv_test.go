package integration

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// kvWriter writes kvschema output straight into ZooKeeper, each change one
// multi with a root-children kick, to check the schema against Traefik
// without the sidecar.
type kvWriter struct {
	conn *zk.Conn
	root string
	rev  int64
}

func newKVWriter(t *testing.T, root string) *kvWriter {
	w := &kvWriter{conn: connect(t), root: root}
	shared, err := kvschema.SharedDirectories(root)
	require.NoError(t, err)
	sentinel, err := kvschema.SentinelRoute().Encode(root)
	require.NoError(t, err)
	w.commit(t, creates(append(shared, sentinel...)))
	return w
}

func creates(kvs []kvschema.KV) []any {
	ops := make([]any, 0, len(kvs))
	for _, kv := range kvs {
		ops = append(ops, &zk.CreateRequest{Path: kv.Key, Data: []byte(kv.Value), Acl: zk.WorldACL(zk.PermAll)})
	}
	return ops
}

// commit runs ops plus a kick (create and delete of an ignored root child) as one multi.
func (w *kvWriter) commit(t *testing.T, ops []any) {
	t.Helper()
	w.rev++
	kick, err := kvschema.KickPath(w.root, w.rev)
	require.NoError(t, err)
	ops = append(ops, &zk.CreateRequest{Path: kick, Acl: zk.WorldACL(zk.PermAll)}, &zk.DeleteRequest{Path: kick, Version: -1})
	_, err = w.conn.Multi(ops...)
	require.NoError(t, err)
}

func (w *kvWriter) create(t *testing.T, routes ...kvschema.Route) {
	t.Helper()
	var ops []any
	for _, r := range routes {
		kvs, err := r.Encode(w.root)
		require.NoError(t, err)
		ops = append(ops, creates(kvs)...)
	}
	w.commit(t, ops)
}

// change writes the values that differ between two routes of one shape.
func (w *kvWriter) change(t *testing.T, from, to kvschema.Route) {
	t.Helper()
	before, err := from.Encode(w.root)
	require.NoError(t, err)
	after, err := to.Encode(w.root)
	require.NoError(t, err)
	require.Len(t, after, len(before), "a value change must keep the set of znodes")
	var ops []any
	for i, kv := range after {
		require.Equal(t, before[i].Key, kv.Key)
		if kv.Value != before[i].Value {
			ops = append(ops, &zk.SetDataRequest{Path: kv.Key, Data: []byte(kv.Value), Version: -1})
		}
	}
	require.NotEmpty(t, ops)
	w.commit(t, ops)
}

// delete removes a route's znodes: what a generic KV client would do, and
// what fact 6 says is unsafe while Traefik walks the tree.
func (w *kvWriter) delete(t *testing.T, r kvschema.Route) {
	t.Helper()
	kvs, err := r.Encode(w.root)
	require.NoError(t, err)
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key > kvs[j].Key })
	var ops []any
	for _, kv := range kvs {
		ops = append(ops, &zk.DeleteRequest{Path: kv.Key, Version: -1})
	}
	w.commit(t, ops)
}

func pathRoute(t *testing.T, name, path, backend string) kvschema.Route {
	rule, err := kvschema.PathRule(path)
	require.NoError(t, err)
	return kvschema.Route{Name: name, Rule: rule, Backend: backend}
}

func startBackend(t *testing.T, name string) *harness.Backend {
	b, err := harness.StartBackend(name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestKVSchemaServedByTraefik writes kvschema output into the 3-node
// ensemble and checks each step by HTTP through the real Traefik.
func TestKVSchemaServedByTraefik(t *testing.T) {
	requireEnv(t)
	const root = "kvtest"
	tr := startTraefik(t, root)
	w := newKVWriter(t, root)
	a, b := startBackend(t, "A"), startBackend(t, "B")
	r1 := pathRoute(t, "r1", "/kv/r1", a.URL())
	r2 := pathRoute(t, "r2", "/kv/r2", b.URL())
	const wait = 20 * time.Second

	t.Run("first route served", func(t *testing.T) {
		w.create(t, r1)
		waitBody(t, tr.WebURL()+"/kv/r1/x", "", "A /kv/r1/x", wait)
		waitBody(t, tr.WebURL()+"/kv/r1", "", "A /kv/r1", wait)
		// The key is matched as a whole segment.
		status, _, err := harness.Get(context.Background(), tr.WebURL()+"/kv/r1999/x", "")
		require.NoError(t, err)
		assert.Equal(t, 404, status)
	})
	t.Run("second route served", func(t *testing.T) {
		w.create(t, r2)
		waitBody(t, tr.WebURL()+"/kv/r2/y", "", "B /kv/r2/y", wait)
		waitBody(t, tr.WebURL()+"/kv/r1/x", "", "A ", wait)
	})
	t.Run("changing a backend URL switches traffic", func(t *testing.T) {
		moved := r1
		moved.Backend = b.URL()
		w.change(t, r1, moved)
		waitBody(t, tr.WebURL()+"/kv/r1/x", "", "B /kv/r1/x", wait)
		r1 = moved
	})
	t.Run("tombstoning one of two routes gives 404 for it only", func(t *testing.T) {
		w.change(t, r2, r2.Tombstone())
		waitStatus(t, tr.WebURL()+"/kv/r2/y", "", 404, wait)
		waitBody(t, tr.WebURL()+"/kv/r1/x", "", "B /kv/r1/x", wait)
	})
	t.Run("tombstoning the last route gives 404", func(t *testing.T) {
		w.change(t, r1, r1.Tombstone())
		waitStatus(t, tr.WebURL()+"/kv/r1/x", "", 404, wait)
		live, err := tr.RouterLive(context.Background(), kvschema.SentinelName)
		require.NoError(t, err)
		assert.True(t, live, "the sentinel router stays loaded")
	})
}

// TestRouteSurvivesLeaderLoss kills the ZooKeeper leader: Traefik keeps
// serving, and once a new leader is elected a new route gets through.
func TestRouteSurvivesLeaderLoss(t *testing.T) {
	requireOwnStack(t)
	const root = "failover"
	tr := startTraefik(t, root)
	w := newKVWriter(t, root)
	a := startBackend(t, "A")
	w.create(t, pathRoute(t, "before", "/fo/before", a.URL()))
	waitBody(t, tr.WebURL()+"/fo/before/", "", "A ", 20*time.Second)

	leader, err := env.ensemble.Leader()
	require.NoError(t, err)
	require.NoError(t, env.ensemble.Kill(leader))
	t.Cleanup(func() {
		_ = env.ensemble.Restart(leader)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = env.ensemble.WaitForQuorum(ctx)
	})
	for i := 0; i < 20; i++ {
		status, body, err := harness.Get(context.Background(), tr.WebURL()+"/fo/before/", "")
		require.NoError(t, err)
		require.Equal(t, 200, status, "probe %d during the election: %s", i, body)
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	newLeader, err := env.ensemble.WaitForQuorum(ctx)
	require.NoError(t, err)
	require.NotEqual(t, leader, newLeader)

	w2 := &kvWriter{conn: connect(t), root: root, rev: 1000}
	w2.create(t, pathRoute(t, "after", "/fo/after", a.URL()))
	waitBody(t, tr.WebURL()+"/fo/after/", "", "A /fo/after/", 30*time.Second)
	waitBody(t, tr.WebURL()+"/fo/before/", "", "A ", 5*time.Second)
}

// TestStopsUnderChurn guards fact 6: with 1,000 routes, stopping one route
// every 300 ms for 10 s must leave an untouched route answering 200 to every
// probe when stops are tombstones; the same churn done by deleting znodes
// makes probes fail, which shows the guard can bite.
func TestStopsUnderChurn(t *testing.T) {
	requireEnv(t)
	if testing.Short() {
		t.Skip("long test: 1,000 routes twice")
	}
	for _, mode := range []string{"tombstone", "delete"} {
		t.Run(mode, func(t *testing.T) {
			failures, probes := churn(t, "churn"+mode, mode == "delete")
			t.Logf("%s churn: %d of %d probes of an untouched route failed", mode, failures, probes)
			require.Greater(t, probes, int64(100))
			if mode == "tombstone" {
				assert.Zero(t, failures, "tombstoning must never disturb other routes")
			} else {
				assert.Positive(t, failures, "deleting under Traefik's walk is expected to empty its configuration")
			}
		})
	}
}

func churn(t *testing.T, root string, deleteRoutes bool) (failures, probes int64) {
	const routes = 1000
	tr := startTraefik(t, root)
	w := newKVWriter(t, root)
	backend := startBackend(t, "C")
	all := make([]kvschema.Route, routes)
	for i := range all {
		all[i] = pathRoute(t, fmt.Sprintf("c%d", i), fmt.Sprintf("/c/k%d", i), backend.URL())
	}
	// Below ZooKeeper's 1 MB request limit: 200 routes per transaction.
	for i := 0; i < routes; i += 200 {
		w.create(t, all[i:i+200]...)
	}
	untouched := tr.WebURL() + "/c/k0/probe"
	waitBody(t, untouched, "", "C /c/k0/probe", 2*time.Minute)
	waitBody(t, tr.WebURL()+fmt.Sprintf("/c/k%d/", routes-1), "", "C ", 2*time.Minute)

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			status, _, err := harness.Get(context.Background(), untouched, "")
			probes++
			if err != nil || status != 200 {
				failures++
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for i := 1; time.Now().Before(deadline); i++ {
		if deleteRoutes {
			w.delete(t, all[i])
		} else {
			w.change(t, all[i], all[i].Tombstone())
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Let the last reload land before judging.
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	if !deleteRoutes {
		status, _, err := harness.Get(context.Background(), tr.WebURL()+"/c/k1/", "")
		require.NoError(t, err)
		assert.Equal(t, 404, status, "a stopped route answers 404")
	}
	return failures, probes
}
