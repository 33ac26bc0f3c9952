package traefikapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// pollInterval is how often Wait asks Traefik's API again.
const pollInterval = 50 * time.Millisecond

// Client reads routers and services from Traefik's API.
type Client struct {
	base     string
	provider string
	http     *http.Client
}

// NewClient reads the API at baseURL ("http://traefik:8080") for names
// qualified with provider ("zookeeper").
func NewClient(baseURL, provider string) *Client {
	return &Client{
		base:     strings.TrimRight(baseURL, "/"),
		provider: provider,
		http:     &http.Client{Timeout: 5 * time.Second},
	}
}

// Wait polls until Traefik serves every route of served as written and
// routes none of unserved (see Served and Unserved), all in the same round,
// or ctx ends. It returns nil, or why the last round fell short.
func (c *Client) Wait(ctx context.Context, served, unserved []kvschema.Route) error {
	var last error
	for {
		err := c.check(ctx, served, unserved)
		if err == nil {
			return nil
		}
		// A round cut short by the deadline says less than the one before.
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last: %v", ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

func (c *Client) check(ctx context.Context, served, unserved []kvschema.Route) error {
	for _, r := range served {
		var router *Router
		var service *Service
		if err := c.get(ctx, "routers", r.Name, &router); err != nil {
			return err
		}
		if router != nil {
			if err := c.get(ctx, "services", r.Name, &service); err != nil {
				return err
			}
		}
		if err := Served(r, c.provider, router, service); err != nil {
			return err
		}
	}
	for _, r := range unserved {
		var router *Router
		if err := c.get(ctx, "routers", r.Name, &router); err != nil {
			return err
		}
		if err := Unserved(r, c.provider, router); err != nil {
			return err
		}
	}
	return nil
}

// get decodes /api/http/<kind>/<name>@<provider> into *v; a 404 leaves *v nil.
func (c *Client) get(ctx context.Context, kind, name string, v any) error {
	u := c.base + "/api/http/" + kind + "/" + url.PathEscape(name+"@"+c.provider)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		return nil
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	default:
		return fmt.Errorf("%s: status %d", u, resp.StatusCode)
	}
}
