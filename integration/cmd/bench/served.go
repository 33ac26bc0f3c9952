package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

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
	h := b.hooksFor(s)
	scT, err := b.startTraefik(ctx, "sidecar", []string{follower}, "bench-sidecar")
	if err != nil {
		return err
	}
	defer scT.close()
	bl, err := newBaseline(conn, "bench-baseline", b.backend.URL())
	if err != nil {
		return err
	}
	blT, err := b.startTraefik(ctx, "baseline", []string{follower}, "bench-baseline")
	if err != nil {
		return err
	}
	defer blT.close()
	b.res.info.Traefik = traefikVersion(ctx)
	both := []*traefikObs{scT, blT}

	scPresent := 0
	// scProbe is the path of the last populated route, which no
	// measurement stops.
	var scProbe string
	// settleBoth waits until both Traefiks serve their last populated
	// route and are idle.
	settleBoth := func() error {
		if scProbe != "" {
			if err := scT.settle(ctx, scProbe, 200, b.progress); err != nil {
				return err
			}
		}
		return blT.settle(ctx, bl.path(bl.n-1)+"/", 200, b.progress)
	}
	// reps measures sidecar and baseline alternately, up to count times;
	// it returns the executions the sidecar's measurements started.
	reps := func(section string, n, times int) ([]string, error) {
		var started []string
		var repTook time.Duration
		for rep := 1; rep <= times; rep++ {
			if rep > 1 && !b.fits(repTook) {
				b.note("%s at %s routes: %d of %d repetitions, the rest did not fit the time budget (-budget %s)",
					sectionTitle[section], count(float64(n)), rep-1, times, b.cfg.budget)
				break
			}
			repStart := time.Now()
			// Sidecar: a start hook for a new execution.
			var id string
			err := b.measure(ctx, section, "sidecar", n, rep, scT, both, 200, func(_ context.Context, attempt int) (int, change, error) {
				prefix := "m"
				if section == secServedLeader {
					prefix = "l"
				}
				id = fmt.Sprintf("%s%d-%d-%d", prefix, n, rep, attempt)
				present := scPresent
				scPresent++
				return present, startChange(h, id), nil
			})
			if err != nil {
				return nil, err
			}
			started = append(started, id)
			// Baseline: one new route, plain creates and a separate kick.
			err = b.measure(ctx, section, "baseline", n, rep, blT, both, 200, func(_ context.Context, _ int) (int, change, error) {
				return bl.n, func(context.Context) (string, time.Duration, error) {
					t0 := time.Now()
					path, err := bl.writeOne()
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
	// readFrom restarts both Traefiks on another ZooKeeper server and waits
	// until they serve the whole tree again.
	readFrom := func(server string) error {
		b.progress("served: restarting both Traefiks to read from %s", server)
		for _, o := range both {
			if err := o.repin(ctx, []string{server}); err != nil {
				return err
			}
		}
		return settleBoth()
	}

	for _, n := range b.cfg.servedAt {
		// Grow both trees to n routes, concurrently (nothing is measured
		// meanwhile), then let both Traefiks settle.
		start := time.Now()
		var wg sync.WaitGroup
		var scErr, blErr error
		if scPresent < n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				paths, err := h.populate(ctx, ids("p", scPresent, n), 64)
				if err == nil {
					scProbe = paths[len(paths)-1] + "/"
				}
				scErr = err
			}()
		}
		if bl.n < n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				blErr = bl.bulk(n - bl.n)
			}()
		}
		wg.Wait()
		if scErr != nil {
			return scErr
		}
		if blErr != nil {
			return blErr
		}
		scPresent = n
		b.progress("served: %d routes written to both trees in %s; waiting for both Traefiks to settle",
			n, time.Since(start).Round(time.Millisecond))
		if err := settleBoth(); err != nil {
			return err
		}
		b.progress("served: both settled %s after the writes began", time.Since(start).Round(time.Millisecond))

		measured, err := reps(secServed, n, b.cfg.repsAt(n))
		if err != nil {
			return err
		}

		if n == b.cfg.stopAt {
			for rep := 1; rep <= len(measured); rep++ {
				err := b.measure(ctx, secStop, "sidecar", n, rep, scT, both, 404, func(ctx context.Context, attempt int) (int, change, error) {
					id := measured[rep-1]
					if attempt > 1 {
						// The previous attempt's stop went through: start a
						// fresh route and let it be served first.
						id = fmt.Sprintf("s%d-%d-%d", n, rep, attempt)
						r, _, err := h.start(ctx, id)
						if err != nil {
							return 0, nil, err
						}
						scPresent++
						if err := scT.settle(ctx, r.Routes[0].Path+"/", 200, b.progress); err != nil {
							return 0, nil, err
						}
					}
					path, err := h.execution(ctx, id)
					if err != nil {
						return 0, nil, err
					}
					present := scPresent
					scPresent--
					return present, func(ctx context.Context) (string, time.Duration, error) {
						_, took, _, err := h.post(ctx, "stop", id)
						return path + "/", took, err
					}, nil
				})
				if err != nil {
					return err
				}
			}
		}
		if n == b.cfg.ratioAt {
			// The same comparison with both Traefiks reading from the leader.
			if err := readFrom(leader); err != nil {
				return err
			}
			if _, err := reps(secServedLeader, n, b.cfg.reps); err != nil {
				return err
			}
			if err := readFrom(follower); err != nil {
				return err
			}
		}
	}
	if idx, err := ens.Leader(); err != nil || servers[idx] != leader {
		b.note("the ZooKeeper leader changed during the hook → served phase (now %v, %v): the follower/leader split above is not clean", idx, err)
	}
	b.noteTraefikTrouble(both...)
	return nil
}
