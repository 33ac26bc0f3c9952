package provider

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

var testLayout = layout{rootKey: "traefik", root: "/traefik", stateRoot: "/traefik-zk-sidecar"}

const (
	key8888 = "356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418"
	key4040 = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
)

func pathRule(p string) string { return "Path(`" + p + "`) || PathPrefix(`" + p + "/`)" }

// testRoute is a route of execution 42 as execution.Routes builds it (no name).
func testRoute(service string, port int, key string, opts ...func(*state.Route)) state.Route {
	p := "/zoe/proxy/" + key
	r := state.Route{
		ExecutionID: "42", Service: service, Port: port, Key: key, Path: p,
		Traefik: kvschema.Route{
			Rule:        pathRule(p),
			Backend:     "http://10.1.2.3:32768",
			EntryPoints: []string{"web"},
		},
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func withName(n string) func(*state.Route)    { return func(r *state.Route) { r.Traefik.Name = n } }
func withBackend(b string) func(*state.Route) { return func(r *state.Route) { r.Traefik.Backend = b } }
func withStrip(r *state.Route)                { r.Traefik.StripPrefix = r.Path }
func withEntryPoints(eps ...string) func(*state.Route) {
	return func(r *state.Route) { r.Traefik.EntryPoints = eps }
}

// opString renders every field of an op, so comparing strings is exact.
func opString(o zkstore.Op) string {
	switch o.Kind {
	case zkstore.OpDelete, zkstore.OpCheck:
		return fmt.Sprintf("%s %s v%d data=%q", o.Kind, o.Path, o.Version, o.Data)
	default:
		return fmt.Sprintf("%s %s = %q v%d", o.Kind, o.Path, o.Data, o.Version)
	}
}

func opStrings(ops []zkstore.Op) []string {
	if len(ops) == 0 {
		return nil
	}
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = opString(o)
	}
	return out
}

func create(p, v string) string { return opString(zkstore.Create(p, []byte(v))) }
func set(p, v string, version int32) string {
	return opString(zkstore.Set(p, []byte(v), version))
}
func del(p string, version int32) string { return opString(zkstore.Delete(p, version)) }

func recordJSON(t *testing.T, id string, revision int64, routes ...state.Route) string {
	t.Helper()
	data, err := json.Marshal(state.Execution{ID: id, Routes: routes, Revision: revision})
	require.NoError(t, err)
	return string(data)
}

func tombstoneJSON(t *testing.T, r kvschema.Route, revision int64) string {
	t.Helper()
	data, err := json.Marshal(state.Tombstone{Route: r.Tombstone(), Revision: revision})
	require.NoError(t, err)
	return string(data)
}

// routeCreates are the Create ops of a route without strip prefix and with
// entry point "web", written out by hand.
func routeCreates(name, rule, backend string) []string {
	r := "/traefik/http/routers/" + name
	s := "/traefik/http/services/" + name
	return []string{
		create(r, "true"),
		create(r+"/entryPoints", "true"),
		create(r+"/entryPoints/0", "web"),
		create(r+"/rule", rule),
		create(r+"/service", name),
		create(s, "true"),
		create(s+"/loadBalancer", "true"),
		create(s+"/loadBalancer/servers", "true"),
		create(s+"/loadBalancer/servers/0", "true"),
		create(s+"/loadBalancer/servers/0/url", backend),
	}
}

// createdRouters names the routers whose root znode the ops create.
func createdRouters(ops []zkstore.Op) []string {
	var names []string
	for _, o := range ops {
		if name, ok := strings.CutPrefix(o.Path, "/traefik/http/routers/"); ok && o.Kind == zkstore.OpCreate && !strings.Contains(name, "/") {
			names = append(names, name)
		}
	}
	return names
}

func assertNoExistenceChangeUnderRoot(t *testing.T, ops []zkstore.Op, allowCreate bool) {
	t.Helper()
	for _, o := range ops {
		if !strings.HasPrefix(o.Path, "/traefik/") {
			continue
		}
		assert.NotEqual(t, zkstore.OpDelete, o.Kind, "no delete under Traefik's root: %s", o.Path)
		if !allowCreate {
			assert.NotEqual(t, zkstore.OpCreate, o.Kind, "no create under Traefik's root: %s", o.Path)
		}
	}
}

func TestBuildExecutionChangeCreate(t *testing.T) {
	const revision = 7
	r := testRoute("jupyter0", 8888, key8888)
	name := execution.RouterName(key8888, revision)
	require.Equal(t, "zsc-356285bbd155c04b-7", name)
	named := r
	named.Traefik.Name = name

	c, err := buildExecutionChange(testLayout, revision, "42", -1, plan.Plan{Create: []state.Route{r}})
	require.NoError(t, err)

	want := append(routeCreates(name, pathRule("/zoe/proxy/"+key8888), "http://10.1.2.3:32768"),
		create("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", revision, named)))
	assert.Equal(t, want, opStrings(c.ops))

	// The route's creates are exactly its encoding under its new name.
	kvs, err := named.Traefik.Encode("traefik")
	require.NoError(t, err)
	require.Len(t, c.ops, len(kvs)+1)
	for i, kv := range kvs {
		assert.Equal(t, zkstore.Create(kv.Key, []byte(kv.Value)), c.ops[i])
	}

	assert.Equal(t, []state.Route{named}, c.routes)
	assert.Equal(t, []string{named.Traefik.Name}, createdRouters(c.ops))
	assert.Empty(t, c.removed)
	assert.Equal(t, 1, c.routesDelta)
	assert.Equal(t, 0, c.tombstonesDelta)
	assert.True(t, c.traefikVisible)
	assertNoExistenceChangeUnderRoot(t, c.ops, true)
	assert.Equal(t, "", r.Traefik.Name, "the plan's route is not modified")
}

