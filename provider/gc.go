package provider

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// Quiet-window model: Traefik re-reads the whole tree on each reload, about
// 4 ms per route (8 znodes) measured with "true" directory values, so deleting
// znodes is only safe once no reload can still be walking. The window is
// twice that walk for the routes and tombstones present, plus a margin that
// covers Traefik's provider throttle.
const (
	gcBaseQuiet     = 5 * time.Second
	gcQuietPerRoute = 8 * time.Millisecond
)

// changesKept is how many of the latest change records the garbage
// collector keeps: a mirror further behind than that loads every record
// again. A record is about as large as the routes its transaction changed.
const changesKept = 1000

// maxTrimOps bounds the deletes of one trimming transaction.
const maxTrimOps = 500

// QuietWindow is how long nothing may have changed before tombstones are
// deleted: the configured window, or one derived from the tree size.
func QuietWindow(configured time.Duration, meta state.Meta) time.Duration {
	if configured > 0 {
		return configured
	}
	return gcBaseQuiet + time.Duration(meta.Routes+meta.Tombstones+1)*gcQuietPerRoute
}

// quietTracker notices changes by polling versions: the revision znode (the
// sidecars' writes) and the root's children version (every kick, including
// another tool's). Local monotonic time avoids trusting server clocks.
type quietTracker struct {
	revision, rootChildren int32
	since                  time.Time
	seen                   bool
}

func (q *quietTracker) observe(revision, rootChildren int32, now time.Time) time.Duration {
	if !q.seen || revision != q.revision || rootChildren != q.rootChildren {
		q.revision, q.rootChildren, q.since, q.seen = revision, rootChildren, now, true
	}
	return now.Sub(q.since)
}

func (p *Provider) runGC(ctx context.Context) {
	ticker := time.NewTicker(p.cfg.GCInterval)
	defer ticker.Stop()
	var quiet quietTracker
	window := func(m state.Meta) time.Duration { return QuietWindow(p.cfg.GCQuietWindow, m) }
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if _, err := p.collectIfQuiet(&quiet, window); err != nil && !errors.Is(err, zkstore.ErrConflict) {
			p.log.Warn("garbage collection", "error", err)
		}
		if _, err := p.trimChanges(); err != nil && !errors.Is(err, zkstore.ErrConflict) {
			p.log.Warn("trimming change records", "error", err)
		}
	}
}

// collectIfQuiet deletes tombstoned routes once the control plane has been
// quiet for window(meta); it returns how many it deleted.
func (p *Provider) collectIfQuiet(q *quietTracker, window func(state.Meta) time.Duration) (int, error) {
	_, version, meta, err := p.readRevision()
	if err != nil {
		return 0, err
	}
	_, rootStat, err := p.store.Get(p.l.root)
	if err != nil {
		return 0, err
	}
	if q.observe(version, rootStat.Cversion, time.Now()) < window(meta) {
		return 0, nil
	}
	n, err := p.collect(version, meta)
	if err == nil && n > 0 {
		// Our own commit changed the versions; the next pass waits again.
		q.seen = false
	}
	return n, err
}

// collect deletes as many tombstoned routes as fit one transaction, with the
// revision precondition and a kick. The sentinel is never a tombstone, so
// the maps never become empty, and names are never reused because new
// routes are named after a revision that only grows.
func (p *Provider) collect(version int32, meta state.Meta) (int, error) {
	names, err := p.store.Children(p.l.tombstonesPath())
	if err != nil || len(names) == 0 {
		return 0, err
	}
	var (
		ops  []zkstore.Op
		size int
		n    int
	)
	for _, name := range names {
		recPath := p.l.tombstonePath(name)
		data, stat, err := p.store.Get(recPath)
		if err != nil {
			return 0, err
		}
		var ts state.Tombstone
		if err := json.Unmarshal(data, &ts); err != nil {
			return 0, err
		}
		roots, err := ts.Route.OwnedRoots(p.l.rootKey)
		if err != nil {
			return 0, err
		}
		var routeOps []zkstore.Op
		for _, root := range roots {
			nodes, err := p.store.Subtree(root)
			if err != nil {
				return 0, err
			}
			// Children before parents.
			for i := len(nodes) - 1; i >= 0; i-- {
				routeOps = append(routeOps, zkstore.Delete(nodes[i], zkstore.AnyVersion))
			}
		}
		routeOps = append(routeOps, zkstore.Delete(recPath, stat.Version))
		routeSize := 0
		for _, op := range routeOps {
			routeSize += op.WireSize()
		}
		if n > 0 && size+routeSize > p.cfg.MaxTxnBytes {
			break
		}
		ops = append(ops, routeOps...)
		size += routeSize
		n++
	}
	meta.Tombstones -= n
	if meta.Tombstones < 0 {
		meta.Tombstones = 0
	}
	// Tombstoned routes are already absent from the mirrors: the change
	// record is empty.
	revOps, err := revisionOps(p.l, version, meta, state.Change{})
	if err != nil {
		return 0, err
	}
	kick, err := kickOps(p.l, int64(version)+1)
	if err != nil {
		return 0, err
	}
	ops = append(revOps, append(ops, kick...)...)
	if err := p.commit(ops); err != nil {
		return 0, err
	}
	p.gcDeleted.Add(int64(n))
	p.log.Info("garbage collected tombstoned routes", "routes", n)
	return n, nil
}

// CollectGarbage observes the control plane, waits quietFor, and collects
// if nothing changed meanwhile. For tests and operators; Run does the same
// periodically with the configured or derived window.
func (p *Provider) CollectGarbage(ctx context.Context, quietFor time.Duration) (int, error) {
	var q quietTracker
	never := func(state.Meta) time.Duration { return time.Duration(1<<63 - 1) }
	if _, err := p.collectIfQuiet(&q, never); err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(quietFor):
	}
	return p.collectIfQuiet(&q, func(state.Meta) time.Duration { return quietFor })
}

// trimChanges deletes the change records older than the latest changesKept
// revisions. Nobody else writes them, so the deletes need no revision
// precondition; two replicas trimming at once make one of them conflict.
func (p *Provider) trimChanges() (int, error) {
	names, err := p.store.Children(p.l.changesPath())
	if err != nil || len(names) <= changesKept {
		return 0, err
	}
	_, version, _, err := p.readRevision()
	if err != nil {
		return 0, err
	}
	expired := expiredChanges(names, int64(version), changesKept)
	trimmed := 0
	for len(expired) > 0 {
		n := min(len(expired), maxTrimOps)
		ops := make([]zkstore.Op, n)
		for i, name := range expired[:n] {
			ops[i] = zkstore.Delete(p.l.changesPath()+"/"+name, zkstore.AnyVersion)
		}
		if err := p.store.Commit(ops); err != nil {
			return trimmed, err
		}
		trimmed += n
		expired = expired[n:]
	}
	return trimmed, nil
}
