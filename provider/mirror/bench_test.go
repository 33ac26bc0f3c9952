package mirror

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// stateOf is a state of n routes of the sidecar's shape.
func stateOf(n int) State {
	routes := make([]state.Route, n)
	for i := range n {
		routes[i].Traefik = route(fmt.Sprintf("zsc-%016x-%d", i, i), fmt.Sprintf("http://10.%d.%d.%d:8888", i>>16&255, i>>8&255, i&255))
	}
	return Load(1, state.Permanent{}, nil, []*state.Execution{{ID: "x", Routes: routes}})
}

// What one revision costs the follower at 10,000 routes once a route
// changed: the snapshot it publishes, then the body rendered on the first
// request from the parts encoded as routes were written, against encoding
// the whole document (the baseline, in the same run), and its gzip.
func BenchmarkRevision10k(b *testing.B) {
	s := stateOf(10000)
	rev := s.Revision
	next := func() {
		rev++
		r := route("zsc-changed", fmt.Sprintf("http://10.9.9.%d:8888", rev%250))
		if err := s.Apply(state.Change{Revision: rev, Upsert: []kvschema.Route{r}}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("apply one change and publish", func(b *testing.B) {
		for b.Loop() {
			next()
			_ = s.Snapshot(nil)
		}
	})
	b.Run("body: whole document encoded (baseline)", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(NewDocument(s.Routes, nil)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("body: from the routes' encoded parts", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.Snapshot(nil).Body(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("body and gzip", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Snapshot(nil).Gzipped(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
