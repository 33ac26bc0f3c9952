package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// staticBody serves one body to Traefik's HTTP provider, held like the
// sidecar holds it (a poll on a connection that already has the current
// body waits until the body changes, at most bodyHold): swapping the body
// then reaches Traefik at once, with no mirror, ZooKeeper or rendering in
// between. Hook → served through it is Traefik's own rebuild time: the
// floor under any provider.
type staticBody struct {
	mu      sync.Mutex
	body    []byte
	version int
	changed chan struct{}
	srv     *http.Server
	url     string
}

// bodyHold is below Traefik's pollTimeout (5 s), as the sidecar's hold.
const bodyHold = 4 * time.Second

type connVersionKey struct{}

func startStaticBody() (*staticBody, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &staticBody{changed: make(chan struct{}), url: "http://" + ln.Addr().String() + "/"}
	s.srv = &http.Server{
		Handler: s,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			last := -1
			return context.WithValue(ctx, connVersionKey{}, &last)
		},
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// set replaces the body; held polls answer at once.
func (s *staticBody) set(body []byte) {
	s.mu.Lock()
	s.body = body
	s.version++
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *staticBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	last, _ := r.Context().Value(connVersionKey{}).(*int)
	s.mu.Lock()
	body, version, changed := s.body, s.version, s.changed
	s.mu.Unlock()
	if last != nil && *last == version {
		select {
		case <-changed:
			s.mu.Lock()
			body, version = s.body, s.version
			s.mu.Unlock()
		case <-time.After(bodyHold):
		case <-r.Context().Done():
			return
		}
	}
	if body == nil {
		http.Error(w, "no body yet", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if _, err := w.Write(body); err == nil && last != nil {
		*last = version
	}
}

func (s *staticBody) close() { _ = s.srv.Close() }

// dynamicConfig is a Traefik dynamic configuration as generic JSON, so that
// whatever the sidecar delivers is kept as it is.
type dynamicConfig map[string]any

func parseConfig(body []byte) (dynamicConfig, error) {
	var c dynamicConfig
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("GET /v1/traefik: %w", err)
	}
	return c, nil
}

func (c dynamicConfig) object(path ...string) map[string]any {
	var cur map[string]any = c
	for _, p := range path {
		next, _ := cur[p].(map[string]any)
		if next == nil {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	return cur
}

// hasDefaultCertificate tells whether the default TLS store names a
// default certificate.
func (c dynamicConfig) hasDefaultCertificate() bool {
	tls, _ := c["tls"].(map[string]any)
	stores, _ := tls["stores"].(map[string]any)
	def, _ := stores["default"].(map[string]any)
	return def["defaultCertificate"] != nil
}

// withDefaultCertificate returns a copy of c (top level and tls only) with
// the default store's default certificate set to pair, or removed when
// pair is nil.
func (c dynamicConfig) withDefaultCertificate(pair *pemPair) dynamicConfig {
	out := dynamicConfig{}
	for k, v := range c {
		out[k] = v
	}
	delete(out, "tls")
	if pair != nil {
		out["tls"] = map[string]any{"stores": map[string]any{"default": map[string]any{
			"defaultCertificate": map[string]any{"certFile": pair.cert, "keyFile": pair.key}}}}
	}
	return out
}

// addRouter adds router name for path, a copy of template (a router of
// the body: same entry points and middlewares), with its own service
// pointing at backend.
func (c dynamicConfig) addRouter(template, name, rule, backend string) error {
	routers := c.object("http", "routers")
	services := c.object("http", "services")
	t, ok := routers[template].(map[string]any)
	if !ok {
		return fmt.Errorf("the configuration has no router %s", template)
	}
	r := map[string]any{}
	for k, v := range t {
		r[k] = v
	}
	r["rule"], r["service"] = rule, name
	routers[name] = r
	services[name] = map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": backend}}}}
	return nil
}

// pemPair is a certificate and its key, PEM-encoded.
type pemPair struct{ cert, key string }

// selfSigned makes a throwaway ECDSA certificate for the floor's
// default-certificate variant (Traefik generates an RSA-2048 one on every
// reload when none is configured).
func selfSigned() (*pemPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench default"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"bench.invalid"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &pemPair{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}, nil
}
