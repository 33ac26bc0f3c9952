package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// Floor variants: the body as B delivers it, with the default store's
// certificate removed, and with one set.
const (
	floorNoCert = "floor-no-cert"
	floorCert   = "floor-cert"
)

// rebuild measures the floor at size n: B's current body, served by the
// bench itself to the floor Traefik, gains one router; the time from the
// swap to its first 200 is Traefik's fetch of a held poll, decode, build
// and apply, with nothing else in between. Once without a default
// certificate (Traefik then generates one on every reload) and once with.
func (r *providersRun) rebuild(ctx context.Context, n int) error {
	raw, err := r.body(ctx, false)
	if err != nil {
		return err
	}
	base, err := parseConfig(raw)
	if err != nil {
		return err
	}
	if base.hasDefaultCertificate() {
		r.res.deliversCert = true
	}
	template, err := r.templateRouter(base)
	if err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		cert *pemPair
	}{{floorNoCert, nil}, {floorCert, r.cert}} {
		cfg := base.withDefaultCertificate(v.cert)
		body, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		r.static.set(body)
		if err := r.floorT.settle(ctx, r.httpProbe, 200, r.progress); err != nil {
			return err
		}
		for rep := 1; rep <= r.repsAt(n); rep++ {
			if rep > 1 && !r.fits(time.Minute) {
				r.note("floor at %s routes (%s): %d of %d repetitions, the rest did not fit the time budget (-budget %s)",
					count(float64(n)), v.name, rep-1, r.repsAt(n), r.cfg.budget)
				break
			}
			err := r.measure(ctx, secFloor, v.name, n, rep, r.floorT, r.all, 200, func(context.Context, int) (int, change, error) {
				i := r.floorRoutes
				r.floorRoutes++
				key := routeKey(3_000_000 + i)
				path := "/zoe/proxy/" + key
				rule, err := kvschema.PathRule(path)
				if err != nil {
					return 0, nil, err
				}
				name := fmt.Sprintf("floor-%s-%d", key[:16], i)
				if err := cfg.addRouter(template, name, rule, r.backend.URL()); err != nil {
					return 0, nil, err
				}
				next, err := json.Marshal(cfg)
				if err != nil {
					return 0, nil, err
				}
				r.floorT.gateOn(name + "@http")
				return n, func(context.Context) (string, time.Duration, error) {
					r.static.set(next)
					return path + "/", 0, nil
				}, nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// templateRouter names a router of the body that routes a hooked execution
// (not the sentinel or the static UI route): the shape floor routers copy.
func (r *providersRun) templateRouter(c dynamicConfig) (string, error) {
	routers := c.object("http", "routers")
	for name, v := range routers {
		rt, _ := v.(map[string]any)
		if name == kvschema.SentinelName || rt == nil {
			continue
		}
		if rule, _ := rt["rule"].(string); strings.Contains(rule, "/zoe/proxy/") {
			return name, nil
		}
	}
	return "", fmt.Errorf("B's body has no route of a hooked execution among %d routers", len(routers))
}
