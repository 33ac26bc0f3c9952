package zkstore

import "github.com/go-zookeeper/zk"

// OpKind is the kind of one transaction operation.
type OpKind string

// Operation kinds.
const (
	OpCreate OpKind = "create"
	OpSet    OpKind = "set"
	OpDelete OpKind = "delete"
	OpCheck  OpKind = "check"
)

// AnyVersion skips the version precondition.
const AnyVersion int32 = -1

// Op is one operation of a transaction, built by pure code and applied by Commit.
type Op struct {
	Kind    OpKind
	Path    string
	Data    []byte
	Version int32
}

// Create makes a znode.
func Create(path string, data []byte) Op { return Op{Kind: OpCreate, Path: path, Data: data} }

// Set writes a znode's value if its version is still version (AnyVersion: always).
func Set(path string, data []byte, version int32) Op {
	return Op{Kind: OpSet, Path: path, Data: data, Version: version}
}

// Delete removes a childless znode.
func Delete(path string, version int32) Op { return Op{Kind: OpDelete, Path: path, Version: version} }

// Check fails the transaction unless the znode is at version.
func Check(path string, version int32) Op { return Op{Kind: OpCheck, Path: path, Version: version} }

// WireSize approximates the op's share of the request ZooKeeper limits
// (jute.maxbuffer, 1 MB by default): path, data, and header/ACL overhead.
func (o Op) WireSize() int { return len(o.Path) + len(o.Data) + 64 }

func (o Op) request(acl []zk.ACL) any {
	switch o.Kind {
	case OpCreate:
		return &zk.CreateRequest{Path: o.Path, Data: o.Data, Acl: acl}
	case OpSet:
		return &zk.SetDataRequest{Path: o.Path, Data: o.Data, Version: o.Version}
	case OpDelete:
		return &zk.DeleteRequest{Path: o.Path, Version: o.Version}
	default:
		return &zk.CheckVersionRequest{Path: o.Path, Version: o.Version}
	}
}
