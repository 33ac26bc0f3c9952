package kvschema

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/traefik/paerser/parser"
)

// Decode is the inverse of Encode: it reads the znodes under the root key
// (any order, directory values ignored) back into a Configuration. Only the
// http section is decoded; other root children (tcp, kick nodes) are skipped.
func Decode(rootKey string, kvs []KV) (*Configuration, error) {
	rootPath, err := RootPath(rootKey)
	if err != nil {
		return nil, err
	}

	tree := &kvNode{}
	for _, kv := range kvs {
		rel, ok := strings.CutPrefix(kv.Key, rootPath+"/")
		if !ok || !strings.HasPrefix(rel, "http/") && rel != "http" {
			continue
		}
		tree.insert(strings.Split(rel, "/"), kv.Value)
	}

	labels := map[string]string{}
	tree.labels(labelRoot, labels)

	cfg := &Configuration{}
	if len(labels) == 0 {
		return cfg, nil
	}
	if err := parser.Decode(labels, cfg, labelRoot, labelRoot+".http"); err != nil {
		return nil, fmt.Errorf("decode configuration: %w", err)
	}
	return cfg, nil
}

// kvNode rebuilds the znode hierarchy so that leaves can be told from directories.
type kvNode struct {
	value    string
	children map[string]*kvNode
}

func (n *kvNode) insert(segments []string, value string) {
	if len(segments) == 0 {
		n.value = value
		return
	}
	if n.children == nil {
		n.children = map[string]*kvNode{}
	}
	child, ok := n.children[segments[0]]
	if !ok {
		child = &kvNode{}
		n.children[segments[0]] = child
	}
	child.insert(segments[1:], value)
}

// labels writes paerser labels ("traefik.http.routers.r.rule"): a list of
// scalars (children 0..n-1 that are leaves) becomes one comma-joined value,
// a list of structs becomes name[i].
func (n *kvNode) labels(prefix string, out map[string]string) {
	if len(n.children) == 0 {
		out[prefix] = n.value
		return
	}
	if values, ok := n.scalarList(); ok {
		out[prefix] = strings.Join(values, ",")
		return
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		label := prefix + "." + name
		if _, err := strconv.Atoi(name); err == nil {
			label = prefix + "[" + name + "]"
		}
		n.children[name].labels(label, out)
	}
}

func (n *kvNode) scalarList() ([]string, bool) {
	values := make([]string, len(n.children))
	for name, child := range n.children {
		i, err := strconv.Atoi(name)
		if err != nil || i < 0 || i >= len(values) || len(child.children) > 0 {
			return nil, false
		}
		values[i] = child.value
	}
	return values, true
}
