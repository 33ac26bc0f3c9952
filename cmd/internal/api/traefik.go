package api

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/mirror"
)

// Mirror is the in-memory copy of the served routes GET /v1/traefik renders.
type Mirror interface {
	// Snapshot is the latest revision; nil until the first load.
	Snapshot() *mirror.Snapshot
	// Age is how long the mirror may have missed changes (0 while it
	// follows ZooKeeper; negative before the first load).
	Age() time.Duration
}

// connPolls is what one client connection was last served by
// GET /v1/traefik. Traefik's HTTP provider sends no If-None-Match, but it
// polls one request at a time over a kept-alive connection, so a request on
// a connection that already received the current body comes from a Traefik
// that has it; a new connection (a restarted Traefik, one whose poll timed
// out) is answered at once.
type connPolls struct {
	mu       sync.Mutex
	lastETag string
}

func (c *connPolls) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastETag
}

func (c *connPolls) served(etag string) {
	c.mu.Lock()
	c.lastETag = etag
	c.mu.Unlock()
}

type connPollsKey struct{}

// ConnContext gives each connection the record that lets GET /v1/traefik
// hold polls; set it as the http.Server's ConnContext. Without it every
// poll is answered at once.
func ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connPollsKey{}, &connPolls{})
}

// authTraefik accepts the API token or the read-only Traefik token, which
// is valid on GET /v1/traefik only, so Traefik's static configuration never
// holds a token that can write.
func (s *Server) authTraefik(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hash, ok := bearerHash(r)
		api := subtle.ConstantTimeCompare(hash[:], s.tokenHash[:])
		traefik := subtle.ConstantTimeCompare(hash[:], s.traefikTokenHash[:]) & s.hasTraefikToken
		if !ok || api|traefik != 1 {
			unauthorized(w)
			return
		}
		next(w, r)
	}
}

// handleTraefik serves Traefik's dynamic configuration from the mirror.
// A poll from a client that already has the current body (the same
// connection was served it, or its If-None-Match names it) is held until
// the mirror moves to a different body or PollHold passes, then answered:
// Traefik gets a change as soon as the mirror has it, and an idle Traefik
// costs one body per PollHold instead of one per poll interval.
func (s *Server) handleTraefik(w http.ResponseWriter, r *http.Request) {
	snap := s.opts.Mirror.Snapshot()
	if snap == nil {
		s.metrics.traefikAnswers.WithLabelValues("unavailable").Inc()
		s.writeError(w, http.StatusServiceUnavailable, errMirrorNotLoaded)
		return
	}
	conn, _ := r.Context().Value(connPollsKey{}).(*connPolls)
	known := r.Header.Get("If-None-Match")
	if known == "" && conn != nil {
		known = conn.last()
	}
	body, etag, err := snap.Body()
	if err != nil {
		s.writeError(w, http.StatusInternalServerError, err)
		return
	}
	held := false
	if known == etag && s.opts.PollHold > 0 {
		held = true
		deadline := time.NewTimer(s.opts.PollHold)
		defer deadline.Stop()
	wait:
		for etag == known {
			select {
			case <-snap.Superseded():
				snap = s.opts.Mirror.Snapshot()
				if body, etag, err = snap.Body(); err != nil {
					s.writeError(w, http.StatusInternalServerError, err)
					return
				}
			case <-deadline.C:
				break wait
			case <-s.stopHolding:
				break wait
			case <-r.Context().Done():
				// The client is gone. (Returning without an answer
				// otherwise would send an empty 200, which Traefik
				// would apply as an empty configuration.)
				return
			}
		}
	}

	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Mirror-Revision", strconv.FormatInt(snap.Revision, 10))
	if r.Header.Get("If-None-Match") == etag {
		s.metrics.traefikAnswers.WithLabelValues(answerLabel("not-modified", held)).Inc()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if gz, err := snap.Gzipped(); err == nil {
			body = gz
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err == nil && conn != nil {
		conn.served(etag)
	}
	s.metrics.traefikAnswers.WithLabelValues(answerLabel("body", held)).Inc()
}

func answerLabel(answer string, held bool) string {
	if held {
		return answer + "-after-hold"
	}
	return answer
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) with a non-zero
// quality.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err != nil || f == 0 {
				continue
			}
		}
		return true
	}
	return false
}

// StopHolding answers held polls at once and holds no more: for shutdown
// (register it with http.Server.RegisterOnShutdown), so that Traefik gets
// its answer instead of a closed connection.
func (s *Server) StopHolding() { s.stopOnce.Do(func() { close(s.stopHolding) }) }
