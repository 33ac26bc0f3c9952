package kvschema

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeRoundTrip(t *testing.T) {
	for name, cfg := range encodeConfigs() {
		for _, root := range []string{"traefik", "/traefik/", "a/b"} {
			t.Run(name+"@"+root, func(t *testing.T) {
				kvs, err := Encode(root, cfg)
				require.NoError(t, err)
				got, err := Decode(root, kvs)
				require.NoError(t, err)
				require.Equal(t, cfg, got)

				// Re-encoding the decoded configuration gives the same znodes.
				again, err := Encode(root, got)
				require.NoError(t, err)
				require.Equal(t, kvs, again)
			})
		}
	}
}

func TestDecodeRouteRoundTrip(t *testing.T) {
	routes := []Route{
		SentinelRoute(),
		{Name: "r1", Rule: testRule, Backend: "http://10.0.0.5:8080"},
		{Name: "r1", Rule: testRule, Backend: "http://10.0.0.5:8080", EntryPoints: []string{"web", "websecure"}, StripPrefix: "/p/k1", TLS: &RouterTLSConfig{}},
		Route{Name: "r1", Rule: testRule, Backend: "http://10.0.0.5:8080", TLS: &RouterTLSConfig{CertResolver: "le"}}.Tombstone(),
	}
	for _, r := range routes {
		t.Run(r.Name+" "+r.Rule, func(t *testing.T) {
			// Route.Encode leaves out the shared directories; Decode does not need them.
			kvs, err := r.Encode("traefik")
			require.NoError(t, err)
			got, err := Decode("traefik", kvs)
			require.NoError(t, err)
			require.Equal(t, r.Configuration(), got)
		})
	}
}

func TestDecodeShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, cfg := range encodeConfigs() {
		t.Run(name, func(t *testing.T) {
			kvs, err := Encode("traefik", cfg)
			require.NoError(t, err)
			for range 20 {
				shuffled := append([]KV(nil), kvs...)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				got, err := Decode("traefik", shuffled)
				require.NoError(t, err)
				require.Equal(t, cfg, got)
			}
		})
	}
}

func TestDecodeWithoutDirectoryNodes(t *testing.T) {
	cfg := encodeConfigs()["several routes"]
	kvs, err := Encode("traefik", cfg)
	require.NoError(t, err)
	var leaves []KV
	for i, kv := range kvs {
		if i+1 < len(kvs) && strings.HasPrefix(kvs[i+1].Key, kv.Key+"/") {
			continue // a directory
		}
		leaves = append(leaves, kv)
	}
	require.Less(t, len(leaves), len(kvs))
	got, err := Decode("traefik", leaves)
	require.NoError(t, err)
	require.Equal(t, cfg, got)
}

func TestDecodeIgnoresForeignNodes(t *testing.T) {
	cfg := encodeConfigs()["strip and tls"]
	kvs, err := Encode("traefik", cfg)
	require.NoError(t, err)
	kick, err := KickPath("traefik", 7)
	require.NoError(t, err)
	foreign := []KV{
		{"/traefik", ""},
		{kick, ""},
		{"/traefik/zsc-kick-1", ""},
		{"/traefik/zoe-rev-0000000042", "x"},
		{"/traefik/alias", "x"},
		{"/traefik/tcp", "true"},
		{"/traefik/tcp/routers/t/rule", "HostSNI(`*`)"},
		{"/traefik/tcp/routers/t/service", "t"},
		{"/traefik/udp/services/u/loadBalancer/servers/0/address", "1.2.3.4:53"},
		{"/traefik/tls/options/default/minVersion", "VersionTLS12"},
		{"/traefik/httpx/routers/bogus/rule", "Host(`bogus`)"},
		{"/traefikx/http/routers/bogus/rule", "Host(`bogus`)"},
		{"/other/http/routers/bogus/rule", "Host(`bogus`)"},
		{"/http/routers/bogus/rule", "Host(`bogus`)"},
		{"traefik/http/routers/bogus/rule", "Host(`bogus`)"},
	}
	all := append(append([]KV(nil), foreign...), kvs...)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10 {
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		got, err := Decode("traefik", all)
		require.NoError(t, err)
		require.Equal(t, cfg, got)
	}

	// Only foreign nodes: an empty configuration, not an error.
	got, err := Decode("traefik", foreign)
	require.NoError(t, err)
	require.Equal(t, &Configuration{}, got)
}

func TestDecodeEmpty(t *testing.T) {
	got, err := Decode("traefik", nil)
	require.NoError(t, err)
	require.Equal(t, &Configuration{}, got)
}

func TestDecodeStandaloneMapFailsLikeTraefik(t *testing.T) {
	// Fact 7: a map directory with no children makes Traefik's decode fail;
	// Decode reports the same instead of inventing an empty configuration.
	shared, err := SharedDirectories("traefik")
	require.NoError(t, err)
	_, err = Decode("traefik", shared)
	require.ErrorContains(t, err, "standalone element")

	// With the sentinel the shared directories decode fine.
	sentinel, err := SentinelRoute().Encode("traefik")
	require.NoError(t, err)
	got, err := Decode("traefik", append(shared, sentinel...))
	require.NoError(t, err)
	require.Equal(t, SentinelRoute().Configuration(), got)
}
