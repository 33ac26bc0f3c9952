package provider

import (
	"encoding/json"
	"path"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// layout names the znodes the provider uses.
type layout struct {
	rootKey   string // Traefik's root key setting
	root      string // its absolute path
	stateRoot string // the sidecar's bookkeeping, outside Traefik's root
}

func (l layout) revisionPath() string           { return l.stateRoot + "/revision" }
func (l layout) executionsPath() string         { return l.stateRoot + "/executions" }
func (l layout) tombstonesPath() string         { return l.stateRoot + "/tombstones" }
func (l layout) executionPath(id string) string { return path.Join(l.executionsPath(), id) }
func (l layout) tombstonePath(name string) string {
	return path.Join(l.tombstonesPath(), name)
}

// executionChange is the transaction part for one execution: pure, built
// from the execution's current record and its plan.
type executionChange struct {
	ops []zkstore.Op
	// routes are the execution's routes after the change.
	routes []state.Route
	// created and removed are what the change adds and tombstones.
	created, removed []state.Route
	routesDelta      int
	tombstonesDelta  int
	// traefikVisible is true when something under Traefik's root changes,
	// which needs a kick.
	traefikVisible bool
	// record is what happens to the execution's record.
	record recordChange
}

// recordChange is what a transaction does to an execution's record.
type recordChange int

const (
	recordKept recordChange = iota
	recordCreated
	recordUpdated
	recordDeleted
)

func (c executionChange) size() int {
	n := 0
	for _, op := range c.ops {
		n += op.WireSize()
	}
	return n
}

// buildExecutionChange turns a plan into ops. recordVersion is the version
// of the execution's record, or -1 when it has none.
func buildExecutionChange(l layout, revision int64, id string, recordVersion int32, p plan.Plan) (executionChange, error) {
	var c executionChange
	c.routes = append(c.routes, p.Unchanged...)

	create := func(r state.Route) error {
		r.Traefik.Name = execution.RouterName(r.Key, revision)
		kvs, err := r.Traefik.Encode(l.rootKey)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			c.ops = append(c.ops, zkstore.Create(kv.Key, []byte(kv.Value)))
		}
		c.routes = append(c.routes, r)
		c.created = append(c.created, r)
		c.routesDelta++
		return nil
	}
	tombstone := func(r state.Route) error {
		ops, err := valueChanges(l.rootKey, r.Traefik, r.Traefik.Tombstone())
		if err != nil {
			return err
		}
		record, err := json.Marshal(state.Tombstone{Route: r.Traefik.Tombstone(), Revision: revision})
		if err != nil {
			return err
		}
		c.ops = append(c.ops, ops...)
		c.ops = append(c.ops, zkstore.Create(l.tombstonePath(r.Traefik.Name), record))
		c.removed = append(c.removed, r)
		c.routesDelta--
		c.tombstonesDelta++
		return nil
	}

	for _, r := range p.Create {
		if err := create(r); err != nil {
			return c, err
		}
	}
	for _, u := range p.Update {
		ops, err := valueChanges(l.rootKey, u.Old.Traefik, u.New.Traefik)
		if err != nil {
			return c, err
		}
		c.ops = append(c.ops, ops...)
		c.routes = append(c.routes, u.New)
	}
	for _, u := range p.Replace {
		if err := tombstone(u.Old); err != nil {
			return c, err
		}
		if err := create(u.New); err != nil {
			return c, err
		}
	}
	for _, r := range p.Delete {
		if err := tombstone(r); err != nil {
			return c, err
		}
	}
	c.traefikVisible = len(c.ops) > 0
	if p.Empty() && len(c.routes) > 0 {
		// Nothing to change: rewriting the record would commit a
		// transaction, bump the revision and report a change.
		return c, nil
	}

	switch record := l.executionPath(id); {
	case len(c.routes) == 0 && recordVersion >= 0:
		c.ops = append(c.ops, zkstore.Delete(record, recordVersion))
		c.record = recordDeleted
	case len(c.routes) > 0:
		data, err := json.Marshal(state.Execution{ID: id, Routes: sortedRoutes(c.routes), Revision: revision})
		if err != nil {
			return c, err
		}
		if recordVersion >= 0 {
			c.ops = append(c.ops, zkstore.Set(record, data, recordVersion))
			c.record = recordUpdated
		} else {
			c.ops = append(c.ops, zkstore.Create(record, data))
			c.record = recordCreated
		}
	}
	return c, nil
}

// valueChanges sets every znode whose value differs between two routes of
// the same shape; it never creates or deletes under Traefik's root.
func valueChanges(rootKey string, from, to kvschema.Route) ([]zkstore.Op, error) {
	before, err := from.Encode(rootKey)
	if err != nil {
		return nil, err
	}
	after, err := to.Encode(rootKey)
	if err != nil {
		return nil, err
	}
	old := make(map[string]string, len(before))
	for _, kv := range before {
		old[kv.Key] = kv.Value
	}
	var ops []zkstore.Op
	for _, kv := range after {
		if v, ok := old[kv.Key]; ok && v != kv.Value {
			ops = append(ops, zkstore.Set(kv.Key, []byte(kv.Value), zkstore.AnyVersion))
		}
	}
	return ops, nil
}

// kickOps create and delete a root child in the same transaction: Traefik's
// children watch on the root fires, and nothing is left behind.
func kickOps(l layout, revision int64) ([]zkstore.Op, error) {
	p, err := kvschema.KickPath(l.rootKey, revision)
	if err != nil {
		return nil, err
	}
	return []zkstore.Op{zkstore.Create(p, nil), zkstore.Delete(p, zkstore.AnyVersion)}, nil
}

func sortedRoutes(rs []state.Route) []state.Route {
	out := append([]state.Route(nil), rs...)
	state.SortRoutes(out)
	return out
}