func TestBuildExecutionChangeCreateWithExistingRecord(t *testing.T) {
	const revision = 12
	kept := testRoute("jupyter0", 8888, key8888, withName("zsc-356285bbd155c04b-3"))
	added := testRoute("jupyter0", 4040, key4040)
	addedNamed := added
	addedNamed.Traefik.Name = "zsc-a1b2c3d4e5f60718-12"

	c, err := buildExecutionChange(testLayout, revision, "42", 4, plan.Plan{
		Create:    []state.Route{added},
		Unchanged: []state.Route{kept},
	})
	require.NoError(t, err)
	want := append(routeCreates(addedNamed.Traefik.Name, pathRule("/zoe/proxy/"+key4040), "http://10.1.2.3:32768"),
		// Sorted by identity: 4040 before 8888.
		set("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", revision, addedNamed, kept), 4))
	assert.Equal(t, want, opStrings(c.ops))
	assert.Equal(t, 1, c.routesDelta)
	assert.Equal(t, []string{addedNamed.Traefik.Name}, createdRouters(c.ops))
	assert.ElementsMatch(t, []state.Route{kept, addedNamed}, c.routes)
}

func TestBuildExecutionChangeCreateWithStripPrefix(t *testing.T) {
	const revision = 3
	r := testRoute("jupyter0", 8888, key8888, withStrip)
	name := "zsc-356285bbd155c04b-3"
	named := r
	named.Traefik.Name = name

	c, err := buildExecutionChange(testLayout, revision, "42", -1, plan.Plan{Create: []state.Route{r}})
	require.NoError(t, err)
	rp := "/traefik/http/routers/" + name
	sp := "/traefik/http/services/" + name
	mp := "/traefik/http/middlewares/" + name + "-strip"
	assert.Equal(t, []string{
		create(mp, "true"),
		create(mp+"/stripPrefix", "true"),
		create(mp+"/stripPrefix/prefixes", "true"),
		create(mp+"/stripPrefix/prefixes/0", "/zoe/proxy/"+key8888),
		create(rp, "true"),
		create(rp+"/entryPoints", "true"),
		create(rp+"/entryPoints/0", "web"),
		create(rp+"/middlewares", "true"),
		create(rp+"/middlewares/0", name+"-strip"),
		create(rp+"/rule", pathRule("/zoe/proxy/"+key8888)),
		create(rp+"/service", name),
		create(sp, "true"),
		create(sp+"/loadBalancer", "true"),
		create(sp+"/loadBalancer/servers", "true"),
		create(sp+"/loadBalancer/servers/0", "true"),
		create(sp+"/loadBalancer/servers/0/url", "http://10.1.2.3:32768"),
		create("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", revision, named)),
	}, opStrings(c.ops))
}

