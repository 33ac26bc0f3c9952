package integration

// ZooKeeper digest authentication and ACLs end to end: the real
// sidecar binary with --zk-user/--zk-password and a reader identity for
// Traefik, a Traefik of its own that reads the tree with that identity, and
// raw ZooKeeper clients showing what anyone else can and cannot do.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

const (
	aclRoot      = "aclroot"
	aclStateRoot = "/acl-state"
	aclUser      = "sidecar"
	aclPassword  = "s3cret"
	aclReader    = "traefik"
	aclReaderPW  = "r3ad"
)

// connectAs opens a ZooKeeper session authenticated with digest user:password
// (none when user is empty).
func connectAs(t *testing.T, user, password string) *zk.Conn {
	t.Helper()
	conn := connect(t)
	if user != "" {
		require.NoError(t, conn.AddAuth("digest", []byte(user+":"+password)))
	}
	return conn
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// aclOp runs one ZooKeeper call and returns its error.
type aclOp struct {
	name string
	run  func(c *zk.Conn, path string) error
}

var (
	aclGet = aclOp{"get", func(c *zk.Conn, p string) error { _, _, err := c.Get(p); return err }}
	aclLs  = aclOp{"children", func(c *zk.Conn, p string) error { _, _, err := c.Children(p); return err }}
	aclSet = aclOp{"set", func(c *zk.Conn, p string) error {
		_, err := c.Set(p, []byte("Path(`/`) || Host(`evil.example`)"), -1)
		return err
	}}
	aclDelete = aclOp{"delete", func(c *zk.Conn, p string) error { return c.Delete(p, -1) }}
	aclCreate = aclOp{"create under", func(c *zk.Conn, p string) error {
		_, err := c.Create(p+"/http-evil", []byte("true"), 0, zk.WorldACL(zk.PermAll))
		return err
	}}
)

func TestACLDigestAuth(t *testing.T) {
	requireEnv(t)
	a := startBackend(t, "A")
	_, aPort := a.Addr()

	// The sidecar first: its Init creates the root znode (with its ACL),
	// and Traefik's provider cannot watch a root that does not exist.
	sc := runSidecar(t, harness.SidecarOptions{
		Servers:   env.servers,
		RootKey:   aclRoot,
		StateRoot: aclStateRoot,
		KeySecret: "acl-key-secret-0123456789abcdef",
		Args: []string{"--log-level=debug",
			"--zk-user=" + aclUser, "--zk-password=" + aclPassword,
			"--zk-reader-user=" + aclReader, "--zk-reader-password=" + aclReaderPW},
	})

	owner := connectAs(t, aclUser, aclPassword)
	reader := connectAs(t, aclReader, aclReaderPW)
	wrongPW := connectAs(t, aclReader, "wrong")
	anonymous := connectAs(t, "", "")

	wantACL := append(zk.DigestACL(zk.PermAll, aclUser, aclPassword), zk.DigestACL(zk.PermRead, aclReader, aclReaderPW)...)
	t.Logf("zk.DigestACL: %+v (id = user:base64(sha1(user:password)), as ZooKeeper's DigestAuthenticationProvider computes it)", wantACL)

	apiStep(t, "the root and the state root carry the digest ACL", func(t *testing.T) {
		for _, p := range []string{"/" + aclRoot, aclStateRoot, aclStateRoot + "/revision", "/" + aclRoot + "/http/routers/zsc-sentinel/rule"} {
			acl, _, err := owner.GetACL(p)
			require.NoError(t, err, p)
			assert.ElementsMatch(t, wantACL, acl, p)
		}
	})

	// Traefik with the reader's credentials on the sidecar's root.
	tctx, tcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer tcancel()
	tr, err := harness.StartTraefik(tctx, harness.TraefikOptions{
		Endpoints: env.servers, RootKey: aclRoot, Username: aclReader, Password: aclReaderPW,
	})
	require.NoError(t, err, "Traefik with digest credentials %s:… on a root only that identity may read", aclReader)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Traefik log tail:\n%s", tail(tr.Logs(), 4000))
		}
		_ = tr.Close()
	})

	var route apiRoute
	apiStep(t, "start is served through the authenticated Traefik", func(t *testing.T) {
		r := sc.post("/v1/hooks", apiIssueHook("start", `"42"`, aPort))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		require.Len(t, got.Routes, 1)
		route = got.Routes[0]
		waitBody(t, tr.WebURL()+route.Path+"/", "", "A "+route.Path+"/", 30*time.Second)
		live, err := tr.RouterLive(context.Background(), route.Router)
		require.NoError(t, err)
		assert.True(t, live)
	})

	ruleZ := "/" + aclRoot + "/http/routers/" + route.Router + "/rule"
	serverZ := "/" + aclRoot + "/http/services/" + route.Router + "/loadBalancer/servers/0/url"
	recordZ := aclStateRoot + "/executions/42"
	for _, c := range []*zk.Conn{owner, reader, wrongPW, anonymous} {
		syncZK(t, c)
	}
	rule, _, err := owner.Get(ruleZ)
	require.NoError(t, err)
	require.Contains(t, string(rule), route.Path)

	apiStep(t, "znodes the sidecar created carry the digest ACL", func(t *testing.T) {
		for _, p := range []string{ruleZ, serverZ, recordZ, "/" + aclRoot + "/http/routers/" + route.Router} {
			acl, _, err := owner.GetACL(p)
			require.NoError(t, err, p)
			assert.ElementsMatch(t, wantACL, acl, p)
		}
	})

	type expect struct {
		who  string
		conn *zk.Conn
		op   aclOp
		ok   bool // otherwise zk.ErrNoAuth
	}
	var checks []expect
	for _, c := range []struct {
		who  string
		conn *zk.Conn
		read bool
	}{{"anonymous", anonymous, false}, {"traefik:wrong", wrongPW, false}, {"traefik:r3ad", reader, true}} {
		checks = append(checks,
			expect{c.who, c.conn, aclGet, c.read},
			expect{c.who, c.conn, aclLs, c.read},
			expect{c.who, c.conn, aclSet, false},
			expect{c.who, c.conn, aclCreate, false},
			expect{c.who, c.conn, aclDelete, false},
		)
	}
	apiStep(t, "nobody but the sidecar writes; only the reader reads", func(t *testing.T) {
		for _, p := range []string{ruleZ, serverZ, recordZ, aclStateRoot + "/revision", "/" + aclRoot} {
			for _, c := range checks {
				if c.op.name == "delete" && p == "/"+aclRoot {
					continue // has children; its parent "/" is world-writable anyway
				}
				err := c.op.run(c.conn, p)
				if c.ok {
					assert.NoError(t, err, "%s %s %s", c.who, c.op.name, p)
				} else {
					assert.True(t, errors.Is(err, zk.ErrNoAuth), "%s %s %s: want ErrNoAuth, got %v", c.who, c.op.name, p, err)
				}
			}
		}
		// The reader reads exactly what the sidecar wrote.
		got, _, err := reader.Get(ruleZ)
		require.NoError(t, err)
		assert.Equal(t, string(rule), string(got))
		var rec map[string]any
		data, _, err := reader.Get(recordZ)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &rec))
		// Nothing changed: the rule and the route still serve.
		after, _, err := owner.Get(ruleZ)
		require.NoError(t, err)
		assert.Equal(t, string(rule), string(after))
		waitBody(t, tr.WebURL()+route.Path+"/", "", "A "+route.Path+"/", 10*time.Second)
		ok, _, err := owner.Exists("/" + aclRoot + "/http-evil")
		require.NoError(t, err)
		assert.False(t, ok)
	})

	apiStep(t, "a Traefik without credentials reads nothing", func(t *testing.T) {
		var out lockedBuffer
		nctx, ncancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer ncancel()
		nt, err := harness.StartTraefik(nctx, harness.TraefikOptions{Endpoints: env.servers, RootKey: aclRoot, Log: &out})
		if err == nil {
			_ = nt.Close()
			t.Fatal("Traefik without credentials became ready on a root it may not read")
		}
		var provider []string
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.Contains(line, "> List: ") || strings.Contains(line, "> WatchTree: ") ||
				(strings.Contains(line, " ERR ") && strings.Contains(line, "providerName=zookeeper")) {
				provider = append(provider, line[strings.Index(line, "> ")+2:])
			}
		}
		t.Logf("Traefik without credentials, its ZooKeeper provider's log lines:\n%s", tail(strings.Join(provider, "\n"), 3000))
		assert.Contains(t, out.String(), "Cannot build the configuration error=\"zk: not authenticated\"", "its first List is refused")
		received := func(log string) bool {
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, "> Configuration received") && strings.Contains(line, "providerName=zookeeper") {
					return true
				}
			}
			return false
		}
		assert.False(t, received(out.String()), "it received no configuration from ZooKeeper")
		assert.True(t, received(tr.Logs()), "(the authenticated Traefik did)")
	})

	apiStep(t, "stop makes the route 404 through the authenticated Traefik", func(t *testing.T) {
		r := sc.post("/v1/hooks", apiStop("42"))
		require.Equal(t, http.StatusOK, r.status, r)
		got := apiDecode[apiHookReply](t, r)
		require.Len(t, got.Routes, 1)
		waitStatus(t, tr.WebURL()+route.Path+"/", "", http.StatusNotFound, 30*time.Second)
		// The tombstone is still the sidecar's only.
		assert.True(t, errors.Is(aclSet.run(reader, ruleZ), zk.ErrNoAuth))
		assert.True(t, errors.Is(aclGet.run(anonymous, ruleZ), zk.ErrNoAuth))
	})

	logs := sc.Logs()
	for _, secret := range []string{aclPassword, aclReaderPW} {
		assert.NotContains(t, logs, "="+secret, "the sidecar logged a ZooKeeper password")
		assert.NotContains(t, logs, `"`+secret+`"`, "the sidecar logged a ZooKeeper password")
	}
	assert.NotContains(t, tr.Logs(), aclReaderPW, "Traefik logged its ZooKeeper password")
}
