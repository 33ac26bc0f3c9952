package kvschema

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fullRoute() Route {
	return Route{
		Name:        "r1",
		Rule:        testRule,
		Backend:     "http://10.0.0.5:8080",
		EntryPoints: []string{"web", "websecure"},
		StripPrefix: "/p/k1",
		TLS:         &RouterTLSConfig{CertResolver: "le"},
	}
}

func TestTombstone(t *testing.T) {
	for name, r := range map[string]Route{
		"full":     fullRoute(),
		"minimal":  {Name: "m", Rule: "Host(`a.example`)", Backend: "https://a.example:443"},
		"tls only": {Name: "t", Rule: testRule, Backend: "h2c://[::1]:9", TLS: &RouterTLSConfig{}},
	} {
		t.Run(name, func(t *testing.T) {
			orig := r
			tomb := r.Tombstone()

			require.Equal(t, r.Name, tomb.Name)
			require.Equal(t, r.EntryPoints, tomb.EntryPoints)
			require.Equal(t, r.StripPrefix, tomb.StripPrefix)
			require.Equal(t, r.TLS, tomb.TLS)
			require.Equal(t, NeverMatchRule, tomb.Rule)
			require.Equal(t, DeadBackend, tomb.Backend)
			require.True(t, tomb.IsTombstone())
			require.False(t, r.IsTombstone())
			require.Equal(t, orig, r, "Tombstone must not modify its receiver")
			require.Equal(t, tomb, tomb.Tombstone(), "tombstoning is idempotent")
			require.NoError(t, tomb.Validate())

			live, err := r.Encode("traefik")
			require.NoError(t, err)
			dead, err := tomb.Encode("traefik")
			require.NoError(t, err)
			require.Equal(t, keysOf(live), keysOf(dead), "a tombstone must not create or delete znodes")

			changed := map[string]string{}
			liveMap := mapOf(t, live)
			for _, kv := range dead {
				if liveMap[kv.Key] != kv.Value {
					changed[kv.Key] = kv.Value
				}
			}
			require.Equal(t, map[string]string{
				"/traefik/http/routers/" + r.Name + "/rule":                        NeverMatchRule,
				"/traefik/http/services/" + r.Name + "/loadBalancer/servers/0/url": DeadBackend,
			}, changed)
		})
	}
}

func TestIsTombstone(t *testing.T) {
	r := fullRoute()
	tests := []struct {
		name string
		r    Route
		want bool
	}{
		{"live", r, false},
		{"tombstone", r.Tombstone(), true},
		{"only rule", Route{Name: "x", Rule: NeverMatchRule, Backend: r.Backend}, false},
		{"only backend", Route{Name: "x", Rule: r.Rule, Backend: DeadBackend}, false},
		{"zero", Route{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, tt.r.IsTombstone()) })
	}
}

func TestSentinelRoute(t *testing.T) {
	s := SentinelRoute()
	require.Equal(t, Route{Name: "zsc-sentinel", Rule: NeverMatchRule, Backend: DeadBackend, StripPrefix: "/zsc-sentinel"}, s)
	require.NoError(t, s.Validate())
	require.True(t, s.IsTombstone(), "the sentinel never routes anything")

	kvs, err := s.Encode("traefik")
	require.NoError(t, err)
	require.Equal(t, []KV{
		{"/traefik/http/middlewares/zsc-sentinel-strip", "true"},
		{"/traefik/http/middlewares/zsc-sentinel-strip/stripPrefix", "true"},
		{"/traefik/http/middlewares/zsc-sentinel-strip/stripPrefix/prefixes", "true"},
		{"/traefik/http/middlewares/zsc-sentinel-strip/stripPrefix/prefixes/0", "/zsc-sentinel"},
		{"/traefik/http/routers/zsc-sentinel", "true"},
		{"/traefik/http/routers/zsc-sentinel/middlewares", "true"},
		{"/traefik/http/routers/zsc-sentinel/middlewares/0", "zsc-sentinel-strip"},
		{"/traefik/http/routers/zsc-sentinel/rule", NeverMatchRule},
		{"/traefik/http/routers/zsc-sentinel/service", "zsc-sentinel"},
		{"/traefik/http/services/zsc-sentinel", "true"},
		{"/traefik/http/services/zsc-sentinel/loadBalancer", "true"},
		{"/traefik/http/services/zsc-sentinel/loadBalancer/servers", "true"},
		{"/traefik/http/services/zsc-sentinel/loadBalancer/servers/0", "true"},
		{"/traefik/http/services/zsc-sentinel/loadBalancer/servers/0/url", DeadBackend},
	}, kvs)

	// Each of the three maps gets an element.
	cfg := s.Configuration()
	require.Len(t, cfg.HTTP.Routers, 1)
	require.Len(t, cfg.HTTP.Services, 1)
	require.Len(t, cfg.HTTP.Middlewares, 1)
}

