package provider

import (
	"fmt"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// currentRecord is what ZooKeeper holds for a request's execution: its
// record (nil when it has none) and the record's version (-1 when none).
type currentRecord struct {
	rec     *state.Execution
	version int32
}

// packedTxn is one transaction for the first requests of a batch, and what
// each of them is answered once it commits.
type packedTxn struct {
	// ops is the transaction: the revision set with the version the view
	// holds, the executions' changes, and a kick when Traefik's tree
	// changes; or, when nothing needs writing, a check of the revision's
	// version alone (checkOnly).
	ops       []zkstore.Op
	checkOnly bool
	// refused is true when the batch's first request can never be
	// written (too large, or its plan cannot be encoded): ops is empty
	// and answers holds its error.
	refused bool
	// answers are for batch[:answered], in order.
	answers  []requestResult
	answered int
	// meta, changes and ids move the view past the commit.
	meta    state.Meta
	changes []executionChange
	ids     []string
}

// pack plans the requests of batch against their current records, in
// order, and takes as many as fit maxBytes into one transaction. Pure: the
// view supplies the revision's version and counters, current[i] is
// batch[i]'s record.
func pack(l layout, maxBytes int, v writerView, batch []*request, current []currentRecord) (packedTxn, error) {
	txn := packedTxn{meta: v.meta}
	revision := int64(v.version) + 1
	var (
		ops            []zkstore.Op
		size           int
		traefikVisible bool
	)
	for i, r := range batch {
		desired := r.desired
		if r.stop {
			desired = nil
		}
		var have []state.Route
		if current[i].rec != nil {
			have = current[i].rec.Routes
		}
		change, err := buildExecutionChange(l, revision, r.id, current[i].version, plan.Compute(desired, have))
		if err == nil && size+change.size() > maxBytes {
			err = fmt.Errorf("%w: execution %s needs %d bytes, limit %d", ErrTooLarge, r.id, change.size(), maxBytes)
		}
		if err != nil && i == 0 {
			return packedTxn{refused: true, answered: 1, answers: []requestResult{{err: err}}}, nil
		}
		if err != nil {
			// It goes first into a transaction of its own.
			break
		}
		ops = append(ops, change.ops...)
		size += change.size()
		traefikVisible = traefikVisible || change.traefikVisible
		txn.meta.Routes += change.routesDelta
		txn.meta.Tombstones += change.tombstonesDelta
		res := Result{Changed: len(change.ops) > 0, Routes: change.routes, Removed: change.removed}
		if r.stop {
			res.Routes = change.removed
		}
		res.Routes = sortedRoutes(res.Routes)
		txn.answers = append(txn.answers, requestResult{result: res})
		txn.changes = append(txn.changes, change)
		txn.ids = append(txn.ids, r.id)
		txn.answered++
	}
	if len(ops) == 0 {
		// Nothing to write is an answer too ("already started", "nothing
		// to stop"), and it rests on the view: another replica may have
		// started the execution meanwhile. A check of the revision's
		// version, ordered by the leader like a write, proves the view
		// current; a conflict makes the writer reload and re-plan.
		txn.ops = []zkstore.Op{zkstore.Check(l.revisionPath(), v.version)}
		txn.checkOnly = true
		return txn, nil
	}
	// Setting the revision with the version planned against is the
	// precondition that serialises writers across replicas; the change
	// record lets replicas' mirrors follow.
	revOps, err := revisionOps(l, v.version, txn.meta, mirrorChange(txn.changes))
	if err != nil {
		return packedTxn{}, err
	}
	txn.ops = append(revOps, ops...)
	if traefikVisible {
		kick, err := kickOps(l, revision)
		if err != nil {
			return packedTxn{}, err
		}
		txn.ops = append(txn.ops, kick...)
	}
	return txn, nil
}
