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

// floorRun is the floor's state at one size: B's body in both variants,
// the router the floor's routers copy, and the variant the floor Traefik
// has now. The floor is measured in the same repetitions as the paths, so
// that the machine's load moves all three alike.
type floorRun struct {
	cfgs     map[string]dynamicConfig
	template string
	current  string
}

// prepareFloor takes B's current body: served by the bench itself to the
// floor Traefik, it gains one router per measurement; the time from the
// swap to its first 200 is Traefik's fetch of a held poll, decode, build
// and apply, with nothing else in between. Once without a default
// certificate (Traefik then generates one on every reload) and once with.
func (r *providersRun) prepareFloor(ctx context.Context) (*floorRun, error) {
	raw, err := r.body(ctx, false)
	if err != nil {
		return nil, err
	}
	base, err := parseConfig(raw)
	if err != nil {
		return nil, err
	}
	if base.hasDefaultCertificate() {
		r.res.deliversCert = true
	}
	template, err := r.templateRouter(base)
	if err != nil {
		return nil, err
	}
	return &floorRun{template: template, cfgs: map[string]dynamicConfig{
		floorNoCert: base.withDefaultCertificate(nil),
		floorCert:   base.withDefaultCertificate(r.cert),
	}}, nil
}

// floorRep measures both variants once at size n, first giving the floor
// Traefik the variant's body when it has the other (a reload of its own,
// settled before the measurement).
func (r *providersRun) floorRep(ctx context.Context, n, rep int, f *floorRun) error {
	for _, v := range []string{floorNoCert, floorCert} {
		cfg := f.cfgs[v]
		if f.current != v {
			body, err := json.Marshal(cfg)
			if err != nil {
				return err
			}
			r.static.set(body)
			if err := r.floorT.settle(ctx, r.httpProbe, 200, r.progress); err != nil {
				return err
			}
			f.current = v
		}
		err := r.measure(ctx, secFloor, v, n, rep, r.floorT, r.all, 200, func(context.Context, int) (int, change, error) {
			i := r.floorRoutes
			r.floorRoutes++
			key := routeKey(3_000_000 + i)
			path := "/zoe/proxy/" + key
			rule, err := kvschema.PathRule(path)
			if err != nil {
				return 0, nil, err
			}
			name := fmt.Sprintf("floor-%s-%d", key[:16], i)
			if err := cfg.addRouter(f.template, name, rule, r.backend.URL()); err != nil {
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
