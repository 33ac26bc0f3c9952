package provider

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
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

// collector deletes tombstoned routes once the control plane has been
// quiet long enough; it commits as the writer does, with the revision
// precondition and a kick.
type collector struct {
	*Reader
	commits     *committer
	interval    time.Duration
	quietWindow time.Duration
	maxTxnBytes int
	log         *slog.Logger

	deleted atomic.Int64
}

func newCollector(r *Reader, commits *committer, cfg Config) *collector {
	return &collector{Reader: r, commits: commits, interval: cfg.GCInterval, quietWindow: cfg.GCQuietWindow,
		maxTxnBytes: cfg.MaxTxnBytes, log: cfg.Logger}
}

// run collects every interval, whenever the window has been quiet.
func (c *collector) run(ctx context.Context) {
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	var quiet quietTracker
	window := func(m state.Meta) time.Duration { return QuietWindow(c.quietWindow, m) }
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if _, err := c.collectIfQuiet(&quiet, window); err != nil && !errors.Is(err, zkstore.ErrConflict) {
			c.log.Warn("garbage collection", "error", err)
		}
		if _, err := c.trimChanges(); err != nil && !errors.Is(err, zkstore.ErrConflict) {
			c.log.Warn("trimming change records", "error", err)
		}
	}
}

// collectIfQuiet deletes tombstoned routes once the control plane has been
// quiet for window(meta); it returns how many it deleted.
func (c *collector) collectIfQuiet(q *quietTracker, window func(state.Meta) time.Duration) (int, error) {
	version, meta, err := c.readRevision()
	if err != nil {
		return 0, err
	}
	_, rootStat, err := c.store.Get(c.layout.root)
	if err != nil {
		return 0, err
	}
	if q.observe(version, rootStat.Cversion, time.Now()) < window(meta) {
		return 0, nil
	}
	n, err := c.collect(version, meta)
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
func (c *collector) collect(version int32, meta state.Meta) (int, error) {
	names, err := c.store.Children(c.layout.tombstonesPath())
	if err != nil || len(names) == 0 {
		return 0, err
	}
	var (
		ops  []zkstore.Op
		size int
		n    int
	)
	for _, name := range names {
		recPath := c.layout.tombstonePath(name)
		data, stat, err := c.store.Get(recPath)
		if err != nil {
			return 0, err
		}
		var ts state.Tombstone
		if err := json.Unmarshal(data, &ts); err != nil {
			return 0, err
		}
		roots, err := ts.Route.OwnedRoots(c.layout.rootKey)
		if err != nil {
			return 0, err
		}
		var routeOps []zkstore.Op
		for _, root := range roots {
			nodes, err := c.store.Subtree(root)
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
		if n > 0 && size+routeSize > c.maxTxnBytes {
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
	revOps, err := revisionOps(c.layout, version, meta, state.Change{})
	if err != nil {
		return 0, err
	}
	kick, err := kickOps(c.layout, int64(version)+1)
	if err != nil {
		return 0, err
	}
	ops = append(revOps, append(ops, kick...)...)
	if err := c.commits.commit(ops); err != nil {
		return 0, err
	}
	c.deleted.Add(int64(n))
	c.log.Info("garbage collected tombstoned routes", "routes", n)
	return n, nil
}

// collectAfter observes the control plane, waits quietFor, and collects if
// nothing changed meanwhile.
func (c *collector) collectAfter(ctx context.Context, quietFor time.Duration) (int, error) {
	var q quietTracker
	never := func(state.Meta) time.Duration { return time.Duration(1<<63 - 1) }
	if _, err := c.collectIfQuiet(&q, never); err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(quietFor):
	}
	return c.collectIfQuiet(&q, func(state.Meta) time.Duration { return quietFor })
}

// trimChanges deletes the change records older than the latest changesKept
// revisions. Nobody else writes them, so the deletes need no revision
// precondition; two replicas trimming at once make one of them conflict.
func (c *collector) trimChanges() (int, error) {
	names, err := c.store.Children(c.layout.changesPath())
	if err != nil || len(names) <= changesKept {
		return 0, err
	}
	version, _, err := c.readRevision()
	if err != nil {
		return 0, err
	}
	expired := expiredChanges(names, int64(version), changesKept)
	trimmed := 0
	for len(expired) > 0 {
		n := min(len(expired), maxTrimOps)
		ops := make([]zkstore.Op, n)
		for i, name := range expired[:n] {
			ops[i] = zkstore.Delete(c.layout.changesPath()+"/"+name, zkstore.AnyVersion)
		}
		if err := c.store.Commit(ops); err != nil {
			return trimmed, err
		}
		trimmed += n
		expired = expired[n:]
	}
	return trimmed, nil
}
