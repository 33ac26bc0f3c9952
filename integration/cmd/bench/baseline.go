package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// baseline writes the same kind of routes as the sidecar the way a generic
// KV client does: every directory znode empty, plain creates, and a kick as
// a separate request (create and delete of the ignored root child "alias",
// as Zoe's own Traefik 1.x writer did).
type baseline struct {
	conn    *zk.Conn
	root    string // "/bench-baseline"
	rootKey string
	backend string
	n       int
	kicks   int
}

func newBaseline(conn *zk.Conn, rootKey, backend string) (*baseline, error) {
	root, err := kvschema.RootPath(rootKey)
	if err != nil {
		return nil, err
	}
	b := &baseline{conn: conn, root: root, rootKey: rootKey, backend: backend}
	// The root must exist before Traefik starts: without it the provider's
	// watch fails and retries with a growing back-off.
	if _, err := conn.Create(root, nil, 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return nil, err
	}
	return b, nil
}

// routeKey is the 64-hex key of baseline route i, shaped like the sidecar's.
func routeKey(i int) string {
	sum := sha256.Sum256([]byte("baseline/" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

func (b *baseline) path(i int) string { return "/zoe/proxy/" + routeKey(i) }

// kvs are route i's znodes as kvschema encodes them (the sidecar's layout)
// with every directory value emptied.
func (b *baseline) kvs(i int) ([]kvschema.KV, error) {
	key := routeKey(i)
	rule, err := kvschema.PathRule(b.path(i))
	if err != nil {
		return nil, err
	}
	r := kvschema.Route{Name: fmt.Sprintf("zsc-%s-%d", key[:16], i+1), Rule: rule, Backend: b.backend}
	kvs, err := r.Encode(b.rootKey)
	if err != nil {
		return nil, err
	}
	for j := range kvs {
		if kvs[j].Value == kvschema.DirectoryValue {
			kvs[j].Value = ""
		}
	}
	return kvs, nil
}

func (b *baseline) shared() []string {
	return []string{b.root + "/http", b.root + "/http/routers", b.root + "/http/services"}
}

// bulk creates routes [b.n, b.n+count) in multis of at most ~400 KB, then kicks.
func (b *baseline) bulk(count int) error {
	var ops []any
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := b.conn.Multi(ops...); err != nil {
			return fmt.Errorf("baseline bulk create: %w", err)
		}
		ops, size = nil, 0
		return nil
	}
	if b.n == 0 {
		for _, p := range b.shared() {
			ops = append(ops, &zk.CreateRequest{Path: p, Acl: openACL})
		}
	}
	for i := b.n; i < b.n+count; i++ {
		kvs, err := b.kvs(i)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			ops = append(ops, &zk.CreateRequest{Path: kv.Key, Data: []byte(kv.Value), Acl: openACL})
			size += len(kv.Key) + len(kv.Value) + 64
		}
		if size > 400<<10 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	b.n += count
	return b.kick()
}

// writeOne is one new route as a generic client writes it: one create per
// znode, parents first, then the separate kick. It returns the route's path.
func (b *baseline) writeOne() (string, error) {
	i := b.n
	kvs, err := b.kvs(i)
	if err != nil {
		return "", err
	}
	for _, kv := range kvs {
		if _, err := b.conn.Create(kv.Key, []byte(kv.Value), 0, openACL); err != nil {
			return "", fmt.Errorf("create %s: %w", kv.Key, err)
		}
	}
	b.n++
	return b.path(i), b.kick()
}

func (b *baseline) kick() error {
	p := b.root + "/alias"
	_, err := b.conn.Multi(&zk.CreateRequest{Path: p, Acl: openACL}, &zk.DeleteRequest{Path: p, Version: -1})
	if err == nil {
		b.kicks++
	}
	return err
}
