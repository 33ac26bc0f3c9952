package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

func TestLeafValuesDropDirectories(t *testing.T) {
	r := newRedisRoutes("127.0.0.1:1", "bench-redis", "http://10.0.0.1:8888")
	defer r.close()
	kv, err := r.leaves(0)
	require.NoError(t, err)
	name := "rds-" + r.key(0)[:16] + "-1"
	assert.Equal(t, "http://10.0.0.1:8888", kv["bench-redis/http/services/"+name+"/loadBalancer/servers/0/url"])
	assert.Equal(t, name, kv["bench-redis/http/routers/"+name+"/service"])
	rule, err := kvschema.PathRule(r.path(0))
	require.NoError(t, err)
	assert.Equal(t, rule, kv["bench-redis/http/routers/"+name+"/rule"])
	for k := range kv {
		assert.NotContains(t, []string{"bench-redis/http/routers/" + name, "bench-redis/http/services/" + name}, k, "no directory keys")
		assert.NotEqual(t, '/', k[0])
	}
}

func TestRouterRevision(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int64
		ok   bool
	}{
		{"zsc-0123456789abcdef-42", 42, true},
		{"zsc-0123456789abcdef-x", 0, false},
		{"nodash", 0, false},
	} {
		got, err := routerRevision(tc.name)
		if !tc.ok {
			assert.Error(t, err, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got)
	}
}

func TestDynamicConfigEdits(t *testing.T) {
	c, err := parseConfig([]byte(`{"http":{"routers":{"zsc-a-1":{"rule":"Path(` + "`/zoe/proxy/a`" + `)","service":"zsc-a-1","entryPoints":["web"],"middlewares":["m"]}},
		"services":{"zsc-a-1":{"loadBalancer":{"servers":[{"url":"http://x"}]}}}}}`))
	require.NoError(t, err)
	assert.False(t, c.hasDefaultCertificate())
	require.NoError(t, c.addRouter("zsc-a-1", "floor-b", "Path(`/zoe/proxy/b`)", "http://y"))
	body, err := json.Marshal(c)
	require.NoError(t, err)
	var got struct {
		HTTP kvschema.HTTPConfiguration `json:"http"`
	}
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, "Path(`/zoe/proxy/b`)", got.HTTP.Routers["floor-b"].Rule)
	assert.Equal(t, "floor-b", got.HTTP.Routers["floor-b"].Service)
	assert.Equal(t, []string{"m"}, got.HTTP.Routers["floor-b"].Middlewares, "the template's shape is kept")
	assert.Equal(t, "http://y", got.HTTP.Services["floor-b"].LoadBalancer.Servers[0].URL)
	assert.Error(t, c.addRouter("missing", "x", "r", "u"))

	pair, err := selfSigned()
	require.NoError(t, err)
	with := c.withDefaultCertificate(pair)
	assert.True(t, with.hasDefaultCertificate())
	assert.False(t, c.hasDefaultCertificate(), "the original is left as it was")
	assert.False(t, with.withDefaultCertificate(nil).hasDefaultCertificate())
}

func TestPathTargetsFromFigures(t *testing.T) {
	r := &results{cfg: config{providersAt: []int{1000, 10000}, targetSmall: 1000, targetLarge: 10000}}
	add := func(sec, variant string, n int, metric string, v float64) {
		r.add(sample{Section: sec, Variant: variant, Routes: n, Metric: metric, Value: v})
	}
	for _, sec := range []string{secPaths, secPathsStop} {
		add(sec, "http", 1000, "served", 200)
		add(sec, "redis", 1000, "served", 400)
		add(sec, "http", 10000, "served", 2200)
		add(sec, "redis", 10000, "served", 2000)
	}
	add(secFloor, floorNoCert, 10000, "served", 2100)
	add(secLag, "http", 10000, "lag", 10)
	add(secFootprint, "http", 10000, "idle_cpu_pct", 6)
	got := map[string]bool{}
	known := map[string]bool{}
	for _, p := range r.pathTargets() {
		got[p.what], known[p.what] = p.ok, p.known
	}
	assert.True(t, got["hook → served median ≤ 250 ms at 1,000 routes"])
	assert.True(t, got["hook → served median ≤ floor + 150 ms at 10,000 routes"])
	assert.False(t, got["hook → served ahead of the Redis provider at every size (HTTP / Redis < 1)"], "slower than Redis at 10,000")
	assert.True(t, got["mirror lag p99 ≤ 50 ms at 10,000 routes"])
	assert.False(t, got["idle Traefik CPU ≤ 5 % of a core at 10,000 routes (HTTP provider)"])
	rss := "sidecar RSS ≤ 96 MiB at 10,000 routes, endpoint in use (peak, replica Traefik polls)"
	assert.False(t, known[rss], "no RSS recorded: not measured, not a verdict")

	// A floor above the path itself decides nothing.
	r.add(sample{Section: secFloor, Variant: floorNoCert, Routes: 10000, Metric: "served", Value: 9000})
	r.add(sample{Section: secFloor, Variant: floorNoCert, Routes: 10000, Metric: "served", Value: 9000})
	for _, p := range r.pathTargets() {
		if p.what == "hook → served median ≤ floor + 150 ms at 10,000 routes" {
			assert.NotEmpty(t, p.unjudged)
		}
	}
	assert.True(t, math.IsNaN(r.med(secFootprint, "sidecar-b", 10000, "vmhwm")))
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("100, 1000,20000")
	require.NoError(t, err)
	assert.Equal(t, []int{100, 1000, 20000}, got)
	_, err = parseSizes("10k")
	assert.Error(t, err)
	_, err = parseSizes("0")
	assert.Error(t, err)
}

// Traefik v3.6.12's lines with --log.format=json, as the providers phase
// starts it.
func TestTraefikJSONLogClassification(t *testing.T) {
	lines := []string{
		`{"level":"debug","time":"2026-11-25T15:20:00Z","caller":"x/storewrapper.go:78","message":"List: bench-redis"}`,
		`{"level":"debug","time":"2026-11-25T15:20:00Z","caller":"x/storewrapper.go:78","message":"List: bench-redis2"}`,
		`{"level":"debug","config":{"http":{}},"providerName":"http","time":"2026-11-25T15:20:00Z","message":"Configuration received"}`,
		`{"level":"error","error":"the service \"rds-1@redis\" does not exist","entryPointName":"web","time":"2026-11-25T15:20:00Z"}`,
		`{"level":"error","error":"router must have either a service or child routers","routerName":"rds-2@redis","time":"2026-11-25T15:20:00Z"}`,
		`{"level":"error","providerName":"redis","time":"2026-11-25T15:20:00Z","message":"Provider error, retrying in 260ms"}`,
		`{"level":"warn","time":"2026-11-25T15:20:00Z","message":"something else"}`,
	}
	log := filepath.Join(t.TempDir(), "traefik.log")
	require.NoError(t, os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	o := &traefikObs{name: "t", root: "bench-redis", logPath: log}
	lists, configs := o.counts()
	assert.Equal(t, 1, lists)
	assert.Equal(t, 1, configs)
	assert.Equal(t, 2, o.serviceMissing)
	assert.Len(t, o.errorsSoFar(), 2, "the provider error and the warning")
}
