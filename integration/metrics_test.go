package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// TestMetricsOnTheirOwnAddress: with --metrics-listen, /metrics is served
// there without a token, and the API's port no longer serves it.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	requireEnv(t)
	ports, err := harness.FreePorts(1)
	require.NoError(t, err)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0])
	sc := startAPISidecar(t, env.servers, "/metrics-listen", fmt.Sprintf("--metrics-listen=127.0.0.1:%d", ports[0]))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, body, err := harness.Get(ctx, metricsURL, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.True(t, strings.Contains(body, "zk_sidecar_zookeeper_connected 1"), "the sidecar's metrics: %.300s", body)

	r := sc.request(http.MethodGet, "/metrics", nil, apiNoAuth, 10*time.Second)
	assert.Equal(t, http.StatusNotFound, r.status, "not on the API's port: %s", r)
	r = sc.get("/healthz")
	assert.Equal(t, http.StatusOK, r.status, "the API's port serves the rest: %s", r)
}
