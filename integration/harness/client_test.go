package harness

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
)

// answers serves the given statuses in turn (the last one from then on),
// with Retry-After retryAfter on a 503, and counts the requests.
func answers(t *testing.T, retryAfter string, statuses ...int) (*Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := int(n.Add(1)) - 1
		status := statuses[min(i, len(statuses)-1)]
		if status == http.StatusServiceUnavailable && retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return NewClient(srv.URL, "t"), &n
}

func TestRetry(t *testing.T) {
	pause := func(int, *Reply) time.Duration { return time.Millisecond }
	for _, tc := range []struct {
		name       string
		retryAfter string
		statuses   []int
		policy     RetryPolicy
		want       int // final status
		requests   int32
	}{
		{name: "503s then 200", statuses: []int{503, 503, 200}, policy: RetryPolicy{Wait: pause}, want: 200, requests: 3},
		{name: "other statuses are not retried", statuses: []int{400, 200}, policy: RetryPolicy{Wait: pause}, want: 400, requests: 1},
		{name: "tries bound the requests", statuses: []int{503}, policy: RetryPolicy{Tries: 4, Wait: pause}, want: 503, requests: 4},
		{name: "a negative wait gives up", statuses: []int{503}, policy: RetryPolicy{Wait: func(n int, _ *Reply) time.Duration {
			if n == 2 {
				return -1
			}
			return time.Millisecond
		}}, want: 503, requests: 2},
		{name: "no Retry-After: gives up", statuses: []int{503, 200}, want: 503, requests: 1},
		{name: "invalid Retry-After: gives up", retryAfter: "soon", statuses: []int{503, 200}, want: 503, requests: 1},
		{name: "Retry-After honoured", retryAfter: "1", statuses: []int{503, 200}, policy: RetryPolicy{Tries: 2}, want: 200, requests: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, n := answers(t, tc.retryAfter, tc.statuses...)
			r, err := Retry(context.Background(), tc.policy, func(ctx context.Context) (*Reply, error) { return c.Get(ctx, "/") })
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.Status)
			assert.Equal(t, tc.requests, n.Load())
		})
	}
}

func TestRetryErrors(t *testing.T) {
	failed := errors.New("refused")
	calls := 0
	send := func(context.Context) (*Reply, error) {
		calls++
		if calls < 3 {
			return nil, failed
		}
		return &Reply{Status: http.StatusOK}, nil
	}
	_, err := Retry(context.Background(), RetryPolicy{}, send)
	assert.ErrorIs(t, err, failed, "without OnError an error ends the loop")
	assert.Equal(t, 1, calls)

	calls = 0
	var seen []int
	r, err := Retry(context.Background(), RetryPolicy{OnError: func(n int, err error) time.Duration {
		seen = append(seen, n)
		return 0
	}}, send)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, []int{1, 2}, seen)
}

func TestClientRequests(t *testing.T) {
	type seen struct{ method, path, auth, contentType, body string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(body)}
		w.Header().Set("Retry-After", "2")
		_, _ = w.Write([]byte(`{"routes":[{"path":"/p/k","service":"s","port":1,"key":"k"}]}`))
	}))
	defer srv.Close()
	c := NewClient(srv.URL, "tok")
	ctx := context.Background()

	r, err := c.Hook(ctx, StopHook("42"), "wait=1s")
	require.NoError(t, err)
	assert.Equal(t, seen{"POST", "/v1/hooks?wait=1s", "Bearer tok", "application/json", `{"event":"stop","execution":{"id":"42"}}`}, <-got)
	wait, ok := r.RetryAfter()
	assert.True(t, ok)
	assert.Equal(t, 2*time.Second, wait)

	_, err = c.Sync(ctx, apiv1.ExecutionsRequest{}, true)
	require.NoError(t, err)
	assert.Equal(t, seen{"PUT", "/v1/executions?dry_run=true", "Bearer tok", "application/json", `{"executions":null}`}, <-got)

	_, err = c.Do(ctx, Request{Method: "GET", Path: "/metrics", Auth: NoAuth})
	require.NoError(t, err)
	assert.Equal(t, seen{method: "GET", path: "/metrics"}, <-got)

	_, err = c.Do(ctx, Request{Method: "POST", Path: "/v1/hooks", Body: []byte("{"), Auth: "Basic x"})
	require.NoError(t, err)
	assert.Equal(t, seen{"POST", "/v1/hooks", "Basic x", "application/json", "{"}, <-got)

	routes, err := c.Routes(ctx)
	require.NoError(t, err)
	<-got
	assert.Equal(t, []apiv1.RouteView{{Path: "/p/k", Service: "s", Port: 1, Key: "k"}}, routes.Routes)
}