func TestBuildExecutionChangeUpdate(t *testing.T) {
	const revision = 9
	const name = "zsc-356285bbd155c04b-3"
	old := testRoute("jupyter0", 8888, key8888, withName(name))
	updated := testRoute("jupyter0", 8888, key8888, withName(name), withBackend("http://10.9.9.9:31000"))
	p := plan.Compute([]state.Route{testRoute("jupyter0", 8888, key8888, withBackend("http://10.9.9.9:31000"))}, []state.Route{old})
	require.Equal(t, plan.Plan{Update: []plan.Change{{Old: old, New: updated}}}, p)

	c, err := buildExecutionChange(testLayout, revision, "42", 5, p)
	require.NoError(t, err)
	assert.Equal(t, []string{
		set("/traefik/http/services/"+name+"/loadBalancer/servers/0/url", "http://10.9.9.9:31000", zkstore.AnyVersion),
		set("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", revision, updated), 5),
	}, opStrings(c.ops))
	assert.Equal(t, []state.Route{updated}, c.routes)
	assert.Empty(t, createdRouters(c.ops))
	assert.Empty(t, c.removed)
	assert.Equal(t, 0, c.routesDelta)
	assert.Equal(t, 0, c.tombstonesDelta)
	assert.True(t, c.traefikVisible)
	assertNoExistenceChangeUnderRoot(t, c.ops, false)
}

func TestBuildExecutionChangeUpdateRecordOnly(t *testing.T) {
	// A change outside Traefik's view (here the stored host) rewrites the
	// record but touches nothing under Traefik's root: no kick needed.
	const name = "zsc-356285bbd155c04b-3"
	old := testRoute("jupyter0", 8888, key8888, withName(name))
	updated := old
	updated.Host = "other"
	c, err := buildExecutionChange(testLayout, 9, "42", 5, plan.Plan{Update: []plan.Change{{Old: old, New: updated}}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		set("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", 9, updated), 5),
	}, opStrings(c.ops))
	assert.False(t, c.traefikVisible)
}

func TestBuildExecutionChangeDelete(t *testing.T) {
	const revision = 9
	tests := []struct {
		name  string
		route state.Route
	}{
		{"plain route", testRoute("jupyter0", 8888, key8888, withName("zsc-356285bbd155c04b-3"))},
		{"route with strip prefix", testRoute("jupyter0", 8888, key8888, withName("zsc-356285bbd155c04b-3"), withStrip)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.route
			n := r.Traefik.Name
			c, err := buildExecutionChange(testLayout, revision, "42", 5, plan.Plan{Delete: []state.Route{r}})
			require.NoError(t, err)
			assert.Equal(t, []string{
				set("/traefik/http/routers/"+n+"/rule", kvschema.NeverMatchRule, zkstore.AnyVersion),
				set("/traefik/http/services/"+n+"/loadBalancer/servers/0/url", kvschema.DeadBackend, zkstore.AnyVersion),
				create("/traefik-zk-sidecar/tombstones/"+n, tombstoneJSON(t, r.Traefik, revision)),
				del("/traefik-zk-sidecar/executions/42", 5),
			}, opStrings(c.ops))
			assertNoExistenceChangeUnderRoot(t, c.ops, false)

			// The tombstone record holds the tombstoned route under the old name.
			var ts state.Tombstone
			require.NoError(t, json.Unmarshal(c.ops[2].Data, &ts))
			assert.Equal(t, int64(revision), ts.Revision)
			assert.Equal(t, n, ts.Route.Name)
			assert.True(t, ts.Route.IsTombstone())
			assert.Equal(t, r.Traefik.StripPrefix, ts.Route.StripPrefix)

			assert.Empty(t, c.routes)
			assert.Empty(t, createdRouters(c.ops))
			assert.Equal(t, []state.Route{r}, c.removed)
			assert.Equal(t, -1, c.routesDelta)
			assert.Equal(t, 1, c.tombstonesDelta)
			assert.True(t, c.traefikVisible)
		})
	}
}

