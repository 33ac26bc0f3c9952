package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
)

func TestServerTiming(t *testing.T) {
	tests := []struct {
		name   string
		timing provider.Timing
		want   string
	}{
		{"zero", provider.Timing{}, "wait;dur=0.000, zk-read;dur=0.000, plan;dur=0.000, zk-commit;dur=0.000"},
		{"microseconds and milliseconds", provider.Timing{Wait: 12 * time.Microsecond, Read: 0, Plan: 250 * time.Microsecond, Commit: 1234567 * time.Nanosecond},
			"wait;dur=0.012, zk-read;dur=0.000, plan;dur=0.250, zk-commit;dur=1.235"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, serverTiming(tt.timing))
		})
	}
}
