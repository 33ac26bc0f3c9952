package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	base, token string
	backendIP   string
	backendPort int
}

type hookReply struct {
	Routes []struct {
		Path   string `json:"path"`
		Router string `json:"router"`
	} `json:"routes"`
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

func (h *hooks) body(event, id string) []byte {
	exec := map[string]any{"id": id}
	if event == "start" {
		exec["services"] = []any{map[string]any{
			"name": "app0",
			"ports": []any{map[string]any{
				"name": "http", "port_number": 8888, "protocol": "tcp", "proxy": true,
				"external_ip": h.backendIP, "external_port": h.backendPort,
			}},
		}}
	}
	b, _ := json.Marshal(map[string]any{"event": event, "execution": exec})
	return b
}

// post sends one hook and returns the reply and the response time (request
// sent → whole answer read), which for start and stop is hook → ZooKeeper
// transaction committed: the sidecar answers after its commit.
func (h *hooks) post(ctx context.Context, event, id string) (hookReply, time.Duration, int, error) {
	body := h.body(event, id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/v1/hooks", bytes.NewReader(body))
	if err != nil {
		return hookReply{}, 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return hookReply{}, 0, 0, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return hookReply{}, took, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return hookReply{}, took, resp.StatusCode, fmt.Errorf("%s hook %s: %s %s", event, id, resp.Status, strings.TrimSpace(string(data)))
	}
	var r hookReply
	if err := json.Unmarshal(data, &r); err != nil {
		return r, took, resp.StatusCode, err
	}
	r.timing = parseServerTiming(resp.Header.Get("Server-Timing"))
	if event == "start" && len(r.Routes) != 1 {
		return r, took, resp.StatusCode, fmt.Errorf("start hook %s: %d routes, want 1", id, len(r.Routes))
	}
	return r, took, resp.StatusCode, nil
}

// start posts a start hook; it retries 503 (the sidecar's back-pressure).
func (h *hooks) start(ctx context.Context, id string) (hookReply, time.Duration, error) {
	for attempt := 0; ; attempt++ {
		r, took, status, err := h.post(ctx, "start", id)
		if status == http.StatusServiceUnavailable && attempt < 20 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return r, took, err
	}
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
	req, err := newGet(ctx, h.base+"/v1/executions/"+id, h.token)
	if err != nil {
		return "", err
	}
	var r hookReply
	if err := getJSON(req, &r); err != nil {
		return "", err
	}
	if len(r.Routes) != 1 {
		return "", fmt.Errorf("execution %s has %d routes, want 1", id, len(r.Routes))
	}
	return r.Routes[0].Path, nil
}

// listRoutes GETs /v1/routes and checks it lists want routes.
func listRoutes(ctx context.Context, h *hooks, want int) error {
	req, err := newGet(ctx, h.base+"/v1/routes", h.token)
	if err != nil {
		return err
	}
	var body struct {
		Routes []struct{} `json:"routes"`
	}
	if err := getJSON(req, &body); err != nil {
		return err
	}
	if len(body.Routes) != want {
		return fmt.Errorf("GET /v1/routes listed %d routes, want %d", len(body.Routes), want)
	}
	return nil
}
