package provider

import (
	"errors"
	"fmt"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// writerView is what the writer knows of the state root as of its own last
// commit: the revision's version and counters, and which executions have a
// record. It spares a transaction the reads that would otherwise precede
// it, so that a start for a new execution costs one round trip to
// ZooKeeper (the multi) instead of three.
//
// It never has to be trusted: every writer (other replicas and the garbage
// collector included) sets the revision with the version it planned
// against, so while nobody else wrote the view is exact, and once somebody
// did the transaction fails as a conflict and the writer reloads the view.
// A record the view says is absent is created without a version, which
// fails the same way if it exists; an answer that writes nothing is
// checked against the revision's version in a transaction of its own.
type writerView struct {
	valid    bool
	version  int32
	meta     state.Meta
	existing map[string]struct{}
}

// loadView reads the revision and the executions' ids, concurrently, after
// a sync: the server this session reads from may lag the writes other
// replicas committed, and a stale view would only cost a conflict.
func (w *Writer) loadView() (writerView, error) {
	var (
		v   writerView
		ids []string
	)
	if err := w.store.Sync(w.layout.stateRoot); err != nil {
		return writerView{}, err
	}
	err := parallel(2, func(i int) error {
		var err error
		if i == 0 {
			v.version, v.meta, err = w.readRevision()
			return err
		}
		ids, err = w.store.Children(w.layout.executionsPath())
		if errors.Is(err, zkstore.ErrNoNode) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list executions: %w", err)
		}
		return nil
	})
	if err != nil {
		return writerView{}, err
	}
	v.existing = make(map[string]struct{}, len(ids))
	for _, id := range ids {
		v.existing[id] = struct{}{}
	}
	v.valid = true
	return v, nil
}

// has says whether the execution had a record as of the view.
func (v *writerView) has(id string) bool {
	_, ok := v.existing[id]
	return ok
}

// committed moves the view past the writer's own transaction: the revision
// it set (version+1, meta) and the records it created or deleted.
func (v *writerView) committed(meta state.Meta, changes []executionChange, ids []string) {
	v.version++
	v.meta = meta
	for i, c := range changes {
		switch c.record {
		case recordCreated:
			v.existing[ids[i]] = struct{}{}
		case recordDeleted:
			delete(v.existing, ids[i])
		}
	}
}
