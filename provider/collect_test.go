package provider

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// withTombstones starts and stops executions, leaving one tombstone each.
func withTombstones(t *testing.T, p *Writer, ids ...string) []string {
	t.Helper()
	var names []string
	for _, id := range ids {
		r := startRequest(t, p, notebookExec(id, "10.0.0.1", 80))
		p.applyBatch([]*request{r})
		res := outcome(t, r)
		require.NoError(t, res.err)
		names = append(names, res.result.Routes[0].Traefik.Name)
		stop := stopRequest(id)
		p.applyBatch([]*request{stop})
		require.NoError(t, outcome(t, stop).err)
	}
	return names
}

func routeZnodes(name string) []string {
	return []string{"/traefik/http/routers/" + name, "/traefik/http/services/" + name, "/traefik-zk-sidecar/tombstones/" + name}
}

func TestCollectDecisions(t *testing.T) {
	always := func(state.Meta) time.Duration { return 0 }
	never := func(state.Meta) time.Duration { return time.Hour }

	t.Run("not quiet: nothing deleted", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		names := withTombstones(t, p, "1")
		from := store.commitCount()
		var q quietTracker
		n, err := p.gc.collectIfQuiet(&q, never)
		require.NoError(t, err)
		assert.Zero(t, n)
		assert.Equal(t, from, store.commitCount())
		for _, z := range routeZnodes(names[0]) {
			assert.True(t, store.has(z), z)
		}
	})

	t.Run("quiet: the tombstoned routes go in one transaction with the revision and a kick", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		names := withTombstones(t, p, "1", "2")
		version := revisionVersion(t, store)
		from := store.commitCount()
		var q quietTracker
		n, err := p.gc.collectIfQuiet(&q, always)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		txns := store.committed(from)
		require.Len(t, txns, 1)
		ops := opStrings(txns[0])
		assert.Equal(t, set(revisionPath, metaJSON(0, 0), version), ops[0])
		assert.Equal(t, kickStrings(int(version)+1), ops[len(ops)-2:])
		for _, name := range names {
			for _, z := range routeZnodes(name) {
				assert.False(t, store.has(z), z)
			}
		}
		assert.True(t, store.has("/traefik/http/routers/zsc-sentinel"), "the sentinel stays")
		assert.Equal(t, int64(2), p.Stats().GCDeleted)
		assert.False(t, q.seen, "its own commit restarts the quiet clock")

		n, err = p.gc.collectIfQuiet(&q, always)
		require.NoError(t, err)
		assert.Zero(t, n, "nothing left")
	})

	t.Run("a route still running is never collected", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		withTombstones(t, p, "1")
		live := startRequest(t, p, notebookExec("2", "10.0.0.2", 80))
		p.applyBatch([]*request{live})
		res := outcome(t, live)
		require.NoError(t, res.err)
		var q quietTracker
		_, err := p.gc.collectIfQuiet(&q, always)
		require.NoError(t, err)
		assert.True(t, store.has("/traefik/http/routers/"+res.result.Routes[0].Traefik.Name+"/rule"))
		assert.True(t, store.has("/traefik-zk-sidecar/executions/2"))
	})

	t.Run("as many as fit one transaction", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		withTombstones(t, p, "1", "2", "3")
		p.gc.maxTxnBytes = 1 // every route alone is over the limit: one per pass
		var q quietTracker
		for want := 3; want > 0; want-- {
			n, err := p.gc.collectIfQuiet(&q, always)
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			meta, err := p.Meta()
			require.NoError(t, err)
			assert.Equal(t, want-1, meta.Tombstones)
		}
	})

	t.Run("a writer committing meanwhile makes it a conflict", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		names := withTombstones(t, p, "1")
		store.beforeCommit = func([]zkstore.Op) { store.set(revisionPath, []byte(metaJSON(0, 1))) }
		var q quietTracker
		_, err := p.gc.collectIfQuiet(&q, always)
		assert.ErrorIs(t, err, zkstore.ErrConflict)
		assert.True(t, store.has(routeZnodes(names[0])[0]))
	})
}

func TestCollectGarbageWaitsForQuiet(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	names := withTombstones(t, p, "1")
	n, err := p.CollectGarbage(context.Background(), time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.False(t, store.has(routeZnodes(names[0])[0]))

	withTombstones(t, p, "2")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.CollectGarbage(ctx, time.Hour)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestWriterRunsTheCollector(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store, func(c *Config) {
		c.GCInterval = 5 * time.Millisecond
		c.GCQuietWindow = time.Millisecond
	})
	names := withTombstones(t, p, "1")
	runWriter(t, p)
	assert.Eventually(t, func() bool { return !store.has(routeZnodes(names[0])[0]) }, 5*time.Second, 5*time.Millisecond)
}