func TestBuildExecutionChangeDeleteOneOfTwo(t *testing.T) {
	kept := testRoute("jupyter0", 8888, key8888, withName("zsc-356285bbd155c04b-3"))
	gone := testRoute("jupyter0", 4040, key4040, withName("zsc-a1b2c3d4e5f60718-3"))
	p := plan.Compute([]state.Route{testRoute("jupyter0", 8888, key8888)}, []state.Route{kept, gone})
	c, err := buildExecutionChange(testLayout, 10, "42", 2, p)
	require.NoError(t, err)
	assert.Equal(t, []string{
		set("/traefik/http/routers/zsc-a1b2c3d4e5f60718-3/rule", kvschema.NeverMatchRule, zkstore.AnyVersion),
		set("/traefik/http/services/zsc-a1b2c3d4e5f60718-3/loadBalancer/servers/0/url", kvschema.DeadBackend, zkstore.AnyVersion),
		create("/traefik-zk-sidecar/tombstones/zsc-a1b2c3d4e5f60718-3", tombstoneJSON(t, gone.Traefik, 10)),
		set("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", 10, kept), 2),
	}, opStrings(c.ops))
	assert.Equal(t, []state.Route{kept}, c.routes)
	assert.Equal(t, -1, c.routesDelta)
	assert.Equal(t, 1, c.tombstonesDelta)
}

func TestBuildExecutionChangeReplace(t *testing.T) {
	const revision = 9
	const oldName = "zsc-356285bbd155c04b-3"
	const newName = "zsc-356285bbd155c04b-9"
	old := testRoute("jupyter0", 8888, key8888, withName(oldName))
	p := plan.Compute([]state.Route{testRoute("jupyter0", 8888, key8888, withStrip)}, []state.Route{old})
	require.Len(t, p.Replace, 1)
	newNamed := testRoute("jupyter0", 8888, key8888, withStrip, withName(newName))

	c, err := buildExecutionChange(testLayout, revision, "42", 5, p)
	require.NoError(t, err)
	rp := "/traefik/http/routers/" + newName
	sp := "/traefik/http/services/" + newName
	mp := "/traefik/http/middlewares/" + newName + "-strip"
	assert.Equal(t, []string{
		set("/traefik/http/routers/"+oldName+"/rule", kvschema.NeverMatchRule, zkstore.AnyVersion),
		set("/traefik/http/services/"+oldName+"/loadBalancer/servers/0/url", kvschema.DeadBackend, zkstore.AnyVersion),
		create("/traefik-zk-sidecar/tombstones/"+oldName, tombstoneJSON(t, old.Traefik, revision)),
		create(mp, "true"),
		create(mp+"/stripPrefix", "true"),
		create(mp+"/stripPrefix/prefixes", "true"),
		create(mp+"/stripPrefix/prefixes/0", "/zoe/proxy/"+key8888),
		create(rp, "true"),
		create(rp+"/entryPoints", "true"),
		create(rp+"/entryPoints/0", "web"),
		create(rp+"/middlewares", "true"),
		create(rp+"/middlewares/0", newName+"-strip"),
		create(rp+"/rule", pathRule("/zoe/proxy/"+key8888)),
		create(rp+"/service", newName),
		create(sp, "true"),
		create(sp+"/loadBalancer", "true"),
		create(sp+"/loadBalancer/servers", "true"),
		create(sp+"/loadBalancer/servers/0", "true"),
		create(sp+"/loadBalancer/servers/0/url", "http://10.1.2.3:32768"),
		set("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", revision, newNamed), 5),
	}, opStrings(c.ops))
	assertNoExistenceChangeUnderRoot(t, c.ops, true)
	assert.Equal(t, []state.Route{newNamed}, c.routes)
	assert.Equal(t, []string{newNamed.Traefik.Name}, createdRouters(c.ops))
	assert.Equal(t, []state.Route{old}, c.removed)
	assert.Equal(t, 0, c.routesDelta)
	assert.Equal(t, 1, c.tombstonesDelta)
	assert.True(t, c.traefikVisible)
}

