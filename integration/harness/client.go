package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

// Client speaks the sidecar's HTTP API v1 with the API's own types
// (apiv1). Typed calls marshal those types, so a client never sends a
// field the API does not know; Do sends raw bytes, for bad-input tests.
// Every call returns the answer as received, whatever its status.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sends through hc: its own connection pool, timeouts or
// TLS settings.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) { c.http = hc }
}

// WithTLS sends over TLS with cfg: a custom CA (RootCAs), a client
// certificate (Certificates).
func WithTLS(cfg *tls.Config) ClientOption {
	return func(c *Client) {
		c.http = &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: cfg, MaxIdleConnsPerHost: 64}, CheckRedirect: noRedirects}
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewClient is a client of the sidecar at base ("http://127.0.0.1:8080")
// sending token as its bearer token. By default it keeps connections alive,
// uses no proxy, follows no redirects and has no timeout but the context's.
func NewClient(base, token string, opts ...ClientOption) *Client {
	c := &Client{base: base, token: token}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}, CheckRedirect: noRedirects}
	}
	return c
}

// Client is a client of this sidecar's API with its token, over HTTPS
// with SidecarOptions.HTTPS when the API serves HTTPS.
func (s *Sidecar) Client(opts ...ClientOption) *Client {
	if s.opts.HTTPS != nil {
		opts = append([]ClientOption{WithTLS(s.opts.HTTPS)}, opts...)
	}
	return NewClient(s.URL(), s.opts.Token, opts...)
}

// NoAuth as Request.Auth sends no Authorization header.
const NoAuth = "\x00none"

// Request is one raw request; Body is sent as it is.
type Request struct {
	Method string
	Path   string // with the query, e.g. "/v1/hooks?wait=20s"
	Body   []byte // nil: no body
	// Auth is the Authorization header: "" sends the client's bearer token,
	// NoAuth none.
	Auth string
}

// Reply is one answer as received.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
	// Took is request sent → whole answer read.
	Took time.Duration
}

func (r *Reply) String() string {
	return fmt.Sprintf("status %d after %s, body %s", r.Status, r.Took.Round(time.Millisecond), Truncate(string(r.Body), 600))
}

// Decode decodes the JSON body into v.
func (r *Reply) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %s: %w", r, err)
	}
	return nil
}

// OK decodes a 200 answer into v and turns any other into an error that
// shows the answer.
func (r *Reply) OK(v any) error {
	if r.Status != http.StatusOK {
		return fmt.Errorf("want 200, got %s", r)
	}
	if v == nil {
		return nil
	}
	return r.Decode(v)
}

// RetryAfter is the answer's Retry-After in seconds; false when it is
// missing or not a positive integer.
func (r *Reply) RetryAfter() (time.Duration, bool) {
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// Do sends one raw request.
func (c *Client) Do(ctx context.Context, r Request) (*Reply, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.base+r.Path, body)
	if err != nil {
		return nil, err
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch r.Auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case NoAuth:
	default:
		req.Header.Set("Authorization", r.Auth)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", r.Method, r.Path, err)
	}
	return &Reply{Status: resp.StatusCode, Header: resp.Header, Body: raw, Took: time.Since(start)}, nil
}

// Get sends GET path.
func (c *Client) Get(ctx context.Context, path string) (*Reply, error) {
	return c.Do(ctx, Request{Method: http.MethodGet, Path: path})
}

// Send sends body, marshalled to JSON, with method to path.
func (c *Client) Send(ctx context.Context, method, path string, body any) (*Reply, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return c.Do(ctx, Request{Method: method, Path: path, Body: raw})
}

// Hook posts a hook to /v1/hooks with query ("" or e.g. "wait=20s").
func (c *Client) Hook(ctx context.Context, h apiv1.HookRequest, query string) (*Reply, error) {
	path := "/v1/hooks"
	if query != "" {
		path += "?" + query
	}
	return c.Send(ctx, http.MethodPost, path, h)
}

// Sync puts the desired executions to /v1/executions, as a dry run or not.
func (c *Client) Sync(ctx context.Context, req apiv1.ExecutionsRequest, dryRun bool) (*Reply, error) {
	path := "/v1/executions"
	if dryRun {
		path += "?dry_run=true"
	}
	return c.Send(ctx, http.MethodPut, path, req)
}

// Routes is GET /v1/routes, decoded.
func (c *Client) Routes(ctx context.Context) (apiv1.RoutesResponse, error) {
	var out apiv1.RoutesResponse
	r, err := c.Get(ctx, "/v1/routes")
	if err != nil {
		return out, err
	}
	return out, r.OK(&out)
}

// Execution is GET /v1/executions/{id}, decoded.
func (c *Client) Execution(ctx context.Context, id string) (apiv1.HookResponse, error) {
	var out apiv1.HookResponse
	r, err := c.Get(ctx, "/v1/executions/"+id)
	if err != nil {
		return out, err
	}
	return out, r.OK(&out)
}

// Hook is a hook of event for exec.
func Hook(event string, exec execution.Execution) apiv1.HookRequest {
	return apiv1.HookRequest{Event: event, Execution: &exec}
}

// StopHook is the stop hook of execution id (a stop needs only the id).
func StopHook(id string) apiv1.HookRequest {
	return Hook(apiv1.EventStop, execution.Execution{ID: execution.ID(id)})
}

// RetryPolicy says how Retry answers a 503, the sidecar's back-pressure
// (--max-concurrent-applies reached, or ZooKeeper too slow).
type RetryPolicy struct {
	// Tries bounds the requests; 0 leaves them unbounded (the context and
	// Wait bound them).
	Tries int
	// Wait is the pause after the n-th 503 r (n from 1) before the next
	// try; a negative pause gives up. nil waits what r's Retry-After says
	// and gives up when it has none.
	Wait func(n int, r *Reply) time.Duration
	// OnError, when set, retries requests that got no answer: it returns
	// the pause before the next try, negative to give up. nil gives up.
	OnError func(n int, err error) time.Duration
}

// Retry sends send's request until it is answered with anything but 503
// or the policy gives up; it returns the last answer (a 503 when the
// policy gave up on one) or the last error.
func Retry(ctx context.Context, p RetryPolicy, send func(ctx context.Context) (*Reply, error)) (*Reply, error) {
	for n := 1; ; n++ {
		r, err := send(ctx)
		var wait time.Duration
		switch {
		case err != nil && p.OnError == nil:
			return nil, err
		case err != nil:
			wait = p.OnError(n, err)
		case r.Status != http.StatusServiceUnavailable:
			return r, nil
		case p.Wait != nil:
			wait = p.Wait(n, r)
		default:
			var ok bool
			if wait, ok = r.RetryAfter(); !ok {
				wait = -1
			}
		}
		if wait < 0 || (p.Tries > 0 && n >= p.Tries) {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, err
		case <-time.After(wait):
		}
	}
}
