package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSecret = "0123456789abcdef0123456789abcdef"

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func newTestDeriver(t *testing.T, secret, deployment string) *Deriver {
	t.Helper()
	d, err := NewDeriver([]byte(secret), deployment)
	require.NoError(t, err)
	return d
}

func TestKeyGolden(t *testing.T) {
	d := newTestDeriver(t, testSecret, "zoe-prod")
	// echo -n "zoe-prod/42/jupyter0/8888" | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
	assert.Equal(t, "356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418", d.Key("42", "jupyter0", 8888))

	// The message layout is deployment/execution/service/port.
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte("zoe-prod/7/spark-master0/4040"))
	assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), d.Key("7", "spark-master0", 4040))
}

func TestKeyStable(t *testing.T) {
	d1 := newTestDeriver(t, testSecret, "zoe-prod")
	d2 := newTestDeriver(t, testSecret, "zoe-prod")
	k := d1.Key("42", "jupyter0", 8888)
	assert.Regexp(t, hex64, k)
	assert.Len(t, k, 64)
	assert.Equal(t, k, d1.Key("42", "jupyter0", 8888), "same deriver, same inputs")
	assert.Equal(t, k, d2.Key("42", "jupyter0", 8888), "another deriver (replica, restart), same inputs")
}

func TestKeySensitivity(t *testing.T) {
	base := newTestDeriver(t, testSecret, "zoe-prod")
	baseKey := base.Key("42", "jupyter0", 8888)

	tests := []struct {
		name string
		key  func(t *testing.T) string
	}{
		{"different secret", func(t *testing.T) string {
			return newTestDeriver(t, "0123456789abcdef0123456789abcdeF", "zoe-prod").Key("42", "jupyter0", 8888)
		}},
		{"longer secret with same prefix", func(t *testing.T) string {
			return newTestDeriver(t, testSecret+"x", "zoe-prod").Key("42", "jupyter0", 8888)
		}},
		{"different deployment", func(t *testing.T) string {
			return newTestDeriver(t, testSecret, "zoe-test").Key("42", "jupyter0", 8888)
		}},
		{"different execution", func(t *testing.T) string { return base.Key("43", "jupyter0", 8888) }},
		{"different service", func(t *testing.T) string { return base.Key("42", "jupyter1", 8888) }},
		{"different port", func(t *testing.T) string { return base.Key("42", "jupyter0", 8889) }},
		{"parts shifted between fields", func(t *testing.T) string { return base.Key("4", "2-jupyter0", 8888) }},
		{"port digits moved into service", func(t *testing.T) string { return base.Key("42", "jupyter08", 888) }},
	}
	seen := map[string]string{baseKey: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.key(t)
			assert.Regexp(t, hex64, k)
			assert.NotEqual(t, baseKey, k)
			prev, dup := seen[k]
			assert.False(t, dup, "same key as %q", prev)
			seen[k] = tt.name
		})
	}
}

func TestDeriverCopiesSecret(t *testing.T) {
	secret := []byte(testSecret)
	d, err := NewDeriver(secret, "zoe-prod")
	require.NoError(t, err)
	before := d.Key("42", "jupyter0", 8888)
	secret[0] = 'X'
	assert.Equal(t, before, d.Key("42", "jupyter0", 8888), "changing the caller's slice must not change keys")
}

func TestNewDeriver(t *testing.T) {
	tests := []struct {
		name       string
		secret     string
		deployment string
		wantErr    string
	}{
		{"minimal secret", strings.Repeat("s", MinSecretLength), "zoe", ""},
		{"long secret", testSecret, "zoe-prod", ""},
		{"uppercase deployment", testSecret, "Zoe-Prod1", ""},
		{"secret one byte short", strings.Repeat("s", MinSecretLength-1), "zoe", "key secret: at least 16 bytes required"},
		{"empty secret", "", "zoe", "key secret: at least 16 bytes required"},
		{"empty deployment", testSecret, "", "deployment name:"},
		{"deployment with slash", testSecret, "zoe/prod", "deployment name:"},
		{"deployment with dot", testSecret, "zoe.prod", "deployment name:"},
		{"deployment with space", testSecret, "zoe prod", "deployment name:"},
		{"deployment with backquote", testSecret, "zoe`", "deployment name:"},
		{"deployment leading hyphen", testSecret, "-zoe", "deployment name:"},
		{"deployment trailing hyphen", testSecret, "zoe-", "deployment name:"},
		{"deployment too long", testSecret, strings.Repeat("a", 64), "deployment name:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDeriver([]byte(tt.secret), tt.deployment)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, d)
				assert.Equal(t, tt.deployment, d.Deployment())
				return
			}
			require.Error(t, err)
			assert.Nil(t, d)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), tt.secret+"x", "error must not echo the secret")
		})
	}
}

func TestDeriverStringHidesSecret(t *testing.T) {
	d := newTestDeriver(t, testSecret, "zoe-prod")
	assert.Equal(t, "keys.Deriver{deployment:zoe-prod}", d.String())
	for _, format := range []string{"%v", "%+v", "%s"} {
		out := fmt.Sprintf(format, d)
		assert.NotContains(t, out, testSecret, format)
		assert.NotContains(t, out, hex.EncodeToString([]byte(testSecret)), format)
		assert.Contains(t, out, "zoe-prod", format)
	}
}