func TestBuildExecutionChangeNothingToDo(t *testing.T) {
	kept := testRoute("jupyter0", 8888, key8888, withName("zsc-356285bbd155c04b-3"))
	tests := []struct {
		name          string
		recordVersion int32
		p             plan.Plan
		wantRoutes    []state.Route
	}{
		{"stop of an unknown execution", -1, plan.Plan{}, nil},
		{"repeated start", 5, plan.Compute([]state.Route{testRoute("jupyter0", 8888, key8888)}, []state.Route{kept}), []state.Route{kept}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.True(t, tt.p.Empty())
			c, err := buildExecutionChange(testLayout, 9, "42", tt.recordVersion, tt.p)
			require.NoError(t, err)
			assert.Empty(t, c.ops, "an empty plan writes nothing (Start is idempotent)")
			assert.Equal(t, tt.wantRoutes, c.routes)
			assert.False(t, c.traefikVisible)
			assert.Equal(t, 0, c.routesDelta)
			assert.Equal(t, 0, c.tombstonesDelta)
			assert.Equal(t, 0, c.size())
		})
	}
}

func TestBuildExecutionChangeMixed(t *testing.T) {
	const revision = 20
	unchanged := testRoute("a0", 1, strings.Repeat("1", 64), withName("zsc-1111111111111111-2"))
	updOld := testRoute("b0", 2, strings.Repeat("2", 64), withName("zsc-2222222222222222-2"))
	updNew := testRoute("b0", 2, strings.Repeat("2", 64), withName("zsc-2222222222222222-2"), withEntryPoints("websecure"))
	gone := testRoute("c0", 3, strings.Repeat("3", 64), withName("zsc-3333333333333333-2"))
	added := testRoute("d0", 4, strings.Repeat("4", 64))
	addedNamed := testRoute("d0", 4, strings.Repeat("4", 64), withName("zsc-4444444444444444-20"))

	p := plan.Compute(
		[]state.Route{added, testRoute("b0", 2, strings.Repeat("2", 64), withEntryPoints("websecure")), testRoute("a0", 1, strings.Repeat("1", 64))},
		[]state.Route{gone, updOld, unchanged})
	c, err := buildExecutionChange(testLayout, revision, "42", 8, p)
	require.NoError(t, err)

	want := routeCreates(addedNamed.Traefik.Name, addedNamed.Traefik.Rule, addedNamed.Traefik.Backend)
	want = append(want,
		set("/traefik/http/routers/zsc-2222222222222222-2/entryPoints/0", "websecure", zkstore.AnyVersion),
		set("/traefik/http/routers/zsc-3333333333333333-2/rule", kvschema.NeverMatchRule, zkstore.AnyVersion),
		set("/traefik/http/services/zsc-3333333333333333-2/loadBalancer/servers/0/url", kvschema.DeadBackend, zkstore.AnyVersion),
		create("/traefik-zk-sidecar/tombstones/zsc-3333333333333333-2", tombstoneJSON(t, gone.Traefik, revision)),
		set("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", revision, unchanged, updNew, addedNamed), 8),
	)
	assert.Equal(t, want, opStrings(c.ops))
	assert.Equal(t, 0, c.routesDelta)
	assert.Equal(t, 1, c.tombstonesDelta)
	assert.Equal(t, []string{addedNamed.Traefik.Name}, createdRouters(c.ops))
	assert.Equal(t, []state.Route{gone}, c.removed)
	assert.ElementsMatch(t, []state.Route{unchanged, updNew, addedNamed}, c.routes)
	// The change record's share: what now serves, and what no longer does.
	assert.Equal(t, []kvschema.Route{addedNamed.Traefik, updNew.Traefik}, c.served)
	assert.Equal(t, []string{gone.Traefik.Name}, c.unserved)

	size := 0
	for _, o := range c.ops {
		size += len(o.Path) + len(o.Data) + 64
	}
	for _, r := range c.served {
		data, err := json.Marshal(r)
		require.NoError(t, err)
		size += len(data) + 1
	}
	size += len(gone.Traefik.Name) + 3
	assert.Equal(t, size, c.size())
}

func TestBuildExecutionChangeInvalidRoute(t *testing.T) {
	bad := testRoute("jupyter0", 8888, key8888, withBackend(""))
	_, err := buildExecutionChange(testLayout, 1, "42", -1, plan.Plan{Create: []state.Route{bad}})
	assert.Error(t, err)
}

