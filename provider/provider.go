// Package provider is the sidecar's engine: it turns executions into routes,
// plans them against what ZooKeeper holds, and applies each plan as one
// atomic ZooKeeper transaction that Traefik's ZooKeeper provider picks up.
//
// A Reader lists what the sidecars own and needs no key secret. A Writer
// (which reads too) derives routes with the key secret and applies them
// through one writer goroutine that coalesces concurrent requests into few
// transactions (and so few Traefik reloads), next to a garbage collector.
// Replicas coordinate through the version of the revision znode: every
// transaction sets it with the version it read, so a concurrent writer
// makes it fail and retry.
package provider

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
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

// ErrTooLarge means one execution's routes do not fit in one transaction.
var ErrTooLarge = errors.New("execution too large for one ZooKeeper transaction")

// Config configures a Writer.
type Config struct {
	// RootKey is Traefik's providers.zookeeper.rootkey ("traefik").
	RootKey string
	// StateRoot holds the sidecar's bookkeeping; must be outside RootKey.
	StateRoot string
	Settings  execution.Settings
	// StaticRoutes are kept in place by Init and never removed, such as
	// the route to Zoe's own web UI (see execution.StaticRoute).
	StaticRoutes []kvschema.Route
	// DefaultCertificate makes Init generate the deployment's certificate
	// for Traefik's default TLS store once (the first replica to start
	// with it stores it in ZooKeeper); a Follower serves it in GET
	// /v1/traefik, so that Traefik stops generating one per reload.
	DefaultCertificate bool
	// MaxTxnBytes caps one transaction's size; larger plans are split.
	MaxTxnBytes int
	GCInterval  time.Duration
	// GCQuietWindow is how long the control plane must be quiet before
	// tombstones are deleted; zero derives it from the tree size.
	GCQuietWindow time.Duration
	Logger        *slog.Logger
	// OnCommit, if set, is told how long every committed transaction took.
	OnCommit func(took time.Duration)
}

// Stats are the writer's counters, for metrics.
type Stats struct {
	Transactions int64
	Conflicts    int64
	GCDeleted    int64
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

// SyncPlan is the per-execution plan of a full resync.
type SyncPlan struct {
	Plans map[string]plan.Plan
}

// newLayout checks Traefik's root key and the state root.
func newLayout(rootKey, stateRoot string) (layout, error) {
	root, err := kvschema.RootPath(rootKey)
	if err != nil {
		return layout{}, err
	}
	if stateRoot == "" {
		stateRoot = DefaultStateRoot
	}
	stateRoot, err = StateRootPath(root, stateRoot)
	if err != nil {
		return layout{}, err
	}
	return layout{rootKey: rootKey, root: root, stateRoot: stateRoot}, nil
}
