package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// request is one execution's start (desired routes) or stop, waiting for the writer.
type request struct {
	// ctx is the caller's; once it has ended the request is not applied.
	ctx     context.Context
	id      string
	desired []state.Route
	stop    bool
	done    chan requestResult
	// enqueued is when the caller submitted it.
	enqueued time.Time
}

type requestResult struct {
	result Result
	err    error
}

func (p *Provider) submit(ctx context.Context, r *request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	r.ctx = ctx
	r.done = make(chan requestResult, 1)
	r.enqueued = time.Now()
	select {
	case p.queue <- r:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.result, res.err
	case <-ctx.Done():
		// The writer drops it unless it is already being applied; the
		// caller may retry idempotently.
		return Result{}, ctx.Err()
	}
}

// dropAbandoned answers and removes the requests whose caller has gone
// (its context ended, e.g. the HTTP client timed out). Such a request may
// have waited behind slow transactions; by now its caller may have sent a
// newer hook for the same execution through another replica, and planning
// the stale one against the fresh state would undo that (re-create the
// routes of a stopped execution). Checked before every planning, conflict
// retries included; once a plan is committed, the revision precondition
// orders it before anything planned later.
func dropAbandoned(batch []*request) []*request {
	kept := batch[:0]
	for _, r := range batch {
		if r.ctx != nil && r.ctx.Err() != nil {
			r.done <- requestResult{err: r.ctx.Err()}
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// Run serves the write queue and the garbage collector until ctx ends.
func (p *Provider) Run(ctx context.Context) {
	go p.runGC(ctx)
	var pending []*request
	for {
		if len(pending) == 0 {
			select {
			case r := <-p.queue:
				pending = append(pending, r)
			case <-ctx.Done():
				return
			}
		}
		// Coalesce whatever else is already waiting.
	drain:
		for len(pending) < maxBatch {
			select {
			case r := <-p.queue:
				pending = append(pending, r)
			default:
				break drain
			}
		}
		batch, rest := splitBatch(pending)
		p.applyBatch(batch)
		pending = rest
	}
}

// splitBatch takes at most one request per execution, in arrival order, so
// that requests for the same execution apply one after the other.
func splitBatch(pending []*request) (batch, rest []*request) {
	seen := map[string]bool{}
	for _, r := range pending {
		if seen[r.id] || len(batch) >= maxBatch {
			rest = append(rest, r)
			continue
		}
		seen[r.id] = true
		batch = append(batch, r)
	}
	return batch, rest
}

// applyBatch writes the batch in as few transactions as fit the size limit,
// re-reading and re-planning after a conflict with another writer.
func (p *Provider) applyBatch(batch []*request) {
	conflicts := 0
	for {
		if batch = dropAbandoned(batch); len(batch) == 0 {
			return
		}
		reloaded := !p.view.valid
		applied, err := p.applyOnce(batch)
		if err != nil {
			// A failed or unknown outcome leaves the view unproven.
			p.view = writerView{}
		}
		if errors.Is(err, zkstore.ErrConflict) && !reloaded {
			// The view was older than another writer's commit: plan
			// again on fresh reads, without counting it as a race.
			continue
		}
		if errors.Is(err, zkstore.ErrConflict) && conflicts < maxConflictRetries {
			conflicts++
			time.Sleep(time.Duration(rand.IntN(5*conflicts)+1) * time.Millisecond)
			continue
		}
		if err != nil {
			for _, r := range batch {
				r.done <- requestResult{err: err}
			}
			return
		}
		batch = batch[applied:]
	}
}

// applyOnce commits one transaction holding the first requests of the batch
// that fit, answers them, and says how many it answered.
func (p *Provider) applyOnce(batch []*request) (int, error) {
	began := time.Now()
	if !p.view.valid {
		v, err := p.loadView()
		if err != nil {
			return 0, err
		}
		p.view = v
	}
	version, meta := p.view.version, p.view.meta
	revision := int64(version) + 1

	// Only executions that have a record need a read: its routes are the
	// plan's current state and its version the precondition.
	type current struct {
		rec     *state.Execution
		version int32
	}
	currents := make([]current, len(batch))
	err := parallel(len(batch), func(i int) error {
		currents[i].version = -1
		if !p.view.has(batch[i].id) {
			return nil
		}
		rec, v, err := p.readExecution(batch[i].id)
		currents[i] = current{rec, v}
		return err
	})
	if err != nil {
		return 0, err
	}
	read := time.Now()

	var (
		ops            []zkstore.Op
		size           int
		traefikVisible bool
		results        []Result
		changes        []executionChange
		ids            []string
	)
	n := 0
	for i, r := range batch {
		var have []state.Route
		if currents[i].rec != nil {
			have = currents[i].rec.Routes
		}
		var pl plan.Plan
		if !r.stop {
			pl = plan.Compute(r.desired, have)
		} else {
			pl = plan.Compute(nil, have)
		}
		change, err := buildExecutionChange(p.l, revision, r.id, currents[i].version, pl)
		if err != nil {
			if n == 0 {
				r.done <- requestResult{err: err}
				return 1, nil
			}
			break
		}
		if size+change.size() > p.cfg.MaxTxnBytes {
			if n == 0 {
				r.done <- requestResult{err: fmt.Errorf("%w: execution %s needs %d bytes, limit %d", ErrTooLarge, r.id, change.size(), p.cfg.MaxTxnBytes)}
				return 1, nil
			}
			break
		}
		ops = append(ops, change.ops...)
		size += change.size()
		traefikVisible = traefikVisible || change.traefikVisible
		meta.Routes += change.routesDelta
		meta.Tombstones += change.tombstonesDelta
		res := Result{Changed: len(change.ops) > 0, Routes: change.routes, Removed: change.removed}
		if r.stop {
			res.Routes = change.removed
		}
		results = append(results, res)
		changes = append(changes, change)
		ids = append(ids, r.id)
		n++
	}

	planned := time.Now()
	if len(ops) > 0 {
		metaData, err := json.Marshal(meta)
		if err != nil {
			return 0, err
		}
		// Setting the revision with the version planned against is the
		// precondition that serialises writers across replicas.
		ops = append([]zkstore.Op{zkstore.Set(p.l.revisionPath(), metaData, version)}, ops...)
		if traefikVisible {
			kick, err := kickOps(p.l, revision)
			if err != nil {
				return 0, err
			}
			ops = append(ops, kick...)
		}
		if err := p.commit(ops); err != nil {
			return 0, err
		}
		p.view.committed(meta, changes, ids)
	} else {
		// Nothing to write is an answer too ("already started", "nothing
		// to stop"), and it rests on the view: another replica may have
		// started the execution meanwhile. A check of the revision's
		// version, ordered by the leader like a write, proves the view
		// current; a conflict makes the writer reload and re-plan.
		if err := p.store.Commit([]zkstore.Op{zkstore.Check(p.l.revisionPath(), version)}); err != nil {
			if errors.Is(err, zkstore.ErrConflict) {
				p.conflicts.Add(1)
			}
			return 0, err
		}
	}
	done := time.Now()
	for i := 0; i < n; i++ {
		state.SortRoutes(results[i].Routes)
		results[i].Timing = Timing{
			Wait:   began.Sub(batch[i].enqueued),
			Read:   read.Sub(began),
			Plan:   planned.Sub(read),
			Commit: done.Sub(planned),
		}
		batch[i].done <- requestResult{result: results[i]}
	}
	return n, nil
}
