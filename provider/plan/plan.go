// Package plan compares the routes the sidecar should have with the routes
// it has and lists what to create, change and remove. Pure: the provider
// turns a plan into one ZooKeeper transaction.
package plan

import (
	"reflect"
	"sort"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// Change pairs a current route with what it should become.
type Change struct {
	Old state.Route
	New state.Route
}

// Plan is the difference between desired and current routes.
type Plan struct {
	// Create are routes that do not exist yet; Traefik.Name is empty.
	Create []state.Route
	// Update changes only znode values of an existing route (its name and
	// set of znodes stay), so it is safe while Traefik walks the tree.
	Update []Change
	// Replace is for a change of shape (a middleware or an entry point
	// added or removed): the old route is tombstoned and New created under
	// a new name, because deleting znodes on the hot path is not safe.
	Replace []Change
	// Delete are routes to tombstone.
	Delete []state.Route
	// Unchanged routes already match.
	Unchanged []state.Route
}

// Empty is true when nothing needs to be written.
func (p Plan) Empty() bool {
	return len(p.Create) == 0 && len(p.Update) == 0 && len(p.Replace) == 0 && len(p.Delete) == 0
}

// Compute plans desired against current. Routes are matched by execution,
// service and port; a route only in current is deleted, so callers pass the
// current routes of just the executions they mean to change.
func Compute(desired, current []state.Route) Plan {
	currentByID := make(map[state.ID]state.Route, len(current))
	for _, r := range current {
		currentByID[r.ID()] = r
	}
	var p Plan
	seen := make(map[state.ID]bool, len(desired))
	for _, want := range desired {
		seen[want.ID()] = true
		have, ok := currentByID[want.ID()]
		if !ok {
			p.Create = append(p.Create, want)
			continue
		}
		want.Traefik.Name = have.Traefik.Name
		switch {
		case equal(want, have):
			p.Unchanged = append(p.Unchanged, have)
		case sameShape(want.Traefik, have.Traefik):
			p.Update = append(p.Update, Change{Old: have, New: want})
		default:
			want.Traefik.Name = ""
			p.Replace = append(p.Replace, Change{Old: have, New: want})
		}
	}
	for _, have := range current {
		if !seen[have.ID()] {
			p.Delete = append(p.Delete, have)
		}
	}
	sortRoutes(p.Create)
	sortRoutes(p.Delete)
	sortRoutes(p.Unchanged)
	sortChanges(p.Update)
	sortChanges(p.Replace)
	return p
}

func equal(a, b state.Route) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

// normalize makes nil and empty lists compare equal, as they encode alike.
func normalize(r state.Route) state.Route {
	if len(r.Traefik.EntryPoints) == 0 {
		r.Traefik.EntryPoints = nil
	}
	return r
}

// sameShape tells whether two routes encode to the same set of znodes, so
// that one can become the other by value changes alone.
func sameShape(a, b kvschema.Route) bool { return a.Shape() == b.Shape() }

func sortRoutes(rs []state.Route) { state.SortRoutes(rs) }

func sortChanges(cs []Change) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].New.ID().Less(cs[j].New.ID()) })
}
