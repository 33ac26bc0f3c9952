package provider

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/retry"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// Writer applies executions' routes to ZooKeeper; it reads as a Reader does.
type Writer struct {
	*Reader
	cfg     Config
	deriver *keys.Deriver
	commits *committer
	gc      *collector
	log     *slog.Logger
	queue   chan *request
	// view belongs to the writer goroutine (see Start).
	view writerView
}

// NewWriter checks the configuration. Call Init before use, and Start to
// have starts, stops and resyncs applied.
func NewWriter(store Store, deriver *keys.Deriver, cfg Config) (*Writer, error) {
	if deriver == nil {
		return nil, errors.New("provider: a writer needs the key deriver (the key secret)")
	}
	reader, err := NewReader(store, cfg.RootKey, cfg.StateRoot)
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
	commits := &committer{store: store, onCommit: cfg.OnCommit}
	return &Writer{
		Reader:  reader,
		cfg:     cfg,
		deriver: deriver,
		commits: commits,
		gc:      newCollector(reader, commits, cfg),
		log:     cfg.Logger,
		queue:   make(chan *request, 1024),
	}, nil
}

// Start runs the writer goroutine and the garbage collector until stop is
// called or ctx ends; stop waits for both to finish and may be called more
// than once. Requests still queued are not applied; their callers see
// their own context end.
func (w *Writer) Start(ctx context.Context) (stop func()) { return start(ctx, w.run, w.gc.run) }

// start runs each loop in its own goroutine until stop is called or ctx
// ends; stop waits for them all and may be called more than once.
func start(ctx context.Context, loops ...func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx) }()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	return Stats{
		Transactions: w.commits.transactions.Load(),
		Conflicts:    w.commits.conflicts.Load(),
		GCDeleted:    w.gc.deleted.Load(),
	}
}

// CollectGarbage observes the control plane, waits quietFor, and collects
// if nothing changed meanwhile; Start does the same periodically.
func (w *Writer) CollectGarbage(ctx context.Context, quietFor time.Duration) (int, error) {
	return w.gc.collectAfter(ctx, quietFor)
}

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

func (w *Writer) submit(ctx context.Context, r *request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	r.ctx = ctx
	r.done = make(chan requestResult, 1)
	r.enqueued = time.Now()
	select {
	case w.queue <- r:
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

// run serves the write queue until ctx ends.
func (w *Writer) run(ctx context.Context) {
	var pending []*request
	for {
		if len(pending) == 0 {
			select {
			case r := <-w.queue:
				pending = append(pending, r)
			case <-ctx.Done():
				return
			}
		}
		// Coalesce whatever else is already waiting.
	drain:
		for len(pending) < maxBatch {
			select {
			case r := <-w.queue:
				pending = append(pending, r)
			default:
				break drain
			}
		}
		batch, rest := splitBatch(pending)
		w.applyBatch(batch)
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
func (w *Writer) applyBatch(batch []*request) {
	for len(batch) > 0 {
		var txn packedTxn
		err := retry.Do(context.Background(), conflictRetries, isConflict, func() error {
			for {
				var abandoned []*request
				batch, abandoned = dropAbandoned(batch)
				answer(abandoned, func(_ int, r *request) requestResult { return requestResult{err: r.ctx.Err()} })
				if len(batch) == 0 {
					return nil
				}
				reloaded := !w.view.valid
				var err error
				txn, err = w.applyOnce(batch)
				if err != nil {
					// A failed or unknown outcome leaves the view unproven.
					w.view = writerView{}
				}
				if !isConflict(err) || reloaded {
					return err
				}
				// The view was older than another writer's commit: plan
				// again on fresh reads at once, not as a lost race.
			}
		})
		if err != nil {
			answer(batch, func(int, *request) requestResult { return requestResult{err: err} })
			return
		}
		answer(batch[:txn.answered], func(i int, _ *request) requestResult { return txn.answers[i] })
		batch = batch[txn.answered:]
	}
}

// conflictRetries bounds re-planning while other writers keep winning,
// with jittered pauses so that colliding writers drift apart.
var conflictRetries = retry.Policy{Attempts: maxConflictRetries + 1, Pause: retry.Jittered(5 * time.Millisecond)}

func isConflict(err error) bool { return errors.Is(err, zkstore.ErrConflict) }

// applyOnce is the writer's I/O: it reads what the plan needs (the view,
// when it is not valid, and the records of executions that have one),
// packs the first requests of the batch into one transaction, and commits
// it. The packed transaction's answers carry the time each step took.
func (w *Writer) applyOnce(batch []*request) (packedTxn, error) {
	began := time.Now()
	if !w.view.valid {
		v, err := w.loadView()
		if err != nil {
			return packedTxn{}, err
		}
		w.view = v
	}
	current := make([]currentRecord, len(batch))
	err := parallel(len(batch), func(i int) error {
		current[i].version = -1
		if !w.view.has(batch[i].id) {
			return nil
		}
		var err error
		current[i].rec, current[i].version, err = w.readExecution(batch[i].id)
		return err
	})
	if err != nil {
		return packedTxn{}, err
	}
	read := time.Now()
	txn, err := pack(w.layout, w.cfg.MaxTxnBytes, w.view, batch, current)
	if err != nil {
		return packedTxn{}, err
	}
	planned := time.Now()
	switch {
	case txn.refused:
	case txn.checkOnly:
		if err := w.commits.check(txn.ops); err != nil {
			return packedTxn{}, err
		}
	default:
		if err := w.commits.commit(txn.ops); err != nil {
			return packedTxn{}, err
		}
		w.view.committed(txn.meta, txn.changes, txn.ids)
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
