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

// The test stack is docker-compose.yml plus docker-compose.images.yml. The
// override may swap images and nothing else: what the end-to-end run proves
// must be about the file users run.
func TestOverrideSwapsOnlyImages(t *testing.T) {
	base := loadCompose(t, "../../docker-compose.yml")
	override := loadCompose(t, "docker-compose.images.yml")

	assert.Equal(t, []string{"services"}, keys(override), "top-level keys of the override")
	services, ok := override["services"].(map[string]any)
	require.True(t, ok, "override services must be a mapping")
	baseServices, ok := base["services"].(map[string]any)
	require.True(t, ok, "docker-compose.yml services must be a mapping")

	assert.Equal(t, keys(baseServices), keys(services),
		"the override names every service of docker-compose.yml, so no official image is left to pull")
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
