package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// served measures hook → served for the sidecar and the baseline at each
// size, alternating them rep by rep, each on its own Traefik root and
// Traefik process in one ensemble; and stop → 404 at the stop size.
//
// Both Traefiks read from the same ZooKeeper server: a follower, and at the
// ratio size also the leader. A sync sent to a follower waits for a trip to
// the leader, and the baseline's walk is a third syncs, so the server a
// Traefik reads from moves the baseline far more than the sidecar; with
// each Traefik connected to a server of its own choosing, the ratio
// depended on where the two happened to land.
func (b *bench) served(ctx context.Context, ens *harness.Ensemble, conn *zk.Conn) error {
	servers := ens.Servers()
	leaderIdx, err := ens.Leader()
	if err != nil {
		return err
	}
	leader := servers[leaderIdx]
	follower := servers[(leaderIdx+1)%len(servers)]
	b.res.follower, b.res.leader = follower, leader
	b.progress("served: both Traefiks read from follower %s (leader: %s)", follower, leader)

	s, err := b.startSidecar(ctx, servers, "bench-sidecar")
	if err != nil {
		return err
	}
	defer s.Close()
	r := &servedRun{bench: b, h: b.hooksFor(s)}
	if r.scT, err = b.startTraefik(ctx, "sidecar", []string{follower}, "bench-sidecar"); err != nil {
		return err
	}
	defer r.scT.close()
	if r.bl, err = newBaseline(conn, "bench-baseline", b.backend.URL()); err != nil {
		return err
	}
	if r.blT, err = b.startTraefik(ctx, "baseline", []string{follower}, "bench-baseline"); err != nil {
		return err
	}
	defer r.blT.close()
	b.res.info.Traefik = traefikVersion(ctx)
	r.both = []*traefikObs{r.scT, r.blT}

	for _, n := range b.cfg.servedAt {
		if err := r.grow(ctx, n); err != nil {
			return err
		}
		measured, err := r.reps(ctx, secServed, n, b.cfg.repsAt(n))
		if err != nil {
			return err
		}
		if n == b.cfg.stopAt {
			if err := r.stops(ctx, n, measured); err != nil {
				return err
			}
		}
		if n == b.cfg.ratioAt {
			// The same comparison with both Traefiks reading from the leader.
			if err := r.readFrom(ctx, leader); err != nil {
				return err
			}
			if _, err := r.reps(ctx, secServedLeader, n, b.cfg.reps); err != nil {
				return err
			}
			if err := r.readFrom(ctx, follower); err != nil {
				return err
			}
		}
	}
	if idx, err := ens.Leader(); err != nil || servers[idx] != leader {
		b.note("the ZooKeeper leader changed during the hook → served phase (now %v, %v): the follower/leader split above is not clean", idx, err)
	}
	b.noteTraefikTrouble(r.both...)
	return nil
}

// servedRun is the state of one hook → served phase: the sidecar with its
// Traefik, the baseline with its Traefik, and how many routes the sidecar's
// tree holds.
type servedRun struct {
	*bench
	h        *hooks
	scT, blT *traefikObs
	both     []*traefikObs
	bl       *baseline
	// scPresent is how many routes the sidecar's tree holds.
	scPresent int
	// scProbe is the path of the last populated route, which no
	// measurement stops.
	scProbe string
}

// grow grows both trees to n routes, concurrently (nothing is measured
// meanwhile), then lets both Traefiks settle.
func (r *servedRun) grow(ctx context.Context, n int) error {
	start := time.Now()
	var wg sync.WaitGroup
	var scErr, blErr error
	if r.scPresent < n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths, err := r.h.populate(ctx, ids("p", r.scPresent, n), 64)
			if err == nil {
				r.scProbe = paths[len(paths)-1] + "/"
			}
			scErr = err
		}()
	}
	if r.bl.n < n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blErr = r.bl.bulk(n - r.bl.n)
		}()
	}
	wg.Wait()
	if scErr != nil {
		return scErr
	}
	if blErr != nil {
		return blErr
	}
	r.scPresent = n
	r.progress("served: %d routes written to both trees in %s; waiting for both Traefiks to settle",
		n, time.Since(start).Round(time.Millisecond))
	if err := r.settleBoth(ctx); err != nil {
		return err
	}
	r.progress("served: both settled %s after the writes began", time.Since(start).Round(time.Millisecond))
	return nil
}