func TestValueChanges(t *testing.T) {
	base := kvschema.Route{Name: "r1", Rule: pathRule("/p/k1"), Backend: "http://10.0.0.1:80", EntryPoints: []string{"web"}}
	mod := func(f func(r *kvschema.Route)) kvschema.Route {
		r := base
		r.EntryPoints = append([]string(nil), base.EntryPoints...)
		f(&r)
		return r
	}
	tests := []struct {
		name string
		from kvschema.Route
		to   kvschema.Route
		want []string
	}{
		{"identical", base, base, nil},
		{"backend", base, mod(func(r *kvschema.Route) { r.Backend = "https://10.0.0.2:443" }), []string{
			set("/traefik/http/services/r1/loadBalancer/servers/0/url", "https://10.0.0.2:443", zkstore.AnyVersion),
		}},
		{"rule and backend, in key order", base, mod(func(r *kvschema.Route) { r.Rule = pathRule("/p/k2"); r.Backend = "http://10.0.0.2:80" }), []string{
			set("/traefik/http/routers/r1/rule", pathRule("/p/k2"), zkstore.AnyVersion),
			set("/traefik/http/services/r1/loadBalancer/servers/0/url", "http://10.0.0.2:80", zkstore.AnyVersion),
		}},
		{"tombstone", base, base.Tombstone(), []string{
			set("/traefik/http/routers/r1/rule", kvschema.NeverMatchRule, zkstore.AnyVersion),
			set("/traefik/http/services/r1/loadBalancer/servers/0/url", kvschema.DeadBackend, zkstore.AnyVersion),
		}},
		{"entry point renamed", base, mod(func(r *kvschema.Route) { r.EntryPoints = []string{"websecure"} }), []string{
			set("/traefik/http/routers/r1/entryPoints/0", "websecure", zkstore.AnyVersion),
		}},
		{"cert resolver changed",
			mod(func(r *kvschema.Route) { r.TLS = &kvschema.RouterTLSConfig{CertResolver: "a"} }),
			mod(func(r *kvschema.Route) { r.TLS = &kvschema.RouterTLSConfig{CertResolver: "b"} }),
			[]string{set("/traefik/http/routers/r1/tls/certResolver", "b", zkstore.AnyVersion)}},
		// Not the same shape: only common znodes may be set, nothing is
		// created or deleted.
		{"strip prefix added", base, mod(func(r *kvschema.Route) { r.StripPrefix = "/p/k1" }), nil},
		{"entry point added and first renamed", base, mod(func(r *kvschema.Route) { r.EntryPoints = []string{"a", "b"} }), []string{
			set("/traefik/http/routers/r1/entryPoints/0", "a", zkstore.AnyVersion),
		}},
		{"entry points removed", base, mod(func(r *kvschema.Route) { r.EntryPoints = nil }), nil},
		{"other name", base, mod(func(r *kvschema.Route) { r.Name = "r2"; r.Backend = "http://10.0.0.9:80" }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := valueChanges("traefik", tt.from, tt.to)
			require.NoError(t, err)
			assert.Equal(t, tt.want, opStrings(ops))
			for _, o := range ops {
				assert.Equal(t, zkstore.OpSet, o.Kind, "valueChanges only sets")
				assert.Equal(t, zkstore.AnyVersion, o.Version)
			}
		})
	}

	_, err := valueChanges("traefik", base, kvschema.Route{Name: "r1"})
	assert.Error(t, err, "invalid target route")
	_, err = valueChanges("traefik", kvschema.Route{Name: "r1"}, base)
	assert.Error(t, err, "invalid source route")
	_, err = valueChanges("", base, base)
	assert.Error(t, err, "invalid root key")
}

