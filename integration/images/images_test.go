// Package images holds the scripts that build the compose stack's images
// without a registry (build.sh) and run the stack end to end
// (compose-e2e.sh); this test keeps the test stack honest.
package images

import (
	"os"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The test stacks are docker-compose.yml plus docker-compose.images.yml, and
// for TLS docker-compose.tls.yml plus docker-compose.tls.images.yml on top.
// The overrides may swap images and nothing else: what the end-to-end run
// proves must be about the files users run.
func TestOverrideSwapsOnlyImages(t *testing.T) {
	base := composeServices(t, "../../docker-compose.yml")
	tls := composeServices(t, "../../docker-compose.tls.yml")
	var tlsOnly []string
	for _, name := range keys(tls) {
		if _, ok := base[name]; !ok {
			tlsOnly = append(tlsOnly, name)
		}
	}
	require.NotEmpty(t, tlsOnly, "docker-compose.tls.yml adds zk-tls-proxy")

	for _, c := range []struct {
		override string
		want     []string
		why      string
	}{
		{"docker-compose.images.yml", keys(base),
			"the override names every service of docker-compose.yml, so no official image is left to pull"},
		// A service named here would be added to a stack without the TLS
		// file; those it shares with docker-compose.yml are swapped by the
		// first override.
		{"docker-compose.tls.images.yml", tlsOnly,
			"the TLS override names exactly the services docker-compose.tls.yml adds to docker-compose.yml"},
	} {
		t.Run(c.override, func(t *testing.T) {
			override := loadCompose(t, c.override)
			assert.Equal(t, []string{"services"}, keys(override), "top-level keys of the override")
			services, ok := override["services"].(map[string]any)
			require.True(t, ok, "override services must be a mapping")
			assert.Equal(t, c.want, keys(services), c.why)
			for name, svc := range services {
				fields, ok := svc.(map[string]any)
				if !assert.True(t, ok, "service %s must be a mapping", name) {
					continue
				}
				assert.Equal(t, []string{"image"}, keys(fields), "service %s may only set image", name)
				image, _ := fields["image"].(string)
				assert.Regexp(t, `^traefik-zk-sidecar/[a-z0-9.-]+:[A-Za-z0-9._-]+$`, image,
					"service %s: a locally built image under the project's name", name)
			}
		})
	}
}

func composeServices(t *testing.T, path string) map[string]any {
	t.Helper()
	services, ok := loadCompose(t, path)["services"].(map[string]any)
	require.True(t, ok, "%s: services must be a mapping", path)
	return services
}

func loadCompose(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc), path)
	return doc
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
