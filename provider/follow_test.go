package provider

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/defaultcert"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/mirror"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// servedRouters decodes the latest snapshot's body into the router names it serves.
func servedRouters(t *testing.T, f *Follower) map[string]string {
	t.Helper()
	snap := f.Snapshot()
	require.NotNil(t, snap)
	body, _, err := snap.Body()
	require.NoError(t, err)
	var cfg kvschema.Configuration
	require.NoError(t, json.Unmarshal(body, &cfg))
	out := map[string]string{}
	for name, r := range cfg.HTTP.Routers {
		out[name] = r.Rule
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), what)
		time.Sleep(time.Millisecond)
	}
}

// The follower loads once, then applies each transaction's change record.
func TestFollowerFollowsChangeRecords(t *testing.T) {
	store := newMemStore()
	static := kvschema.Route{Name: "zsc-static-zoe-ui", Rule: "PathPrefix(`/zoe`)", Backend: "http://10.0.0.9:5001"}
	p := newTestProvider(t, store, func(c *Config) { c.StaticRoutes = []kvschema.Route{static} })
	runWriter(t, p)
	ctx := context.Background()
	before, err := p.StartExecution(ctx, notebookExec("41", "10.1.2.3", 32000))
	require.NoError(t, err)

	bell := &memBell{m: store}
	f := NewFollower(p.Reader, bell, p.log)
	f.poll, f.fallback = time.Hour, time.Hour // only the bell can tell the follower of a change
	assert.Equal(t, time.Duration(-1), f.Age(), "nothing loaded yet")
	t.Cleanup(f.Start(ctx))
	eventually(t, "first load", func() bool { return f.Snapshot() != nil })
	routers := servedRouters(t, f)
	assert.Contains(t, routers, before.Routes[0].Traefik.Name, "an execution recorded before the start")
	assert.Contains(t, routers, static.Name, "the static route")

	res, err := p.StartExecution(ctx, notebookExec("42", "10.1.2.4", 32768))
	require.NoError(t, err)
	name := res.Routes[0].Traefik.Name
	eventually(t, "the started route in the mirror", func() bool { _, ok := servedRouters(t, f)[name]; return ok })
	assert.Equal(t, res.Routes[0].Traefik.Rule, servedRouters(t, f)[name])
	assert.Equal(t, int64(revisionVersion(t, store)), f.Revision())

	_, err = p.StopExecution(ctx, "42")
	require.NoError(t, err)
	eventually(t, "the stopped route gone", func() bool { _, ok := servedRouters(t, f)[name]; return !ok })
	stats := f.Stats()
	assert.Equal(t, FollowerStats{FullLoads: 1, Records: 2, Rings: stats.Rings}, stats, "one load, then the two records only")
	assert.GreaterOrEqual(t, stats.Rings, int64(2), "rung by each commit")
	eventually(t, "in step", func() bool { return f.Age() == 0 })

	// ZooKeeper away: the last mirror stays, its age grows.
	store.mu.Lock()
	store.down = true
	store.mu.Unlock()
	eventually(t, "age grows", func() bool { return f.Age() > 10*time.Millisecond })
	assert.Contains(t, servedRouters(t, f), before.Routes[0].Traefik.Name)
}

// While every read of the revision succeeds, the mirror is in step at
// every instant, the reads themselves included: Age, and the
// zk_sidecar_mirror_age_seconds gauge and /readyz built on it, say zero.
func TestFollowerAgeStaysZeroWhileFollowing(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	runWriter(t, p)
	f := NewFollower(p.Reader, nil, p.log)
	t.Cleanup(f.Start(context.Background()))
	eventually(t, "in step", func() bool { return f.Age() == 0 })

	store.mu.Lock()
	store.getDelay = 5 * time.Millisecond // each poll's read takes a round trip
	store.mu.Unlock()
	var nonZero []time.Duration
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(500 * time.Microsecond) {
		if age := f.Age(); age != 0 {
			nonZero = append(nonZero, age)
		}
	}
	assert.Empty(t, nonZero, "ages read while the follower kept reading the revision")
}

// Without a bell that can be armed, the follower polls; a bell whose
// connection dropped rings without a change, and the follower re-reads and
// arms it again; a bell that saw a newer revision than the store reads
// makes the store's server catch up (Sync) before the follower waits.
func TestFollowerBell(t *testing.T) {
	ctx := context.Background()
	inMirror := func(t *testing.T, f *Follower, p *Writer, id string) {
		t.Helper()
		eventually(t, "first load", func() bool { return f.Snapshot() != nil })
		res, err := p.StartExecution(ctx, notebookExec(id, "10.1.2.3", 32000))
		require.NoError(t, err)
		name := res.Routes[0].Traefik.Name
		eventually(t, "route "+id+" in the mirror", func() bool { _, ok := servedRouters(t, f)[name]; return ok })
	}

	t.Run("unavailable: the follower polls", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		runWriter(t, p)
		bell := &memBell{m: store, unavailable: true}
		f := NewFollower(p.Reader, bell, p.log)
		f.fallback = time.Hour
		t.Cleanup(f.Start(ctx))
		inMirror(t, f, p, "1")
		assert.Zero(t, f.Stats().Rings)
	})

	t.Run("connection dropped: rung, re-armed, still followed", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		runWriter(t, p)
		bell := &memBell{m: store}
		f := NewFollower(p.Reader, bell, p.log)
		f.poll, f.fallback = time.Hour, time.Hour
		t.Cleanup(f.Start(ctx))
		eventually(t, "armed", func() bool { return bell.armed() == 1 })
		bell.breakOff()
		eventually(t, "armed again", func() bool { return bell.armed() == 2 })
		assert.Equal(t, FollowerStats{FullLoads: 1, Rings: 1}, f.Stats(), "a ring without a change reads no record")
		inMirror(t, f, p, "2")
	})

	t.Run("bell ahead of the store: the store syncs", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		f := NewFollower(p.Reader, aheadBell{}, p.log)
		require.NoError(t, f.fullLoad())
		syncs := store.syncs
		ctx, cancel := context.WithCancel(ctx)
		cancel() // one step, no wait
		require.NoError(t, f.step(ctx))
		assert.Equal(t, syncs+1, store.syncs)
	})
}

