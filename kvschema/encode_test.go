package kvschema

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testRule = "Path(`/p/k1`) || PathPrefix(`/p/k1/`)"

func intPtr(i int) *int    { return &i }
func boolPtr(b bool) *bool { return &b }

func TestEncodeRouteExact(t *testing.T) {
	router := func(kvs ...KV) []KV { return kvs }
	tests := []struct {
		name  string
		route Route
		want  []KV
	}{
		{
			name: "one entry point, no strip prefix, no TLS",
			route: Route{
				Name: "r1", Rule: testRule, Backend: "http://10.0.0.5:8080",
				EntryPoints: []string{"web"},
			},
			want: router(
				KV{"/traefik/http", "true"},
				KV{"/traefik/http/routers", "true"},
				KV{"/traefik/http/routers/r1", "true"},
				KV{"/traefik/http/routers/r1/entryPoints", "true"},
				KV{"/traefik/http/routers/r1/entryPoints/0", "web"},
				KV{"/traefik/http/routers/r1/rule", testRule},
				KV{"/traefik/http/routers/r1/service", "r1"},
				KV{"/traefik/http/services", "true"},
				KV{"/traefik/http/services/r1", "true"},
				KV{"/traefik/http/services/r1/loadBalancer", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers/0", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers/0/url", "http://10.0.0.5:8080"},
			),
		},
		{
			name: "no entry points at all",
			route: Route{
				Name: "r1", Rule: testRule, Backend: "http://10.0.0.5:8080",
			},
			want: router(
				KV{"/traefik/http", "true"},
				KV{"/traefik/http/routers", "true"},
				KV{"/traefik/http/routers/r1", "true"},
				KV{"/traefik/http/routers/r1/rule", testRule},
				KV{"/traefik/http/routers/r1/service", "r1"},
				KV{"/traefik/http/services", "true"},
				KV{"/traefik/http/services/r1", "true"},
				KV{"/traefik/http/services/r1/loadBalancer", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers/0", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers/0/url", "http://10.0.0.5:8080"},
			),
		},
		{
			name: "strip prefix adds a middleware and its reference",
			route: Route{
				Name: "r1", Rule: testRule, Backend: "http://10.0.0.5:8080",
				EntryPoints: []string{"web"}, StripPrefix: "/p/k1",
			},
			want: router(
				KV{"/traefik/http", "true"},
				KV{"/traefik/http/middlewares", "true"},
				KV{"/traefik/http/middlewares/r1-strip", "true"},
				KV{"/traefik/http/middlewares/r1-strip/stripPrefix", "true"},
				KV{"/traefik/http/middlewares/r1-strip/stripPrefix/prefixes", "true"},
				KV{"/traefik/http/middlewares/r1-strip/stripPrefix/prefixes/0", "/p/k1"},
				KV{"/traefik/http/routers", "true"},
				KV{"/traefik/http/routers/r1", "true"},
				KV{"/traefik/http/routers/r1/entryPoints", "true"},
				KV{"/traefik/http/routers/r1/entryPoints/0", "web"},
				KV{"/traefik/http/routers/r1/middlewares", "true"},
				KV{"/traefik/http/routers/r1/middlewares/0", "r1-strip"},
				KV{"/traefik/http/routers/r1/rule", testRule},
				KV{"/traefik/http/routers/r1/service", "r1"},
				KV{"/traefik/http/services", "true"},
				KV{"/traefik/http/services/r1", "true"},
				KV{"/traefik/http/services/r1/loadBalancer", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers/0", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers/0/url", "http://10.0.0.5:8080"},
			),
		},
		{
			name: "empty TLS is tls=true",
			route: Route{
				Name: "r1", Rule: "Host(`a.example`)", Backend: "https://b.example:8443",
				EntryPoints: []string{"websecure"}, TLS: &RouterTLSConfig{},
			},
			want: router(
				KV{"/traefik/http", "true"},
				KV{"/traefik/http/routers", "true"},
				KV{"/traefik/http/routers/r1", "true"},
				KV{"/traefik/http/routers/r1/entryPoints", "true"},
				KV{"/traefik/http/routers/r1/entryPoints/0", "websecure"},
				KV{"/traefik/http/routers/r1/rule", "Host(`a.example`)"},
				KV{"/traefik/http/routers/r1/service", "r1"},
				KV{"/traefik/http/routers/r1/tls", "true"},
				KV{"/traefik/http/services", "true"},
				KV{"/traefik/http/services/r1", "true"},
				KV{"/traefik/http/services/r1/loadBalancer", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers/0", "true"},
				KV{"/traefik/http/services/r1/loadBalancer/servers/0/url", "https://b.example:8443"},
			),
		},
		{
			name: "TLS with cert resolver and several entry points",
			route: Route{
				Name: "R-2", Rule: testRule, Backend: "h2c://[::1]:50051",
				EntryPoints: []string{"web", "websecure", "internal"},
				TLS:         &RouterTLSConfig{CertResolver: "letsencrypt"},
			},
			want: router(
				KV{"/traefik/http", "true"},
				KV{"/traefik/http/routers", "true"},
				KV{"/traefik/http/routers/R-2", "true"},
				KV{"/traefik/http/routers/R-2/entryPoints", "true"},
				KV{"/traefik/http/routers/R-2/entryPoints/0", "web"},
				KV{"/traefik/http/routers/R-2/entryPoints/1", "websecure"},
				KV{"/traefik/http/routers/R-2/entryPoints/2", "internal"},
				KV{"/traefik/http/routers/R-2/rule", testRule},
				KV{"/traefik/http/routers/R-2/service", "R-2"},
				KV{"/traefik/http/routers/R-2/tls", "true"},
				KV{"/traefik/http/routers/R-2/tls/certResolver", "letsencrypt"},
				KV{"/traefik/http/services", "true"},
				KV{"/traefik/http/services/R-2", "true"},
				KV{"/traefik/http/services/R-2/loadBalancer", "true"},
				KV{"/traefik/http/services/R-2/loadBalancer/servers", "true"},
				KV{"/traefik/http/services/R-2/loadBalancer/servers/0", "true"},
				KV{"/traefik/http/services/R-2/loadBalancer/servers/0/url", "h2c://[::1]:50051"},
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode("traefik", tt.route.Configuration())
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			requireWellFormed(t, "/traefik", got)
		})
	}
}

func TestEncodeFullConfigurationExact(t *testing.T) {
	cfg := &Configuration{HTTP: &HTTPConfiguration{
		Routers: map[string]*Router{"r": {
			Rule: "Host(`a`)", Service: "s", Priority: intPtr(0),
			Middlewares: []string{"m1", "m2"},
		}},
		Services: map[string]*Service{"s": {LoadBalancer: &ServersLoadBalancer{
			Servers:        []Server{{URL: "http://a:1"}, {URL: "http://b:2"}},
			PassHostHeader: boolPtr(false),
		}}},
		Middlewares: map[string]*Middleware{
			"m1": {Headers: &Headers{
				CustomRequestHeaders:  map[string]string{"X-Forwarded-Prefix": "/p"},
				CustomResponseHeaders: map[string]string{"X-Frame-Options": "DENY"},
			}},
			"m2": {StripPrefix: &StripPrefix{Prefixes: []string{"/a", "/b"}}},
		},
	}}
	got, err := Encode("/zk/root/", cfg)
	require.NoError(t, err)
	want := []KV{
		{"/zk/root/http", "true"},
		{"/zk/root/http/middlewares", "true"},
		{"/zk/root/http/middlewares/m1", "true"},
		{"/zk/root/http/middlewares/m1/headers", "true"},
		{"/zk/root/http/middlewares/m1/headers/customRequestHeaders", "true"},
		{"/zk/root/http/middlewares/m1/headers/customRequestHeaders/X-Forwarded-Prefix", "/p"},
		{"/zk/root/http/middlewares/m1/headers/customResponseHeaders", "true"},
		{"/zk/root/http/middlewares/m1/headers/customResponseHeaders/X-Frame-Options", "DENY"},
		{"/zk/root/http/middlewares/m2", "true"},
		{"/zk/root/http/middlewares/m2/stripPrefix", "true"},
		{"/zk/root/http/middlewares/m2/stripPrefix/prefixes", "true"},
		{"/zk/root/http/middlewares/m2/stripPrefix/prefixes/0", "/a"},
		{"/zk/root/http/middlewares/m2/stripPrefix/prefixes/1", "/b"},
		{"/zk/root/http/routers", "true"},
		{"/zk/root/http/routers/r", "true"},
		{"/zk/root/http/routers/r/middlewares", "true"},
		{"/zk/root/http/routers/r/middlewares/0", "m1"},
		{"/zk/root/http/routers/r/middlewares/1", "m2"},
		{"/zk/root/http/routers/r/priority", "0"},
		{"/zk/root/http/routers/r/rule", "Host(`a`)"},
		{"/zk/root/http/routers/r/service", "s"},
		{"/zk/root/http/services", "true"},
		{"/zk/root/http/services/s", "true"},
		{"/zk/root/http/services/s/loadBalancer", "true"},
		{"/zk/root/http/services/s/loadBalancer/passHostHeader", "false"},
		{"/zk/root/http/services/s/loadBalancer/servers", "true"},
		{"/zk/root/http/services/s/loadBalancer/servers/0", "true"},
		{"/zk/root/http/services/s/loadBalancer/servers/0/url", "http://a:1"},
		{"/zk/root/http/services/s/loadBalancer/servers/1", "true"},
		{"/zk/root/http/services/s/loadBalancer/servers/1/url", "http://b:2"},
	}
	require.Equal(t, want, got)
}

// encodeConfigs is a set of varied valid configurations shared by the
// property and round-trip tests.
func encodeConfigs() map[string]*Configuration {
	manyEPs := make([]string, 12)
	for i := range manyEPs {
		manyEPs[i] = "ep" + strconv.Itoa(i)
	}
	multi := &Configuration{HTTP: &HTTPConfiguration{
		Routers: map[string]*Router{}, Services: map[string]*Service{}, Middlewares: map[string]*Middleware{},
	}}
	for _, r := range []Route{
		SentinelRoute(),
		{Name: "a1", Rule: testRule, Backend: "http://10.0.0.1:80", EntryPoints: []string{"web"}},
		{Name: "a2", Rule: "Host(`x.example`)", Backend: "https://x.example:443", TLS: &RouterTLSConfig{}, StripPrefix: "/x"},
		{Name: "A3", Rule: NeverMatchRule, Backend: DeadBackend, EntryPoints: []string{"web", "websecure"}, TLS: &RouterTLSConfig{CertResolver: "le"}},
	} {
		c := r.Configuration().HTTP
		for k, v := range c.Routers {
			multi.HTTP.Routers[k] = v
		}
		for k, v := range c.Services {
			multi.HTTP.Services[k] = v
		}
		for k, v := range c.Middlewares {
			multi.HTTP.Middlewares[k] = v
		}
	}
	return map[string]*Configuration{
		"sentinel":       SentinelRoute().Configuration(),
		"plain route":    Route{Name: "r1", Rule: testRule, Backend: "http://10.0.0.5:8080"}.Configuration(),
		"strip and tls":  Route{Name: "r1", Rule: testRule, Backend: "http://10.0.0.5:8080", EntryPoints: []string{"web", "websecure"}, StripPrefix: "/p/k1", TLS: &RouterTLSConfig{}}.Configuration(),
		"cert resolver":  Route{Name: "Mixed-Case-9", Rule: "Host(`a.b`)", Backend: "h2c://svc.ns:9000", TLS: &RouterTLSConfig{CertResolver: "le"}}.Configuration(),
		"twelve entries": Route{Name: "r12", Rule: testRule, Backend: "http://h:1", EntryPoints: manyEPs}.Configuration(),
		"several routes": multi,
		"everything": {HTTP: &HTTPConfiguration{
			Routers: map[string]*Router{"r": {
				Rule: "Host(`a`)", Service: "s", Priority: intPtr(42),
				Middlewares: []string{"m1", "m2"}, EntryPoints: []string{"web"},
			}},
			Services: map[string]*Service{"s": {LoadBalancer: &ServersLoadBalancer{
				Servers:        []Server{{URL: "http://a:1"}, {URL: "http://b:2"}, {URL: "http://c:3"}},
				PassHostHeader: boolPtr(true),
			}}},
			Middlewares: map[string]*Middleware{
				"m1": {Headers: &Headers{CustomRequestHeaders: map[string]string{"X-A": "1", "X-B": "two words"}}},
				"m2": {StripPrefix: &StripPrefix{Prefixes: []string{"/a", "/b/c"}}},
			},
		}},
	}
}

func TestEncodeStructuralProperties(t *testing.T) {
	for name, cfg := range encodeConfigs() {
		for _, root := range []string{"traefik", "/a/b"} {
			t.Run(name+"@"+root, func(t *testing.T) {
				rootPath, err := RootPath(root)
				require.NoError(t, err)
				kvs, err := Encode(root, cfg)
				require.NoError(t, err)
				requireWellFormed(t, rootPath, kvs)
				for _, kv := range kvs {
					segs := strings.Split(strings.TrimPrefix(kv.Key, rootPath+"/"), "/")
					require.Equal(t, "http", segs[0])
					for i, seg := range segs {
						// segments 2 (object name) and 5 of headers maps are names;
						// the rest are documented keys or list indexes.
						isName := i == 2 || (len(segs) == 6 && segs[4] != "servers" && strings.HasPrefix(segs[4], "custom"))
						if isName {
							require.NoError(t, ValidateName(seg), "name segment %q of %q", seg, kv.Key)
							continue
						}
						require.True(t, documentedKeys[seg] || isDigits(seg), "segment %q of %q is neither a documented key nor an index", seg, kv.Key)
					}
				}
			})
		}
	}
}

func TestEncodeUsesDocumentedCasing(t *testing.T) {
	kvs, err := Encode("traefik", Route{
		Name: "r", Rule: testRule, Backend: "http://h:1", EntryPoints: []string{"web"},
		StripPrefix: "/p", TLS: &RouterTLSConfig{CertResolver: "le"},
	}.Configuration())
	require.NoError(t, err)
	m := mapOf(t, kvs)
	for _, key := range []string{
		"/traefik/http/routers/r/entryPoints/0",
		"/traefik/http/services/r/loadBalancer/servers/0/url",
		"/traefik/http/routers/r/tls/certResolver",
		"/traefik/http/middlewares/r-strip/stripPrefix/prefixes/0",
	} {
		assert.Contains(t, m, key)
	}
	for _, kv := range kvs {
		for _, bad := range []string{"HTTP", "Routers", "EntryPoints", "LoadBalancer", "URL", "Servers", "CertResolver", "StripPrefix", "[0]", "entrypoints", "loadbalancer"} {
			assert.NotContains(t, strings.Split(kv.Key, "/"), bad, "key %q", kv.Key)
		}
	}
}

func TestRootPath(t *testing.T) {
	valid := map[string]string{
		"traefik":   "/traefik",
		"/traefik":  "/traefik",
		"/traefik/": "/traefik",
		"traefik/":  "/traefik",
		"a/b":       "/a/b",
		"/a/b/":     "/a/b",
		"Zk-1/x2":   "/Zk-1/x2",
	}
	for in, want := range valid {
		t.Run("valid "+in, func(t *testing.T) {
			got, err := RootPath(in)
			require.NoError(t, err)
			require.Equal(t, want, got)

			kvs, err := Encode(in, SentinelRoute().Configuration())
			require.NoError(t, err)
			require.Equal(t, want+"/http", kvs[0].Key)
			requireWellFormed(t, want, kvs)
		})
	}
	for _, in := range []string{"", "/", "//", "a//b", "a.b", "a b", "a\tb", "a\nb", "-a", "a-", "a/./b", "a/../b", "..", "a@b", "a_b", "a`b", "träefik", strings.Repeat("a", 64)} {
		t.Run("invalid "+strconv.Quote(in), func(t *testing.T) {
			got, err := RootPath(in)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			require.Empty(t, got)

			kvs, err := Encode(in, SentinelRoute().Configuration())
			require.Error(t, err)
			require.Nil(t, kvs)
			_, err = Decode(in, nil)
			require.Error(t, err)
			_, err = KickPath(in, 1)
			require.Error(t, err)
			_, err = SharedDirectories(in)
			require.Error(t, err)
			_, err = SentinelRoute().Encode(in)
			require.Error(t, err)
			_, err = SentinelRoute().OwnedRoots(in)
			require.Error(t, err)
		})
	}
}

func TestEncodeNilAndEmpty(t *testing.T) {
	kvs, err := Encode("traefik", nil)
	require.NoError(t, err)
	require.Empty(t, kvs)

	kvs, err = Encode("traefik", &Configuration{})
	require.NoError(t, err)
	require.Empty(t, kvs)
}

func TestEncodeRejectsEmptyMapsAndElements(t *testing.T) {
	svc := map[string]*Service{"s": {LoadBalancer: &ServersLoadBalancer{Servers: []Server{{URL: "http://a:1"}}}}}
	rtr := map[string]*Router{"r": {Rule: "Host(`a`)", Service: "s"}}
	tests := map[string]*Configuration{
		"empty routers map":           {HTTP: &HTTPConfiguration{Routers: map[string]*Router{}, Services: svc}},
		"empty routers map only":      {HTTP: &HTTPConfiguration{Routers: map[string]*Router{}}},
		"empty services map":          {HTTP: &HTTPConfiguration{Routers: rtr, Services: map[string]*Service{}}},
		"empty middlewares map":       {HTTP: &HTTPConfiguration{Routers: rtr, Services: svc, Middlewares: map[string]*Middleware{}}},
		"empty headers map":           {HTTP: &HTTPConfiguration{Middlewares: map[string]*Middleware{"m": {Headers: &Headers{CustomRequestHeaders: map[string]string{}}}}}},
		"nil router":                  {HTTP: &HTTPConfiguration{Routers: map[string]*Router{"r": nil}, Services: svc}},
		"nil service":                 {HTTP: &HTTPConfiguration{Routers: rtr, Services: map[string]*Service{"s": nil}}},
		"nil middleware":              {HTTP: &HTTPConfiguration{Routers: rtr, Services: svc, Middlewares: map[string]*Middleware{"m": nil}}},
		"router without any field":    {HTTP: &HTTPConfiguration{Routers: map[string]*Router{"r": {}}, Services: svc}},
		"service without balancer":    {HTTP: &HTTPConfiguration{Routers: rtr, Services: map[string]*Service{"s": {}}}},
		"balancer without servers":    {HTTP: &HTTPConfiguration{Routers: rtr, Services: map[string]*Service{"s": {LoadBalancer: &ServersLoadBalancer{}}}}},
		"middleware without any kind": {HTTP: &HTTPConfiguration{Routers: rtr, Services: svc, Middlewares: map[string]*Middleware{"m": {}}}},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			kvs, err := Encode("traefik", cfg)
			require.Error(t, err, "encoded to %v", kvs)
			require.Nil(t, kvs)
		})
	}
}

