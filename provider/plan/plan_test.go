package plan

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// route builds a route of execution exec for service/port; key is derived
// from the identity so that it is stable and distinct.
func route(exec, service string, port int, opts ...func(*state.Route)) state.Route {
	key := fmt.Sprintf("%064x", port) // any 64-hex string
	path := "/zoe/proxy/" + key
	r := state.Route{
		ExecutionID: exec, Service: service, Port: port, Key: key, Path: path,
		Traefik: kvschema.Route{
			Rule:        "Path(`" + path + "`) || PathPrefix(`" + path + "/`)",
			Backend:     "http://10.1.2.3:32768",
			EntryPoints: []string{"web"},
		},
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func named(name string) func(*state.Route) { return func(r *state.Route) { r.Traefik.Name = name } }
func backend(b string) func(*state.Route)  { return func(r *state.Route) { r.Traefik.Backend = b } }
func entryPoints(eps ...string) func(*state.Route) {
	return func(r *state.Route) { r.Traefik.EntryPoints = eps }
}
func strip(r *state.Route) { r.Traefik.StripPrefix = r.Path }
func tls(resolver string) func(*state.Route) {
	return func(r *state.Route) { r.Traefik.TLS = &kvschema.RouterTLSConfig{CertResolver: resolver} }
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name      string
		desired   []state.Route
		current   []state.Route
		want      Plan
		wantEmpty bool
	}{
		{
			name:      "empty desired and current",
			want:      Plan{},
			wantEmpty: true,
		},
		{
			name:    "create only",
			desired: []state.Route{route("42", "jupyter0", 8888), route("42", "jupyter0", 4040)},
			want: Plan{Create: []state.Route{
				route("42", "jupyter0", 4040),
				route("42", "jupyter0", 8888),
			}},
		},
		{
			name:      "unchanged",
			desired:   []state.Route{route("42", "jupyter0", 8888)},
			current:   []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
			want:      Plan{Unchanged: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))}},
			wantEmpty: true,
		},
		{
			name:      "unchanged with nil vs empty entry points",
			desired:   []state.Route{route("42", "jupyter0", 8888, entryPoints([]string{}...))},
			current:   []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"), entryPoints([]string(nil)...))},
			want:      Plan{Unchanged: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"), entryPoints([]string(nil)...))}},
			wantEmpty: true,
		},
		{
			name:      "unchanged with empty vs nil entry points",
			desired:   []state.Route{route("42", "jupyter0", 8888, entryPoints([]string(nil)...))},
			current:   []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"), entryPoints([]string{}...))},
			want:      Plan{Unchanged: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"), entryPoints([]string{}...))}},
			wantEmpty: true,
		},
		{
			name:    "backend change is an update keeping the old name",
			desired: []state.Route{route("42", "jupyter0", 8888, backend("http://10.9.9.9:31000"))},
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
			want: Plan{Update: []Change{{
				Old: route("42", "jupyter0", 8888, named("zsc-a-1")),
				New: route("42", "jupyter0", 8888, named("zsc-a-1"), backend("http://10.9.9.9:31000")),
			}}},
		},
		{
			name:    "entry point renamed is an update",
			desired: []state.Route{route("42", "jupyter0", 8888, entryPoints("websecure"))},
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
			want: Plan{Update: []Change{{
				Old: route("42", "jupyter0", 8888, named("zsc-a-1")),
				New: route("42", "jupyter0", 8888, named("zsc-a-1"), entryPoints("websecure")),
			}}},
		},
		{
			name:    "cert resolver changed is an update",
			desired: []state.Route{route("42", "jupyter0", 8888, tls("b"))},
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"), tls("a"))},
			want: Plan{Update: []Change{{
				Old: route("42", "jupyter0", 8888, named("zsc-a-1"), tls("a")),
				New: route("42", "jupyter0", 8888, named("zsc-a-1"), tls("b")),
			}}},
		},
		{
			name:    "strip prefix turned on is a replace",
			desired: []state.Route{route("42", "jupyter0", 8888, strip)},
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
			want: Plan{Replace: []Change{{
				Old: route("42", "jupyter0", 8888, named("zsc-a-1")),
				New: route("42", "jupyter0", 8888, strip),
			}}},
		},
		{
			name:    "strip prefix turned off is a replace",
			desired: []state.Route{route("42", "jupyter0", 8888)},
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"), strip)},
			want: Plan{Replace: []Change{{
				Old: route("42", "jupyter0", 8888, named("zsc-a-1"), strip),
				New: route("42", "jupyter0", 8888),
			}}},
		},
		{
			name:    "entry point added is a replace",
			desired: []state.Route{route("42", "jupyter0", 8888, entryPoints("web", "websecure"))},
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
			want: Plan{Replace: []Change{{
				Old: route("42", "jupyter0", 8888, named("zsc-a-1")),
				New: route("42", "jupyter0", 8888, entryPoints("web", "websecure")),
			}}},
		},
		{
			name:    "all entry points removed is a replace",
			desired: []state.Route{route("42", "jupyter0", 8888, entryPoints())},
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
			want: Plan{Replace: []Change{{
				Old: route("42", "jupyter0", 8888, named("zsc-a-1")),
				New: route("42", "jupyter0", 8888, entryPoints()),
			}}},
		},
		{
			name:    "TLS turned on is a replace",
			desired: []state.Route{route("42", "jupyter0", 8888, tls(""))},
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
			want: Plan{Replace: []Change{{
				Old: route("42", "jupyter0", 8888, named("zsc-a-1")),
				New: route("42", "jupyter0", 8888, tls("")),
			}}},
		},
		{
			name:    "route missing from desired is deleted",
			current: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
			want:    Plan{Delete: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))}},
		},
		{
			name: "mixed",
			desired: []state.Route{
				route("42", "zeppelin0", 8080),                                  // create
				route("42", "jupyter0", 8888, backend("http://10.9.9.9:31000")), // update
				route("42", "jupyter0", 4040, strip),                            // replace
				route("42", "jupyter0", 9000),                                   // unchanged
			},
			current: []state.Route{
				route("42", "spark0", 7077, named("zsc-e-1")), // delete
				route("42", "jupyter0", 9000, named("zsc-d-1")),
				route("42", "jupyter0", 8888, named("zsc-b-1")),
				route("42", "jupyter0", 4040, named("zsc-c-1")),
				route("42", "jupyter0", 22, named("zsc-f-1")), // delete
			},
			want: Plan{
				Create: []state.Route{route("42", "zeppelin0", 8080)},
				Update: []Change{{
					Old: route("42", "jupyter0", 8888, named("zsc-b-1")),
					New: route("42", "jupyter0", 8888, named("zsc-b-1"), backend("http://10.9.9.9:31000")),
				}},
				Replace: []Change{{
					Old: route("42", "jupyter0", 4040, named("zsc-c-1")),
					New: route("42", "jupyter0", 4040, strip),
				}},
				Delete: []state.Route{
					route("42", "jupyter0", 22, named("zsc-f-1")),
					route("42", "spark0", 7077, named("zsc-e-1")),
				},
				Unchanged: []state.Route{route("42", "jupyter0", 9000, named("zsc-d-1"))},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(tt.desired, tt.current)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantEmpty, got.Empty())
			for _, c := range got.Replace {
				assert.Equal(t, "", c.New.Traefik.Name, "a replacement gets a new name at creation")
				assert.NotEqual(t, "", c.Old.Traefik.Name)
			}
			for _, c := range got.Update {
				assert.Equal(t, c.Old.Traefik.Name, c.New.Traefik.Name)
			}
		})
	}
}

