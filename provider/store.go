package provider

import (
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// Store is the ZooKeeper I/O the provider needs; *zkstore.Store is the real
// one. Reads of a missing znode fail with zkstore.ErrNoNode, a transaction
// whose preconditions no longer hold with zkstore.ErrConflict.
type Store interface {
	Get(path string) ([]byte, zkstore.Stat, error)
	Children(path string) ([]string, error)
	// Subtree lists path and every znode below it, parents first.
	Subtree(path string) ([]string, error)
	// Sync makes the following reads see every write committed before it.
	Sync(path string) error
	// EnsurePath creates path and its missing parents, each holding data.
	EnsurePath(path string, data []byte) error
	// Commit applies ops as one atomic transaction.
	Commit(ops []zkstore.Op) error
	Connected() bool
}

// committer applies transactions for the writer and the garbage
// collector, and counts them for metrics.
type committer struct {
	store    Store
	onCommit func(took time.Duration)

	transactions, conflicts atomic.Int64
}

// commit applies a transaction that writes.
func (c *committer) commit(ops []zkstore.Op) error {
	start := time.Now()
	err := c.store.Commit(ops)
	switch {
	case err == nil:
		c.transactions.Add(1)
		if c.onCommit != nil {
			c.onCommit(time.Since(start))
		}
	case errors.Is(err, zkstore.ErrConflict):
		c.conflicts.Add(1)
	}
	return err
}

// check applies a transaction that only checks versions.
func (c *committer) check(ops []zkstore.Op) error {
	err := c.store.Commit(ops)
	if errors.Is(err, zkstore.ErrConflict) {
		c.conflicts.Add(1)
	}
	return err
}

// parallel runs fn for 0..n-1, at most 16 at a time (reads pipeline on
// one ZooKeeper session), and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var g errgroup.Group
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error { return fn(i) })
	}
	return g.Wait()
}
