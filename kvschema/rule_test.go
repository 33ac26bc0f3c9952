package kvschema

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNeverMatchRule(t *testing.T) {
	require.Equal(t, "Path(`/`) && !PathPrefix(`/`)", NeverMatchRule)
	require.NoError(t, ValidateValue(NeverMatchRule))
}

func TestPathRule(t *testing.T) {
	tests := map[string]string{
		"/p/k1": "Path(`/p/k1`) || PathPrefix(`/p/k1/`)",
		"/a":    "Path(`/a`) || PathPrefix(`/a/`)",
		"/zoe/proxy/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": "Path(`/zoe/proxy/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`) || PathPrefix(`/zoe/proxy/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/`)",
		"/A.b_c~d-": "Path(`/A.b_c~d-`) || PathPrefix(`/A.b_c~d-/`)",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			got, err := PathRule(in)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func TestHostRule(t *testing.T) {
	tests := map[string]string{
		"a":                      "Host(`a`)",
		"jupyter0-42-prod.zoe":   "Host(`jupyter0-42-prod.zoe`)",
		"xn--bcher-kva.example":  "Host(`xn--bcher-kva.example`)",
		"10.0.0.1":               "Host(`10.0.0.1`)",
		label63 + ".example.com": "Host(`" + label63 + ".example.com`)",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			got, err := HostRule(in)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func TestRuleInjectionRejected(t *testing.T) {
	paths := []string{
		"/a`) || PathPrefix(`/",
		"/a`) || Path(`/b",
		"/a`)",
		"/a`",
		"/a\\`) || PathPrefix(`/",
		"/a\") || PathPrefix(\"/",
		"/a') || PathPrefix('/",
		"/a) || PathPrefix(/",
		"/a`)||PathPrefix(`/",
		"/a`)&&!Path(`/b",
		"/a`) || HostRegexp(`.*",
		"/a\n`) || PathPrefix(`/",
		"/a｀) || PathPrefix(｀/", // fullwidth grave accent
		"/",
		"",
	}
	for _, p := range paths {
		t.Run("path "+strconv.Quote(p), func(t *testing.T) {
			rule, err := PathRule(p)
			require.ErrorIs(t, err, ErrInvalid)
			require.Empty(t, rule)
		})
	}
	hosts := []string{
		"x`) || Host(`evil",
		"x`) || PathPrefix(`/",
		"x`)",
		"x`",
		"x\\`) || Host(`evil",
		"x\") || Host(\"evil",
		"x) || Host(evil",
		"x`)||Host(`evil",
		"x`) && !Host(`y",
		"x\n",
		"x｀) || Host(｀evil",
		"",
	}
	for _, h := range hosts {
		t.Run("host "+strconv.Quote(h), func(t *testing.T) {
			rule, err := HostRule(h)
			require.ErrorIs(t, err, ErrInvalid)
			require.Empty(t, rule)
		})
	}
}

func TestPathRuleExcept(t *testing.T) {
	tests := []struct {
		name, path, excluded string
		want                 string
		wantErr              bool
	}{
		{"proxy paths below the UI", "/zoe", "/zoe/proxy", "(Path(`/zoe`) || PathPrefix(`/zoe/`)) && !PathPrefix(`/zoe/proxy/`)", false},
		{"deeper", "/a", "/a/b/c", "(Path(`/a`) || PathPrefix(`/a/`)) && !PathPrefix(`/a/b/c/`)", false},
		{"the root is no path", "/", "/p", "", true},
		{"not below: a sibling", "/zoe", "/zoey/proxy", "", true},
		{"not below: the same path", "/zoe", "/zoe", "", true},
		{"not below: a parent", "/zoe/proxy", "/zoe", "", true},
		{"excluded path breaking out", "/zoe", "/zoe/p`) || Path(`/x", "", true},
		{"path breaking out", "/zoe`)", "/zoe`)/p", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PathRuleExcept(tt.path, tt.excluded)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
