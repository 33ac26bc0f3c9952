package mirror

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// reference is the body as encoding/json writes the whole document: what
// the rendered body must equal, byte for byte.
func reference(t *testing.T, routes map[string]kvschema.Route, cert *state.Certificate) string {
	t.Helper()
	data, err := json.Marshal(NewDocument(routes, cert))
	require.NoError(t, err)
	return string(data)
}

func TestRenderEqualsTheEncodedDocument(t *testing.T) {
	strip := func(r kvschema.Route, prefix string) kvschema.Route { r.StripPrefix = prefix; return r }
	withTLS := func(r kvschema.Route, tls *kvschema.RouterTLSConfig) kvschema.Route { r.TLS = tls; return r }
	cert := &state.Certificate{Cert: "-----BEGIN CERTIFICATE-----\n<&>\n", Key: "K"}
	tests := []struct {
		name   string
		routes []kvschema.Route
		cert   *state.Certificate
	}{
		{"no route: the sentinel alone", nil, nil},
		{"one route", []kvschema.Route{a}, nil},
		{"a default certificate (HTML characters escaped as encoding/json does)", []kvschema.Route{a, ui}, cert},
		{"middlewares in another order than their routes: zsc-m-b < zsc-m-strip < zsc-m-t", []kvschema.Route{
			strip(route("zsc-m", "http://10.0.0.1:1"), "/p/m"),
			strip(route("zsc-m-b", "http://10.0.0.2:1"), "/p/b"),
			strip(route("zsc-m-t", "http://10.0.0.3:1"), "/p/t"),
		}, nil},
		{"a name encoding/json escapes (never a valid name, rendered right all the same)", []kvschema.Route{route("zsc-<&>\"é", "http://h:1"), a}, nil},
		{"names around the sentinel's", []kvschema.Route{route("zsc-sentinal", "http://h:1"), route("zsc-sentinel0", "http://h:2"), route("zsc-a", "http://h:3"), route("zsc-z", "http://h:4")}, nil},
		{"every router field", []kvschema.Route{
			{Name: "zsc-full", Rule: "Host(`a.b`) && PathPrefix(`/x`)", Backend: "https://10.0.0.9:8443", EntryPoints: []string{"web", "websecure"},
				StripPrefix: "/x", TLS: &kvschema.RouterTLSConfig{CertResolver: "le"}, Priority: 1_000_000},
			withTLS(route("zsc-tls-on", "http://h:1"), &kvschema.RouterTLSConfig{}),
		}, cert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := map[string]kvschema.Route{}
			for _, r := range tt.routes {
				routes[r.Name] = r
			}
			body, _, err := NewSnapshot(1, routes, tt.cert).Body()
			require.NoError(t, err)
			assert.Equal(t, reference(t, routes, tt.cert), string(body))
		})
	}
}

// A state followed through many changes renders what a state loaded at
// the end would: the parts encoded as routes were written stay right.
func TestRenderFollowsChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	variant := func(i int) kvschema.Route {
		r := route(fmt.Sprintf("zsc-%04x-%d", rng.IntN(64), i%3), fmt.Sprintf("http://10.0.%d.%d:8888", rng.IntN(4), rng.IntN(250)))
		switch rng.IntN(5) {
		case 0:
			r.StripPrefix = "/zoe/proxy/" + r.Name
		case 1:
			r.TLS = &kvschema.RouterTLSConfig{CertResolver: "le"}
		case 2:
			r.EntryPoints = []string{"websecure"}
		case 3:
			r = r.Tombstone()
		}
		return r
	}
	s := Load(0, state.Permanent{Routes: []kvschema.Route{kvschema.SentinelRoute(), ui}}, nil, nil)
	for rev := int64(1); rev <= 300; rev++ {
		c := state.Change{Revision: rev}
		for range rng.IntN(4) {
			c.Upsert = append(c.Upsert, variant(int(rev)))
		}
		for name := range s.Routes {
			if rng.IntN(40) == 0 {
				c.Remove = append(c.Remove, name)
			}
		}
		require.NoError(t, s.Apply(c))
		if rev%25 == 0 {
			body, _, err := s.Snapshot(nil).Body()
			require.NoError(t, err)
			require.Equal(t, reference(t, s.Routes, nil), string(body), "revision %d", rev)
		}
	}
	assert.Len(t, s.fragments, len(s.Routes), "a part for every route, none for a removed one")
}