func TestEncodeRejectsInvalidNames(t *testing.T) {
	okRouter := &Router{Rule: "Host(`a`)"}
	okService := &Service{LoadBalancer: &ServersLoadBalancer{Servers: []Server{{URL: "http://a:1"}}}}
	names := []string{
		"", "a b", "a.b", "a/b", "/", "..", ".", "a\nb", "a\x00b", "a`b", "a\\b", "a'b", `a"b`,
		"a(b", "a||b", "a&&b", "a@zookeeper", "a_b", "-a", "a-", "rоuter", "ｒ", strings.Repeat("r", 64),
		"0", "42", // all-digit segments are read as list indexes by Traefik's KV decoder
	}
	for _, name := range names {
		t.Run("router "+strconv.Quote(name), func(t *testing.T) {
			kvs, err := Encode("traefik", &Configuration{HTTP: &HTTPConfiguration{Routers: map[string]*Router{name: okRouter}}})
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			requireNamed(t, err, name)
			require.Nil(t, kvs)
		})
		t.Run("service "+strconv.Quote(name), func(t *testing.T) {
			_, err := Encode("traefik", &Configuration{HTTP: &HTTPConfiguration{Services: map[string]*Service{name: okService}}})
			require.ErrorIs(t, err, ErrInvalid)
			requireNamed(t, err, name)
		})
		t.Run("header "+strconv.Quote(name), func(t *testing.T) {
			_, err := Encode("traefik", &Configuration{HTTP: &HTTPConfiguration{Middlewares: map[string]*Middleware{
				"m": {Headers: &Headers{CustomRequestHeaders: map[string]string{name: "v"}}},
			}}})
			require.ErrorIs(t, err, ErrInvalid)
			requireNamed(t, err, name)
		})
	}
}

