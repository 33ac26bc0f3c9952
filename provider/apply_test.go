package provider

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// Conflicts: every transaction names the revision's version it planned
// against, so another writer's commit in between makes it fail, and the
// writer re-reads and plans again.
func TestConflictThenReplan(t *testing.T) {
	t.Run("a view older than another writer's commit is reloaded", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		p.applyBatch([]*request{startRequest(t, p, notebookExec("1", "10.0.0.1", 80))})
		require.True(t, p.view.valid)
		store.set(revisionPath, []byte(metaJSON(1, 0))) // another replica committed: version 3
		syncs, conflicts := store.syncs, p.Stats().Conflicts

		r := startRequest(t, p, notebookExec("2", "10.0.0.2", 80))
		from := store.commitCount()
		p.applyBatch([]*request{r})
		res := outcome(t, r)
		require.NoError(t, res.err)
		assert.True(t, res.result.Changed)
		assert.Equal(t, execution.RouterName(res.result.Routes[0].Key, 4), res.result.Routes[0].Traefik.Name, "planned on the reloaded revision")
		txns := store.committed(from)
		require.Len(t, txns, 1)
		assert.Equal(t, set(revisionPath, metaJSON(2, 0), 3), opString(txns[0][0]))
		assert.Equal(t, conflicts+1, p.Stats().Conflicts)
		assert.Equal(t, syncs+1, store.syncs, "the reload syncs first")
	})

	t.Run("another replica started the same execution meanwhile", func(t *testing.T) {
		store := newMemStore()
		a := newTestProvider(t, store)
		b := newTestProvider(t, store)
		// b's view predates a's start.
		b.applyBatch([]*request{stopRequest("0")})
		first := startRequest(t, a, notebookExec("42", "10.0.0.1", 80))
		a.applyBatch([]*request{first})
		won := outcome(t, first)
		require.NoError(t, won.err)

		from := store.commitCount()
		r := startRequest(t, b, notebookExec("42", "10.0.0.1", 80))
		b.applyBatch([]*request{r})
		res := outcome(t, r)
		require.NoError(t, res.err)
		assert.False(t, res.result.Changed, "re-planned against a's record: nothing left to do")
		assert.Equal(t, won.result.Routes, res.result.Routes, "the same router, not a second one")
		assert.Equal(t, [][]string{{opString(zkstore.Check(revisionPath, revisionVersion(t, store)))}}, opStringsOf(store.committed(from)))
	})

	t.Run("a fresh view that loses a race retries", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		var once sync.Once
		store.beforeCommit = func([]zkstore.Op) {
			once.Do(func() { store.set(revisionPath, []byte(metaJSON(0, 0))) })
		}
		r := startRequest(t, p, notebookExec("7", "10.0.0.7", 80))
		p.applyBatch([]*request{r})
		res := outcome(t, r)
		require.NoError(t, res.err)
		assert.True(t, res.result.Changed)
		assert.Equal(t, int64(1), p.Stats().Conflicts)
		assert.Equal(t, int32(3), revisionVersion(t, store))
	})
}

func TestAbandonedRequestIsDropped(t *testing.T) {
	t.Run("before planning", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		gone := startRequest(t, p, notebookExec("1", "10.0.0.1", 80))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		gone.ctx = ctx
		live := startRequest(t, p, notebookExec("2", "10.0.0.2", 80))
		from := store.commitCount()
		p.applyBatch([]*request{gone, live})
		assert.ErrorIs(t, outcome(t, gone).err, context.Canceled)
		require.NoError(t, outcome(t, live).err)
		assert.Len(t, store.committed(from), 1)
		assert.False(t, store.has("/traefik-zk-sidecar/executions/1"), "never written")
		assert.True(t, store.has("/traefik-zk-sidecar/executions/2"))
	})

	t.Run("during a conflict retry", func(t *testing.T) {
		store := newMemStore()
		p := newTestProvider(t, store)
		ctx, cancel := context.WithCancel(context.Background())
		gone := startRequest(t, p, notebookExec("1", "10.0.0.1", 80))
		gone.ctx = ctx
		live := startRequest(t, p, notebookExec("2", "10.0.0.2", 80))
		var once sync.Once
		store.beforeCommit = func([]zkstore.Op) {
			once.Do(func() {
				cancel() // the caller goes while its transaction loses a race
				store.set(revisionPath, []byte(metaJSON(0, 0)))
			})
		}
		p.applyBatch([]*request{gone, live})
		assert.ErrorIs(t, outcome(t, gone).err, context.Canceled)
		require.NoError(t, outcome(t, live).err)
		assert.False(t, store.has("/traefik-zk-sidecar/executions/1"), "not re-planned after its caller left")
		assert.True(t, store.has("/traefik-zk-sidecar/executions/2"))
	})

	t.Run("a caller gone before submitting", func(t *testing.T) {
		p := newTestProvider(t, newMemStore())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := p.StartExecution(ctx, notebookExec("1", "10.0.0.1", 80))
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestBatchSplitBySize(t *testing.T) {
	store := newMemStore()
	probe := newTestProvider(t, newMemStore())
	r := startRequest(t, probe, notebookExec("1", "10.0.0.1", 80))
	one, err := pack(probe.layout, DefaultMaxTxnBytes, probe.view, []*request{r}, []currentRecord{{version: -1}})
	require.NoError(t, err)
	size := 0
	for _, op := range one.ops[1 : len(one.ops)-2] {
		size += op.WireSize()
	}

	p := newTestProvider(t, store, func(c *Config) { c.MaxTxnBytes = size + size/2 })
	batch := []*request{
		startRequest(t, p, notebookExec("1", "10.0.0.1", 80)),
		startRequest(t, p, notebookExec("2", "10.0.0.2", 80)),
		startRequest(t, p, notebookExec("3", "10.0.0.3", 80)),
	}
	from := store.commitCount()
	p.applyBatch(batch)
	assert.Len(t, store.committed(from), 3, "one execution per transaction")
	for i, r := range batch {
		res := outcome(t, r)
		require.NoError(t, res.err, i)
		assert.True(t, res.result.Changed, i)
		assert.Equal(t, execution.RouterName(res.result.Routes[0].Key, int64(2+i)), res.result.Routes[0].Traefik.Name)
	}

	p2 := newTestProvider(t, newMemStore(), func(c *Config) { c.MaxTxnBytes = 3 * size })
	batch = []*request{
		startRequest(t, p2, notebookExec("1", "10.0.0.1", 80)),
		startRequest(t, p2, notebookExec("2", "10.0.0.2", 80)),
	}
	store2 := p2.store.(*memStore)
	from = store2.commitCount()
	p2.applyBatch(batch)
	assert.Len(t, store2.committed(from), 1, "both fit one transaction")
}

func TestExecutionTooLarge(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store, func(c *Config) { c.MaxTxnBytes = 200 })
	big := startRequest(t, p, notebookExec("1", "10.0.0.1", 80))
	nothing := stopRequest("2")
	from := store.commitCount()
	p.applyBatch([]*request{big, nothing})
	err := outcome(t, big).err
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), "execution 1 needs")
	res := outcome(t, nothing)
	require.NoError(t, res.err)
	assert.False(t, res.result.Changed)
	assert.Equal(t, [][]string{{opString(zkstore.Check(revisionPath, 1))}}, opStringsOf(store.committed(from)), "only the check of the answer without a write")
}

