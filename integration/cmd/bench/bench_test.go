package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

func TestMedianOr(t *testing.T) {
	assert.Equal(t, 2.0, medianOr([]float64{3, 1, 2}))
	assert.True(t, math.IsNaN(medianOr(nil)))
}

func TestFormatting(t *testing.T) {
	assert.Equal(t, "0", count(0))
	assert.Equal(t, "1,000", count(1000))
	assert.Equal(t, "10,300", count(10300))
	assert.Equal(t, "1,234,567", count(1234567))
	assert.Equal(t, "450 ms", secs(450))
	assert.Equal(t, "4.70 s", secs(4700))
	assert.Equal(t, "85.3 s", secs(85300))
	assert.Equal(t, "4.21 ms", millis(4.213))
	assert.Equal(t, "–", secs(math.NaN()))
}

// The log lines below are Traefik v3.6.12's, as the harness starts it.
func TestTraefikLogClassification(t *testing.T) {
	const pfx = "2026-11-22T01:00:06Z DBG ../../root/go/pkg/mod/github.com/traefik/traefik/v3@v3.6.12/pkg/provider/kv/storewrapper.go:78 > "
	lines := []string{
		pfx + "List: bench-sidecar",
		pfx + "List: bench-sidecar2",
		pfx + "WatchTree: bench-sidecar",
		"2026-11-22T01:00:06Z DBG ../../root/go/pkg/mod/github.com/traefik/traefik/v3@v3.6.12/pkg/server/configurationwatcher.go:227 > Configuration received config={\"http\":{}} providerName=zookeeper",
		"2026-11-22T01:07:29Z DBG ../../usr/local/go/src/log/log.go:244 > 2026/11/22 01:07:27 structs.go:22: recv loop terminated: failed to read from connection: read tcp 127.0.0.1:33216->127.0.0.1:43133: i/o timeout",
		"2026-11-22T00:59:23Z ERR ../../root/go/pkg/mod/github.com/traefik/traefik/v3@v3.6.12/pkg/provider/kv/kv.go:127 > Provider error, retrying in 260.105866ms error=\"the WatchTree channel is closed\" providerName=zookeeper",
		"2026-11-22T01:08:28Z ERR ../../root/go/pkg/mod/github.com/traefik/traefik/v3@v3.6.12/pkg/server/service/managerfactory.go:52 > Error appending dashboard to API router error=\"parsing index template\"",
		"2026-11-22T01:16:19Z ERR ../../root/go/pkg/mod/github.com/traefik/traefik/v3@v3.6.12/pkg/server/router/router.go:261 > error=\"the service \\\"zsc-9a2a60a42edb8ece-9@zookeeper\\\" does not exist\" entryPointName=web",
		"2026-11-22T01:16:19Z ERR ../../root/go/pkg/mod/github.com/traefik/traefik/v3@v3.6.12/pkg/x.go:1 > something else failed",
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "traefik.log")
	// The last line is unfinished: it must not be classified yet.
	require.NoError(t, os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"+pfx+"List: bench-si"), 0o644))
	o := &traefikObs{name: "t", root: "bench-sidecar", logPath: log}
	lists, configs := o.counts()
	assert.Equal(t, 1, lists, "only the root's own List lines")
	assert.Equal(t, 1, configs)
	assert.Equal(t, 1, o.serviceMissing)
	var kinds []string
	for _, e := range o.eventsSince(time.Time{}) {
		kinds = append(kinds, e.kind)
	}
	assert.Equal(t, []string{"list", "config", "disturb", "disturb", "error"}, kinds)

	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("decar\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	lists, _ = o.counts()
	assert.Equal(t, 2, lists, "a line completed by a later write")
}

func TestBaselineLayout(t *testing.T) {
	b := &baseline{root: "/bench-baseline", rootKey: "bench-baseline", backend: "http://127.0.0.1:8080"}
	kvs, err := b.kvs(7)
	require.NoError(t, err)
	require.Len(t, kvs, 8, "the same 8 znodes per route as the sidecar writes")
	empty := 0
	for _, kv := range kvs {
		assert.True(t, strings.HasPrefix(kv.Key, "/bench-baseline/http/"), kv.Key)
		assert.NotEqual(t, kvschema.DirectoryValue, kv.Value, "no directory holds \"true\"")
		if kv.Value == "" {
			empty++
		}
	}
	assert.Equal(t, 5, empty, "router, service, loadBalancer, servers, servers/0")
	assert.Equal(t, "/zoe/proxy/"+routeKey(7), b.path(7))
	assert.Len(t, routeKey(7), 64)
}

func TestSlowestAndMeanAt(t *testing.T) {
	xs := make([]float64, 200)
	for i := range xs {
		xs[i] = float64((i * 37) % 200) // a permutation of 0..199
	}
	idx := slowest(xs, 0.01)
	require.Len(t, idx, 2, "1% of 200")
	assert.Equal(t, []float64{199, 198}, []float64{xs[idx[0]], xs[idx[1]]})
	assert.Equal(t, 198.5, meanAt(xs, idx))
	parts := make([]float64, len(xs))
	for i := range parts {
		parts[i] = xs[i] / 2
	}
	assert.Equal(t, 99.25, meanAt(parts, idx), "the same hooks in another series")
	assert.Len(t, slowest(xs[:3], 0.01), 1, "at least one")
	assert.Nil(t, slowest(nil, 0.01))
	assert.True(t, math.IsNaN(meanAt(xs, nil)))
	assert.True(t, math.IsNaN(meanAt(xs[:1], idx)), "a shorter series")
}

func TestParseServerTiming(t *testing.T) {
	tests := []struct {
		header string
		want   map[string]float64
	}{
		{"", map[string]float64{}},
		{"wait;dur=0.012, zk-read;dur=0.000, plan;dur=0.250, zk-commit;dur=1.235",
			map[string]float64{"wait": 0.012, "zk-read": 0, "plan": 0.25, "zk-commit": 1.235}},
		{`db;desc="x";dur=2.5,cache`, map[string]float64{"db": 2.5}},
		{"bad;dur=x, ;dur=1", map[string]float64{}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, parseServerTiming(tt.header), tt.header)
	}
}

func TestWalkComparison(t *testing.T) {
	tests := []struct {
		name                  string
		sidecar, baseline     walkStats
		ratio, atBaselineCost float64
	}{
		{
			name:     "requests cost the same in both walks: same ratio",
			sidecar:  walkStats{served: 1300, walkStarted: 100, configReceived: 1100, requests: 1000},
			baseline: walkStats{served: 4300, walkStarted: 100, configReceived: 4100, requests: 4000},
			ratio:    1300.0 / 4300, atBaselineCost: 1300.0 / 4300,
		},
		{
			name:     "the sidecar's requests cost twice the baseline's",
			sidecar:  walkStats{served: 2300, walkStarted: 100, configReceived: 2100, requests: 1000},
			baseline: walkStats{served: 4300, walkStarted: 100, configReceived: 4100, requests: 4000},
			ratio:    2300.0 / 4300, atBaselineCost: (300 + 1000) / 4300.0,
		},
		{
			name:     "no fixed time: the request ratio",
			sidecar:  walkStats{served: 500, walkStarted: 0, configReceived: 500, requests: 1000},
			baseline: walkStats{served: 4000, walkStarted: 0, configReceived: 4000, requests: 4000},
			ratio:    0.125, atBaselineCost: 0.25,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := walkComparison{sidecar: tt.sidecar, baseline: tt.baseline}
			assert.InDelta(t, tt.ratio, c.ratio(), 1e-9)
			assert.InDelta(t, tt.atBaselineCost, c.atBaselineCost(), 1e-9)
		})
	}
}

func TestRepsAt(t *testing.T) {
	c := config{reps: 5, ratioAt: 1000}
	assert.Equal(t, 5, c.repsAt(100))
	assert.Equal(t, 5, c.repsAt(1000))
	assert.Equal(t, largeReps, c.repsAt(5000))
	c.reps = 2
	assert.Equal(t, 2, c.repsAt(5000), "never more than asked for")
}

func TestCSVRoundTrip(t *testing.T) {
	r := &results{samples: []sample{
		{Section: secServed, Variant: "sidecar", Routes: 1000, Present: 1003, Rep: 4, Metric: "served", Value: 4718.25, Unit: "ms"},
		{Section: secServedLeader, Variant: "baseline", Routes: 1000, Present: 1005, Rep: 1, Metric: "zk_requests", Value: 66499, Unit: "count"},
	}}
	path := filepath.Join(t.TempDir(), "results.csv")
	require.NoError(t, r.writeCSV(path))
	got, err := readCSV(path)
	require.NoError(t, err)
	assert.Equal(t, r.samples, got)

	require.NoError(t, os.WriteFile(path, []byte("section,variant\nx,y\n"), 0o644))
	_, err = readCSV(path)
	assert.ErrorContains(t, err, "2 fields, want 8")
}