// settleBoth waits until both Traefiks serve their last populated route and
// are idle.
func (r *servedRun) settleBoth(ctx context.Context) error {
	if r.scProbe != "" {
		if err := r.scT.settle(ctx, r.scProbe, 200, r.progress); err != nil {
			return err
		}
	}
	return r.blT.settle(ctx, r.bl.path(r.bl.n-1)+"/", 200, r.progress)
}

// reps measures sidecar and baseline alternately, up to times times; it
// returns the executions the sidecar's measurements started.
func (r *servedRun) reps(ctx context.Context, section string, n, times int) ([]string, error) {
	var started []string
	var repTook time.Duration
	for rep := 1; rep <= times; rep++ {
		if rep > 1 && !r.fits(repTook) {
			r.note("%s at %s routes: %d of %d repetitions, the rest did not fit the time budget (-budget %s)",
				sectionTitle[section], count(float64(n)), rep-1, times, r.cfg.budget)
			break
		}
		repStart := time.Now()
		// Sidecar: a start hook for a new execution.
		var id string
		err := r.measure(ctx, section, "sidecar", n, rep, r.scT, r.both, 200, func(_ context.Context, attempt int) (int, change, error) {
			prefix := "m"
			if section == secServedLeader {
				prefix = "l"
			}
			id = fmt.Sprintf("%s%d-%d-%d", prefix, n, rep, attempt)
			present := r.scPresent
			r.scPresent++
			return present, startChange(r.h, id), nil
		})
		if err != nil {
			return nil, err
		}
		started = append(started, id)
		// Baseline: one new route, plain creates and a separate kick.
		err = r.measure(ctx, section, "baseline", n, rep, r.blT, r.both, 200, func(_ context.Context, _ int) (int, change, error) {
			return r.bl.n, func(context.Context) (string, time.Duration, error) {
				t0 := time.Now()
				path, err := r.bl.writeOne()
				return path + "/", time.Since(t0), err
			}, nil
		})
		if err != nil {
			return nil, err
		}
		repTook = time.Since(repStart)
	}
	return started, nil
}

// stops measures stop → 404 of the executions the hook → served
// repetitions at size n started.
func (r *servedRun) stops(ctx context.Context, n int, measured []string) error {
	for rep := 1; rep <= len(measured); rep++ {
		err := r.measure(ctx, secStop, "sidecar", n, rep, r.scT, r.both, 404, func(ctx context.Context, attempt int) (int, change, error) {
			id := measured[rep-1]
			if attempt > 1 {
				// The previous attempt's stop went through: start a
				// fresh route and let it be served first.
				id = fmt.Sprintf("s%d-%d-%d", n, rep, attempt)
				reply, _, err := r.h.start(ctx, id)
				if err != nil {
					return 0, nil, err
				}
				r.scPresent++
				if err := r.scT.settle(ctx, reply.Routes[0].Path+"/", 200, r.progress); err != nil {
					return 0, nil, err
				}
			}
			path, err := r.h.execution(ctx, id)
			if err != nil {
				return 0, nil, err
			}
			present := r.scPresent
			r.scPresent--
			return present, func(ctx context.Context) (string, time.Duration, error) {
				_, took, err := r.h.post(ctx, apiv1.EventStop, id)
				return path + "/", took, err
			}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// readFrom restarts both Traefiks on another ZooKeeper server and waits
// until they serve the whole tree again.
func (r *servedRun) readFrom(ctx context.Context, server string) error {
	r.progress("served: restarting both Traefiks to read from %s", server)
	for _, o := range r.both {
		if err := o.repin(ctx, []string{server}); err != nil {
			return err
		}
	}
	return r.settleBoth(ctx)
}
