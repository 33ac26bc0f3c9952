package keys

// Fuzz targets of the name, key and path normalisation. Run one
// with `go test ./provider/keys -run '^$' -fuzz '^FuzzHostName$' -fuzztime 5m`;
// `make fuzz` runs each briefly. Inputs that once failed are kept under
// testdata/fuzz/<target>/ and run by every plain `go test`.

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

var (
	// basePathRE is a normalised base path: one or more "/segment" of RFC
	// 3986 unreserved characters.
	basePathRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)
	// dnsNameRE is a lowercase DNS name of labels with inner hyphens only.
	dnsNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	// fuzzPathRuleRE is the only rule shape path routing writes.
	fuzzPathRuleRE = regexp.MustCompile("^Path\\(`((?:/[A-Za-z0-9._~-]+)+)`\\) \\|\\| PathPrefix\\(`((?:/[A-Za-z0-9._~-]+)+)/`\\)$")
	fuzzHostRuleRE = regexp.MustCompile("^Host\\(`([a-z0-9.-]+)`\\)$")
)

// fuzzKey stands for any derived key: 64 lowercase hex characters.
const fuzzKey = "356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418"

// hostileSeeds are strings that have broken rule builders elsewhere.
func hostileSeeds() []string {
	return []string{
		"", "/", "//", ".", "..", "/.", "/..", "/a/../b", "/a/./b", "a/b/", "~", "/~/-/_/.a",
		"/zoe/proxy`) || Host(`evil.com", "x`) || PathPrefix(`/", "`", "\\`", "/a\\`)",
		"/a\n", "/a\x00b", "/a b", "/a%2fb", "/%2e%2e", "/a?x=1", "/a#f", "/a;b", "/a(b)", "/a\"b",
		"/ａ", "/а", "/é", "\xff", "\u212a", "/\u212a", "\u0130", "ß", "\ufeff/a",
		strings.Repeat("/", 300), "/" + strings.Repeat("a", 958), "/" + strings.Repeat("a", 959),
		"/" + strings.Repeat("a", 1023), "/" + strings.Repeat("a", 1024), strings.Repeat("/ab", 400),
		"99999999999999999999999999", "-1", "1e308", `{"a":{"b":[1,2,{"c":null}]}}`,
	}
}

func FuzzNormalizeBasePath(f *testing.F) {
	for _, s := range []string{"/zoe/proxy", "zoe/proxy/", "/zoe//proxy/", "/zoe/proxy/", "//zoe///proxy//",
		"/p", "/a-b/c_d/e.f/g~h", "...", "/.../a", "/.a/..b/a..", "A/B/C"} {
		f.Add(s)
	}
	for _, s := range hostileSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := NormalizeBasePath(raw)
		if err != nil {
			require.Empty(t, got, "a rejected base path must give no path")
			require.ErrorIs(t, err, kvschema.ErrInvalid)
			require.Contains(t, err.Error(), "traefik-base-url")
			return
		}
		if got == "" {
			// Only spellings of the root: nothing but slashes.
			require.Empty(t, strings.Trim(raw, "/"), "%q normalised to the root", raw)
		} else {
			require.Regexp(t, basePathRE, got)
			require.NoError(t, kvschema.ValidatePath(got))
			for _, seg := range strings.Split(got[1:], "/") {
				require.NotEqual(t, ".", seg)
				require.NotEqual(t, "..", seg)
			}
			// Same segments, in order: normalisation only drops empty ones.
			require.Equal(t, strings.Join(strings.FieldsFunc(raw, func(r rune) bool { return r == '/' }), "/"), got[1:])
		}

		// Idempotent.
		again, err := NormalizeBasePath(got)
		require.NoError(t, err, "normalising %q again", got)
		require.Equal(t, got, again)

		// Every public path built on an accepted base makes a valid rule:
		// a base accepted at start-up must not make every route fail later.
		path := PublicPath(got, fuzzKey)
		rule, err := kvschema.PathRule(path)
		require.NoError(t, err, "base %q accepted, but its public paths are not", got)
		m := fuzzPathRuleRE.FindStringSubmatch(rule)
		require.NotNil(t, m, "rule %q", rule)
		require.Equal(t, path, m[1])
		require.Equal(t, path, m[2])
		require.Equal(t, 4, strings.Count(rule, "`"))
	})
}

