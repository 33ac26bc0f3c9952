package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// TestHostRoutingCaseNeverSharesAHost: host names ignore case, so in host
// routing an execution "ABC" (or a service "Nb0") would take the host of a
// running "abc" ("nb0"). Such ids and names are refused, nothing is
// written, and Traefik keeps sending the host to the first execution.
func TestHostRoutingCaseNeverSharesAHost(t *testing.T) {
	requireEnv(t)
	const stateRoot = "/web-host-case"
	sc := startWebSidecar(t, webSidecarOptions{stateRoot: stateRoot, args: []string{
		"--routing=host", "--proxy-domain=apps.example.com", "--traefik-api-url=" + env.traefik.APIURL()}})
	conn := connect(t)
	one, two := startBackend(t, "one"), startBackend(t, "two")
	web := env.traefik.WebURL()
	const host = "nb0-abc-prod.apps.example.com"

	r := sc.post("/v1/hooks?wait=20s", webHook(t, "start", "abc", "nb0", webPort{number: 8888, backend: one}))
	require.Equal(t, http.StatusOK, r.status, r)
	t.Cleanup(func() { sc.post("/v1/hooks", []byte(`{"event":"stop","execution":{"id":"abc"}}`)) })
	got := apiDecode[apiHookReply](t, r)
	require.Len(t, got.Routes, 1)
	assert.Equal(t, host, got.Routes[0].Host)
	require.NotNil(t, got.Served)
	require.True(t, *got.Served, r)
	waitBody(t, web+"/", host, "one /", 5*time.Second)

	before := apiSnapshot(t, conn, stateRoot)
	for _, tc := range []struct {
		name, event, id, service, field string
	}{
		{"start of ABC", "start", "ABC", "nb0", "execution.id"},
		{"prepare of ABC", "prepare", "ABC", "nb0", "execution.id"},
		{"start of aBc", "start", "aBc", "nb0", "execution.id"},
		{"start of a service Nb0 in another execution", "start", "abd", "Nb0", "execution.services[0].name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sc.post("/v1/hooks?wait=5s", webHook(t, tc.event, tc.id, tc.service, webPort{number: 8888, backend: two}))
			requireAPIError(t, r, http.StatusBadRequest, tc.field)
			assert.Contains(t, string(r.body), "must be lower case in host routing")
		})
	}
	assert.Equal(t, before, apiSnapshot(t, conn, stateRoot), "nothing written")

	// Give Traefik time to show a change, had anything been written; the
	// host is still the first execution's.
	time.Sleep(time.Second)
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		status, body, err := harness.Get(ctx, web+"/", host)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "one /\n", body, "Host %s must reach execution abc's backend", host)
	}
}
