package provider

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Result.Removed lists what a change tombstoned, as it was before, so that
// ?wait can check that Traefik no longer routes it.
func TestResultRemoved(t *testing.T) {
	store := newMemStore()
	p := newTestProvider(t, store)
	runWriter(t, p)
	ctx := context.Background()

	first, err := p.StartExecution(ctx, notebookExec("42", "10.1.2.3", 32768))
	require.NoError(t, err)
	assert.Empty(t, first.Removed, "a create removes nothing")

	moved, err := p.StartExecution(ctx, notebookExec("42", "10.1.2.4", 32768))
	require.NoError(t, err)
	assert.Empty(t, moved.Removed, "an update in place keeps its router")
	assert.Equal(t, first.Routes[0].Traefik.Name, moved.Routes[0].Traefik.Name)

	stripped := notebookExec("42", "10.1.2.4", 32768)
	stripped.Services[0].Ports[0].StripPrefix = true
	replaced, err := p.StartExecution(ctx, stripped)
	require.NoError(t, err)
	require.Len(t, replaced.Removed, 1, "a change of shape replaces the router")
	assert.Equal(t, moved.Routes[0], replaced.Removed[0], "the old route as it was, live rule included")
	assert.NotEqual(t, moved.Routes[0].Traefik.Name, replaced.Routes[0].Traefik.Name)

	stopped, err := p.StopExecution(ctx, "42")
	require.NoError(t, err)
	assert.Equal(t, replaced.Routes, stopped.Routes)
	assert.Equal(t, stopped.Routes, stopped.Removed)
}
