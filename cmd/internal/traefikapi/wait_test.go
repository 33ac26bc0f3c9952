package traefikapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// fakeAPI answers /api/http/... from a map that the test changes.
type fakeAPI struct {
	mu     sync.Mutex
	bodies map[string]string // request path → JSON; missing → 404
	asked  map[string]int
}

func (f *fakeAPI) set(path, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if body == "" {
		delete(f.bodies, path)
		return
	}
	f.bodies[path] = body
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked[r.URL.Path]++
	body, ok := f.bodies[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func newFake(t *testing.T) (*fakeAPI, *Client) {
	f := &fakeAPI{bodies: map[string]string{}, asked: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, NewClient(srv.URL+"/", "zookeeper")
}

func TestWaitServedOnceRouterAndServiceAreAsWritten(t *testing.T) {
	f, c := newFake(t)
	f.set("/api/http/routers/zsc-k-7@zookeeper", `{"service":"zsc-k-7","rule":"`+jsonRule+`","status":"disabled","error":["the service does not exist"]}`)
	go func() {
		time.Sleep(3 * pollInterval)
		f.set("/api/http/services/zsc-k-7@zookeeper", liveService)
		f.set("/api/http/routers/zsc-k-7@zookeeper", liveRouter)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Wait(ctx, []kvschema.Route{written}, nil))
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Greater(t, f.asked["/api/http/routers/zsc-k-7@zookeeper"], 1, "polled until served")
}

func TestWaitGivesUpWithTheLastReason(t *testing.T) {
	f, c := newFake(t)
	f.set("/api/http/routers/zsc-k-7@zookeeper", liveRouter)
	f.set("/api/http/services/zsc-k-7@zookeeper", `{"loadBalancer":{"servers":[{"url":"http://10.0.0.1:1"}]},"status":"enabled"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*pollInterval)
	defer cancel()
	err := c.Wait(ctx, []kvschema.Route{written}, nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), `servers ["http://10.0.0.1:1"], written ["http://10.0.0.1:32768"]`)
}

func TestWaitUnservedOnceTheRouterIsGone(t *testing.T) {
	f, c := newFake(t)
	f.set("/api/http/routers/zsc-k-7@zookeeper", liveRouter)
	go func() {
		time.Sleep(3 * pollInterval)
		f.set("/api/http/routers/zsc-k-7@zookeeper", "")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Wait(ctx, nil, []kvschema.Route{written}))
}

func TestWaitReportsAPIErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*pollInterval)
	defer cancel()
	err := NewClient(srv.URL, "http").Wait(ctx, []kvschema.Route{written}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/api/http/routers/zsc-k-7@http: status 500")
}
