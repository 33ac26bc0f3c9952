// Package provider is the sidecar's engine: it turns executions into routes,
// plans them against what ZooKeeper holds, and applies each plan as one
// atomic ZooKeeper transaction that Traefik's ZooKeeper provider picks up.
//
// Writes go through one writer goroutine that coalesces concurrent requests
// into few transactions (and so few Traefik reloads). Replicas coordinate
// through the version of the revision znode: every transaction sets it with
// the version it read, so a concurrent writer makes it fail and retry.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// Defaults.
const (
	DefaultStateRoot = "/traefik-zk-sidecar"
	// DefaultMaxTxnBytes keeps a transaction well under ZooKeeper's default
	// request limit (jute.maxbuffer, 1 MB).
	DefaultMaxTxnBytes = 512 * 1024
	DefaultGCInterval  = 5 * time.Second
	// maxBatch bounds how many requests one transaction may coalesce.
	maxBatch = 256
	// maxConflictRetries bounds retries when other writers keep winning.
	maxConflictRetries = 50
)

var errNoDeriver = errors.New("provider: no key secret configured")

// ErrTooLarge means one execution's routes do not fit in one transaction.
var ErrTooLarge = errors.New("execution too large for one ZooKeeper transaction")

// Config configures a Provider.
type Config struct {
	// RootKey is Traefik's providers.zookeeper.rootkey ("traefik").
	RootKey string
	// StateRoot holds the sidecar's bookkeeping; must be outside RootKey.
	StateRoot string
	Settings  execution.Settings
	// Deriver derives route keys; nil is allowed for read-only use
	// (listing), and then Prepare, Start and Sync fail.
	Deriver *keys.Deriver
	// StaticRoutes are kept in place by Init and never removed, such as
	// the route to Zoe's own web UI (see execution.StaticRoute).
	StaticRoutes []kvschema.Route
	// MaxTxnBytes caps one transaction's size; larger plans are split.
	MaxTxnBytes int
	GCInterval  time.Duration
	// GCQuietWindow is how long the control plane must be quiet before
	// tombstones are deleted; zero derives it from the tree size.
	GCQuietWindow time.Duration
	Logger        *slog.Logger
	// OnCommit, if set, is told about every committed transaction.
	OnCommit func(took time.Duration)
}

// Stats are counters for tests and metrics.
type Stats struct {
	Transactions int64
	Conflicts    int64
	GCDeleted    int64
}

// Provider applies executions' routes to ZooKeeper.
type Provider struct {
	cfg   Config
	l     layout
	store Store
	log   *slog.Logger
	queue chan *request
	// view belongs to the writer goroutine (Run).
	view writerView

	transactions, conflicts, gcDeleted atomic.Int64
}

// Result is the outcome of a start or stop.
type Result struct {
	// Routes are the execution's routes after a start, or the routes a stop removed.
	Routes []state.Route
	// Removed are the routes this change tombstoned, as they were before:
	// a stop's, and on a start the routes it replaced or no longer wants.
	Removed []state.Route
	// Changed is false when nothing had to be written.
	Changed bool
	// Timing says where the time went, for the API's Server-Timing header.
	Timing Timing
}

// Timing splits the time a start or stop took in the writer.
type Timing struct {
	// Wait is from submission until the writer began the transaction
	// that applied it (queueing, earlier transactions, conflict retries).
	Wait time.Duration
	// Read is reading what the plan needs from ZooKeeper.
	Read time.Duration
	// Plan is computing the plan and encoding the transaction.
	Plan time.Duration
	// Commit is the ZooKeeper multi.
	Commit time.Duration
}

