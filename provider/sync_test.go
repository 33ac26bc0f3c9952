package provider

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

func TestSync(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	runWriter(t, p)
	ctx := context.Background()
	_, err := p.StartExecution(ctx, notebookExec("old", "10.0.0.1", 80))
	require.NoError(t, err)
	kept, err := p.StartExecution(ctx, notebookExec("kept", "10.0.0.2", 80))
	require.NoError(t, err)

	running := []execution.Execution{*notebookExec("kept", "10.0.0.2", 80), *notebookExec("new", "10.0.0.3", 80)}
	from, syncs := store.commitCount(), store.syncs
	dry, err := p.Sync(ctx, running, true)
	require.NoError(t, err)
	assert.Equal(t, from, store.commitCount(), "a dry run writes nothing")
	assert.Equal(t, syncs+1, store.syncs, "the records are read after a sync: what another replica committed is seen")
	require.Len(t, dry.Plans, 2, "an unchanged execution has no plan")
	assert.Len(t, dry.Plans["new"].Create, 1)
	assert.Len(t, dry.Plans["old"].Delete, 1)

	applied, err := p.Sync(ctx, running, false)
	require.NoError(t, err)
	assert.Equal(t, dry, applied)
	routes, err := p.Routes()
	require.NoError(t, err)
	var ids []string
	for _, r := range routes {
		ids = append(ids, r.ExecutionID)
	}
	assert.Equal(t, []string{"kept", "new"}, ids, "sorted, the unlisted one stopped")
	rec, err := p.Execution("kept")
	require.NoError(t, err)
	assert.Equal(t, kept.Routes, rec.Routes, "untouched")

	again, err := p.Sync(ctx, running, false)
	require.NoError(t, err)
	assert.Equal(t, map[string]plan.Plan{}, again.Plans, "nothing left to do")
}

func TestSyncRefusesBadInputBeforeReading(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	store.down = true // nothing may be read before the input is checked
	bad := *notebookExec("2", "10.0.0.2", 0)
	for _, tc := range []struct {
		name  string
		execs []execution.Execution
		field string
	}{
		{"a port of the second execution", []execution.Execution{*notebookExec("1", "10.0.0.1", 80), bad}, "executions[1].services[0].ports[0].external_port"},
		{"a repeated id", []execution.Execution{*notebookExec("1", "10.0.0.1", 80), *notebookExec("1", "10.0.0.1", 80)}, "executions[1].id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Sync(context.Background(), tc.execs, true)
			var fe *execution.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
		})
	}
}

func TestReads(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	runWriter(t, p)
	res, err := p.StartExecution(context.Background(), notebookExec("42", "10.0.0.1", 80))
	require.NoError(t, err)

	syncs := store.syncs
	rec, err := p.Execution("42")
	require.NoError(t, err)
	assert.Equal(t, &state.Execution{ID: "42", Routes: res.Routes, Revision: 2}, rec)
	assert.Equal(t, syncs+1, store.syncs, "a read syncs first")

	rec, err = p.Execution("43")
	require.NoError(t, err)
	assert.Nil(t, rec)

	_, err = p.Execution("a/b")
	var fe *execution.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "id", fe.Field)

	_, err = p.StopExecution(context.Background(), "a/b")
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "execution.id", fe.Field)

	meta, err := p.Meta()
	require.NoError(t, err)
	assert.Equal(t, state.Meta{Routes: 1}, meta)
	assert.True(t, p.Connected())

	prepared, err := p.Prepare(notebookExec("42", "", 0))
	require.NoError(t, err)
	require.Len(t, prepared, 1)
	assert.Equal(t, res.Routes[0].Path, prepared[0].Path, "prepare answers the path start will publish")
	assert.Empty(t, prepared[0].Traefik.Backend)
}

func TestReadsOfAnEmptyStore(t *testing.T) {
	p, err := NewReader(newMemStore(), "traefik", "")
	require.NoError(t, err)
	routes, err := p.Routes()
	require.NoError(t, err)
	assert.Empty(t, routes, "nothing written yet is no routes, not an error")
}
