package provider

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

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

// dropAbandoned separates the requests whose caller has gone (its context
// ended, e.g. the HTTP client timed out). Such a request may have waited
// behind slow transactions; by now its caller may have sent a newer hook
// for the same execution through another replica, and planning the stale
// one against the fresh state would undo that (re-create the routes of a
// stopped execution). Checked before every planning, conflict retries
// included; once a plan is committed, the revision precondition orders it
// before anything planned later.
func dropAbandoned(batch []*request) (kept, abandoned []*request) {
	kept = batch[:0:0]
	for _, r := range batch {
		if r.ctx != nil && r.ctx.Err() != nil {
			abandoned = append(abandoned, r)
			continue
		}
		kept = append(kept, r)
	}
	return kept, abandoned
}

// answer tells requests their outcome; the writer answers nowhere else.
func answer(reqs []*request, outcome func(i int, r *request) requestResult) {
	for i, r := range reqs {
		r.done <- outcome(i, r)
	}
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
	for len(batch) > 0 {
		var abandoned []*request
		batch, abandoned = dropAbandoned(batch)
		answer(abandoned, func(_ int, r *request) requestResult { return requestResult{err: r.ctx.Err()} })
		if len(batch) == 0 {
			return
		}
		reloaded := !p.view.valid
		txn, err := p.applyOnce(batch)
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
			answer(batch, func(int, *request) requestResult { return requestResult{err: err} })
			return
		}
		answer(batch[:txn.answered], func(i int, _ *request) requestResult { return txn.answers[i] })
		batch = batch[txn.answered:]
	}
}

// applyOnce is the writer's I/O: it reads what the plan needs (the view,
// when it is not valid, and the records of executions that have one),
// packs the first requests of the batch into one transaction, and commits
// it. The packed transaction's answers carry the time each step took.
func (p *Provider) applyOnce(batch []*request) (packedTxn, error) {
	began := time.Now()
	if !p.view.valid {
		v, err := p.loadView()
		if err != nil {
			return packedTxn{}, err
		}
		p.view = v
	}
	current := make([]currentRecord, len(batch))
	err := parallel(len(batch), func(i int) error {
		current[i].version = -1
		if !p.view.has(batch[i].id) {
			return nil
		}
		var err error
		current[i].rec, current[i].version, err = p.readExecution(batch[i].id)
		return err
	})
	if err != nil {
		return packedTxn{}, err
	}
	read := time.Now()
	txn, err := pack(p.l, p.cfg.MaxTxnBytes, p.view, batch, current)
	if err != nil {
		return packedTxn{}, err
	}
	planned := time.Now()
	switch {
	case txn.refused:
	case txn.checkOnly:
		if err := p.check(txn.ops); err != nil {
			return packedTxn{}, err
		}
	default:
		if err := p.commit(txn.ops); err != nil {
			return packedTxn{}, err
		}
		p.view.committed(txn.meta, txn.changes, txn.ids)
	}
	done := time.Now()
	for i := range txn.answers {
		txn.answers[i].result.Timing = Timing{
			Wait:   began.Sub(batch[i].enqueued),
			Read:   read.Sub(began),
			Plan:   planned.Sub(read),
			Commit: done.Sub(planned),
		}
	}
	return txn, nil
}
