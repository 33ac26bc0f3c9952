// Package state holds the sidecar's bookkeeping records: which execution owns
// which routes, tombstones awaiting garbage collection, and counters. They
// live under the sidecar's own state root in ZooKeeper, outside Traefik's
// root key, because Traefik re-reads everything under its root on each reload.
package state

import (
	"sort"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// Route is one proxied port of one execution and its Traefik objects.
type Route struct {
	ExecutionID string `json:"execution_id"`
	Service     string `json:"service"`
	Port        int    `json:"port"`
	Key         string `json:"key"`
	// Path is the public path ("/zoe/proxy/<key>"), "/" in host mode.
	Path string `json:"path"`
	Host string `json:"host,omitempty"`
	// Traefik is what is written under Traefik's root; its Name is given
	// when the route is first created and never reused afterwards.
	Traefik kvschema.Route `json:"traefik"`
}

// ID identifies a route across desired and current state.
type ID struct {
	ExecutionID string
	Service     string
	Port        int
}

// ID of the route.
func (r Route) ID() ID { return ID{ExecutionID: r.ExecutionID, Service: r.Service, Port: r.Port} }

// Execution is the record of one execution's routes.
type Execution struct {
	ID     string  `json:"id"`
	Routes []Route `json:"routes"`
	// Revision is the state revision that last changed this record.
	Revision int64 `json:"revision"`
}

// Tombstone records a stopped route whose znodes the garbage collector
// removes once the control plane has been quiet long enough.
type Tombstone struct {
	Route    kvschema.Route `json:"route"`
	Revision int64          `json:"revision"`
}

// Meta is stored in the revision znode: the counters that size the garbage
// collector's quiet window and feed the routes-owned metric without a scan.
type Meta struct {
	Routes     int `json:"routes"`
	Tombstones int `json:"tombstones"`
}

// Less orders route identities by execution, service and port.
func (a ID) Less(b ID) bool {
	if a.ExecutionID != b.ExecutionID {
		return a.ExecutionID < b.ExecutionID
	}
	if a.Service != b.Service {
		return a.Service < b.Service
	}
	return a.Port < b.Port
}

// SortRoutes orders routes by identity, for stable records and answers.
func SortRoutes(rs []Route) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID().Less(rs[j].ID()) })
}

// Change is the record every transaction that sets the revision leaves at
// <state root>/changes/<revision>: what it did to the routes Traefik serves.
// Replicas keep a mirror of those routes by reading only the records they
// lack; a transaction that changes nothing Traefik serves (the garbage
// collector's) leaves an empty record, so the revisions stay contiguous.
type Change struct {
	Revision int64 `json:"revision"`
	// Upsert are routes created or changed, as they are now.
	Upsert []kvschema.Route `json:"upsert,omitempty"`
	// Remove names routes that no longer serve (tombstoned).
	Remove []string `json:"remove,omitempty"`
	// DefaultCertificate is set by the transaction that created the
	// deployment's default certificate.
	DefaultCertificate *Certificate `json:"defaultCertificate,omitempty"`
}

// Certificate is a PEM certificate and its key, kept at <state
// root>/default-certificate for Traefik's default TLS store.
type Certificate struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// Permanent is the record of the routes that are never removed (the
// sentinel and static routes such as Zoe's UI), kept at
// <state root>/permanent so a full load of the mirror finds them without
// reading Traefik's tree.
type Permanent struct {
	Routes []kvschema.Route `json:"routes"`
}