func TestEncodeRejectsCaseInsensitiveDuplicates(t *testing.T) {
	// Traefik's decoder matches names case-insensitively: "Web" and "web"
	// would be merged into one router, mixing two routes.
	okService := &Service{LoadBalancer: &ServersLoadBalancer{Servers: []Server{{URL: "http://a:1"}}}}
	tests := map[string]*Configuration{
		"routers": {HTTP: &HTTPConfiguration{Routers: map[string]*Router{
			"Web": {Rule: "Host(`a`)"}, "web": {Rule: "Host(`b`)"},
		}}},
		"services": {HTTP: &HTTPConfiguration{Services: map[string]*Service{"S1": okService, "s1": okService}}},
		"middlewares": {HTTP: &HTTPConfiguration{Middlewares: map[string]*Middleware{
			"m": {StripPrefix: &StripPrefix{Prefixes: []string{"/a"}}}, "M": {StripPrefix: &StripPrefix{Prefixes: []string{"/b"}}},
		}}},
		"headers": {HTTP: &HTTPConfiguration{Middlewares: map[string]*Middleware{
			"m": {Headers: &Headers{CustomResponseHeaders: map[string]string{"X-A": "1", "x-a": "2"}}},
		}}},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			kvs, err := Encode("traefik", cfg)
			require.ErrorIs(t, err, ErrInvalid)
			require.Nil(t, kvs)
		})
	}
}