func TestNormalizeBasePath(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "/zoe/proxy", want: "/zoe/proxy"},
		{in: "zoe/proxy/", want: "/zoe/proxy"},
		{in: "/zoe//proxy/", want: "/zoe/proxy"},
		{in: "/zoe/proxy/", want: "/zoe/proxy"},
		{in: "zoe/proxy", want: "/zoe/proxy"},
		{in: "//zoe///proxy//", want: "/zoe/proxy"},
		{in: "/p", want: "/p"},
		{in: "/a-b/c_d/e.f/g~h", want: "/a-b/c_d/e.f/g~h"},
		{in: "/", want: ""},
		{in: "", want: ""},
		{in: "///", want: ""},
		{in: "/zoe proxy", wantErr: true},
		{in: "/zoe/pro`xy", wantErr: true},
		{in: "/zoe/proxy`) || Path(`/", wantErr: true},
		{in: "/zoe/pro\\xy", wantErr: true},
		{in: "/zoe/pro(xy", wantErr: true},
		{in: "/zoe/pro\"xy", wantErr: true},
		{in: "/zoe/proxy?x=1", wantErr: true},
		{in: "/zoe/proxy#frag", wantErr: true},
		{in: "/zoe/%2e%2e", wantErr: true},
		{in: "/zoe/../proxy", wantErr: true},
		{in: "/zoe/./proxy", wantErr: true},
		{in: "/zoe/pröxy", wantErr: true},
		{in: "/zoe/\nproxy", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := NormalizeBasePath(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "traefik-base-url")
				assert.Equal(t, "", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPublicPath(t *testing.T) {
	const key = "356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418"
	tests := []struct {
		rawBase string
		want    string
	}{
		{"/zoe/proxy", "/zoe/proxy/" + key},
		{"/zoe/proxy/", "/zoe/proxy/" + key},
		{"zoe//proxy/", "/zoe/proxy/" + key},
		{"/p", "/p/" + key},
		{"/", "/" + key},
		{"", "/" + key},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.rawBase), func(t *testing.T) {
			base, err := NormalizeBasePath(tt.rawBase)
			require.NoError(t, err)
			got := PublicPath(base, key)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, "//")
			assert.False(t, strings.HasSuffix(got, "/"), "no trailing slash")
			assert.True(t, strings.HasPrefix(got, "/"), "absolute")
		})
	}
}

func TestHostName(t *testing.T) {
	tests := []struct {
		name                                   string
		service, execution, deployment, domain string
		want                                   string
	}{
		{"plain", "jupyter0", "42", "zoe-prod", "proxy.example.com", "jupyter0-42-zoe-prod.proxy.example.com"},
		{"lowercased deployment and domain", "jupyter0", "42", "Zoe-Prod", "Proxy.Example.COM", "jupyter0-42-zoe-prod.proxy.example.com"},
		{"upper case in execution id: ABC would take abc's host", "jupyter0", "ABC", "zoe", "example.com", ""},
		{"one upper-case letter in execution id", "jupyter0", "abC", "zoe", "example.com", ""},
		{"upper case in service: Jupyter0 would take jupyter0's host", "Jupyter0", "42", "zoe", "example.com", ""},
		{"leading and trailing dots of domain trimmed", "jupyter0", "42", "zoe", ".example.com.", "jupyter0-42-zoe.example.com"},
		{"single-label domain", "spark0", "7", "zoe", "localhost", "spark0-7-zoe.localhost"},
		{"label of exactly 63 characters", strings.Repeat("s", 56), "42", "zoe", "example.com", strings.Repeat("s", 56) + "-42-zoe.example.com"},
		{"empty domain", "jupyter0", "42", "zoe-prod", "", ""},
		{"hyphen in execution id", "a", "b-c", "zoe", "example.com", ""},
		{"domain of dots only", "jupyter0", "42", "zoe-prod", "..", ""},
		{"label of 64 characters", strings.Repeat("s", 57), "42", "zoe", "example.com", ""},
		{"underscore in service", "jupyter_0", "42", "zoe-prod", "example.com", ""},
		{"dot in service", "jupyter.0", "42", "zoe-prod", "example.com", ""},
		{"backquote in service", "jupyter`0", "42", "zoe-prod", "example.com", ""},
		{"empty service gives leading hyphen", "", "42", "zoe-prod", "example.com", ""},
		{"space in domain", "jupyter0", "42", "zoe-prod", "ex ample.com", ""},
		{"backquote in domain", "jupyter0", "42", "zoe-prod", "example.com`)", ""},
		{"empty label in domain", "jupyter0", "42", "zoe-prod", "example..com", ""},
		{"domain label with leading hyphen", "jupyter0", "42", "zoe-prod", "-example.com", ""},
		{"host longer than 253", "jupyter0", "42", "zoe", strings.Repeat(strings.Repeat("d", 60)+".", 4) + "com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HostName(tt.service, tt.execution, tt.deployment, tt.domain)
			if tt.want == "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrHostName)
				assert.Equal(t, "", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// Host names ignore case: ids or services that differ only in case must
// not both get one, or one execution would take the other's host.
func TestHostNameRefusesUpperCase(t *testing.T) {
	lower, err := HostName("nb", "abc", "prod", "apps.example.com")
	require.NoError(t, err)
	assert.Equal(t, "nb-abc-prod.apps.example.com", lower)

	_, err = HostName("nb", "ABC", "prod", "apps.example.com")
	assert.ErrorIs(t, err, ErrHostName)
	assert.ErrorIs(t, err, ErrUpperCaseInID)
	assert.EqualError(t, err, `invalid host name: execution id "ABC" must be lower case in host routing (host names ignore case)`)

	_, err = HostName("Nb", "abc", "prod", "apps.example.com")
	assert.ErrorIs(t, err, ErrUpperCaseInService)
	assert.NotErrorIs(t, err, ErrUpperCaseInID)
}
