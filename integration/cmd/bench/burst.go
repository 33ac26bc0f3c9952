package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// burst posts burstHooks start hooks from burstClients concurrent clients
// to a sidecar whose Traefik root starts empty, and measures when all are
// served, the transactions and kicks the sidecar used, and the reloads
// Traefik made; then Traefik's reload cycle at the resulting size.
func (b *bench) burst(ctx context.Context, ens *harness.Ensemble, conn *zk.Conn) error {
	servers := ens.Servers()
	const root = "bench-burst"
	s, err := b.startSidecar(ctx, servers, root)
	if err != nil {
		return err
	}
	defer s.Close()
	h := b.hooksFor(s)
	o, err := b.startTraefik(ctx, "burst", []string{b.res.follower}, root)
	if err != nil {
		return err
	}
	defer o.close()
	for attempt := 1; ; attempt++ {
		err := b.burstOnce(ctx, conn, s, h, o, root, attempt)
		if errors.Is(err, errRetryBurst) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return err
		}
		break
	}

	// Traefik's reload cycle at this size: hook → served of one more route
	// from rest (commit, kick, one walk, one apply).
	present := b.cfg.burstHooks
	for rep := 1; rep <= b.cfg.reps; rep++ {
		err := b.measure(ctx, secCycle, "sidecar", b.cfg.burstHooks, rep, o, []*traefikObs{o}, 200, func(_ context.Context, attempt int) (int, change, error) {
			id := fmt.Sprintf("bc-%d-%d", rep, attempt)
			p := present
			present++
			return p, startChange(h, id), nil
		})
		if err != nil {
			return err
		}
	}
	b.noteTraefikTrouble(o)
	return nil
}

var errRetryBurst = errors.New("burst disturbed")

// burstCounters are the counters read before and after a burst: sidecar
// commits, kicks (root children version: a kick creates and deletes one
// child), Traefik reloads, walks and configurations received.
type burstCounters struct {
	commits, reloads float64
	rootCversion     int32
	lists, configs   int
}

// kicks of a difference of counters: each kick adds two to the root's
// children version.
func (c burstCounters) kicks() int32 { return c.rootCversion / 2 }

func takeBurstCounters(ctx context.Context, conn *zk.Conn, s *harness.Sidecar, o *traefikObs, root string) (burstCounters, error) {
	var c burstCounters
	var err error
	if c.commits, err = sidecarCommits(ctx, s); err != nil {
		return c, err
	}
	if c.reloads, err = o.reloads(ctx); err != nil {
		return c, err
	}
	_, rootStat, err := conn.Get("/" + root)
	if err != nil {
		return c, err
	}
	c.rootCversion = rootStat.Cversion
	c.lists, c.configs = o.counts()
	return c, nil
}

func (c burstCounters) minus(o burstCounters) burstCounters {
	return burstCounters{commits: c.commits - o.commits, reloads: c.reloads - o.reloads,
		rootCversion: c.rootCversion - o.rootCversion, lists: c.lists - o.lists, configs: c.configs - o.configs}
}

// burstOnce runs the burst on a fresh Traefik root. A burst spoiled by
// Traefik's session trouble is redone under a new root after the old
// routes are stopped, which is slow; it is rare.
func (b *bench) burstOnce(ctx context.Context, conn *zk.Conn, s *harness.Sidecar, h *hooks, o *traefikObs, root string, attempt int) error {
	if err := idle(ctx, o); err != nil {
		return err
	}
	before, err := takeBurstCounters(ctx, conn, s, o, root)
	if err != nil {
		return err
	}

	n, clients := b.cfg.burstHooks, b.cfg.burstClients
	all := ids(fmt.Sprintf("b%d-", attempt), 0, n)
	paths := make([]string, n)
	var next atomic.Int64
	var mu sync.Mutex
	var lastPath string
	var lastAt time.Time
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	t0 := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				r, _, err := h.start(ctx, all[i])
				if err != nil {
					errs <- err
					return
				}
				paths[i] = r.Routes[0].Path + "/"
				mu.Lock()
				if now := time.Now(); now.After(lastAt) {
					lastAt, lastPath = now, paths[i]
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	tEnd := lastAt
	// The route answered last is in the last transaction; Traefik applies
	// whole configurations, so once it is served every route should be:
	// check them all, and keep polling any that is not.
	wctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	tAll, err := o.wait(wctx, lastPath, 200, t0)
	pending := 0
	if err == nil {
		for _, p := range paths {
			st, err2 := status(wctx, o.web()+p)
			if err2 != nil || st != 200 {
				pending++
				t, err2 := o.wait(wctx, p, 200, t0)
				if err2 != nil {
					err = err2
					break
				}
				if t.After(tAll) {
					tAll = t
				}
			}
		}
	}
	if errors.Is(err, errStalled) {
		b.res.discarded++
		b.progress("burst: discarded, %v; restarting Traefik and stopping the burst's routes before trying again", err)
		if err := o.restart(ctx); err != nil {
			return err
		}
		return b.undoBurst(ctx, h, o, all, paths, lastPath)
	}
	if err != nil {
		return err
	}
	if why := o.disturbedBetween(t0, tAll); why != "" && attempt < maxAttempts {
		b.res.discarded++
		b.progress("burst: discarded after %s, Traefik's ZooKeeper session was disturbed meanwhile: %s", tAll.Sub(t0).Round(time.Millisecond), shortLine(why))
		return b.undoBurst(ctx, h, o, all, paths, lastPath)
	}
	if err := idle(ctx, o); err != nil {
		return err
	}
	after, err := takeBurstCounters(ctx, conn, s, o, root)
	if err != nil {
		return err
	}
	d := after.minus(before)

	add := func(metric string, v float64, unit string) {
		b.res.add(sample{Section: secBurst, Variant: "sidecar", Routes: n, Present: n, Rep: 1, Metric: metric, Value: v, Unit: unit})
	}
	add("hooks", float64(n), "count")
	add("clients", float64(clients), "count")
	add("burst_duration", ms(tEnd.Sub(t0)), "ms")
	add("all_served", ms(tAll.Sub(t0)), "ms")
	add("served_after_burst_end", ms(tAll.Sub(tEnd)), "ms")
	add("transactions", d.commits, "count")
	// Every kick is a create and a delete of a root child: +2 cversion.
	add("kicks", float64(d.kicks()), "count")
	add("traefik_reloads", d.reloads, "count")
	add("traefik_walks", float64(d.lists), "count")
	add("traefik_configs_received", float64(d.configs), "count")
	add("not_served_when_last_was", float64(pending), "count")
	b.progress("burst: %d hooks from %d clients answered in %s; all served %s after the first hook, %s after the last answer; "+
		"%v transactions, %v kicks, %v Traefik reloads (%d walks)",
		n, clients, tEnd.Sub(t0).Round(time.Millisecond), tAll.Sub(t0).Round(time.Millisecond),
		tAll.Sub(tEnd).Round(time.Millisecond), d.commits, d.kicks(),
		d.reloads, d.lists)
	return nil
}

// undoBurst stops a spoiled burst's executions and waits until Traefik
// serves none of them, so the next attempt starts from the same tree.
func (b *bench) undoBurst(ctx context.Context, h *hooks, o *traefikObs, ids, paths []string, probe string) error {
	for i, id := range ids {
		if paths[i] == "" {
			continue
		}
		if _, _, err := h.post(ctx, apiv1.EventStop, id); err != nil {
			return err
		}
	}
	if err := o.settle(ctx, probe, 404, b.progress); err != nil {
		return err
	}
	return errRetryBurst
}