func TestSharedDirectories(t *testing.T) {
	got, err := SharedDirectories("/a/b/")
	require.NoError(t, err)
	require.Equal(t, []KV{
		{"/a/b/http", "true"},
		{"/a/b/http/middlewares", "true"},
		{"/a/b/http/routers", "true"},
		{"/a/b/http/services", "true"},
	}, got)
}

func TestRouteEncodeExcludesSharedDirectories(t *testing.T) {
	for _, root := range []string{"traefik", "/a/b/"} {
		rootPath, err := RootPath(root)
		require.NoError(t, err)
		shared, err := SharedDirectories(root)
		require.NoError(t, err)
		sharedKeys := keysOf(shared)

		for name, r := range map[string]Route{
			"with strip":    fullRoute(),
			"without strip": {Name: "r2", Rule: testRule, Backend: "http://h:1"},
			"sentinel":      SentinelRoute(),
		} {
			t.Run(root+" "+name, func(t *testing.T) {
				owned, err := r.Encode(root)
				require.NoError(t, err)
				require.NotEmpty(t, owned)
				for _, kv := range owned {
					require.NotContains(t, sharedKeys, kv.Key)
					segs := strings.Split(strings.TrimPrefix(kv.Key, rootPath+"/"), "/")
					require.GreaterOrEqual(t, len(segs), 3, "owned key %q must be at or below <root>/http/<kind>/<name>", kv.Key)
					require.Equal(t, "http", segs[0], kv.Key)
				}

				// Shared directories plus owned znodes are exactly the full encoding
				// (minus the middlewares directory when the route has no middleware).
				full, err := Encode(root, r.Configuration())
				require.NoError(t, err)
				union := append(append([]KV(nil), owned...), shared...)
				if r.StripPrefix == "" {
					union = removeKey(union, rootPath+"/http/middlewares")
				}
				sort.Slice(union, func(i, j int) bool { return union[i].Key < union[j].Key })
				require.Equal(t, full, union)

				// Every owned key lies under exactly one owned root, and every owned root is written.
				roots, err := r.OwnedRoots(root)
				require.NoError(t, err)
				ownedMap := mapOf(t, owned)
				for _, rt := range roots {
					require.Equal(t, DirectoryValue, ownedMap[rt], "owned root %q", rt)
				}
				for _, kv := range owned {
					n := 0
					for _, rt := range roots {
						if kv.Key == rt || strings.HasPrefix(kv.Key, rt+"/") {
							n++
						}
					}
					require.Equal(t, 1, n, "key %q under %d owned roots", kv.Key, n)
				}
			})
		}
	}
}

func removeKey(kvs []KV, key string) []KV {
	out := kvs[:0]
	for _, kv := range kvs {
		if kv.Key != key {
			out = append(out, kv)
		}
	}
	return out
}

