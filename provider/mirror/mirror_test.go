package mirror

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

func route(name, backend string) kvschema.Route {
	return kvschema.Route{
		Name:    name,
		Rule:    "Path(`/zoe/proxy/" + name + "`) || PathPrefix(`/zoe/proxy/" + name + "/`)",
		Backend: backend,
	}
}

var (
	a      = route("zsc-aaaaaaaaaaaaaaaa-1", "http://10.0.0.1:8888")
	b      = route("zsc-bbbbbbbbbbbbbbbb-2", "http://10.0.0.2:8888")
	aMoved = route("zsc-aaaaaaaaaaaaaaaa-1", "http://10.0.0.9:8888")
	ui     = kvschema.Route{Name: "zsc-static-zoe-ui", Rule: "PathPrefix(`/zoe`)", Backend: "http://10.0.0.5:5001"}
)

func names(routes map[string]kvschema.Route) []string {
	var out []string
	for n := range routes {
		out = append(out, n)
	}
	return out
}

func TestLoad(t *testing.T) {
	tombstoned := route("zsc-cccccccccccccccc-3", "http://10.0.0.3:8888").Tombstone()
	execs := []*state.Execution{
		{ID: "1", Routes: []state.Route{{Traefik: a}}},
		nil,
		{ID: "2", Routes: []state.Route{{Traefik: b}, {Traefik: tombstoned}}},
	}
	cert := &state.Certificate{Cert: "CERT", Key: "KEY"}
	s := Load(7, state.Permanent{Routes: []kvschema.Route{kvschema.SentinelRoute(), ui}}, cert, execs)
	assert.Same(t, cert, s.DefaultCertificate)
	assert.Equal(t, int64(7), s.Revision)
	assert.ElementsMatch(t, []string{ui.Name, a.Name, b.Name}, names(s.Routes),
		"permanent and execution routes; the tombstoned one and the sentinel (which never matches) are absent")
	assert.Equal(t, a, s.Routes[a.Name])
}

func TestApply(t *testing.T) {
	tests := []struct {
		name      string
		start     []kvschema.Route
		change    state.Change
		want      []kvschema.Route
		wantGap   bool
		wantRevAt int64
	}{
		{"create", nil, state.Change{Revision: 6, Upsert: []kvschema.Route{a}}, []kvschema.Route{a}, false, 6},
		{"update in place", []kvschema.Route{a, b}, state.Change{Revision: 6, Upsert: []kvschema.Route{aMoved}}, []kvschema.Route{aMoved, b}, false, 6},
		{"stop", []kvschema.Route{a, b}, state.Change{Revision: 6, Remove: []string{a.Name}}, []kvschema.Route{b}, false, 6},
		{"replace: old name removed, new one added", []kvschema.Route{a}, state.Change{Revision: 6, Upsert: []kvschema.Route{b}, Remove: []string{a.Name}}, []kvschema.Route{b}, false, 6},
		{"a tombstone written as an upsert is absent", []kvschema.Route{a}, state.Change{Revision: 6, Upsert: []kvschema.Route{a.Tombstone()}}, nil, false, 6},
		{"removing an unknown name is harmless", []kvschema.Route{a}, state.Change{Revision: 6, Remove: []string{"zsc-x-1"}}, []kvschema.Route{a}, false, 6},
		{"empty record (garbage collection)", []kvschema.Route{a}, state.Change{Revision: 6}, []kvschema.Route{a}, false, 6},
		{"the default certificate created", []kvschema.Route{a}, state.Change{Revision: 6, DefaultCertificate: &state.Certificate{Cert: "C", Key: "K"}}, []kvschema.Route{a}, false, 6},
		{"a gap is refused", []kvschema.Route{a}, state.Change{Revision: 8, Upsert: []kvschema.Route{b}}, []kvschema.Route{a}, true, 5},
		{"an old record is refused", []kvschema.Route{a}, state.Change{Revision: 5, Remove: []string{a.Name}}, []kvschema.Route{a}, true, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{Revision: 5, Routes: map[string]kvschema.Route{}}
			for _, r := range tt.start {
				s.Routes[r.Name] = r
			}
			err := s.Apply(tt.change)
			if tt.wantGap {
				assert.ErrorIs(t, err, ErrGap)
			} else {
				assert.NoError(t, err)
			}
			want := map[string]kvschema.Route{}
			for _, r := range tt.want {
				want[r.Name] = r
			}
			assert.Equal(t, want, s.Routes)
			assert.Equal(t, tt.wantRevAt, s.Revision)
		})
	}
}

// The rendered configuration is exactly what Traefik's ZooKeeper provider
// reads back from the znodes the sidecar writes for the same routes.
func TestConfigurationMatchesTheKVTree(t *testing.T) {
	strip := route("zsc-dddddddddddddddd-4", "http://10.0.0.4:8888")
	strip.StripPrefix = "/zoe/proxy/dddd"
	strip.EntryPoints = []string{"web", "websecure"}
	tls := route("zsc-eeeeeeeeeeeeeeee-5", "https://10.0.0.5:8443")
	tls.TLS = &kvschema.RouterTLSConfig{CertResolver: "le"}
	tlsOn := route("zsc-ffffffffffffffff-6", "http://10.0.0.6:80")
	tlsOn.TLS = &kvschema.RouterTLSConfig{}
	first := ui
	first.Name, first.Priority = "zsc-static-first", 1_000_000
	all := []kvschema.Route{ui, a, b, strip, tls, tlsOn, first}
	sentinel, err := kvschema.SentinelRoute().Encode("traefik")
	require.NoError(t, err)

	routes := map[string]kvschema.Route{}
	kvs, err := kvschema.SharedDirectories("traefik")
	require.NoError(t, err)
	kvs = append(kvs, sentinel...)
	for _, r := range all {
		routes[r.Name] = r
		encoded, err := r.Encode("traefik")
		require.NoError(t, err)
		kvs = append(kvs, encoded...)
	}
	fromTree, err := kvschema.Decode("traefik", kvs)
	require.NoError(t, err)
	assert.Equal(t, fromTree, Configuration(routes))
}

