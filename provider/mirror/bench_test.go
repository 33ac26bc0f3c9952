package mirror

import (
	"fmt"
	"maps"
	"testing"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// routesOf is n routes of the sidecar's shape.
func routesOf(n int) map[string]kvschema.Route {
	out := make(map[string]kvschema.Route, n)
	for i := range n {
		r := route(fmt.Sprintf("zsc-%016x-%d", i, i), fmt.Sprintf("http://10.%d.%d.%d:8888", i>>16&255, i>>8&255, i&255))
		out[r.Name] = r
	}
	return out
}

// What one revision costs the follower at 10,000 routes: the copy it
// publishes, and the body and its gzip rendered on the first request.
func BenchmarkRevision10k(b *testing.B) {
	routes := routesOf(10000)
	b.Run("publish (copy of the routes)", func(b *testing.B) {
		for b.Loop() {
			_ = maps.Clone(routes)
		}
	})
	b.Run("body", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := NewSnapshot(1, routes, nil).Body(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("body+gzip", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewSnapshot(1, routes, nil).Gzipped(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
