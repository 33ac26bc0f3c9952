// Package mirror is the in-memory copy of the routes the sidecar recorded in
// ZooKeeper, as Traefik serves them, and its rendering as Traefik's dynamic
// configuration for the HTTP provider. It is pure: the provider loads and
// follows the records and hands them here.
package mirror

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// ErrGap means a change record does not follow the mirror's revision: a
// record is missing (trimmed), so the mirror must be loaded again in full.
var ErrGap = errors.New("mirror: change record does not follow the mirror's revision")

// State is the served routes by router name, as of Revision. Routes that
// never match a request (tombstones, the sentinel) are left out; the
// rendered configuration adds the sentinel back.
type State struct {
	Revision int64
	Routes   map[string]kvschema.Route
	// DefaultCertificate is the deployment's, once one was generated.
	DefaultCertificate *state.Certificate

	// fragments are the routes' parts of the body, encoded when they were
	// written; a route without one is encoded when a body is rendered.
	fragments map[string]fragment
}

// Load builds the state at revision from the full records: the permanent
// routes and every execution's routes. Tombstoned routes are absent.
func Load(revision int64, permanent state.Permanent, cert *state.Certificate, executions []*state.Execution) State {
	s := State{Revision: revision, Routes: map[string]kvschema.Route{}, DefaultCertificate: cert}
	for _, r := range permanent.Routes {
		s.upsert(r)
	}
	for _, e := range executions {
		if e == nil {
			continue
		}
		for _, r := range e.Routes {
			s.upsert(r.Traefik)
		}
	}
	return s
}

// Apply moves the state to the change's revision, in place. A record that
// does not follow the state's revision is refused with ErrGap and changes
// nothing; one the state already includes is refused too.
func (s *State) Apply(c state.Change) error {
	if c.Revision != s.Revision+1 {
		return fmt.Errorf("%w: mirror at %d, record of %d", ErrGap, s.Revision, c.Revision)
	}
	if s.Routes == nil {
		s.Routes = map[string]kvschema.Route{}
	}
	for _, name := range c.Remove {
		delete(s.Routes, name)
		delete(s.fragments, name)
	}
	for _, r := range c.Upsert {
		s.upsert(r)
	}
	if c.DefaultCertificate != nil {
		s.DefaultCertificate = c.DefaultCertificate
	}
	s.Revision = c.Revision
	return nil
}

func (s *State) upsert(r kvschema.Route) {
	if r.IsTombstone() {
		// Written as a tombstone, or the sentinel (which only keeps the
		// KV tree's maps non-empty): neither matches any request.
		delete(s.Routes, r.Name)
		delete(s.fragments, r.Name)
		return
	}
	s.Routes[r.Name] = r
	if s.fragments == nil {
		s.fragments = map[string]fragment{}
	}
	if f, err := encodeFragment(r); err == nil {
		s.fragments[r.Name] = f
	} else {
		// Encoded again when a body is rendered, which reports the error.
		delete(s.fragments, r.Name)
	}
}

// Snapshot is the state as a snapshot that shares nothing the state
// changes later; cert, when not nil, goes into Traefik's default TLS store.
// It copies the maps (about 1 ms at 10,000 routes), not the routes'
// encoded parts, which are never changed once made.
func (s *State) Snapshot(cert *state.Certificate) *Snapshot {
	snap := NewSnapshot(s.Revision, maps.Clone(s.Routes), cert)
	snap.fragments = maps.Clone(s.fragments)
	return snap
}

// Configuration is Traefik's dynamic configuration for the routes: the
// same routers, services and middlewares the sidecar writes under the root
// key, by the same names. The sentinel is always in it, as in the tree: a
// configuration without routers, services and middlewares is one Traefik
// skips as empty, which would keep the last route stopped served.
func Configuration(routes map[string]kvschema.Route) *kvschema.Configuration {
	http := &kvschema.HTTPConfiguration{
		Routers:     make(map[string]*kvschema.Router, len(routes)+1),
		Services:    make(map[string]*kvschema.Service, len(routes)+1),
		Middlewares: map[string]*kvschema.Middleware{},
	}
	for _, r := range append(slices.Collect(maps.Values(routes)), kvschema.SentinelRoute()) {
		c := r.Configuration().HTTP
		maps.Copy(http.Routers, c.Routers)
		maps.Copy(http.Services, c.Services)
		maps.Copy(http.Middlewares, c.Middlewares)
	}
	return &kvschema.Configuration{HTTP: http}
}

// Document is the body GET /v1/traefik serves: the routes' configuration
// and, when cert is given, Traefik's default TLS store holding it inline.
// (Traefik's KV providers cannot carry a default certificate: its field is
// not decoded from labels.)
type Document struct {
	HTTP *kvschema.HTTPConfiguration `json:"http"`
	TLS  *TLSConfiguration           `json:"tls,omitempty"`
}

// TLSConfiguration is the part of Traefik's tls section the sidecar writes.
type TLSConfiguration struct {
	Stores map[string]TLSStore `json:"stores"`
}

// TLSStore is a Traefik TLS store with its default certificate.
type TLSStore struct {
	DefaultCertificate *Certificate `json:"defaultCertificate"`
}

// Certificate is PEM content in Traefik's certFile/keyFile fields, which
// take a path or the content itself.
type Certificate struct {
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
}

// DefaultStore is the name of Traefik's default TLS store.
const DefaultStore = "default"

// NewDocument renders the routes, and the default certificate when given.
func NewDocument(routes map[string]kvschema.Route, cert *state.Certificate) Document {
	d := Document{HTTP: Configuration(routes).HTTP}
	if cert != nil {
		d.TLS = &TLSConfiguration{Stores: map[string]TLSStore{
			DefaultStore: {DefaultCertificate: &Certificate{CertFile: cert.Cert, KeyFile: cert.Key}},
		}}
	}
	return d
}
