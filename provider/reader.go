package provider

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// Reader reads the routes the sidecars own; it needs no key secret.
type Reader struct {
	store  Store
	layout layout
}

// NewReader checks Traefik's root key and the state root ("" is the default).
func NewReader(store Store, rootKey, stateRoot string) (*Reader, error) {
	l, err := newLayout(rootKey, stateRoot)
	if err != nil {
		return nil, err
	}
	return &Reader{store: store, layout: l}, nil
}

// Execution reads one execution's record; nil when it has none.
func (r *Reader) Execution(id execution.ID) (*state.Execution, error) {
	if err := execution.ValidateID(id, "id"); err != nil {
		return nil, err
	}
	// A hook answered by another replica may not have reached the server
	// this session reads from yet.
	if err := r.store.Sync(r.layout.stateRoot); err != nil {
		return nil, err
	}
	rec, _, err := r.readExecution(string(id))
	return rec, err
}

// Routes lists every route the sidecar owns, sorted.
func (r *Reader) Routes() ([]state.Route, error) {
	if err := r.store.Sync(r.layout.stateRoot); err != nil {
		return nil, err
	}
	records, err := r.readAllExecutions()
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

// Meta reads the counters kept in the revision znode.
func (r *Reader) Meta() (state.Meta, error) {
	_, meta, err := r.readRevision()
	return meta, err
}

// Connected tells whether the ZooKeeper session is up.
func (r *Reader) Connected() bool { return r.store.Connected() }

// readRevision reads the revision's version and the counters it holds.
func (r *Reader) readRevision() (version int32, meta state.Meta, err error) {
	data, stat, err := r.store.Get(r.layout.revisionPath())
	if err != nil {
		return 0, meta, fmt.Errorf("read revision: %w", err)
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &meta); err != nil {
			return 0, meta, fmt.Errorf("revision record: %w", err)
		}
	}
	return stat.Version, meta, nil
}

// readExecution returns the record and its version (-1 when missing).
func (r *Reader) readExecution(id string) (*state.Execution, int32, error) {
	data, stat, err := r.store.Get(r.layout.executionPath(id))
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

func (r *Reader) readAllExecutions() (map[string]*state.Execution, error) {
	ids, err := r.store.Children(r.layout.executionsPath())
	if errors.Is(err, zkstore.ErrNoNode) {
		// Nothing was ever written: no state root yet.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	records := make([]*state.Execution, len(ids))
	err = parallel(len(ids), func(i int) error {
		rec, _, err := r.readExecution(ids[i])
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

// readPermanent reads the permanent record and its version (-1 when missing).
func (r *Reader) readPermanent() (state.Permanent, int32, error) {
	var record state.Permanent
	data, stat, err := r.store.Get(r.layout.permanentPath())
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

// readDefaultCertificate reads the deployment's default certificate;
// zkstore.ErrNoNode when there is none.
func (r *Reader) readDefaultCertificate() (*state.Certificate, error) {
	data, _, err := r.store.Get(r.layout.defaultCertificatePath())
	if err != nil {
		return nil, err
	}
	var cert state.Certificate
	if err := json.Unmarshal(data, &cert); err != nil {
		return nil, fmt.Errorf("default certificate record: %w", err)
	}
	return &cert, nil
}
