package defaultcert

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerate(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c, err := Generate(now)
	require.NoError(t, err)
	pair, err := tls.X509KeyPair([]byte(c.Cert), []byte(c.Key))
	require.NoError(t, err, "Traefik loads it with tls.X509KeyPair")
	require.NotNil(t, pair.Leaf)
	assert.Equal(t, CommonName, pair.Leaf.Subject.CommonName)
	assert.True(t, pair.Leaf.NotBefore.Before(now))
	assert.True(t, pair.Leaf.NotAfter.After(now.Add(9*365*24*time.Hour)))

	other, err := Generate(now)
	require.NoError(t, err)
	assert.NotEqual(t, c.Key, other.Key, "a fresh key each time")
}