func FuzzHostName(f *testing.F) {
	type seed struct{ service, execution, deployment, domain string }
	seeds := []seed{
		{"jupyter0", "42", "zoe-prod", "proxy.example.com"},
		{"Jupyter0", "42", "Zoe-Prod", "Proxy.Example.COM"},
		{"jupyter0", "42", "zoe", ".example.com."},
		{"spark0", "7", "zoe", "localhost"},
		{strings.Repeat("s", 56), "42", "zoe", "example.com"},
		{strings.Repeat("s", 57), "42", "zoe", "example.com"},
		{"jupyter0", "42", "zoe", strings.Repeat(strings.Repeat("d", 60)+".", 3) + "com"},
		{"jupyter0", "42", "zoe", strings.Repeat(strings.Repeat("d", 60)+".", 4) + "com"},
		{"jupyter0`) || Host(`evil", "42", "zoe", "example.com"},
		{"jupyter0", "42", "zoe", "example.com`) || Host(`evil.com"},
		{"jupyter0", "42", "zoe", "example..com"},
		{"jupyter0", "4/2", "zoe", "example.com"},
		{"", "42", "zoe", "example.com"},
		{"jupyter0", "", "zoe", "example.com"},
		{"jupyter0", "99999999999999999999", "zoe", "example.com"},
		{"jupyter0", "-1", "zoe", "example.com"},
		{"jupyter0", "42", "zoe", ""},
		{"jupyter0", "42", "zoe", "xn--bcher-kva.example"},
		{"jüpyter0", "42", "zoe", "example.com"},
		{"jupyter0", "42", "zoe", "exämple.com"},
		{"ｊupyter0", "42", "zoe", "example.com"},
		{"jupyter0", "42", "zoe", "EXAMPLE.COM"},
		{"jupyter0", "42", "zoe", "\u0130nfo.example"},
	}
	for _, s := range seeds {
		f.Add(s.service, s.execution, s.deployment, s.domain)
	}
	for _, s := range hostileSeeds() {
		f.Add(s, "42", "zoe", "example.com")
		f.Add("jupyter0", "42", "zoe", s)
	}
	f.Fuzz(func(t *testing.T, service, executionID, deployment, domain string) {
		host, err := HostName(service, executionID, deployment, domain)
		if err != nil {
			require.Empty(t, host)
			require.True(t, errors.Is(err, ErrHostName), "error %v does not wrap ErrHostName", err)
			return
		}
		require.NoError(t, kvschema.ValidateHost(host))
		require.Regexp(t, dnsNameRE, host)
		require.Equal(t, strings.ToLower(host), host)
		// Accepted ids and services are lower case already, so two that
		// differ only in case never share a host.
		require.Equal(t, strings.ToLower(service), service)
		require.Equal(t, strings.ToLower(executionID), executionID)
		require.LessOrEqual(t, len(host), 253)

		label, rest, ok := strings.Cut(host, ".")
		require.True(t, ok, "host %q has no domain", host)
		require.Equal(t, strings.ToLower(service+"-"+executionID+"-"+deployment), label)
		require.Equal(t, strings.ToLower(strings.Trim(domain, ".")), rest)
		// Only ASCII case is folded: the host spells its inputs byte for
		// byte, so two different services can never share a host name
		// (strings.ToLower maps the Kelvin sign U+212A to 'k').
		require.True(t, strings.EqualFold(label, service+"-"+executionID+"-"+deployment))
		require.Len(t, label, len(service)+len(executionID)+len(deployment)+2)
		require.Len(t, rest, len(strings.Trim(domain, ".")))

		rule, err := kvschema.HostRule(host)
		require.NoError(t, err)
		m := fuzzHostRuleRE.FindStringSubmatch(rule)
		require.NotNil(t, m, "rule %q", rule)
		require.Equal(t, host, m[1])
	})
}
