package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/internal/retry"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/defaultcert"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// Init creates Traefik's root (its provider cannot watch a missing one), the
// bookkeeping znodes, and the permanent routes (shared directories, the
// sentinel, static routes) in one transaction with a kick. Safe to run on
// every replica at every start.
func (w *Writer) Init() error {
	for _, dir := range []string{w.layout.root, w.layout.executionsPath(), w.layout.tombstonesPath(), w.layout.changesPath()} {
		if err := w.store.EnsurePath(dir, []byte(kvschema.DirectoryValue)); err != nil {
			return err
		}
	}
	meta, _ := json.Marshal(state.Meta{})
	if err := w.store.EnsurePath(w.layout.revisionPath(), meta); err != nil {
		return err
	}
	err := retry.Do(context.Background(), retry.Policy{Attempts: maxConflictRetries}, isConflict, func() error {
		ops, served, cert, err := w.permanentOps()
		if err != nil || len(ops) == 0 {
			return err
		}
		version, meta, err := w.readRevision()
		if err != nil {
			return err
		}
		revOps, err := revisionOps(w.layout, version, meta, state.Change{Upsert: served, DefaultCertificate: cert})
		if err != nil {
			return err
		}
		kick, err := kickOps(w.layout, int64(version)+1)
		if err != nil {
			return err
		}
		return w.commits.commit(append(revOps, append(ops, kick...)...))
	})
	if isConflict(err) {
		return fmt.Errorf("init: %w after %d attempts", err, maxConflictRetries)
	}
	return err
}

// permanentOps creates whatever is missing of the shared directories, the
// sentinel route and the static routes, and corrects changed values of the
// static routes (value changes only: nothing is deleted), and records them
// in the permanent record, and creates the default certificate when one is
// wanted and none exists; nothing when all is in place. served are the
// permanent routes and cert the certificate created, for the change record.
func (w *Writer) permanentOps() (ops []zkstore.Op, served []kvschema.Route, cert *state.Certificate, err error) {
	ops, served, err = w.permanentRouteOps()
	if err != nil || !w.cfg.DefaultCertificate {
		return ops, served, nil, err
	}
	if _, err := w.readDefaultCertificate(); !errors.Is(err, zkstore.ErrNoNode) {
		return ops, served, nil, err
	}
	generated, err := defaultcert.Generate(time.Now())
	if err != nil {
		return nil, nil, nil, err
	}
	data, err := json.Marshal(generated)
	if err != nil {
		return nil, nil, nil, err
	}
	// Created, never set: a replica that raced to create its own
	// conflicts, re-reads and uses the one that won.
	return append(ops, zkstore.Create(w.layout.defaultCertificatePath(), data)), served, &generated, nil
}

// permanentRouteOps are permanentOps' routes and their record.
func (w *Writer) permanentRouteOps() (ops []zkstore.Op, served []kvschema.Route, err error) {
	kvs, err := kvschema.SharedDirectories(w.layout.rootKey)
	if err != nil {
		return nil, nil, err
	}
	served = append([]kvschema.Route{kvschema.SentinelRoute()}, w.cfg.StaticRoutes...)
	for _, r := range served {
		encoded, err := r.Encode(w.layout.rootKey)
		if err != nil {
			return nil, nil, err
		}
		kvs = append(kvs, encoded...)
	}
	for _, kv := range kvs {
		data, _, err := w.store.Get(kv.Key)
		switch {
		case errors.Is(err, zkstore.ErrNoNode):
			ops = append(ops, zkstore.Create(kv.Key, []byte(kv.Value)))
		case err != nil:
			return nil, nil, err
		case string(data) != kv.Value:
			ops = append(ops, zkstore.Set(kv.Key, []byte(kv.Value), zkstore.AnyVersion))
		}
	}
	record, version, err := w.readPermanent()
	if err != nil {
		return nil, nil, err
	}
	if merged, changed := mergePermanent(record, served); changed {
		data, err := json.Marshal(merged)
		if err != nil {
			return nil, nil, err
		}
		if version < 0 {
			ops = append(ops, zkstore.Create(w.layout.permanentPath(), data))
		} else {
			ops = append(ops, zkstore.Set(w.layout.permanentPath(), data, version))
		}
	}
	return ops, served, nil
}

// Prepare computes the routes an execution will get, writing nothing: Zoe
// needs REVERSE_PROXY_PATH_<port> before it creates the containers.
func (w *Writer) Prepare(e *execution.Execution) ([]state.Route, error) {
	return execution.Routes(e, w.cfg.Settings, w.deriver, false)
}

// StartExecution makes ZooKeeper hold exactly the execution's proxied routes:
// creating, updating in place, or tombstoning. Repeating it is a no-op.
func (w *Writer) StartExecution(ctx context.Context, e *execution.Execution) (Result, error) {
	desired, err := execution.Routes(e, w.cfg.Settings, w.deriver, true)
	if err != nil {
		return Result{}, err
	}
	return w.submit(ctx, &request{id: string(e.ID), desired: desired})
}

// StopExecution tombstones every route of the execution; an unknown execution is a no-op.
func (w *Writer) StopExecution(ctx context.Context, id execution.ID) (Result, error) {
	if err := execution.ValidateID(id, execution.Path("execution").Key("id")); err != nil {
		return Result{}, err
	}
	return w.submit(ctx, &request{id: string(id), stop: true})
}

// Sync makes the owned routes match exactly the given running executions:
// executions it no longer lists are stopped. Routes the sidecar did not
// write are never touched. With dryRun only the plan is returned; otherwise
// the changes go through the writer, which must be started.
func (w *Writer) Sync(ctx context.Context, executions []execution.Execution, dryRun bool) (SyncPlan, error) {
	desired := map[string][]state.Route{}
	for i := range executions {
		e := &executions[i]
		at := execution.Path("executions").Index(i)
		routes, err := execution.RoutesAt(e, at, w.cfg.Settings, w.deriver, true)
		if err != nil {
			return SyncPlan{}, err
		}
		if _, dup := desired[string(e.ID)]; dup {
			return SyncPlan{}, at.Key("id").Errorf("duplicate execution id")
		}
		desired[string(e.ID)] = routes
	}
	// Read after every write committed so far, through any replica: an
	// execution another replica started a moment ago must be seen, or
	// sync would leave it in place although it is not in the desired set.
	if err := w.store.Sync(w.layout.stateRoot); err != nil {
		return SyncPlan{}, err
	}
	current, err := w.readAllExecutions()
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
			_, errs[i] = w.submit(ctx, r)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
