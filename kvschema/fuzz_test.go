package kvschema

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The strict grammar of the rules. Go's regexp has no back-references, so
// the "same path twice" part is checked on the captured groups.
var (
	pathRuleRE = regexp.MustCompile("^Path\\(`((?:/[A-Za-z0-9._~-]+)+)`\\) \\|\\| PathPrefix\\(`((?:/[A-Za-z0-9._~-]+)+)/`\\)$")
	hostRuleRE = regexp.MustCompile("^Host\\(`([a-z0-9.-]+)`\\)$")
	// backendRE is "scheme://host:port" with an optional lone trailing slash.
	backendRE = regexp.MustCompile(`^(?i:https?|h2c)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]+)/?$`)
)

func hostileStrings() []string {
	return []string{
		"", "/", "//", "/a/", "/.", "/..", "/a/../b", "/a`) || PathPrefix(`/", "x`) || Host(`evil",
		"/a\\`)", "/a\n", "/a b", "/ａ", "/а", "a.b", "A.B", "a..b", "-a", "a-", "0", "42",
		"http://h:80?", "http://h:80#", "http://user@h:80", "http://h:80/x", "ftp://h:21",
		"\x00", "\xff", "é", strings.Repeat("a", 64), strings.Repeat("a.", 130),
	}
}

func FuzzPathRule(f *testing.F) {
	for _, s := range []string{"/a", "/p/k1", "/zoe/proxy/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"/A.b_c~d-", "/...", "/.a", "/" + strings.Repeat("a", 1023), "/" + strings.Repeat("a", 1024)} {
		f.Add(s)
	}
	for _, s := range hostileStrings() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rule, err := PathRule(path)
		vErr := ValidatePath(path)
		require.Equal(t, vErr == nil, err == nil, "PathRule and ValidatePath disagree on %q", path)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			require.Empty(t, rule)
			return
		}
		m := pathRuleRE.FindStringSubmatch(rule)
		require.NotNil(t, m, "rule %q does not match the grammar", rule)
		require.Equal(t, path, m[1])
		require.Equal(t, path, m[2])
		require.LessOrEqual(t, len(path), 1024)
		for _, seg := range strings.Split(path[1:], "/") {
			require.NotEqual(t, ".", seg)
			require.NotEqual(t, "..", seg)
		}
		require.Equal(t, 4, strings.Count(rule, "`"))
		require.NoError(t, ValidateValue(rule))
	})
}

func FuzzHostRule(f *testing.F) {
	for _, s := range []string{"a", "example.com", "jupyter0-42-prod.zoe", "xn--bcher-kva.example", "10.0.0.1",
		label63 + ".example", strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 127) + "a", "Example.com"} {
		f.Add(s)
	}
	for _, s := range hostileStrings() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		rule, err := HostRule(host)
		require.Equal(t, ValidateHost(host) == nil, err == nil, "HostRule and ValidateHost disagree on %q", host)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			require.Empty(t, rule)
			return
		}
		m := hostRuleRE.FindStringSubmatch(rule)
		require.NotNil(t, m, "rule %q does not match the grammar", rule)
		require.Equal(t, host, m[1])
		require.LessOrEqual(t, len(host), 253)
		for _, label := range strings.Split(host, ".") {
			require.NotEmpty(t, label)
			require.LessOrEqual(t, len(label), MaxNameLength)
			require.False(t, strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-"), "label %q", label)
		}
	})
}

