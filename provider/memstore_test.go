package provider

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// memStore is an in-memory Store with ZooKeeper's rules for what the
// provider uses: versions, all-or-nothing transactions, creates that need
// their parent, deletes that need no children. It records every committed
// transaction, check-only ones included.
type memStore struct {
	mu      sync.Mutex
	nodes   map[string]*memNode
	commits [][]zkstore.Op
	syncs   int
	down    bool
	// beforeCommit, when set, runs (unlocked) before each transaction is
	// applied: another writer acting between planning and commit.
	beforeCommit func(ops []zkstore.Op)
	// getDelay, when set, is how long each Get takes: a round trip.
	getDelay time.Duration
	// watches are the armed memBells, by path.
	watches map[string][]chan struct{}
}

type memNode struct {
	data              []byte
	version, cversion int32
}

func newMemStore() *memStore {
	return &memStore{nodes: map[string]*memNode{"/": {}}}
}

var errMemDown = fmt.Errorf("%w: test store is down", zkstore.ErrUnavailable)

func (m *memStore) Get(p string) ([]byte, zkstore.Stat, error) {
	m.mu.Lock()
	if d := m.getDelay; d > 0 {
		m.mu.Unlock()
		time.Sleep(d)
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	if m.down {
		return nil, zkstore.Stat{}, errMemDown
	}
	n, ok := m.nodes[p]
	if !ok {
		return nil, zkstore.Stat{}, zkstore.ErrNoNode
	}
	return append([]byte(nil), n.data...), zkstore.Stat{Version: n.version, Cversion: n.cversion}, nil
}

func (m *memStore) Children(p string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return nil, errMemDown
	}
	return m.children(p)
}

func (m *memStore) children(p string) ([]string, error) {
	if _, ok := m.nodes[p]; !ok {
		return nil, zkstore.ErrNoNode
	}
	var out []string
	for k := range m.nodes {
		if k != "/" && path.Dir(k) == p {
			out = append(out, path.Base(k))
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m *memStore) Subtree(p string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return nil, errMemDown
	}
	if _, ok := m.nodes[p]; !ok {
		return nil, nil
	}
	out := []string{p}
	for k := range m.nodes {
		if strings.HasPrefix(k, p+"/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m *memStore) Sync(string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errMemDown
	}
	m.syncs++
	return nil
}

func (m *memStore) EnsurePath(p string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errMemDown
	}
	cur := ""
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		cur += "/" + part
		if _, ok := m.nodes[cur]; !ok {
			m.nodes[cur] = &memNode{data: data}
			m.nodes[path.Dir(cur)].cversion++
		}
	}
	return nil
}

func (m *memStore) Connected() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.down
}

func (m *memStore) Commit(ops []zkstore.Op) error {
	if m.beforeCommit != nil {
		m.beforeCommit(ops)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errMemDown
	}
	next := make(map[string]*memNode, len(m.nodes))
	for k, n := range m.nodes {
		c := *n
		next[k] = &c
	}
	for _, op := range ops {
		if err := applyMemOp(next, op); err != nil {
			return fmt.Errorf("%w: %s %s: %v", zkstore.ErrConflict, op.Kind, op.Path, err)
		}
	}
	for p, chans := range m.watches {
		if before, after := m.nodes[p], next[p]; before == nil || after == nil || before.version != after.version {
			for _, ch := range chans {
				close(ch)
			}
			delete(m.watches, p)
		}
	}
	m.nodes = next
	m.commits = append(m.commits, ops)
	return nil
}

// memBell is a doorbell on a memStore: it rings at the commit that changes
// the znode's data. unavailable makes Arm fail; breakOff rings every armed
// bell without a change, as a dropped connection does.
type memBell struct {
	m           *memStore
	mu          sync.Mutex
	unavailable bool
	arms        int
}

func (b *memBell) Arm(p string) (int32, <-chan struct{}, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.unavailable {
		return 0, nil, errMemDown
	}
	b.arms++
	m := b.m
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[p]
	if !ok {
		return 0, nil, zkstore.ErrNoNode
	}
	ch := make(chan struct{})
	if m.watches == nil {
		m.watches = map[string][]chan struct{}{}
	}
	m.watches[p] = append(m.watches[p], ch)
	return n.version, ch, nil
}

func (b *memBell) breakOff() {
	m := b.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, chans := range m.watches {
		for _, ch := range chans {
			close(ch)
		}
		delete(m.watches, p)
	}
}

func (b *memBell) armed() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.arms
}

func applyMemOp(nodes map[string]*memNode, op zkstore.Op) error {
	n, exists := nodes[op.Path]
	versionOK := func() bool { return op.Version == zkstore.AnyVersion || n.version == op.Version }
	switch op.Kind {
	case zkstore.OpCreate:
		parent, ok := nodes[path.Dir(op.Path)]
		switch {
		case exists:
			return errors.New("node exists")
		case !ok:
			return errors.New("no parent")
		}
		nodes[op.Path] = &memNode{data: op.Data}
		parent.cversion++
	case zkstore.OpSet:
		if !exists || !versionOK() {
			return errors.New("no node or bad version")
		}
		n.data, n.version = op.Data, n.version+1
	case zkstore.OpDelete:
		if !exists || !versionOK() {
			return errors.New("no node or bad version")
		}
		for k := range nodes {
			if strings.HasPrefix(k, op.Path+"/") {
				return errors.New("not empty")
			}
		}
		delete(nodes, op.Path)
		nodes[path.Dir(op.Path)].cversion++
	case zkstore.OpCheck:
		if !exists || n.version != op.Version {
			return errors.New("no node or bad version")
		}
	}
	return nil
}

// set writes a znode's value as another writer would, outside any batch.
func (m *memStore) set(p string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.nodes[p]
	n.data, n.version = data, n.version+1
}

func (m *memStore) has(p string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.nodes[p]
	return ok
}

// committed returns the transactions committed from the n-th on.
func (m *memStore) committed(from int) [][]zkstore.Op {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]zkstore.Op(nil), m.commits[from:]...)
}

func (m *memStore) commitCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.commits)
}