func TestKickOps(t *testing.T) {
	tests := []struct {
		rootKey  string
		revision int64
		wantPath string
	}{
		{"traefik", 42, "/traefik/zsc-kick-42"},
		{"/traefik/", 1, "/traefik/zsc-kick-1"},
		{"a/b", 7, "/a/b/zsc-kick-7"},
	}
	for _, tt := range tests {
		t.Run(tt.wantPath, func(t *testing.T) {
			l := testLayout
			l.rootKey = tt.rootKey
			ops, err := kickOps(l, tt.revision)
			require.NoError(t, err)
			assert.Equal(t, []zkstore.Op{
				{Kind: zkstore.OpCreate, Path: tt.wantPath},
				{Kind: zkstore.OpDelete, Path: tt.wantPath, Version: zkstore.AnyVersion},
			}, ops)
			root, err := kvschema.RootPath(tt.rootKey)
			require.NoError(t, err)
			assert.Equal(t, root, path.Dir(ops[0].Path), "a direct child of the root fires Traefik's watch")
			assert.True(t, kvschema.IgnoredByTraefik(path.Base(ops[0].Path)), "Traefik must ignore the kick node")
			assert.Empty(t, ops[0].Data)
		})
	}
	a, err := kickOps(testLayout, 1)
	require.NoError(t, err)
	b, err := kickOps(testLayout, 2)
	require.NoError(t, err)
	assert.NotEqual(t, a[0].Path, b[0].Path)

	l := testLayout
	l.rootKey = "/"
	_, err = kickOps(l, 1)
	assert.Error(t, err)
}

func TestLayoutPaths(t *testing.T) {
	assert.Equal(t, "/traefik-zk-sidecar/revision", testLayout.revisionPath())
	assert.Equal(t, "/traefik-zk-sidecar/changes/0000000042", testLayout.changePath(42))
	assert.Equal(t, "/traefik-zk-sidecar/permanent", testLayout.permanentPath())
	assert.Equal(t, "/traefik-zk-sidecar/executions/42", testLayout.executionPath("42"))
	assert.Equal(t, "/traefik-zk-sidecar/tombstones/zsc-x-1", testLayout.tombstonePath("zsc-x-1"))
}

// The writer's view of which executions have a record follows what each
// change does to the record.
func TestBuildExecutionChangeRecord(t *testing.T) {
	existing := testRoute("jupyter0", 8888, key8888, withName("zsc-356285bbd155c04b-3"))
	other := testRoute("jupyter0", 4040, key4040, withName("zsc-a1b2c3d4e5f60718-3"))
	fresh := testRoute("jupyter0", 4040, key4040)
	tests := []struct {
		name          string
		recordVersion int32
		plan          plan.Plan
		want          recordChange
	}{
		{"first route of a new execution", -1, plan.Plan{Create: []state.Route{fresh}}, recordCreated},
		{"a route added to an execution", 2, plan.Plan{Create: []state.Route{fresh}, Unchanged: []state.Route{existing}}, recordUpdated},
		{"one of two routes stopped", 2, plan.Plan{Delete: []state.Route{other}, Unchanged: []state.Route{existing}}, recordUpdated},
		{"the last route stopped", 2, plan.Plan{Delete: []state.Route{existing}}, recordDeleted},
		{"nothing to do", 2, plan.Plan{Unchanged: []state.Route{existing}}, recordKept},
		{"stop of an unknown execution", -1, plan.Plan{}, recordKept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := buildExecutionChange(testLayout, 9, "42", tt.recordVersion, tt.plan)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.record)
		})
	}
}

// changeCreate is the op creating the change record of revision.
func changeCreate(t *testing.T, revision int64, upsert []kvschema.Route, remove ...string) string {
	t.Helper()
	data, err := json.Marshal(state.Change{Revision: revision, Upsert: upsert, Remove: remove})
	require.NoError(t, err)
	return create("/traefik-zk-sidecar/changes/"+changeName(revision), string(data))
}

// Every transaction sets the revision with the version it planned against
// and creates the change record of the revision that makes.
func TestRevisionOps(t *testing.T) {
	r := testRoute("jupyter0", 8888, key8888, withName("zsc-356285bbd155c04b-8")).Traefik
	change := state.Change{Upsert: []kvschema.Route{r}, Remove: []string{"zsc-a1b2c3d4e5f60718-3"}}
	ops, err := revisionOps(testLayout, 7, state.Meta{Routes: 3, Tombstones: 1}, change)
	require.NoError(t, err)
	record, err := json.Marshal(state.Change{Revision: 8, Upsert: change.Upsert, Remove: change.Remove})
	require.NoError(t, err)
	assert.Equal(t, []string{
		set("/traefik-zk-sidecar/revision", `{"routes":3,"tombstones":1}`, 7),
		create("/traefik-zk-sidecar/changes/0000000008", string(record)),
	}, opStrings(ops))

	// The garbage collector's transaction serves nothing new: an empty
	// record keeps the revisions contiguous for the mirrors.
	ops, err = revisionOps(testLayout, 0, state.Meta{}, state.Change{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		set("/traefik-zk-sidecar/revision", `{"routes":0,"tombstones":0}`, 0),
		create("/traefik-zk-sidecar/changes/0000000001", `{"revision":1}`),
	}, opStrings(ops))
}