func FuzzEncodeRoute(f *testing.F) {
	type seed struct{ name, path, backend, strip string }
	seeds := []seed{
		{"r1", "/p/k1", "http://10.0.0.5:8080", ""},
		{"r1", "/p/k1", "http://10.0.0.5:8080", "/p/k1"},
		{"zsc-sentinel", "/zsc-sentinel", DeadBackend, "/zsc-sentinel"},
		{"Mixed-9", "/a.b/~c", "h2c://[::1]:50051", "/a.b"},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", "/zoe/proxy/e3b0", "https://svc.ns.cluster.local:443/", ""},
		{strings.Repeat("n", 57), "/p", "http://h:1", "/p"},
		{strings.Repeat("n", 58), "/p", "http://h:1", "/p"},
		{"r", "/a`) || PathPrefix(`/", "http://h:80", ""},
		{"a/b", "/p", "http://h:80", ""},
		{"a.b", "/p", "http://h:80", ""},
		{"0", "/p", "http://h:80", ""},
		{"r\n", "/p", "http://h:80", ""},
		{"r", "/p", "http://h:80?", ""},
		{"r", "/p", "http://h:80#", ""},
		{"r", "/p", "http://user@h:80/x", "/p"},
		{"r", "/p", "HTTP://H:80", "/p/../x"},
		{"r", "/p", "ftp://h:21", ""},
		{"r", "/p", "http://h:80", "/a, /b"},
		{"ｒ", "/ｐ", "http://ｈ:80", "/ｐ"},
	}
	for _, s := range seeds {
		f.Add(s.name, s.path, s.backend, s.strip)
	}
	f.Fuzz(func(t *testing.T, name, path, backend, strip string) {
		rule, err := PathRule(path)
		if err != nil {
			// Keep exercising name, backend and strip prefix with a fixed rule.
			rule = NeverMatchRule
		}
		r := Route{Name: name, Rule: rule, Backend: backend, StripPrefix: strip, EntryPoints: []string{"web"}}

		owned, err := r.Encode("traefik")
		vErr := r.Validate()
		if err != nil {
			require.Nil(t, owned)
			require.Error(t, vErr, "Encode rejected %+v (%v) but Validate accepted it", r, err)
			return
		}
		require.NoError(t, vErr)

		// Only valid inputs get through.
		require.NoError(t, ValidateName(name))
		require.NoError(t, ValidateBackend(backend))
		require.Regexp(t, backendRE, backend)
		bm := backendRE.FindStringSubmatch(backend)
		port, perr := strconv.Atoi(bm[2])
		require.NoError(t, perr)
		require.True(t, port >= 1 && port <= 65535, "port %d", port)
		if strip != "" {
			require.NoError(t, ValidatePath(strip))
		}

		// The rule is one of the two grammars the sidecar writes.
		if rule != NeverMatchRule {
			m := pathRuleRE.FindStringSubmatch(rule)
			require.NotNil(t, m, "rule %q", rule)
			require.Equal(t, path, m[1])
			require.Equal(t, path, m[2])
		}

		full, err := Encode("traefik", r.Configuration())
		require.NoError(t, err)
		requireWellFormed(t, "/traefik", full)
		names := map[string]bool{name: true, r.StripMiddlewareName(): true}
		for _, kv := range full {
			require.True(t, strings.HasPrefix(kv.Key, "/traefik/http"), kv.Key)
			require.NotEmpty(t, kv.Value, "empty value at %q", kv.Key)
			for _, seg := range strings.Split(strings.TrimPrefix(kv.Key, "/traefik/"), "/") {
				switch {
				case documentedKeys[seg]:
				case isDigits(seg):
				default:
					require.NoError(t, ValidateName(seg), "segment %q of %q", seg, kv.Key)
					require.True(t, names[seg], "segment %q of %q is not one of the route's names", seg, kv.Key)
				}
			}
		}
		for _, kv := range owned {
			require.Contains(t, full, kv)
		}

		want := r.Configuration()
		got, err := Decode("traefik", full)
		require.NoError(t, err)
		require.Equal(t, want, got)
		got, err = Decode("traefik", owned)
		require.NoError(t, err)
		require.Equal(t, want, got)

		// Tombstoning changes values only.
		dead, err := r.Tombstone().Encode("traefik")
		require.NoError(t, err)
		require.Equal(t, keysOf(owned), keysOf(dead))
	})
}
