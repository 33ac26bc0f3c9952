package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// env is what every test shares: one 3-node ensemble and one Traefik
// watching the root key "traefik". Tests that need a tree of their own
// start another Traefik on another root key of the same ensemble.
var env struct {
	enabled bool
	// external is true when the ensemble and Traefik were started
	// elsewhere (ZK_SIDECAR_ZK_ENDPOINTS etc.); ensemble is nil then.
	external bool
	ensemble *harness.Ensemble
	servers  []string
	traefik  *harness.Traefik
}

const sharedRoot = "traefik"

// External mode: run the suite against an ensemble and a Traefik started
// elsewhere, e.g. `docker compose up -d` or `go run ./integration/cmd/stack`.
const (
	envZKEndpoints = "ZK_SIDECAR_ZK_ENDPOINTS"    // host:port,host:port,...
	envTraefikWeb  = "ZK_SIDECAR_TRAEFIK_URL"     // Traefik's web entrypoint
	envTraefikAPI  = "ZK_SIDECAR_TRAEFIK_API_URL" // Traefik's API; its rootKey must be "traefik"
)

func TestMain(m *testing.M) {
	env.enabled = os.Getenv("ZK_SIDECAR_INTEGRATION") == "1"
	if !env.enabled {
		os.Exit(m.Run())
	}
	code, err := runWithEnvironment(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration environment:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithEnvironment(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if endpoints := os.Getenv(envZKEndpoints); endpoints != "" {
		return runExternal(m, endpoints)
	}
	if err := harness.EnsureZooKeeper(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 3})
	if err != nil {
		return 0, err
	}
	defer ens.Close()
	env.ensemble, env.servers = ens, ens.Servers()
	leader, _ := ens.Leader()
	fmt.Printf("integration: ZooKeeper ensemble of 3 nodes %s up in %s (leader: node %d)\n",
		strings.Join(env.servers, ","), time.Since(start).Round(time.Millisecond), leader)

	if err := ensureRoot(sharedRoot); err != nil {
		return 0, err
	}
	start = time.Now()
	tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{Endpoints: env.servers, RootKey: sharedRoot})
	if err != nil {
		return 0, err
	}
	defer tr.Close()
	env.traefik = tr
	fmt.Printf("integration: Traefik %s (pid %d) web %s api %s ready in %s\n",
		harness.TraefikVersion, tr.Pid(), tr.WebURL(), tr.APIURL(), time.Since(start).Round(time.Millisecond))
	return m.Run(), nil
}

func runExternal(m *testing.M, endpoints string) (int, error) {
	web, api := os.Getenv(envTraefikWeb), os.Getenv(envTraefikAPI)
	if web == "" || api == "" {
		return 0, fmt.Errorf("%s is set: also set %s and %s", envZKEndpoints, envTraefikWeb, envTraefikAPI)
	}
	env.external = true
	env.servers = strings.Split(endpoints, ",")
	if err := ensureRoot(sharedRoot); err != nil {
		return 0, err
	}
	env.traefik = harness.ExternalTraefik(web, api)
	fmt.Printf("integration: external ZooKeeper %s and Traefik %s (API %s); tests that kill nodes or start their own Traefik are skipped\n",
		endpoints, web, api)
	return m.Run(), nil
}

// requireOwnStack skips a test that controls the ensemble's processes or
// starts Traefiks of its own, which external mode cannot do.
func requireOwnStack(t *testing.T) {
	t.Helper()
	requireEnv(t)
	if env.external {
		t.Skip("needs the harness's own ZooKeeper and Traefik processes; skipped against an external stack")
	}
}

// requireEnv skips a test outside `make test`.
func requireEnv(t *testing.T) {
	t.Helper()
	if !env.enabled {
		t.Skip("integration test: set ZK_SIDECAR_INTEGRATION=1 (make test does) to run it against real ZooKeeper and Traefik")
	}
}

// ensureRoot creates a Traefik root key before a Traefik watches it.
func ensureRoot(root string) error { return ensureRootOn(env.servers, root) }

// ensureRootOn is ensureRoot on another ensemble's servers.
func ensureRootOn(servers []string, root string) error {
	conn, _, err := zk.Connect(servers, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Create("/"+root, []byte("true"), 0, zk.WorldACL(zk.PermAll))
	if err != nil && err != zk.ErrNodeExists {
		return fmt.Errorf("create /%s: %w", root, err)
	}
	return nil
}

// connect opens a raw ZooKeeper session for the test.
func connect(t *testing.T) *zk.Conn {
	t.Helper()
	return connectWith(t, env.servers, net.DialTimeout)
}

// connectWith opens a raw ZooKeeper session to servers through dial and
// waits for it; it ends with the test.
func connectWith(t *testing.T, servers []string, dial zk.Dialer) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect(servers, 10*time.Second, zk.WithLogInfo(false), zk.WithDialer(dial))
	require.NoError(t, err)
	t.Cleanup(conn.Close)
	deadline := time.Now().Add(20 * time.Second)
	for conn.State() != zk.StateHasSession {
		require.True(t, time.Now().Before(deadline), "no ZooKeeper session with %v", servers)
		time.Sleep(20 * time.Millisecond)
	}
	return conn
}

// syncZK makes conn's server catch up with the leader. ZooKeeper lets a
// follower answer reads before it has applied writes that another client
// (the sidecar) already saw committed, so a check that follows the
// sidecar's answer syncs first.
func syncZK(t *testing.T, conn *zk.Conn) {
	t.Helper()
	_, err := conn.Sync("/")
	require.NoError(t, err)
}

// startTraefik starts a Traefik of the test's own on another root key.
func startTraefik(t *testing.T, root string) *harness.Traefik {
	t.Helper()
	requireOwnStack(t)
	require.NoError(t, ensureRoot(root))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{Endpoints: env.servers, RootKey: root})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Traefik log tail:\n%s", tail(tr.Logs(), 3000))
		}
		_ = tr.Close()
	})
	return tr
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// waitBody waits until url answers 200 with a body that starts with want.
func waitBody(t *testing.T, url, host, want string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, _, err := harness.WaitHTTP(ctx, url, host, func(status int, body string) bool {
		return status == 200 && strings.HasPrefix(body, want)
	})
	require.NoError(t, err)
}

// waitStatus waits until url answers with status.
func waitStatus(t *testing.T, url, host string, status int, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, _, err := harness.WaitHTTP(ctx, url, host, func(s int, _ string) bool { return s == status })
	require.NoError(t, err)
}