func TestUnavailableStoreAnswersEveryRequest(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	p.applyBatch([]*request{stopRequest("0")})
	require.True(t, p.view.valid)
	store.mu.Lock()
	store.down = true
	store.mu.Unlock()
	batch := []*request{startRequest(t, p, notebookExec("1", "10.0.0.1", 80)), stopRequest("2")}
	p.applyBatch(batch)
	for _, r := range batch {
		assert.ErrorIs(t, outcome(t, r).err, zkstore.ErrUnavailable)
	}
	assert.False(t, p.view.valid, "an unknown outcome leaves the view unproven")
	assert.False(t, p.Connected())

	store.mu.Lock()
	store.down = false
	store.mu.Unlock()
	r := startRequest(t, p, notebookExec("1", "10.0.0.1", 80))
	p.applyBatch([]*request{r})
	require.NoError(t, outcome(t, r).err)
	assert.True(t, p.view.valid)
}

func TestCommitFailureIsNotRetried(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	boom := errors.New("boom")
	failing := &failingStore{memStore: store, err: boom}
	p.store, p.commits.store = failing, failing
	r := startRequest(t, p, notebookExec("1", "10.0.0.1", 80))
	p.applyBatch([]*request{r})
	assert.ErrorIs(t, outcome(t, r).err, boom)
	assert.Equal(t, 1, failing.commits)
}

// failingStore fails every transaction with err.
type failingStore struct {
	*memStore
	err     error
	commits int
}

func (f *failingStore) Commit([]zkstore.Op) error { f.commits++; return f.err }

func TestConflictsWithoutEndGiveUp(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	saved := conflictRetries
	conflictRetries.Pause = nil
	t.Cleanup(func() { conflictRetries = saved })
	attempts := 0
	store.beforeCommit = func([]zkstore.Op) {
		attempts++
		store.set(revisionPath, []byte(metaJSON(0, 0))) // another writer always wins
	}
	r := startRequest(t, p, notebookExec("7", "10.0.0.7", 80))
	p.applyBatch([]*request{r})
	assert.ErrorIs(t, outcome(t, r).err, zkstore.ErrConflict)
	assert.Equal(t, maxConflictRetries+1, attempts, "the first try, then the bounded retries")
	assert.False(t, store.has("/traefik-zk-sidecar/executions/7"))
}

func TestNewWriterAndReaderCheckTheirConfiguration(t *testing.T) {
	_, err := NewWriter(newMemStore(), nil, testConfig(t))
	assert.ErrorContains(t, err, "needs the key deriver")

	cfg := testConfig(t)
	cfg.StateRoot = "/traefik/state"
	_, err = NewWriter(newMemStore(), testDeriver(t), cfg)
	assert.ErrorIs(t, err, ErrStateRootInside)
	_, err = NewReader(newMemStore(), "traefik", "/traefik")
	assert.ErrorIs(t, err, ErrStateRootInside)
	_, err = NewReader(newMemStore(), "/", "")
	assert.Error(t, err)

	cfg = testConfig(t)
	cfg.Settings.Routing = "nope"
	_, err = NewWriter(newMemStore(), testDeriver(t), cfg)
	var se *execution.SettingError
	assert.ErrorAs(t, err, &se)
}

func TestStartReturnsStop(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	stop := p.Start(context.Background())
	_, err := p.StartExecution(context.Background(), notebookExec("1", "10.0.0.1", 80))
	require.NoError(t, err)
	stop()
	stop() // harmless
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = p.StartExecution(ctx, notebookExec("2", "10.0.0.2", 80))
	assert.ErrorIs(t, err, context.DeadlineExceeded, "nobody applies it once stopped")
}
