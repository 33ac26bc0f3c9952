package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

// client is the bench's HTTP client for the sidecar and for probes through
// Traefik: keep-alive (so that a probe costs Traefik one request, not a TCP
// handshake too), no redirects, short timeout.
var client = &http.Client{
	Transport: &http.Transport{Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute},
	Timeout:   30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// hooks posts lifecycle hooks to one sidecar. Every execution has one
// service with one proxied port pointing at the bench's backend, so each
// start creates exactly one route: 8 znodes (router, its rule and service;
// service, load balancer, servers, server 0 and its URL).
type hooks struct {
	api         *harness.Client
	backendIP   string
	backendPort int
}

type hookReply struct {
	apiv1.HookResponse
	// timing is the sidecar's Server-Timing header: phase → milliseconds.
	timing map[string]float64
}

// parseServerTiming reads "name;dur=1.5, other;dur=0.2" (W3C Server-Timing)
// into name → milliseconds; entries without a duration are left out.
func parseServerTiming(header string) map[string]float64 {
	out := map[string]float64{}
	for _, entry := range strings.Split(header, ",") {
		parts := strings.Split(strings.TrimSpace(entry), ";")
		for _, param := range parts[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok || k != "dur" {
				continue
			}
			if ms, err := strconv.ParseFloat(v, 64); err == nil && parts[0] != "" {
				out[parts[0]] = ms
			}
		}
	}
	return out
}

// hook is the hook of event for execution id: a start carries the one
// proxied port, the other events only the id.
func (h *hooks) hook(event, id string) apiv1.HookRequest {
	exec := execution.Execution{ID: execution.ID(id)}
	if event == apiv1.EventStart {
		exec.Services = []execution.Service{{Name: "app0", Ports: []execution.Port{{
			Name: "http", PortNumber: 8888, Protocol: "tcp", Proxy: true,
			ExternalIP: h.backendIP, ExternalPort: h.backendPort,
		}}}}
	}
	return harness.Hook(event, exec)
}

// post sends one hook and returns the reply and the response time (request
// sent → whole answer read), which for start and stop is hook → ZooKeeper
// transaction committed: the sidecar answers after its commit.
func (h *hooks) post(ctx context.Context, event, id string) (hookReply, time.Duration, error) {
	r, err := h.api.Hook(ctx, h.hook(event, id), "")
	if err != nil {
		return hookReply{}, 0, err
	}
	return h.answer(event, id, r)
}

// answer checks and decodes a hook's answer.
func (h *hooks) answer(event, id string, r *harness.Reply) (hookReply, time.Duration, error) {
	if r.Status != http.StatusOK {
		return hookReply{}, r.Took, fmt.Errorf("%s hook %s: %d %s %s", event, id, r.Status, http.StatusText(r.Status), strings.TrimSpace(string(r.Body)))
	}
	var reply hookReply
	if err := json.Unmarshal(r.Body, &reply.HookResponse); err != nil {
		return reply, r.Took, err
	}
	reply.timing = parseServerTiming(r.Header.Get("Server-Timing"))
	if event == apiv1.EventStart && len(reply.Routes) != 1 {
		return reply, r.Took, fmt.Errorf("start hook %s: %d routes, want 1", id, len(reply.Routes))
	}
	return reply, r.Took, nil
}

// startRetry retries a start answered 503 (the sidecar's back-pressure) 20
// times, 100 ms apart.
var startRetry = harness.RetryPolicy{Tries: 21, Wait: func(int, *harness.Reply) time.Duration { return 100 * time.Millisecond }}

// start posts a start hook, retrying 503s.
func (h *hooks) start(ctx context.Context, id string) (hookReply, time.Duration, error) {
	r, err := harness.Retry(ctx, startRetry, func(ctx context.Context) (*harness.Reply, error) {
		return h.api.Hook(ctx, h.hook(apiv1.EventStart, id), "")
	})
	if err != nil {
		return hookReply{}, 0, err
	}
	return h.answer(apiv1.EventStart, id, r)
}

// populate starts executions ids concurrently from workers clients and
// returns the route paths in the order of ids.
func (h *hooks) populate(ctx context.Context, ids []string, workers int) ([]string, error) {
	paths := make([]string, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				r, _, err := h.start(ctx, ids[i])
				if err != nil {
					errs <- err
					return
				}
				paths[i] = r.Routes[0].Path
			}
		}()
	}
	wg.Wait()
	close(errs)
	return paths, <-errs
}

// execution returns the path of execution id's (only) route.
func (h *hooks) execution(ctx context.Context, id string) (string, error) {
	r, err := h.api.Execution(ctx, id)
	if err != nil {
		return "", err
	}
	if len(r.Routes) != 1 {
		return "", fmt.Errorf("execution %s has %d routes, want 1", id, len(r.Routes))
	}
	return r.Routes[0].Path, nil
}

// listRoutes GETs /v1/routes and checks it lists want routes.
func listRoutes(ctx context.Context, h *hooks, want int) error {
	body, err := h.api.Routes(ctx)
	if err != nil {
		return err
	}
	if len(body.Routes) != want {
		return fmt.Errorf("GET /v1/routes listed %d routes, want %d", len(body.Routes), want)
	}
	return nil
}
