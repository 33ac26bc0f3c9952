package main

import (
	"context"
	"fmt"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// providers measures, at each size, the two other ways a Traefik gets the
// routes, side by side in one run:
//
//   - http: two sidecar replicas A and B on one Traefik root; hooks go to
//     A, and a Traefik on its HTTP provider polls B's GET /v1/traefik with
//     the flags the README recommends (pollInterval 100ms, pollTimeout 5s);
//   - redis: Traefik's Redis provider reading a redis-server into which a
//     plain client writes the same routes as jupyterhub/traefik-proxy does;
//
// and, per size, the floor (Traefik's rebuild on its own, from a static
// body), mirror lag from A to B, idle cost and memory, the body's size and
// Traefik's per-request routing cost.
func (b *bench) providers(ctx context.Context, ens *harness.Ensemble) error {
	if err := ensureRedis(ctx); err != nil {
		return err
	}
	if b.res.info.Traefik == "" {
		b.res.info.Traefik = traefikVersion(ctx)
	}
	if b.res.info.ZooKeeper == "" {
		b.res.info.ZooKeeper = zkVersion(ens.Servers()[0])
	}
	b.res.info.Redis = redisVersion()
	r := &providersRun{bench: b}
	defer r.close()
	if err := r.start(ctx, ens.Servers()); err != nil {
		return err
	}
	for _, n := range b.cfg.providersAt {
		if err := r.grow(ctx, n); err != nil {
			return err
		}
		if err := r.reps(ctx, n); err != nil {
			return err
		}
		if err := r.footprint(ctx, n); err != nil {
			return err
		}
	}
	b.noteTraefikTrouble(r.all...)
	return nil
}

// providersRun is the state of the providers phase.
type providersRun struct {
	*bench
	a, bb    *harness.Sidecar // hooks go to a; Traefik polls bb
	h        *hooks
	redisSrv *redisServer
	rd       *redisRoutes
	static   *staticBody
	httpT    *traefikObs
	redisT   *traefikObs
	floorT   *traefikObs
	all      []*traefikObs
	// httpPresent is how many routes the sidecars' tree holds; httpProbe
	// is the path of a populated route no measurement stops.
	httpPresent int
	httpProbe   string
	// populated numbers the executions grow started (their ids).
	populated int
	// floorRoutes numbers the routers the floor added.
	floorRoutes int
	cert        *pemPair
}

const providersRoot = "bench-http"

func (r *providersRun) start(ctx context.Context, servers []string) error {
	// Both replicas deliver their default certificate, so that Traefik
	// does not generate one on every reload (the floor is measured with
	// and without it).
	var err error
	if r.a, err = r.startSidecar(ctx, servers, providersRoot, "--traefik-default-certificate"); err != nil {
		return err
	}
	if r.bb, err = r.startSidecar(ctx, servers, providersRoot, "--traefik-default-certificate"); err != nil {
		return err
	}
	r.h = r.hooksFor(r.a)
	// One route before Traefik starts, so that the probe path exists.
	paths, err := r.h.populate(ctx, ids("h", 0, 1), 1)
	if err != nil {
		return err
	}
	r.httpPresent, r.populated, r.httpProbe = 1, 1, paths[0]+"/"
	poll := &harness.HTTPProviderOptions{
		Endpoint: r.bb.URL() + "/v1/traefik", PollInterval: 100 * time.Millisecond, PollTimeout: 5 * time.Second,
		Headers: map[string]string{"Authorization": "Bearer " + r.token},
	}
	if r.httpT, err = startObserved(ctx, &traefikObs{name: "http", jsonLog: true, throttle: r.cfg.throttle, debugAPI: r.cfg.pprof != "", http: poll}); err != nil {
		return err
	}
	if r.redisSrv, err = startRedis(ctx); err != nil {
		return err
	}
	r.rd = newRedisRoutes(r.redisSrv.addr, "bench-redis", r.backend.URL())
	// Traefik's Redis watch lists the root first and fails on no keys.
	if _, err := r.rd.add(ctx, 1, 1); err != nil {
		return err
	}
	if r.redisT, err = startObserved(ctx, &traefikObs{name: "redis", jsonLog: true, root: "bench-redis", throttle: r.cfg.throttle, debugAPI: r.cfg.pprof != "", redis: []string{r.redisSrv.addr}}); err != nil {
		return err
	}
	if r.cert, err = selfSigned(); err != nil {
		return err
	}
	if r.static, err = startStaticBody(); err != nil {
		return err
	}
	body, err := r.body(ctx, false)
	if err != nil {
		return err
	}
	r.static.set(body)
	if r.floorT, err = startObserved(ctx, &traefikObs{name: "floor", jsonLog: true, throttle: r.cfg.throttle, debugAPI: r.cfg.pprof != "",
		http: &harness.HTTPProviderOptions{Endpoint: r.static.url, PollInterval: 100 * time.Millisecond, PollTimeout: 5 * time.Second}}); err != nil {
		return err
	}
	r.all = []*traefikObs{r.httpT, r.redisT, r.floorT}
	return nil
}

func (r *providersRun) close() {
	for _, o := range r.all {
		o.close()
	}
	if r.static != nil {
		r.static.close()
	}
	if r.rd != nil {
		r.rd.close()
	}
	if r.redisSrv != nil {
		r.redisSrv.close()
	}
	for _, s := range []*harness.Sidecar{r.a, r.bb} {
		if s != nil {
			_ = s.Close()
		}
	}
}

// grow brings both route sets to n (nothing measured meanwhile) and lets
// every Traefik settle.
func (r *providersRun) grow(ctx context.Context, n int) error {
	start := time.Now()
	errs := make(chan error, 2)
	go func() {
		var err error
		if more := n - r.httpPresent; more > 0 {
			_, err = r.h.populate(ctx, ids("h", r.populated, r.populated+more), 64)
			r.populated += more
		}
		errs <- err
	}()
	redisGrew := r.rd.n < n
	go func() {
		var err error
		if redisGrew {
			_, err = r.rd.add(ctx, n-r.rd.n, 8)
		}
		errs <- err
	}()
	for range 2 {
		if err := <-errs; err != nil {
			return err
		}
	}
	if redisGrew {
		// Traefik's Redis provider lists the whole root once per keyspace
		// event, one after the other: a bulk write of n routes queues
		// thousands of listings of seconds each. A fresh Traefik lists
		// once and starts from rest.
		if err := r.redisT.relaunch(ctx); err != nil {
			return err
		}
	}
	r.httpPresent = max(r.httpPresent, n)
	r.progress("providers: %d routes written through sidecar A and into Redis in %s; waiting for the Traefiks to settle",
		n, time.Since(start).Round(time.Millisecond))
	if err := r.httpT.settle(ctx, r.httpProbe, 200, r.progress); err != nil {
		return err
	}
	if err := r.redisT.settle(ctx, r.rd.path(r.rd.n-1)+"/", 200, r.progress); err != nil {
		return err
	}
	r.progress("providers: settled %s after the writes began", time.Since(start).Round(time.Millisecond))
	return nil
}

// reps measures hook → served (HTTP), write → served (Redis) and the
// floor in turn, then stop → 404 of what the paths added.
func (r *providersRun) reps(ctx context.Context, n int) error {
	var started []string
	routers := map[string]string{} // execution → its router
	var redisAdded []int
	var repTook time.Duration
	reps := r.repsAt(n)
	floor, err := r.prepareFloor(ctx)
	if err != nil {
		return err
	}
	for rep := 1; rep <= reps; rep++ {
		if rep > 1 && !r.fits(repTook) {
			r.note("providers at %s routes: %d of %d repetitions, the rest did not fit the time budget (-budget %s)", count(float64(n)), rep-1, reps, r.cfg.budget)
			break
		}
		repStart := time.Now()
		var id string
		err := r.measure(ctx, secPaths, "http", n, rep, r.httpT, r.all, 200, func(_ context.Context, attempt int) (int, change, error) {
			id = fmt.Sprintf("hm%d-%d-%d", n, rep, attempt)
			present := r.httpPresent
			r.httpPresent++
			return present, func(ctx context.Context) (string, time.Duration, error) {
				reply, took, err := r.h.start(ctx, id)
				if err != nil {
					return "", 0, err
				}
				routers[id] = reply.Routes[0].Router
				r.httpT.gateOn(reply.Routes[0].Router + "@http")
				return reply.Routes[0].Path + "/", took, nil
			}, nil
		})
		if err != nil {
			return err
		}
		started = append(started, id)
		err = r.measure(ctx, secPaths, "redis", n, rep, r.redisT, r.all, 200, func(context.Context, int) (int, change, error) {
			present := r.rd.n
			redisAdded = append(redisAdded, present)
			r.redisT.gateOn(r.rd.name(present) + "@redis")
			return present, func(ctx context.Context) (string, time.Duration, error) {
				t0 := time.Now()
				path, err := r.rd.writeOne(ctx)
				return path + "/", time.Since(t0), err
			}, nil
		})
		if err != nil {
			return err
		}
		if err := r.floorRep(ctx, n, rep, floor); err != nil {
			return err
		}
		repTook = time.Since(repStart)
	}
	for i, id := range started {
		rep := i + 1
		err := r.measure(ctx, secPathsStop, "http", n, rep, r.httpT, r.all, 404, func(ctx context.Context, attempt int) (int, change, error) {
			if attempt > 1 {
				return 0, nil, fmt.Errorf("stop → 404 (HTTP provider) at %d routes, rep %d: a repetition was discarded; the stop cannot be repeated", n, rep)
			}
			path, err := r.h.execution(ctx, id)
			if err != nil {
				return 0, nil, err
			}
			present := r.httpPresent
			r.httpPresent--
			r.httpT.gateOn(routers[id] + "@http")
			return present, func(ctx context.Context) (string, time.Duration, error) {
				_, took, err := r.h.post(ctx, apiv1.EventStop, id)
				return path + "/", took, err
			}, nil
		})
		if err != nil {
			return err
		}
		route := redisAdded[i]
		err = r.measure(ctx, secPathsStop, "redis", n, rep, r.redisT, r.all, 404, func(_ context.Context, attempt int) (int, change, error) {
			if attempt > 1 {
				return 0, nil, fmt.Errorf("stop → 404 (Redis) at %d routes, rep %d: a repetition was discarded; the delete cannot be repeated", n, rep)
			}
			r.redisT.gateOn(r.rd.name(route) + "@redis")
			return r.rd.n, func(ctx context.Context) (string, time.Duration, error) {
				t0 := time.Now()
				err := r.rd.remove(ctx, route)
				return r.rd.path(route) + "/", time.Since(t0), err
			}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// repsAt is how many repetitions each measurement of the providers phase
// gets at size n: small sizes are cheap and noisy on a shared machine
// (twice the runs); sizes above the large target size only feed the plot
// and the comparison by size, and a Redis repetition there costs minutes.
func (r *providersRun) repsAt(n int) int {
	switch {
	case n <= r.cfg.targetSmall:
		return 2 * r.cfg.reps
	case n > r.cfg.targetLarge:
		return min(r.cfg.reps, largeReps)
	}
	return r.cfg.reps
}