// New checks the configuration; call Init before use and Run to serve.
func New(store Store, cfg Config) (*Provider, error) {
	root, err := kvschema.RootPath(cfg.RootKey)
	if err != nil {
		return nil, err
	}
	if cfg.StateRoot == "" {
		cfg.StateRoot = DefaultStateRoot
	}
	stateRoot, err := StateRootPath(root, cfg.StateRoot)
	if err != nil {
		return nil, err
	}
	if err := cfg.Settings.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxTxnBytes <= 0 {
		cfg.MaxTxnBytes = DefaultMaxTxnBytes
	}
	if cfg.GCInterval <= 0 {
		cfg.GCInterval = DefaultGCInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Provider{
		cfg:   cfg,
		l:     layout{rootKey: cfg.RootKey, root: root, stateRoot: stateRoot},
		store: store,
		log:   cfg.Logger,
		queue: make(chan *request, 1024),
	}, nil
}

// ErrStateRootInside is wrapped when the state root lies in Traefik's root.
var ErrStateRootInside = errors.New("must be outside Traefik's root")

// StateRootPath is the absolute path of the state root stateRoot, checked
// to lie outside Traefik's root (the absolute path root): Traefik re-reads
// everything under its root at every change.
func StateRootPath(root, stateRoot string) (string, error) {
	p := "/" + strings.Trim(stateRoot, "/")
	if p == root || strings.HasPrefix(p+"/", root+"/") {
		return "", fmt.Errorf("state root %s %w %s (Traefik re-reads all of it)", p, ErrStateRootInside, root)
	}
	return p, nil
}

// Stats returns the counters.
func (p *Provider) Stats() Stats {
	return Stats{
		Transactions: p.transactions.Load(),
		Conflicts:    p.conflicts.Load(),
		GCDeleted:    p.gcDeleted.Load(),
	}
}

// Init creates Traefik's root (its provider cannot watch a missing one), the
// bookkeeping znodes, and the permanent routes (shared directories, the
// sentinel, static routes) in one transaction with a kick. Safe to run on
// every replica at every start.
func (p *Provider) Init() error {
	for _, dir := range []string{p.l.root, p.l.executionsPath(), p.l.tombstonesPath(), p.l.changesPath()} {
		if err := p.store.EnsurePath(dir, []byte(kvschema.DirectoryValue)); err != nil {
			return err
		}
	}
	meta, _ := json.Marshal(state.Meta{})
	if err := p.store.EnsurePath(p.l.revisionPath(), meta); err != nil {
		return err
	}
	for attempt := 0; attempt < maxConflictRetries; attempt++ {
		ops, served, err := p.permanentOps()
		if err != nil || len(ops) == 0 {
			return err
		}
		_, version, meta, err := p.readRevision()
		if err != nil {
			return err
		}
		revOps, err := revisionOps(p.l, version, meta, state.Change{Upsert: served})
		if err != nil {
			return err
		}
		kick, err := kickOps(p.l, int64(version)+1)
		if err != nil {
			return err
		}
		ops = append(revOps, append(ops, kick...)...)
		err = p.commit(ops)
		if !errors.Is(err, zkstore.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("init: %w after %d attempts", zkstore.ErrConflict, maxConflictRetries)
}

// permanentOps creates whatever is missing of the shared directories, the
// sentinel route and the static routes, and corrects changed values of the
// static routes (value changes only: nothing is deleted), and records them
// in the permanent record; nothing when all is in place. served are the
// permanent routes, for the change record.
func (p *Provider) permanentOps() (ops []zkstore.Op, served []kvschema.Route, err error) {
	kvs, err := kvschema.SharedDirectories(p.l.rootKey)
	if err != nil {
		return nil, nil, err
	}
	served = append([]kvschema.Route{kvschema.SentinelRoute()}, p.cfg.StaticRoutes...)
	for _, r := range served {
		encoded, err := r.Encode(p.l.rootKey)
		if err != nil {
			return nil, nil, err
		}
		kvs = append(kvs, encoded...)
	}
	for _, kv := range kvs {
		data, _, err := p.store.Get(kv.Key)
		switch {
		case errors.Is(err, zkstore.ErrNoNode):
			ops = append(ops, zkstore.Create(kv.Key, []byte(kv.Value)))
		case err != nil:
			return nil, nil, err
		case string(data) != kv.Value:
			ops = append(ops, zkstore.Set(kv.Key, []byte(kv.Value), zkstore.AnyVersion))
		}
	}
	record, version, err := p.readPermanent()
	if err != nil {
		return nil, nil, err
	}
	if merged, changed := mergePermanent(record, served); changed {
		data, err := json.Marshal(merged)
		if err != nil {
			return nil, nil, err
		}
		if version < 0 {
			ops = append(ops, zkstore.Create(p.l.permanentPath(), data))
		} else {
			ops = append(ops, zkstore.Set(p.l.permanentPath(), data, version))
		}
	}
	return ops, served, nil
}

// readPermanent reads the permanent record and its version (-1 when missing).
func (p *Provider) readPermanent() (state.Permanent, int32, error) {
	var record state.Permanent
	data, stat, err := p.store.Get(p.l.permanentPath())
	if errors.Is(err, zkstore.ErrNoNode) {
		return record, -1, nil
	}
	if err != nil {
		return record, -1, err
	}
	if err := json.Unmarshal(data, &record); err != nil {
		return record, -1, fmt.Errorf("permanent record: %w", err)
	}
	return record, stat.Version, nil
}

// Prepare computes the routes an execution will get, writing nothing: Zoe
// needs REVERSE_PROXY_PATH_<port> before it creates the containers.
func (p *Provider) Prepare(e *execution.Execution) ([]state.Route, error) {
	if p.cfg.Deriver == nil {
		return nil, errNoDeriver
	}
	return execution.Routes(e, p.cfg.Settings, p.cfg.Deriver, false)
}

// Start makes ZooKeeper hold exactly the execution's proxied routes:
// creating, updating in place, or tombstoning. Repeating it is a no-op.
func (p *Provider) Start(ctx context.Context, e *execution.Execution) (Result, error) {
	if p.cfg.Deriver == nil {
		return Result{}, errNoDeriver
	}
	desired, err := execution.Routes(e, p.cfg.Settings, p.cfg.Deriver, true)
	if err != nil {
		return Result{}, err
	}
	return p.submit(ctx, &request{id: string(e.ID), desired: desired})
}

// Stop tombstones every route of the execution; an unknown execution is a no-op.
func (p *Provider) Stop(ctx context.Context, id execution.ID) (Result, error) {
	if err := execution.ValidateID(id, execution.Path("execution").Key("id")); err != nil {
		return Result{}, err
	}
	return p.submit(ctx, &request{id: string(id), stop: true})
}

// Execution reads one execution's record; nil when it has none.
func (p *Provider) Execution(id execution.ID) (*state.Execution, error) {
	if err := execution.ValidateID(id, "id"); err != nil {
		return nil, err
	}
	// A hook answered by another replica may not have reached the server
	// this session reads from yet.
	if err := p.store.Sync(p.l.stateRoot); err != nil {
		return nil, err
	}
	rec, _, err := p.readExecution(string(id))
	return rec, err
}

// Routes lists every route the sidecar owns, sorted.
func (p *Provider) Routes() ([]state.Route, error) {
	if err := p.store.Sync(p.l.stateRoot); err != nil {
		return nil, err
	}
	records, err := p.readAllExecutions()
	if err != nil {
		return nil, err
	}
	var routes []state.Route
	for _, rec := range records {
		routes = append(routes, rec.Routes...)
	}
	state.SortRoutes(routes)
	return routes, nil
}

// SyncPlan is the per-execution plan of a full resync.
type SyncPlan struct {
	Plans map[string]plan.Plan
}

// Sync makes the owned routes match exactly the given running executions:
// executions it no longer lists are stopped. Routes the sidecar did not
// write are never touched. With dryRun only the plan is returned; otherwise
// the changes go through the writer, so Run must be running (as for Start).
func (p *Provider) Sync(ctx context.Context, executions []execution.Execution, dryRun bool) (SyncPlan, error) {
	if p.cfg.Deriver == nil {
		return SyncPlan{}, errNoDeriver
	}
	desired := map[string][]state.Route{}
	for i := range executions {
		e := &executions[i]
		at := execution.Path("executions").Index(i)
		routes, err := execution.RoutesAt(e, at, p.cfg.Settings, p.cfg.Deriver, true)
		if err != nil {
			return SyncPlan{}, err
		}
		if _, dup := desired[string(e.ID)]; dup {
			return SyncPlan{}, at.Key("id").Errorf("duplicate execution id")
		}
		desired[string(e.ID)] = routes
	}
	current, err := p.readAllExecutions()
	if err != nil {
		return SyncPlan{}, err
	}
	out := SyncPlan{Plans: map[string]plan.Plan{}}
	var requests []*request
	for id, routes := range desired {
		var have []state.Route
		if rec := current[id]; rec != nil {
			have = rec.Routes
		}
		if pl := plan.Compute(routes, have); !pl.Empty() {
			out.Plans[id] = pl
			requests = append(requests, &request{id: id, desired: routes})
		}
	}
	for id, rec := range current {
		if _, ok := desired[id]; !ok {
			out.Plans[id] = plan.Compute(nil, rec.Routes)
			requests = append(requests, &request{id: id, stop: true})
		}
	}
	if dryRun || len(requests) == 0 {
		return out, nil
	}
	// Each execution is re-planned against fresh state when applied, so a
	// change made meanwhile by another replica is not undone blindly.
	errs := make([]error, len(requests))
	var wg sync.WaitGroup
	for i, r := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.submit(ctx, r)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// commit applies a transaction that writes.
func (p *Provider) commit(ops []zkstore.Op) error {
	start := time.Now()
	err := p.store.Commit(ops)
	switch {
	case err == nil:
		p.transactions.Add(1)
		if p.cfg.OnCommit != nil {
			p.cfg.OnCommit(time.Since(start))
		}
	case errors.Is(err, zkstore.ErrConflict):
		p.conflicts.Add(1)
	}
	return err
}

// check applies a transaction that only checks versions.
func (p *Provider) check(ops []zkstore.Op) error {
	err := p.store.Commit(ops)
	if errors.Is(err, zkstore.ErrConflict) {
		p.conflicts.Add(1)
	}
	return err
}

// Meta reads the counters kept in the revision znode.
func (p *Provider) Meta() (state.Meta, error) {
	_, _, meta, err := p.readRevision()
	return meta, err
}

// Connected tells whether the ZooKeeper session is up.
func (p *Provider) Connected() bool { return p.store.Connected() }
