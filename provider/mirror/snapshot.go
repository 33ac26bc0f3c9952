package mirror

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// Snapshot is one revision of the mirror, immutable once published. Its
// body is rendered on first use and then shared by every request for that
// revision; a revision nobody asks for is never rendered.
type Snapshot struct {
	Revision int64
	routes   map[string]kvschema.Route
	cert     *state.Certificate

	render sync.Once
	body   []byte
	etag   string
	err    error

	compress sync.Once
	gzipped  []byte
	gzipErr  error

	// superseded is closed when a newer snapshot is published.
	superseded chan struct{}
}

// NewSnapshot takes ownership of routes: the caller must not change them.
// cert, when not nil, goes into Traefik's default TLS store.
func NewSnapshot(revision int64, routes map[string]kvschema.Route, cert *state.Certificate) *Snapshot {
	return &Snapshot{Revision: revision, routes: routes, cert: cert, superseded: make(chan struct{})}
}

// Routes is how many routes the snapshot serves.
func (s *Snapshot) Routes() int { return len(s.routes) }

// Body is the JSON configuration and its entity tag, a hash of the body:
// replicas at the same revision render the same bytes (encoding/json sorts
// map keys), so the tag is the same on each.
func (s *Snapshot) Body() (body []byte, etag string, err error) {
	s.render.Do(func() {
		s.body, s.err = json.Marshal(NewDocument(s.routes, s.cert))
		if s.err == nil {
			sum := sha256.Sum256(s.body)
			s.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
		}
	})
	return s.body, s.etag, s.err
}

// Gzipped is the body compressed, also made once.
func (s *Snapshot) Gzipped() ([]byte, error) {
	body, _, err := s.Body()
	if err != nil {
		return nil, err
	}
	s.compress.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if _, s.gzipErr = zw.Write(body); s.gzipErr == nil {
			s.gzipErr = zw.Close()
		}
		s.gzipped = buf.Bytes()
	})
	return s.gzipped, s.gzipErr
}

// Superseded is closed once a newer revision is published.
func (s *Snapshot) Superseded() <-chan struct{} { return s.superseded }

// Current holds the latest published snapshot.
type Current struct {
	mu   sync.Mutex
	snap atomic.Pointer[Snapshot]
}

// Load is the latest snapshot; nil before the first Publish.
func (c *Current) Load() *Snapshot { return c.snap.Load() }

// Publish makes s the latest snapshot and wakes whoever waits on the one
// it replaces.
func (c *Current) Publish(s *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snap.Swap(s)
	if old != nil {
		close(old.superseded)
	}
}
