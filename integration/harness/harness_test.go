package harness

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
)

func requireIntegration(t *testing.T) {
	t.Helper()
	if os.Getenv("ZK_SIDECAR_INTEGRATION") != "1" {
		t.Skip("set ZK_SIDECAR_INTEGRATION=1 (make test does) to run integration tests")
	}
}

func TestEnsembleFailover(t *testing.T) {
	requireIntegration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	start := time.Now()
	e, err := StartEnsemble(ctx, EnsembleOptions{Nodes: 3})
	require.NoError(t, err)
	defer func() { require.NoError(t, e.Close()); require.NoError(t, e.Close()) }()
	t.Logf("3-node ensemble up in %s: %s", time.Since(start).Round(time.Millisecond), e.ConnectString())
	require.Len(t, e.Servers(), 3)

	leaders := 0
	for i := range 3 {
		m, err := e.Mode(i)
		require.NoError(t, err)
		require.Contains(t, []string{"leader", "follower"}, m)
		if m == "leader" {
			leaders++
		}
	}
	require.Equal(t, 1, leaders, "exactly one leader")
	leader, err := e.Leader()
	require.NoError(t, err)

	// Kill the leader: the two others elect a new one.
	require.NoError(t, e.Kill(leader))
	_, err = e.Mode(leader)
	require.Error(t, err, "killed node must not answer")
	start = time.Now()
	newLeader, err := e.WaitForQuorum(ctx)
	require.NoError(t, err)
	require.NotEqual(t, leader, newLeader)
	t.Logf("leader %d killed, node %d leads after %s", leader, newLeader, time.Since(start).Round(time.Millisecond))

	// The killed node rejoins as a follower.
	require.NoError(t, e.Restart(leader))
	start = time.Now()
	l, err := e.WaitForQuorum(ctx)
	require.NoError(t, err)
	require.Equal(t, newLeader, l)
	m, err := e.Mode(leader)
	require.NoError(t, err)
	require.Equal(t, "follower", m)
	t.Logf("node %d rejoined as follower in %s", leader, time.Since(start).Round(time.Millisecond))

	// A frozen follower answers nothing; the quorum of two keeps serving.
	follower := (newLeader + 1) % 3
	require.NoError(t, e.Freeze(follower))
	_, err = e.Mode(follower)
	require.Error(t, err, "frozen node must not answer")
	l, err = e.WaitForQuorum(ctx)
	require.NoError(t, err)
	require.Equal(t, newLeader, l)
	conn, _, err := zk.Connect([]string{e.Servers()[newLeader]}, 5*time.Second, zk.WithLogInfo(false))
	require.NoError(t, err)
	_, err = conn.Create("/while-frozen", []byte("x"), 0, zk.WorldACL(zk.PermAll))
	conn.Close()
	require.NoError(t, err)

	require.NoError(t, e.Thaw(follower))
	start = time.Now()
	_, err = e.WaitForQuorum(ctx)
	require.NoError(t, err)
	m, err = e.Mode(follower)
	require.NoError(t, err)
	require.Equal(t, "follower", m)
	t.Logf("follower %d thawed and serving after %s", follower, time.Since(start).Round(time.Millisecond))

	// Stop is a graceful SIGTERM.
	require.NoError(t, e.Stop(follower))
	require.Error(t, e.Stop(follower), "stopping a stopped node")
}

