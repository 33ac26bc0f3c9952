package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/mirror"
)

const (
	apiToken     = "api-token-0123456789"
	traefikToken = "traefik-token-0123456789"
)

// testMirror is a mirror whose revisions the test publishes.
type testMirror struct{ current mirror.Current }

func (m *testMirror) Snapshot() *mirror.Snapshot { return m.current.Load() }
func (m *testMirror) Age() time.Duration         { return 0 }

func (m *testMirror) publish(revision int64, routes ...kvschema.Route) {
	byName := map[string]kvschema.Route{}
	for _, r := range routes {
		byName[r.Name] = r
	}
	m.current.Publish(mirror.NewSnapshot(revision, byName, nil))
}

func testRoute(name, backend string) kvschema.Route {
	return kvschema.Route{Name: name, Rule: "Path(`/zoe/proxy/" + name + "`)", Backend: backend}
}

func startTraefikEndpoint(t *testing.T, m *testMirror, hold time.Duration) (*httptest.Server, *Server) {
	t.Helper()
	s, err := New(Options{Token: apiToken, TraefikToken: traefikToken, Mirror: m, PollHold: hold})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ConnContext = ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, s
}

// newClient is one kept-alive connection's worth of client, like Traefik's
// HTTP provider, without transparent decompression.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true, MaxConnsPerHost: 1}, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, url, token string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func TestTraefikEndpointAuth(t *testing.T) {
	m := &testMirror{}
	m.publish(1, testRoute("zsc-a-1", "http://10.0.0.1:80"))
	srv, _ := startTraefikEndpoint(t, m, 0)
	tests := []struct {
		name, path, token string
		want              int
	}{
		{"no token", "/v1/traefik", "", http.StatusUnauthorized},
		{"wrong token", "/v1/traefik", "nope", http.StatusUnauthorized},
		{"API token", "/v1/traefik", apiToken, http.StatusOK},
		{"read-only Traefik token", "/v1/traefik", traefikToken, http.StatusOK},
		{"the Traefik token opens nothing else", "/v1/routes", traefikToken, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, newClient(), srv.URL+tt.path, tt.token)
			assert.Equal(t, tt.want, resp.StatusCode, string(body))
			if tt.want == http.StatusUnauthorized {
				assert.JSONEq(t, `{"error":"missing or wrong bearer token","field":"Authorization"}`, string(body))
			}
		})
	}

	// The scheme's name in any case, as on every other /v1 path.
	resp, body := get(t, newClient(), srv.URL+"/v1/traefik", "", "Authorization", "bearer "+traefikToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	// Without a Traefik token configured, an empty bearer never passes.
	s, err := New(Options{Token: apiToken, Mirror: m})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/traefik", nil)
	req.Header.Set("Authorization", "Bearer ")
	s.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestTraefikEndpointNotLoaded(t *testing.T) {
	srv, _ := startTraefikEndpoint(t, &testMirror{}, 0)
	resp, body := get(t, newClient(), srv.URL+"/v1/traefik", traefikToken)
	// Any status but 200 makes Traefik keep its configuration and retry.
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "not been loaded")
}

func TestTraefikEndpointBody(t *testing.T) {
	m := &testMirror{}
	a := testRoute("zsc-a-1", "http://10.0.0.1:80")
	m.publish(7, a)
	srv, _ := startTraefikEndpoint(t, m, 0)
	want, etag, err := m.Snapshot().Body()
	require.NoError(t, err)

	resp, body := get(t, newClient(), srv.URL+"/v1/traefik", traefikToken)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, want, body)
	assert.Equal(t, etag, resp.Header.Get("ETag"))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "7", resp.Header.Get("X-Mirror-Revision"))
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	var cfg kvschema.Configuration
	require.NoError(t, json.Unmarshal(body, &cfg))
	assert.Equal(t, mirror.Configuration(map[string]kvschema.Route{a.Name: a}), &cfg)
	assert.Contains(t, cfg.HTTP.Routers, a.Name)

	resp, body = get(t, newClient(), srv.URL+"/v1/traefik", traefikToken, "Accept-Encoding", "br, gzip")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, want, plain)

	resp, body = get(t, newClient(), srv.URL+"/v1/traefik", traefikToken, "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, etag, resp.Header.Get("ETag"))
}