func TestMirrorChange(t *testing.T) {
	a := testRoute("a0", 1, strings.Repeat("1", 64), withName("zsc-1111111111111111-2")).Traefik
	b := testRoute("b0", 2, strings.Repeat("2", 64), withName("zsc-2222222222222222-2")).Traefik
	tests := []struct {
		name    string
		changes []executionChange
		want    state.Change
	}{
		{"nothing", nil, state.Change{}},
		{"one execution", []executionChange{{served: []kvschema.Route{a}, unserved: []string{"zsc-x-1"}}},
			state.Change{Upsert: []kvschema.Route{a}, Remove: []string{"zsc-x-1"}}},
		{"two executions, in order", []executionChange{{served: []kvschema.Route{a}}, {served: []kvschema.Route{b}, unserved: []string{"zsc-y-1"}}},
			state.Change{Upsert: []kvschema.Route{a, b}, Remove: []string{"zsc-y-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, mirrorChange(tt.changes))
		})
	}
}

func TestChangeName(t *testing.T) {
	assert.Equal(t, "0000000001", changeName(1))
	assert.Equal(t, "2147483647", changeName(1<<31-1))
	assert.Less(t, changeName(99), changeName(100), "names sort as revisions")
	for _, tt := range []struct {
		name string
		rev  int64
		ok   bool
	}{
		{"0000000042", 42, true},
		{"2147483647", 1<<31 - 1, true},
		{"42", 0, false},
		{"00000000x2", 0, false},
		{"-000000042", 0, false},
	} {
		rev, ok := parseChangeName(tt.name)
		assert.Equal(t, tt.ok, ok, tt.name)
		assert.Equal(t, tt.rev, rev, tt.name)
	}
}

func TestExpiredChanges(t *testing.T) {
	names := func(revs ...int64) []string {
		var out []string
		for _, r := range revs {
			out = append(out, changeName(r))
		}
		return out
	}
	tests := []struct {
		name    string
		names   []string
		current int64
		keep    int
		want    []string
	}{
		{"fewer than kept", names(1, 2, 3), 3, 5, nil},
		{"exactly the kept ones", names(3, 4, 5), 5, 3, nil},
		{"older ones go", names(1, 2, 3, 4, 5), 5, 3, names(1, 2)},
		{"any order", names(5, 1, 4, 2), 5, 3, names(1, 2)},
		{"other names stay", append(names(1, 9), "junk"), 9, 3, names(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, expiredChanges(tt.names, tt.current, tt.keep))
		})
	}
}

func TestMergePermanent(t *testing.T) {
	sentinel := kvschema.SentinelRoute()
	ui := kvschema.Route{Name: "zsc-static-zoe-ui", Rule: "PathPrefix(`/zoe`)", Backend: "http://10.0.0.9:5001"}
	moved := ui
	moved.Backend = "http://10.0.0.10:5001"
	tests := []struct {
		name        string
		record      []kvschema.Route
		routes      []kvschema.Route
		want        []kvschema.Route
		wantChanged bool
	}{
		{"no record yet", nil, []kvschema.Route{sentinel, ui}, []kvschema.Route{sentinel, ui}, true},
		{"all in place", []kvschema.Route{sentinel, ui}, []kvschema.Route{sentinel, ui}, []kvschema.Route{sentinel, ui}, false},
		{"a static route moved", []kvschema.Route{sentinel, ui}, []kvschema.Route{sentinel, moved}, []kvschema.Route{sentinel, moved}, true},
		// Permanent routes are never removed from Traefik's tree, so
		// neither from the record.
		{"no longer configured", []kvschema.Route{sentinel, ui}, []kvschema.Route{sentinel}, []kvschema.Route{sentinel, ui}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := mergePermanent(state.Permanent{Routes: tt.record}, tt.routes)
			assert.Equal(t, tt.want, got.Routes)
			assert.Equal(t, tt.wantChanged, changed)
		})
	}
}