func TestTraefikServesRouteFromZooKeeper(t *testing.T) {
	requireIntegration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // may build Traefik
	defer cancel()

	e, err := StartEnsemble(ctx, EnsembleOptions{Nodes: 1})
	require.NoError(t, err)
	defer e.Close()
	m, err := e.Mode(0)
	require.NoError(t, err)
	require.Equal(t, "standalone", m)

	conn, _, err := zk.Connect(e.Servers(), 5*time.Second, zk.WithLogInfo(false))
	require.NoError(t, err)
	defer conn.Close()
	acl := zk.WorldACL(zk.PermAll)
	_, err = conn.Create("/traefik", []byte("true"), 0, acl)
	require.NoError(t, err)

	backend, err := StartBackend("b1")
	require.NoError(t, err)
	defer backend.Close()
	ip, port := backend.Addr()
	require.Equal(t, "127.0.0.1", ip)
	require.NotZero(t, port)

	start := time.Now()
	tr, err := StartTraefik(ctx, TraefikOptions{Endpoints: e.Servers()})
	require.NoError(t, err)
	defer func() {
		require.NoError(t, tr.Close())
		require.NoError(t, tr.Close())
		if t.Failed() {
			t.Logf("Traefik log tail:\n%s", tailFile(tr.LogPath(), 8000))
		}
	}()
	t.Logf("Traefik ready in %s (web %s, api %s)", time.Since(start).Round(time.Millisecond), tr.WebURL(), tr.APIURL())

	live, err := tr.RouterLive(ctx, "r1")
	require.NoError(t, err)
	require.False(t, live)

	dir := func(p string) *zk.CreateRequest {
		return &zk.CreateRequest{Path: p, Data: []byte("true"), Acl: acl}
	}
	leaf := func(p, v string) *zk.CreateRequest {
		return &zk.CreateRequest{Path: p, Data: []byte(v), Acl: acl}
	}
	ops := []any{
		dir("/traefik/http"),
		dir("/traefik/http/routers"),
		dir("/traefik/http/routers/r1"),
		leaf("/traefik/http/routers/r1/rule", "Path(`/a`) || PathPrefix(`/a/`)"),
		leaf("/traefik/http/routers/r1/service", "s1"),
		dir("/traefik/http/services"),
		dir("/traefik/http/services/s1"),
		dir("/traefik/http/services/s1/loadBalancer"),
		dir("/traefik/http/services/s1/loadBalancer/servers"),
		dir("/traefik/http/services/s1/loadBalancer/servers/0"),
		leaf("/traefik/http/services/s1/loadBalancer/servers/0/url", backend.URL()),
		leaf("/traefik/zoe-kick", ""),
		&zk.DeleteRequest{Path: "/traefik/zoe-kick", Version: -1},
	}
	start = time.Now()
	res, err := conn.Multi(ops...)
	require.NoError(t, err)
	for _, r := range res {
		require.NoError(t, r.Error)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	status, body, err := WaitHTTP(wctx, tr.WebURL()+"/a/x", "", func(status int, body string) bool {
		return status == 200
	})
	require.NoError(t, err)
	t.Logf("route served %s after the multi", time.Since(start).Round(time.Millisecond))
	require.Equal(t, 200, status)
	require.Equal(t, "b1 /a/x\n", body)

	live, err = tr.RouterLive(ctx, "r1")
	require.NoError(t, err)
	require.True(t, live)
	exists, _, err := conn.Exists("/traefik/zoe-kick")
	require.NoError(t, err)
	require.False(t, exists, "the kick leaves no znode")
	status, _, err = Get(ctx, tr.WebURL()+"/ab", "")
	require.NoError(t, err)
	require.Equal(t, 404, status, "/ab is not under /a")
	require.True(t, strings.Contains(tr.Logs(), "WatchTree: traefik"))
}

func TestBuildOutputCountsProgress(t *testing.T) {
	var o buildOutput
	// Lines arrive in pieces, as from a pipe.
	for _, chunk := range []string{"go: downloading github.com/a/b v1.0.0\ngo: down", "loading github.com/c/d v2.0.0\n", "github.com/a/b\ngithub.com/c/d/e", "\n"} {
		n, err := o.Write([]byte(chunk))
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
	}
	require.Equal(t, "2 modules downloaded, 2 packages compiled (last: github.com/c/d/e)", o.progress())
	require.Contains(t, string(o.bytes()), "go: downloading github.com/c/d v2.0.0\n")
}