func TestEncodeRejectsBadValues(t *testing.T) {
	base := func(mut func(*Router, *Service, *Middleware)) *Configuration {
		r := &Router{Rule: "Host(`a`)", Service: "s", EntryPoints: []string{"web"}, Middlewares: []string{"m"}}
		s := &Service{LoadBalancer: &ServersLoadBalancer{Servers: []Server{{URL: "http://a:1"}}}}
		m := &Middleware{StripPrefix: &StripPrefix{Prefixes: []string{"/p"}}}
		mut(r, s, m)
		return &Configuration{HTTP: &HTTPConfiguration{
			Routers: map[string]*Router{"r": r}, Services: map[string]*Service{"s": s}, Middlewares: map[string]*Middleware{"m": m},
		}}
	}
	// The unmodified base must encode, so every failure below is caused by the mutation.
	_, err := Encode("traefik", base(func(*Router, *Service, *Middleware) {}))
	require.NoError(t, err)

	tests := []struct {
		name    string
		cfg     *Configuration
		mention string
	}{
		{"newline in rule", base(func(r *Router, _ *Service, _ *Middleware) { r.Rule = "Host(`a`)\n|| Host(`b`)" }), "/traefik/http/routers/r/rule"},
		{"carriage return in rule", base(func(r *Router, _ *Service, _ *Middleware) { r.Rule = "Host(`a`)\r" }), "/traefik/http/routers/r/rule"},
		{"NUL in rule", base(func(r *Router, _ *Service, _ *Middleware) { r.Rule = "Host(`a`)\x00" }), "/traefik/http/routers/r/rule"},
		{"DEL in url", base(func(_ *Router, s *Service, _ *Middleware) { s.LoadBalancer.Servers[0].URL = "http://a:1\x7f" }), "/traefik/http/services/s/loadBalancer/servers/0/url"},
		{"tab in cert resolver", base(func(r *Router, _ *Service, _ *Middleware) { r.TLS = &RouterTLSConfig{CertResolver: "le\t"} }), "/traefik/http/routers/r/tls/certResolver"},
		{"invalid utf-8 in rule", base(func(r *Router, _ *Service, _ *Middleware) { r.Rule = "Host(`\xff`)" }), "/traefik/http/routers/r/rule"},
		{"C1 control in header", base(func(_ *Router, _ *Service, m *Middleware) {
			m.Headers = &Headers{CustomRequestHeaders: map[string]string{"X-A": "a\u0085b"}}
		}), "/traefik/http/middlewares/m/headers/customRequestHeaders/X-A"},
		{"over-long rule", base(func(r *Router, _ *Service, _ *Middleware) { r.Rule = strings.Repeat("x", MaxValueLength+1) }), "/traefik/http/routers/r/rule"},
		{"entry point with comma", base(func(r *Router, _ *Service, _ *Middleware) { r.EntryPoints = []string{"web, websecure"} }), "entryPoints"},
		{"empty entry point", base(func(r *Router, _ *Service, _ *Middleware) { r.EntryPoints = []string{""} }), "entryPoints"},
		{"middleware reference with provider", base(func(r *Router, _ *Service, _ *Middleware) { r.Middlewares = []string{"m@file"} }), "middlewares"},
		{"service reference with space", base(func(r *Router, _ *Service, _ *Middleware) { r.Service = "s x" }), "service"},
		{"strip prefix with dot segment", base(func(_ *Router, _ *Service, m *Middleware) { m.StripPrefix.Prefixes = []string{"/a/../b"} }), "stripPrefix"},
		{"strip prefix with comma", base(func(_ *Router, _ *Service, m *Middleware) { m.StripPrefix.Prefixes = []string{"/a, /b"} }), "stripPrefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kvs, err := Encode("traefik", tt.cfg)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			require.Contains(t, err.Error(), tt.mention)
			require.Nil(t, kvs)
		})
	}
}

// requireNamed checks that err names the offending name (an empty name is
// reported as "empty").
func requireNamed(t *testing.T, err error, name string) {
	t.Helper()
	if name == "" {
		require.Contains(t, err.Error(), "empty")
		return
	}
	require.Contains(t, err.Error(), strconv.Quote(name))
}
