package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// floor sends, with a plain ZooKeeper client, the transaction a start hook
// for a new one-route execution makes the sidecar commit: the revision set
// with its version, the route's znodes (directories holding "true"), the
// execution's record, and the kick's create and delete. Timed on the same
// ensemble, interleaved with the sidecar's hooks, it is what ZooKeeper alone
// costs, so that the sidecar's share of the overhead can be told apart.
type floor struct {
	conn    *zk.Conn
	rootKey string // "bench-floor/traefik"
	state   string // "/bench-floor/state"
	backend string
	version int32
	n       int
}

func newFloor(conn *zk.Conn, backend string) (*floor, error) {
	f := &floor{conn: conn, rootKey: "bench-floor/traefik", state: "/bench-floor/state", backend: backend}
	for _, p := range []string{"/bench-floor", "/bench-floor/traefik", "/bench-floor/traefik/http", "/bench-floor/traefik/http/routers",
		"/bench-floor/traefik/http/services", f.state, f.state + "/executions", f.state + "/revision"} {
		if _, err := conn.Create(p, []byte(kvschema.DirectoryValue), 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return nil, err
		}
	}
	_, stat, err := conn.Get(f.state + "/revision")
	if err != nil {
		return nil, err
	}
	f.version = stat.Version
	return f, nil
}

// ops is the transaction of the floor's next start.
func (f *floor) ops() ([]any, error) {
	i := f.n
	revision := int64(f.version) + 1
	key := routeKey(1_000_000 + i)
	rule, err := kvschema.PathRule("/zoe/proxy/" + key)
	if err != nil {
		return nil, err
	}
	route := kvschema.Route{Name: fmt.Sprintf("zsc-%s-%d", key[:16], revision), Rule: rule, Backend: f.backend, EntryPoints: []string{"web"}}
	kvs, err := route.Encode(f.rootKey)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("floor-%d", i)
	record, err := json.Marshal(state.Execution{ID: id, Revision: revision, Routes: []state.Route{{
		ExecutionID: id, Service: "notebook", Port: 8888, Key: key, Path: "/zoe/proxy/" + key, Traefik: route}}})
	if err != nil {
		return nil, err
	}
	meta, err := json.Marshal(state.Meta{Routes: i + 1})
	if err != nil {
		return nil, err
	}
	kick, err := kvschema.KickPath(f.rootKey, revision)
	if err != nil {
		return nil, err
	}
	ops := []any{&zk.SetDataRequest{Path: f.state + "/revision", Data: meta, Version: f.version}}
	for _, kv := range kvs {
		ops = append(ops, &zk.CreateRequest{Path: kv.Key, Data: []byte(kv.Value), Acl: openACL})
	}
	return append(ops,
		&zk.CreateRequest{Path: f.state + "/executions/" + id, Data: record, Acl: openACL},
		&zk.CreateRequest{Path: kick, Acl: openACL},
		&zk.DeleteRequest{Path: kick, Version: -1}), nil
}

// start commits the next transaction and returns how long the multi took.
func (f *floor) start() (time.Duration, error) {
	ops, err := f.ops()
	if err != nil {
		return 0, err
	}
	began := time.Now()
	if _, err := f.conn.Multi(ops...); err != nil {
		return 0, fmt.Errorf("floor transaction %d: %w", f.n, err)
	}
	took := time.Since(began)
	f.version++
	f.n++
	return took, nil
}