func TestComputeDoesNotModifyInputs(t *testing.T) {
	desired := []state.Route{route("42", "jupyter0", 8888, backend("http://10.9.9.9:31000")), route("42", "jupyter0", 4040, strip)}
	current := []state.Route{route("42", "jupyter0", 4040, named("zsc-c-1")), route("42", "jupyter0", 8888, named("zsc-b-1"))}
	desiredCopy := append([]state.Route(nil), desired...)
	currentCopy := append([]state.Route(nil), current...)
	Compute(desired, current)
	assert.Equal(t, desiredCopy, desired)
	assert.Equal(t, currentCopy, current)
	assert.Equal(t, "", desired[0].Traefik.Name)
}

func id(service string, port int) state.ID {
	return state.ID{ExecutionID: "42", Service: service, Port: port}
}

func TestComputeOrderingStable(t *testing.T) {
	desired := []state.Route{
		route("42", "zeppelin0", 8080),
		route("42", "alpha0", 1),
		route("42", "jupyter0", 8888, backend("http://10.9.9.9:31000")),
		route("42", "jupyter0", 80, backend("http://10.9.9.9:31001")),
		route("42", "jupyter0", 4040, strip),
		route("42", "jupyter0", 4041, strip),
		route("42", "jupyter0", 9000),
		route("42", "jupyter0", 9001),
	}
	current := []state.Route{
		route("42", "spark0", 7077, named("e")),
		route("42", "jupyter0", 9001, named("h")),
		route("42", "jupyter0", 9000, named("d")),
		route("42", "jupyter0", 8888, named("b")),
		route("42", "jupyter0", 80, named("g")),
		route("42", "jupyter0", 4041, named("i")),
		route("42", "jupyter0", 4040, named("c")),
		route("42", "jupyter0", 22, named("f")),
	}
	first := Compute(desired, current)
	ids := func(rs []state.Route) []state.ID {
		out := make([]state.ID, len(rs))
		for i, r := range rs {
			out[i] = r.ID()
		}
		return out
	}
	changeIDs := func(cs []Change) []state.ID {
		out := make([]state.ID, len(cs))
		for i, c := range cs {
			out[i] = c.New.ID()
		}
		return out
	}
	assert.Equal(t, []state.ID{id("alpha0", 1), id("zeppelin0", 8080)}, ids(first.Create))
	assert.Equal(t, []state.ID{id("jupyter0", 80), id("jupyter0", 8888)}, changeIDs(first.Update))
	assert.Equal(t, []state.ID{id("jupyter0", 4040), id("jupyter0", 4041)}, changeIDs(first.Replace))
	assert.Equal(t, []state.ID{id("jupyter0", 22), id("spark0", 7077)}, ids(first.Delete))
	assert.Equal(t, []state.ID{id("jupyter0", 9000), id("jupyter0", 9001)}, ids(first.Unchanged))

	// Every rotation of both inputs gives the same plan.
	for i := range desired {
		for j := range current {
			d := append(append([]state.Route(nil), desired[i:]...), desired[:i]...)
			c := append(append([]state.Route(nil), current[j:]...), current[:j]...)
			require.Equal(t, first, Compute(d, c), "rotation %d/%d", i, j)
		}
	}
	// And reversed.
	rd := make([]state.Route, len(desired))
	rc := make([]state.Route, len(current))
	for i := range desired {
		rd[len(desired)-1-i] = desired[i]
	}
	for i := range current {
		rc[len(current)-1-i] = current[i]
	}
	assert.Equal(t, first, Compute(rd, rc))
}