func TestOwnedRoots(t *testing.T) {
	got, err := fullRoute().OwnedRoots("traefik")
	require.NoError(t, err)
	require.Equal(t, []string{
		"/traefik/http/routers/r1",
		"/traefik/http/services/r1",
		"/traefik/http/middlewares/r1-strip",
	}, got)

	r := fullRoute()
	r.StripPrefix = ""
	got, err = r.OwnedRoots("/a/b/")
	require.NoError(t, err)
	require.Equal(t, []string{"/a/b/http/routers/r1", "/a/b/http/services/r1"}, got)

	// A tombstone owns the same subtrees as the live route.
	live, err := fullRoute().OwnedRoots("traefik")
	require.NoError(t, err)
	dead, err := fullRoute().Tombstone().OwnedRoots("traefik")
	require.NoError(t, err)
	require.Equal(t, live, dead)
}

func TestStripMiddlewareName(t *testing.T) {
	require.Equal(t, "r1-strip", fullRoute().StripMiddlewareName())
	require.Equal(t, "zsc-sentinel-strip", SentinelRoute().StripMiddlewareName())
}

func TestRouteValidate(t *testing.T) {
	ok := fullRoute()
	require.NoError(t, ok.Validate())
	name57 := strings.Repeat("n", 57) // 57 + len("-strip") == 63
	name58 := strings.Repeat("n", 58)

	tests := []struct {
		name string
		mut  func(*Route)
		ok   bool
	}{
		{"no strip prefix", func(r *Route) { r.StripPrefix = "" }, true},
		{"no entry points", func(r *Route) { r.EntryPoints = nil }, true},
		{"longest name with strip prefix", func(r *Route) { r.Name = name57 }, true},
		{"longest name without strip prefix", func(r *Route) { r.Name = label63; r.StripPrefix = "" }, true},
		{"empty name", func(r *Route) { r.Name = "" }, false},
		{"name with dot", func(r *Route) { r.Name = "a.b" }, false},
		{"name with slash", func(r *Route) { r.Name = "a/b" }, false},
		{"all-digit name", func(r *Route) { r.Name = "0" }, false},
		{"all-digit long name", func(r *Route) { r.Name = "12345" }, false},
		{"strip middleware name too long", func(r *Route) { r.Name = name58 }, false},
		{"empty rule", func(r *Route) { r.Rule = "" }, false},
		{"rule with newline", func(r *Route) { r.Rule = testRule + "\n" }, false},
		{"bad backend", func(r *Route) { r.Backend = "http://h:80/path" }, false},
		{"empty backend", func(r *Route) { r.Backend = "" }, false},
		{"bad strip prefix", func(r *Route) { r.StripPrefix = "/a/../b" }, false},
		{"relative strip prefix", func(r *Route) { r.StripPrefix = "p" }, false},
		{"bad entry point", func(r *Route) { r.EntryPoints = []string{"web", "a b"} }, false},
		{"bad cert resolver", func(r *Route) { r.TLS = &RouterTLSConfig{CertResolver: "le\n"} }, false},
		{"a priority", func(r *Route) { r.Priority = 1_000_000 }, true},
		{"the highest priority", func(r *Route) { r.Priority = MaxPriority }, true},
		{"a priority Traefik keeps for itself", func(r *Route) { r.Priority = MaxPriority + 1 }, false},
		{"a negative priority", func(r *Route) { r.Priority = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fullRoute()
			tt.mut(&r)
			err := r.Validate()
			kvs, encErr := r.Encode("traefik")
			if tt.ok {
				require.NoError(t, err)
				require.NoError(t, encErr)
				require.NotEmpty(t, kvs)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			// Whatever Validate rejects, Encode rejects too, and vice versa.
			require.Error(t, encErr)
			require.Nil(t, kvs)
		})
	}
}

func TestIgnoredByTraefik(t *testing.T) {
	tests := map[string]bool{
		"http": false, "HTTP": false, "Http-x": false, "httpfoo": false, "hTtP": false,
		"tcp": false, "TCP": false, "udp": false, "Udp": false, "tls": false, "TLSfoo": false, "tlsx": false,
		"zsc-kick-1": true, "zsc-kick-0": true, "zoe-rev-1": true, "alias": true, "traefik": true,
		"zsc-sentinel": true, "xhttp": true, "ht": true, "": true, "-http": true,
	}
	for name, want := range tests {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			assert.Equal(t, want, IgnoredByTraefik(name))
		})
	}
}