type answer struct {
	resp *http.Response
	body []byte
	at   time.Time
}

func getAsync(t *testing.T, c *http.Client, url string) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+traefikToken)
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			close(out)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- answer{resp, body, time.Now()}
	}()
	return out
}

// A poll on a connection that was served the current body waits for the
// next revision; a new connection is answered at once.
func TestTraefikEndpointHoldsUntilChange(t *testing.T) {
	m := &testMirror{}
	m.publish(1, testRoute("zsc-a-1", "http://10.0.0.1:80"))
	srv, _ := startTraefikEndpoint(t, m, time.Minute)
	traefik := newClient()
	resp, first := get(t, traefik, srv.URL+"/v1/traefik", traefikToken)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	held := getAsync(t, traefik, srv.URL+"/v1/traefik")
	select {
	case a := <-held:
		t.Fatalf("answered at once (%d) although this connection has the current body", a.resp.StatusCode)
	case <-time.After(300 * time.Millisecond):
	}

	// Another client (a restarted Traefik) is not held.
	resp, other := get(t, newClient(), srv.URL+"/v1/traefik", traefikToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, first, other)

	// A revision whose body is the same (garbage collection) keeps it held.
	m.publish(2, testRoute("zsc-a-1", "http://10.0.0.1:80"))
	select {
	case a := <-held:
		t.Fatalf("answered (%d) for a revision with the same body", a.resp.StatusCode)
	case <-time.After(200 * time.Millisecond):
	}

	m.publish(3, testRoute("zsc-a-1", "http://10.0.0.1:80"), testRoute("zsc-b-3", "http://10.0.0.2:80"))
	published := time.Now()
	select {
	case a := <-held:
		require.Equal(t, http.StatusOK, a.resp.StatusCode)
		want, etag, err := m.Snapshot().Body()
		require.NoError(t, err)
		assert.Equal(t, want, a.body)
		assert.Equal(t, etag, a.resp.Header.Get("ETag"))
		assert.Equal(t, "3", a.resp.Header.Get("X-Mirror-Revision"))
		assert.False(t, a.at.Before(published))
	case <-time.After(5 * time.Second):
		t.Fatal("the held poll was not answered after the change")
	}
}

// The hold is bounded (below Traefik's pollTimeout), and shutdown answers
// held polls instead of closing them.
func TestTraefikEndpointHoldBounds(t *testing.T) {
	m := &testMirror{}
	m.publish(1, testRoute("zsc-a-1", "http://10.0.0.1:80"))
	const hold = 400 * time.Millisecond
	srv, _ := startTraefikEndpoint(t, m, hold)
	traefik := newClient()
	_, first := get(t, traefik, srv.URL+"/v1/traefik", traefikToken)

	start := time.Now()
	resp, body := get(t, traefik, srv.URL+"/v1/traefik", traefikToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "Traefik treats anything but 200 as an error")
	assert.Equal(t, first, body)
	assert.GreaterOrEqual(t, time.Since(start), hold)

	srvLong, sLong := startTraefikEndpoint(t, m, time.Hour)
	traefik = newClient()
	get(t, traefik, srvLong.URL+"/v1/traefik", traefikToken)
	held := getAsync(t, traefik, srvLong.URL+"/v1/traefik")
	time.Sleep(100 * time.Millisecond)
	sLong.StopHolding()
	select {
	case a := <-held:
		assert.Equal(t, http.StatusOK, a.resp.StatusCode)
		assert.Equal(t, first, a.body)
	case <-time.After(5 * time.Second):
		t.Fatal("StopHolding did not answer the held poll")
	}
	// After that, polls are answered at once.
	resp, body = get(t, traefik, srvLong.URL+"/v1/traefik", traefikToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, first, body)
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"br, gzip;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.0", false},
		{"identity", false},
		{"*", true},
		{"deflate, br", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, acceptsGzip(tt.header), tt.header)
	}
}
