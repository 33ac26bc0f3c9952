package kvschema

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// documentedKeys are the only non-name path segments Encode may write, in
// the casing Traefik documents for its KV providers.
var documentedKeys = map[string]bool{
	"http": true, "routers": true, "services": true, "middlewares": true,
	"entryPoints": true, "service": true, "rule": true, "priority": true,
	"tls": true, "certResolver": true, "loadBalancer": true, "servers": true,
	"url": true, "passHostHeader": true, "stripPrefix": true, "prefixes": true,
	"headers": true, "customRequestHeaders": true, "customResponseHeaders": true,
}

func keysOf(kvs []KV) []string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.Key
	}
	return keys
}

func mapOf(t testing.TB, kvs []KV) map[string]string {
	t.Helper()
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		_, dup := m[kv.Key]
		require.False(t, dup, "duplicate key %q", kv.Key)
		m[kv.Key] = kv.Value
	}
	return m
}

func parentOf(key string) string {
	return key[:strings.LastIndex(key, "/")]
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// requireWellFormed checks the structural invariants of Encode's output:
// every key is strictly below rootPath, keys are sorted and unique, every
// ancestor of every key (below the root) is present with the value "true",
// and every key that has children holds "true".
func requireWellFormed(t testing.TB, rootPath string, kvs []KV) {
	t.Helper()
	require.NotEmpty(t, kvs)
	m := mapOf(t, kvs)
	keys := keysOf(kvs)
	require.True(t, sort.StringsAreSorted(keys), "keys not sorted: %q", keys)
	index := map[string]int{}
	for i, k := range keys {
		index[k] = i
	}
	for i, kv := range kvs {
		require.True(t, strings.HasPrefix(kv.Key, rootPath+"/"), "key %q not under %q", kv.Key, rootPath)
		rel := strings.TrimPrefix(kv.Key, rootPath+"/")
		require.NotContains(t, "/"+rel+"/", "//", "empty segment in %q", kv.Key)
		require.NoError(t, ValidateValue(kv.Value), "value of %q", kv.Key)
		for p := parentOf(kv.Key); p != rootPath; p = parentOf(p) {
			v, ok := m[p]
			require.True(t, ok, "ancestor %q of %q missing", p, kv.Key)
			require.Equal(t, DirectoryValue, v, "directory %q", p)
			require.Less(t, index[p], i, "parent %q must sort before child %q", p, kv.Key)
		}
	}
}
