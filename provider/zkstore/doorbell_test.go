package zkstore

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Arm never waits for a session: with an ensemble that accepts TCP and
// answers nothing, and digest credentials (whose sending waits for the
// server), it fails at once with ErrUnavailable, again and again, and
// Close ends the session still being made.
func TestDoorbellFailsFastWithoutASession(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered: a frozen server
		}
	}()
	d := NewDoorbell(Options{Servers: []string{ln.Addr().String()}, SessionTimeout: 4 * time.Second,
		OpTimeout: time.Second, User: "sidecar", Password: "secret"})
	for range 3 {
		start := time.Now()
		_, rung, err := d.Arm("/revision")
		require.ErrorIs(t, err, ErrUnavailable)
		assert.Nil(t, rung)
		// Connecting waits seconds for this server; Arm must not.
		assert.Less(t, time.Since(start), 500*time.Millisecond)
	}
	d.Close()
	_, _, err = d.Arm("/revision")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "closed")
}
