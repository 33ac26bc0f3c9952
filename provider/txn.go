package provider

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"

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
func (l layout) changesPath() string   { return l.stateRoot + "/changes" }
func (l layout) permanentPath() string { return l.stateRoot + "/permanent" }
func (l layout) defaultCertificatePath() string {
	return l.stateRoot + "/default-certificate"
}
func (l layout) changePath(revision int64) string {
	return path.Join(l.changesPath(), changeName(revision))
}

// changeName zero-pads the revision (a znode version, at most 10 digits) so
// that names sort as revisions do.
func changeName(revision int64) string { return fmt.Sprintf("%010d", revision) }

// parseChangeName is the inverse of changeName; false for other names.
func parseChangeName(name string) (int64, bool) {
	if len(name) != 10 {
		return 0, false
	}
	n, err := strconv.ParseInt(name, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// revisionOps set the revision with the version planned against (the
// precondition that serialises every writer) and leave the change record of
// the revision that creates, so that replicas' mirrors can follow it.
func revisionOps(l layout, version int32, meta state.Meta, change state.Change) ([]zkstore.Op, error) {
	metaData, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	change.Revision = int64(version) + 1
	record, err := json.Marshal(change)
	if err != nil {
		return nil, err
	}
	return []zkstore.Op{
		zkstore.Set(l.revisionPath(), metaData, version),
		zkstore.Create(l.changePath(change.Revision), record),
	}, nil
}

// mirrorChange is what a transaction of these executions' changes does to
// the served routes, for its change record.
func mirrorChange(changes []executionChange) state.Change {
	var out state.Change
	for _, c := range changes {
		out.Upsert = append(out.Upsert, c.served...)
		out.Remove = append(out.Remove, c.unserved...)
	}
	return out
}

// expiredChanges are the change records to delete so that the newest keep
// revisions remain (up to current): a replica that fell further behind
// reloads everything instead. Names that are not change records are kept.
func expiredChanges(names []string, current int64, keep int) []string {
	var out []string
	for _, n := range names {
		if rev, ok := parseChangeName(n); ok && rev <= current-int64(keep) {
			out = append(out, n)
		}
	}
	return out
}

// mergePermanent adds the routes kept in place now to the permanent record:
// permanent routes are never removed, so one an older configuration named
// stays in the record as it stays in Traefik's tree. changed is false when
// the record already says all of it.
func mergePermanent(record state.Permanent, routes []kvschema.Route) (merged state.Permanent, changed bool) {
	byName := make(map[string]int, len(record.Routes))
	merged.Routes = append(merged.Routes, record.Routes...)
	for i, r := range merged.Routes {
		byName[r.Name] = i
	}
	for _, r := range routes {
		i, ok := byName[r.Name]
		if !ok {
			byName[r.Name] = len(merged.Routes)
			merged.Routes = append(merged.Routes, r)
			changed = true
			continue
		}
		if !sameRoute(merged.Routes[i], r) {
			merged.Routes[i] = r
			changed = true
		}
	}
	return merged, changed
}

func sameRoute(a, b kvschema.Route) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// executionChange is the transaction part for one execution: pure, built
// from the execution's current record and its plan.
type executionChange struct {
	ops []zkstore.Op
	// routes are the execution's routes after the change.
	routes []state.Route
	// removed are the routes the change tombstones.
	removed         []state.Route
	routesDelta     int
	tombstonesDelta int
	// served are the routes created or changed, unserved the names of
	// those tombstoned: the change record's share of this execution.
	served   []kvschema.Route
	unserved []string
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

// size approximates the change's share of the transaction: its ops and
// its part of the change record.
func (c executionChange) size() int {
	n := 0
	for _, op := range c.ops {
		n += op.WireSize()
	}
	for _, r := range c.served {
		data, _ := json.Marshal(r)
		n += len(data) + 1
	}
	for _, name := range c.unserved {
		n += len(name) + 3
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
		c.served = append(c.served, r.Traefik)
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
		c.unserved = append(c.unserved, r.Traefik.Name)
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
		if len(ops) > 0 {
			c.served = append(c.served, u.New.Traefik)
		}
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
