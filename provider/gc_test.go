package provider

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

func TestQuietWindow(t *testing.T) {
	tests := []struct {
		name       string
		configured time.Duration
		meta       state.Meta
		want       time.Duration
	}{
		{"configured wins", 30 * time.Second, state.Meta{Routes: 4000, Tombstones: 100}, 30 * time.Second},
		{"configured even if short", time.Millisecond, state.Meta{Routes: 4000}, time.Millisecond},
		{"derived, empty tree", 0, state.Meta{}, 5*time.Second + 8*time.Millisecond},
		{"negative means derived", -time.Second, state.Meta{}, 5*time.Second + 8*time.Millisecond},
		{"derived, 1000 routes", 0, state.Meta{Routes: 1000}, 5*time.Second + 1001*8*time.Millisecond},
		{"derived, tombstones count", 0, state.Meta{Routes: 1000, Tombstones: 500}, 5*time.Second + 1501*8*time.Millisecond},
		{"derived, 4000 routes", 0, state.Meta{Routes: 4000}, 37008 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, QuietWindow(tt.configured, tt.meta))
		})
	}
}

func TestQuietWindowGrows(t *testing.T) {
	prev := QuietWindow(0, state.Meta{})
	for _, m := range []state.Meta{{Routes: 1}, {Routes: 1, Tombstones: 1}, {Routes: 10, Tombstones: 1}, {Routes: 100}, {Routes: 100, Tombstones: 50}, {Routes: 10000}} {
		w := QuietWindow(0, m)
		assert.Greater(t, w, prev, "%+v", m)
		prev = w
	}
	assert.Equal(t, QuietWindow(0, state.Meta{Routes: 10}), QuietWindow(0, state.Meta{Tombstones: 10}),
		"a tombstone is as many znodes to walk as a route")
}

// The derived window exceeds twice the measured kick→served times (which
// include Traefik's full walk) for trees of "true" directory values.
func TestQuietWindowCoversMeasuredWalk(t *testing.T) {
	for routes, measured := range map[int]time.Duration{
		1000: 4700 * time.Millisecond,
		2000: 8300 * time.Millisecond,
		4000: 15800 * time.Millisecond,
	} {
		assert.Greater(t, QuietWindow(0, state.Meta{Routes: routes}), 2*measured, "%d routes", routes)
	}
}

func TestQuietTracker(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var q quietTracker
	steps := []struct {
		name                   string
		revision, rootChildren int32
		now                    time.Time
		want                   time.Duration
	}{
		{"first observation starts the clock", 0, 0, at(0), 0},
		{"nothing changed", 0, 0, at(3 * time.Second), 3 * time.Second},
		{"still nothing", 0, 0, at(10 * time.Second), 10 * time.Second},
		{"revision changed", 1, 0, at(11 * time.Second), 0},
		{"quiet again", 1, 0, at(14 * time.Second), 3 * time.Second},
		{"root children changed (a kick)", 1, 2, at(15 * time.Second), 0},
		{"quiet after kick", 1, 2, at(17 * time.Second), 2 * time.Second},
		{"both changed", 2, 4, at(18 * time.Second), 0},
		{"revision went back is still a change", 1, 4, at(19 * time.Second), 0},
		{"quiet", 1, 4, at(20 * time.Second), time.Second},
	}
	for _, s := range steps {
		assert.Equal(t, s.want, q.observe(s.revision, s.rootChildren, s.now), s.name)
	}
	// After its own commit the collector forgets what it saw.
	q.seen = false
	assert.Equal(t, time.Duration(0), q.observe(1, 4, at(30*time.Second)), "reset by seen=false")
	assert.Equal(t, 5*time.Second, q.observe(1, 4, at(35*time.Second)))
}