// aheadBell has seen a revision no store has yet, and never rings.
type aheadBell struct{}

func (aheadBell) Arm(string) (int32, <-chan struct{}, error) {
	return 1 << 30, make(chan struct{}), nil
}

// A mirror further behind than the records kept loads everything again;
// one that lacks only kept records reads just those.
func TestFollowerCatchUp(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	runWriter(t, p)
	ctx := context.Background()
	f := NewFollower(p.Reader, nil, p.log)
	require.NoError(t, f.fullLoad())

	var names []string
	for _, id := range []string{"1", "2", "3"} {
		res, err := p.StartExecution(ctx, notebookExec(id, "10.1.2.3", 32000))
		require.NoError(t, err)
		names = append(names, res.Routes[0].Traefik.Name)
	}
	current := int64(revisionVersion(t, store))
	require.NoError(t, f.catchUp(current))
	assert.Equal(t, FollowerStats{FullLoads: 1, Records: 3}, f.Stats())
	for _, n := range names {
		assert.Contains(t, servedRouters(t, f), n)
	}

	_, err := p.StopExecution(ctx, "2")
	require.NoError(t, err)
	res, err := p.StartExecution(ctx, notebookExec("4", "10.1.2.3", 32000))
	require.NoError(t, err)
	// The garbage collector trimmed the stop's record.
	require.NoError(t, store.Commit([]zkstore.Op{zkstore.Delete(p.layout.changePath(current+1), zkstore.AnyVersion)}))
	require.NoError(t, f.catchUp(int64(revisionVersion(t, store))))
	assert.Equal(t, int64(2), f.Stats().FullLoads, "a missing record means a full load")
	routers := servedRouters(t, f)
	assert.NotContains(t, routers, names[1])
	assert.Contains(t, routers, res.Routes[0].Traefik.Name)
	assert.Equal(t, int64(revisionVersion(t, store)), f.Revision())
}

// The garbage collector keeps the latest change records only.
func TestTrimChanges(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	runWriter(t, p)
	for i := range changesKept + 5 {
		_, err := p.StartExecution(context.Background(), notebookExec(strconv.Itoa(1000+i), "10.1.2.3", 32000))
		require.NoError(t, err)
	}
	n, err := p.gc.trimChanges()
	require.NoError(t, err)
	names, err := store.Children(p.layout.changesPath())
	require.NoError(t, err)
	assert.Len(t, names, changesKept)
	assert.Equal(t, 6, n, "Init's record and the first five starts'")
	current := int64(revisionVersion(t, store))
	assert.True(t, store.has(p.layout.changePath(current)))
	assert.True(t, store.has(p.layout.changePath(current-changesKept+1)))
	assert.False(t, store.has(p.layout.changePath(current-changesKept)))
}

// The first replica started with a default certificate generates it into
// ZooKeeper; the others use that one, and the mirror serves it in
// Traefik's default TLS store.
func TestDefaultCertificate(t *testing.T) {
	store := newMemStore()
	withCert := func(c *Config) { c.DefaultCertificate = true }
	a := newTestProvider(t, store, withCert)
	cert, err := a.readDefaultCertificate()
	require.NoError(t, err)
	pair, err := tls.X509KeyPair([]byte(cert.Cert), []byte(cert.Key))
	require.NoError(t, err)
	assert.Equal(t, defaultcert.CommonName, pair.Leaf.Subject.CommonName)
	first := store.committed(0)[0]
	assert.Contains(t, opStrings(first), opString(zkstore.Create(a.layout.defaultCertificatePath(), []byte(mustJSON(t, cert)))),
		"created in Init's transaction")

	commits := store.commitCount()
	b := newTestProvider(t, store, withCert)
	assert.Equal(t, commits, store.commitCount(), "a second replica finds everything in place")
	again, err := b.readDefaultCertificate()
	require.NoError(t, err)
	assert.Equal(t, cert, again)

	body := func(p *Writer) string {
		f := NewFollower(p.Reader, nil, p.log)
		f.DefaultCertificate = p.cfg.DefaultCertificate
		require.NoError(t, f.fullLoad())
		data, _, err := f.Snapshot().Body()
		require.NoError(t, err)
		return string(data)
	}
	var doc mirror.Document
	require.NoError(t, json.Unmarshal([]byte(body(b)), &doc))
	require.NotNil(t, doc.TLS)
	assert.Equal(t, &mirror.Certificate{CertFile: cert.Cert, KeyFile: cert.Key}, doc.TLS.Stores[mirror.DefaultStore].DefaultCertificate)

	// A replica without the setting serves no default store (an
	// operator's own, defined elsewhere, must not be doubled).
	plain := newTestProvider(t, store)
	require.NoError(t, json.Unmarshal([]byte(body(plain)), &doc))
	assert.NotContains(t, body(plain), cert.Cert[:40])
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}
