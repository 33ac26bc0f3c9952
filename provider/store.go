package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// Store is the ZooKeeper I/O the provider needs; *zkstore.Store is the real
// one. Reads of a missing znode fail with zkstore.ErrNoNode, a transaction
// whose preconditions no longer hold with zkstore.ErrConflict.
type Store interface {
	Get(path string) ([]byte, zkstore.Stat, error)
	// GetW reads a znode and leaves a data watch on it: the channel is
	// closed once the znode changes or goes, or the session ends.
	GetW(path string) ([]byte, zkstore.Stat, <-chan struct{}, error)
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

func (p *Provider) readRevision() (data []byte, version int32, meta state.Meta, err error) {
	data, stat, err := p.store.Get(p.l.revisionPath())
	if err != nil {
		return nil, 0, meta, fmt.Errorf("read revision: %w", err)
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &meta); err != nil {
			return nil, 0, meta, fmt.Errorf("revision record: %w", err)
		}
	}
	return data, stat.Version, meta, nil
}

// readExecution returns the record and its version (-1 when missing).
func (p *Provider) readExecution(id string) (*state.Execution, int32, error) {
	data, stat, err := p.store.Get(p.l.executionPath(id))
	if errors.Is(err, zkstore.ErrNoNode) {
		return nil, -1, nil
	}
	if err != nil {
		return nil, -1, err
	}
	var rec state.Execution
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, -1, fmt.Errorf("execution record %s: %w", id, err)
	}
	return &rec, stat.Version, nil
}

func (p *Provider) readAllExecutions() (map[string]*state.Execution, error) {
	ids, err := p.store.Children(p.l.executionsPath())
	if errors.Is(err, zkstore.ErrNoNode) {
		// Nothing was ever written: no state root yet.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	records := make([]*state.Execution, len(ids))
	err = parallel(len(ids), func(i int) error {
		rec, _, err := p.readExecution(ids[i])
		records[i] = rec
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]*state.Execution, len(ids))
	for i, rec := range records {
		if rec != nil {
			out[ids[i]] = rec
		}
	}
	return out, nil
}

// parallel runs fn for 0..n-1 with bounded concurrency (reads pipeline on
// one ZooKeeper session) and returns the first error.
func parallel(n int, fn func(i int) error) error {
	const workers = 16
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     atomic.Int64
	)
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