func TestKickPath(t *testing.T) {
	exact := []struct {
		root string
		rev  int64
		want string
	}{
		{"traefik", 42, "/traefik/zsc-kick-42"},
		{"/traefik/", 0, "/traefik/zsc-kick-0"},
		{"a/b", 1, "/a/b/zsc-kick-1"},
		{"traefik", math.MaxInt64, "/traefik/zsc-kick-9223372036854775807"},
	}
	for _, tt := range exact {
		got, err := KickPath(tt.root, tt.rev)
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}

	revs := []int64{math.MinInt64, -1, math.MaxInt64, math.MaxInt32, 1 << 40}
	for i := int64(0); i < 5000; i++ {
		revs = append(revs, i, i*7919+1000003)
	}
	seen := map[string]bool{}
	for _, rev := range revs {
		p, err := KickPath("traefik", rev)
		require.NoError(t, err)
		name, ok := strings.CutPrefix(p, "/traefik/")
		require.True(t, ok, p)
		require.NotContains(t, name, "/")
		require.True(t, IgnoredByTraefik(name), "kick node %q would be read by Traefik", name)
		require.NoError(t, ValidateName(name), "kick node %q", name)
		require.Equal(t, "zsc-kick-"+strconv.FormatInt(rev, 10), name)
		seen[p] = true
	}
	// Distinct revisions give distinct kick nodes (no accidental reuse).
	distinct := map[int64]bool{}
	for _, rev := range revs {
		distinct[rev] = true
	}
	require.Len(t, seen, len(distinct))
}

// Shape is a structural key: two routes have the same shape exactly when
// they encode to the same znodes, names aside.
func TestRouteShapeMatchesEncodedKeys(t *testing.T) {
	var variants []Route
	for _, eps := range [][]string{nil, {}, {"web"}, {"websecure"}, {"web", "websecure"}} {
		for _, strip := range []string{"", "/zoe/proxy/k", "/other"} {
			for _, tls := range []*RouterTLSConfig{nil, {}, {CertResolver: "le"}, {CertResolver: "other"}} {
				for _, backend := range []string{"http://10.0.0.1:80", "https://h.example:443"} {
					for _, priority := range []int{0, 7, 1_000_000} {
						variants = append(variants, Route{Name: "zsc-x", Rule: "Path(`/a`)", Backend: backend, EntryPoints: eps, StripPrefix: strip, TLS: tls, Priority: priority})
					}
				}
			}
		}
	}
	keys := func(r Route) string {
		kvs, err := r.Encode("traefik")
		require.NoError(t, err)
		var b strings.Builder
		for _, kv := range kvs {
			b.WriteString(kv.Key + "\n")
		}
		return b.String()
	}
	for _, a := range variants {
		for _, b := range variants {
			b.Name = "zsc-y"
			sameKeys := keys(a) == strings.ReplaceAll(keys(b), "zsc-y", "zsc-x")
			assert.Equal(t, sameKeys, a.Shape() == b.Shape(), "%+v vs %+v", a, b)
		}
	}
}

// A priority is the router's priority znode; without one Traefik derives
// it from the rule, and no znode is written.
func TestRoutePriorityEncoding(t *testing.T) {
	r := Route{Name: "zsc-static-ui", Rule: testRule, Backend: "http://h:1"}
	kvs, err := r.Encode("traefik")
	require.NoError(t, err)
	assert.NotContains(t, keysOf(kvs), "/traefik/http/routers/zsc-static-ui/priority")
	assert.Nil(t, r.Configuration().HTTP.Routers[r.Name].Priority)

	r.Priority = 1_000_000
	kvs, err = r.Encode("traefik")
	require.NoError(t, err)
	assert.Equal(t, "1000000", mapOf(t, kvs)["/traefik/http/routers/zsc-static-ui/priority"])
	require.NotNil(t, r.Configuration().HTTP.Routers[r.Name].Priority)
	assert.Equal(t, 1_000_000, *r.Configuration().HTTP.Routers[r.Name].Priority)
}