func TestComputeMatchesByIdentityAcrossExecutions(t *testing.T) {
	// Same service and port in another execution is another route.
	desired := []state.Route{route("43", "jupyter0", 8888)}
	current := []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))}
	got := Compute(desired, current)
	assert.Equal(t, Plan{
		Create: []state.Route{route("43", "jupyter0", 8888)},
		Delete: []state.Route{route("42", "jupyter0", 8888, named("zsc-a-1"))},
	}, got)
}

func TestPlanEmpty(t *testing.T) {
	r := route("42", "jupyter0", 8888)
	tests := []struct {
		name string
		p    Plan
		want bool
	}{
		{"zero", Plan{}, true},
		{"only unchanged", Plan{Unchanged: []state.Route{r}}, true},
		{"create", Plan{Create: []state.Route{r}}, false},
		{"update", Plan{Update: []Change{{Old: r, New: r}}}, false},
		{"replace", Plan{Replace: []Change{{Old: r, New: r}}}, false},
		{"delete", Plan{Delete: []state.Route{r}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.p.Empty()) })
	}
}

func TestComputeNilVsEmptyEntryPoints(t *testing.T) {
	empty := route("42", "jupyter0", 8888, entryPoints([]string{}...))
	none := route("42", "jupyter0", 8888, named("zsc-a-1"), entryPoints([]string(nil)...))
	require.NotNil(t, empty.Traefik.EntryPoints)
	require.Len(t, empty.Traefik.EntryPoints, 0)
	require.Nil(t, none.Traefik.EntryPoints)

	p := Compute([]state.Route{empty}, []state.Route{none})
	assert.Equal(t, Plan{Unchanged: []state.Route{none}}, p)
	assert.True(t, p.Empty())
}