// With no route left, the sentinel keeps the configuration from being
// one Traefik skips as empty.
func TestConfigurationEmpty(t *testing.T) {
	assert.Equal(t, kvschema.SentinelRoute().Configuration(), Configuration(nil))
}

func TestSnapshotBody(t *testing.T) {
	routes := map[string]kvschema.Route{a.Name: a, ui.Name: ui}
	s := NewSnapshot(3, routes, nil)
	body, etag, err := s.Body()
	require.NoError(t, err)
	assert.JSONEq(t, `{"http":{
		"routers":{
			"zsc-aaaaaaaaaaaaaaaa-1":{"service":"zsc-aaaaaaaaaaaaaaaa-1","rule":"Path(`+"`/zoe/proxy/zsc-aaaaaaaaaaaaaaaa-1`"+`) || PathPrefix(`+"`/zoe/proxy/zsc-aaaaaaaaaaaaaaaa-1/`"+`)"},
			"zsc-static-zoe-ui":{"service":"zsc-static-zoe-ui","rule":"PathPrefix(`+"`/zoe`"+`)"},
			"zsc-sentinel":{"middlewares":["zsc-sentinel-strip"],"service":"zsc-sentinel","rule":"Path(`+"`/`"+`) && !PathPrefix(`+"`/`"+`)"}},
		"services":{
			"zsc-aaaaaaaaaaaaaaaa-1":{"loadBalancer":{"servers":[{"url":"http://10.0.0.1:8888"}]}},
			"zsc-static-zoe-ui":{"loadBalancer":{"servers":[{"url":"http://10.0.0.5:5001"}]}},
			"zsc-sentinel":{"loadBalancer":{"servers":[{"url":"http://127.0.0.1:1"}]}}},
		"middlewares":{
			"zsc-sentinel-strip":{"stripPrefix":{"prefixes":["/zsc-sentinel"]}}}}}`, string(body))
	assert.Regexp(t, `^"[0-9a-f]{24}"$`, etag)
	assert.Equal(t, 2, s.Routes())

	// Same routes, another replica: the same bytes and tag.
	other := NewSnapshot(3, map[string]kvschema.Route{ui.Name: ui, a.Name: a}, nil)
	body2, etag2, err := other.Body()
	require.NoError(t, err)
	assert.Equal(t, body, body2)
	assert.Equal(t, etag, etag2)

	// Different routes: another tag.
	_, etag3, err := NewSnapshot(4, map[string]kvschema.Route{a.Name: aMoved}, nil).Body()
	require.NoError(t, err)
	assert.NotEqual(t, etag, etag3)

	gz, err := s.Gzipped()
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, body, plain)
	again, err := s.Gzipped()
	require.NoError(t, err)
	assert.Same(t, &gz[0], &again[0], "compressed once per revision")
}

func TestCurrentPublish(t *testing.T) {
	var c Current
	assert.Nil(t, c.Load())
	first := NewSnapshot(1, nil, nil)
	c.Publish(first)
	assert.Same(t, first, c.Load())
	select {
	case <-first.Superseded():
		t.Fatal("the latest snapshot is not superseded")
	default:
	}
	second := NewSnapshot(2, nil, nil)
	c.Publish(second)
	assert.Same(t, second, c.Load())
	select {
	case <-first.Superseded():
	default:
		t.Fatal("publishing must wake whoever waits on the previous snapshot")
	}
}

func TestApplyKeepsTheDefaultCertificate(t *testing.T) {
	s := State{Revision: 1, Routes: map[string]kvschema.Route{}}
	cert := &state.Certificate{Cert: "C", Key: "K"}
	require.NoError(t, s.Apply(state.Change{Revision: 2, DefaultCertificate: cert}))
	require.NoError(t, s.Apply(state.Change{Revision: 3, Upsert: []kvschema.Route{a}}))
	assert.Same(t, cert, s.DefaultCertificate, "records without one leave it")
}

// With a certificate, the body puts it into Traefik's default TLS store,
// inline; without, the body has no tls section at all.
func TestSnapshotDefaultCertificate(t *testing.T) {
	routes := map[string]kvschema.Route{a.Name: a}
	body, _, err := NewSnapshot(1, routes, &state.Certificate{Cert: "-----BEGIN CERTIFICATE-----\nX\n", Key: "-----BEGIN PRIVATE KEY-----\nY\n"}).Body()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(body, &doc))
	assert.Equal(t, map[string]any{"stores": map[string]any{"default": map[string]any{"defaultCertificate": map[string]any{
		"certFile": "-----BEGIN CERTIFICATE-----\nX\n", "keyFile": "-----BEGIN PRIVATE KEY-----\nY\n"}}}}, doc["tls"])
	assert.Contains(t, doc, "http")

	plain, _, err := NewSnapshot(1, routes, nil).Body()
	require.NoError(t, err)
	assert.NotContains(t, string(plain), `"tls":{"stores"`)
	assert.NotEqual(t, body, plain)
}
