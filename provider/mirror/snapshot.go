package mirror

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
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
	// fragments are the routes' encoded parts the state had; the others
	// are encoded when the body is rendered.
	fragments map[string]fragment
	cert      *state.Certificate

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
// replicas at the same revision render the same bytes (the document
// encoding/json would write, map keys sorted), so the tag is the same on
// each.
func (s *Snapshot) Body() (body []byte, etag string, err error) {
	s.render.Do(func() {
		if s.fragments == nil {
			s.fragments = make(map[string]fragment, len(s.routes))
		}
		for name, r := range s.routes {
			if _, ok := s.fragments[name]; ok {
				continue
			}
			f, err := encodeFragment(r)
			if err != nil {
				s.err = err
				return
			}
			s.fragments[name] = f
		}
		s.body, s.err = render(s.fragments, s.cert)
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
