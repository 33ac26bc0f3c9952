package config

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite README.md's settings table from the settings table")

// TestREADMEDocumentsEverySetting keeps README.md's configuration table
// equal to the table that registers the flags, so no flag goes undocumented.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	const path = "../../../README.md"
	const begin, end = "<!-- flags:begin -->\n", "<!-- flags:end -->"
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	readme := string(raw)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	require.True(t, i >= 0 && j > i, "README.md lacks the %q ... %q markers", begin, end)
	want := MarkdownTable()
	if *updateREADME {
		readme = readme[:i+len(begin)] + want + readme[j:]
		require.NoError(t, os.WriteFile(path, []byte(readme), 0o644))
	}
	require.Equal(t, want, readme[i+len(begin):j],
		"README.md's settings table is stale: go test ./cmd/internal/config -run TestREADME -update-readme")

	// And the table covers every flag the commands register.
	for _, s := range Settings() {
		require.Contains(t, readme, "`--"+s.Flag+"`")
	}
}
