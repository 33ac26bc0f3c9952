package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// bench holds what every phase needs.
type bench struct {
	cfg      config
	deadline time.Time
	sidecar  string // binary
	token    string
	secret   string
	backend  *harness.Backend
	res      *results
	progress func(format string, args ...any)
}

// startTraefik starts an observed Traefik reading from servers.
func (b *bench) startTraefik(ctx context.Context, name string, servers []string, root string) (*traefikObs, error) {
	return startTraefik(ctx, name, servers, root, b.cfg.throttle, b.cfg.pprof != "")
}

// profileTraefik records, in the background, a CPU profile of o lasting
// about as long as the first repetition of the same measurement took, into
// the -pprof directory.
func (b *bench) profileTraefik(ctx context.Context, o *traefikObs, section, variant string, size int) {
	first := b.res.values(section, variant, size, "served")
	if len(first) == 0 {
		return
	}
	seconds := int(math.Ceil(first[0] / 1000))
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", o.traefik().APIURL(), seconds)
	file := filepath.Join(b.cfg.pprof, fmt.Sprintf("traefik-%s-%s-%d.pprof", sectionTitle[section], variant, size))
	go func() {
		if err := fetchToFile(ctx, url, file); err != nil {
			b.progress("pprof: %v", err)
			return
		}
		b.progress("pprof: wrote %s (%d s of Traefik %s)", file, seconds, o.name)
	}()
}

func (b *bench) hooksFor(s *harness.Sidecar) *hooks {
	ip, port := b.backend.Addr()
	return &hooks{base: s.URL(), token: b.token, backendIP: ip, backendPort: port}
}

// startSidecar runs the sidecar binary on its own Traefik root and state
// root. Garbage collection is pushed out of the run (--gc-quiet-window=1h):
// a collection mid-measurement would add a reload of its own.
func (b *bench) startSidecar(ctx context.Context, servers []string, root string) (*harness.Sidecar, error) {
	return harness.StartSidecar(ctx, harness.SidecarOptions{
		Binary:    b.sidecar,
		Servers:   servers,
		RootKey:   root,
		StateRoot: "/" + root + "-state",
		Token:     b.token,
		KeySecret: b.secret,
		Args:      []string{"--gc-quiet-window=1h", "--log-level=warn"},
	})
}

func ids(prefix string, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// ---------------------------------------------------------------- overhead and memory

// overhead measures hook → transaction committed (the start hook's response
// time) with 0, 1,000 and 10,000 routes present, on its own ensemble with no
// Traefik watching (Traefik's reloads would only add CPU contention on this
// 2-core machine, not sidecar work), then the sidecar's peak RSS.
func (b *bench) overhead(ctx context.Context) error {
	b.progress("overhead: starting a 3-node ZooKeeper ensemble for the overhead and memory phase")
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 3})
	if err != nil {
		return err
	}
	defer ens.Close()
	b.res.info.ZooKeeper = zkVersion(ens.Servers()[0])
	if err := warmUp(ens.Servers()); err != nil {
		return err
	}
	s, err := b.startSidecar(ctx, ens.Servers(), "bench-overhead")
	if err != nil {
		return err
	}
	defer s.Close()
	h := b.hooksFor(s)
	zconn, err := connectZK(ens.Servers())
	if err != nil {
		return err
	}
	defer zconn.Close()
	fl, err := newFloor(zconn, b.backend.URL())
	if err != nil {
		return err
	}

	present := 0
	for _, n := range b.cfg.overheadAt {
		if present < n {
			start := time.Now()
			if _, err := h.populate(ctx, ids("ovp", present, n), 64); err != nil {
				return err
			}
			b.progress("overhead: %d routes written in %s", n-present, time.Since(start).Round(time.Millisecond))
			present = n
		}
		time.Sleep(time.Second) // let the write burst's tail (GC of the Go runtime, ZooKeeper snapshots) pass
		for i := range overheadWarmup {
			if _, _, err := h.start(ctx, fmt.Sprintf("ow%d-%d", n, i)); err != nil {
				return err
			}
		}
		present += overheadWarmup
		m0, err := scrape(ctx, s.URL()+"/metrics")
		if err != nil {
			return err
		}
		var lat, floorLat []float64
		for i := range b.cfg.overheadSamples {
			id := fmt.Sprintf("ov%d-%d", n, i)
			r, took, err := h.start(ctx, id)
			if err != nil {
				return err
			}
			ms := float64(took.Microseconds()) / 1000
			lat = append(lat, ms)
			b.res.add(sample{Section: secOverhead, Variant: "sidecar", Routes: n, Present: present + i, Rep: i + 1, Metric: "hook_to_commit", Value: ms, Unit: "ms"})
			// Where the sidecar says the time went; the rest is HTTP,
			// JSON, validation and scheduling.
			inside := 0.0
			for _, phase := range serverPhases {
				v, ok := r.timing[phase]
				if !ok {
					return fmt.Errorf("start hook %s: no %q in Server-Timing %v", id, phase, r.timing)
				}
				inside += v
				b.res.add(sample{Section: secOverhead, Variant: "sidecar", Routes: n, Present: present + i, Rep: i + 1, Metric: "server_" + phase, Value: v, Unit: "ms"})
			}
			b.res.add(sample{Section: secOverhead, Variant: "sidecar", Routes: n, Present: present + i, Rep: i + 1, Metric: "server_rest", Value: max(0, ms-inside), Unit: "ms"})
			// The same transaction from a plain client, right after.
			took, err = fl.start()
			if err != nil {
				return err
			}
			floorMs := float64(took.Microseconds()) / 1000
			floorLat = append(floorLat, floorMs)
			b.res.add(sample{Section: secOverhead, Variant: "zookeeper", Routes: n, Present: present + i, Rep: i + 1, Metric: "multi", Value: floorMs, Unit: "ms"})
		}
		present += b.cfg.overheadSamples
		m1, err := scrape(ctx, s.URL()+"/metrics")
		if err != nil {
			return err
		}
		// The sidecar's own histogram of ZooKeeper commit times: its mean
		// over these hooks tells ZooKeeper's share of the response time.
		const sum, cnt = "zk_sidecar_apply_duration_seconds_sum", "zk_sidecar_apply_duration_seconds_count"
		commitMean := math.NaN()
		if c := m1[cnt] - m0[cnt]; c > 0 {
			commitMean = (m1[sum] - m0[sum]) / c * 1000
			b.res.add(sample{Section: secOverhead, Variant: "sidecar", Routes: n, Present: present, Rep: 0, Metric: "commit_mean", Value: commitMean, Unit: "ms"})
		}
		b.progress("overhead: %d routes present: p50 %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms of which ZooKeeper commit %.2f ms (%d sequential start hooks)",
			n, percentile(lat, 50), percentile(lat, 99), percentile(lat, 100), mean(lat), commitMean, len(lat))
		slow := slowest(lat, 0.01)
		var parts []string
		for _, phase := range append(append([]string{}, serverPhases...), "rest") {
			parts = append(parts, fmt.Sprintf("%s %.2f", phase, meanAt(b.res.values(secOverhead, "sidecar", n, "server_"+phase), slow)))
		}
		b.progress("overhead: %d routes present: slowest 1%% (%d hooks) spent on average %s ms", n, len(slow), strings.Join(parts, ", "))
		b.progress("overhead: %d routes present: the same transactions from a plain ZooKeeper client: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
			n, percentile(floorLat, 50), percentile(floorLat, 99), percentile(floorLat, 100))
	}

	// Memory: the peak over the whole life of the process, which populated
	// and now owns the routes, then once more after listing them all.
	pid := s.Pid()
	hwm, err := procStatus(pid, "VmHWM")
	if err != nil {
		return err
	}
	b.res.add(sample{Section: secMemory, Variant: "sidecar", Routes: b.cfg.overheadAt[len(b.cfg.overheadAt)-1], Present: present, Rep: 1, Metric: "vmhwm_after_writes", Value: mib(hwm), Unit: "MiB"})
	if err := listRoutes(ctx, h, present); err != nil {
		return err
	}
	hwm2, err := procStatus(pid, "VmHWM")
	if err != nil {
		return err
	}
	rss, _ := procStatus(pid, "VmRSS")
	b.res.add(sample{Section: secMemory, Variant: "sidecar", Routes: b.cfg.overheadAt[len(b.cfg.overheadAt)-1], Present: present, Rep: 1, Metric: "vmhwm", Value: mib(hwm2), Unit: "MiB"})
	b.res.add(sample{Section: secMemory, Variant: "sidecar", Routes: b.cfg.overheadAt[len(b.cfg.overheadAt)-1], Present: present, Rep: 1, Metric: "vmrss_end", Value: mib(rss), Unit: "MiB"})
	b.progress("memory: %d routes owned: peak RSS %.1f MiB after the writes, %.1f MiB after GET /v1/routes; RSS now %.1f MiB",
		present, mib(hwm), mib(hwm2), mib(rss))
	return nil
}

// warmUpTxns scratch transactions shaped like the sidecar's (a set, route
// creates and deletes), each followed by a read, from a few concurrent
// clients, run before the overhead is timed, so that the samples do not
// pay for freshly started JVMs (class loading, JIT compilation), which a
// long-running ensemble has long done.
const (
	warmUpTxns    = 6000
	warmUpClients = 4
)

func warmUp(servers []string) error {
	conn, err := connectZK(servers)
	if err != nil {
		return err
	}
	defer conn.Close()
	const dir = "/bench-warmup"
	if _, err := conn.Create(dir, nil, 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, warmUpClients)
	for c := range warmUpClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range warmUpTxns / warmUpClients {
				ops := []any{&zk.SetDataRequest{Path: dir, Data: []byte(strconv.Itoa(i)), Version: -1}}
				for j := range 8 {
					ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("%s/c%d-%d", dir, c, j), Data: []byte("true"), Acl: openACL})
				}
				for j := range 8 {
					ops = append(ops, &zk.DeleteRequest{Path: fmt.Sprintf("%s/c%d-%d", dir, c, j), Version: -1})
				}
				if _, err := conn.Multi(ops...); err != nil {
					errs <- fmt.Errorf("ZooKeeper warm-up: %w", err)
					return
				}
				if _, _, err := conn.Get(dir); err != nil {
					errs <- fmt.Errorf("ZooKeeper warm-up: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// serverPhases are the sidecar's Server-Timing entries, in order.
var serverPhases = []string{"wait", "zk-read", "plan", "zk-commit"}

// overheadWarmup hooks precede each size's samples, unrecorded: the first
// requests pay for new connections and cold code paths.
const overheadWarmup = 5

func mib(b int64) float64 { return float64(b) / (1 << 20) }

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

// ---------------------------------------------------------------- hook → served, stop → 404

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

func (b *bench) noteTraefikTrouble(obs ...*traefikObs) {
	for _, o := range obs {
		if errs := o.errorsSoFar(); len(errs) > 0 {
			b.progress("Traefik %s logged %d session/provider problems, warnings or errors; first: %s", o.name, len(errs), errs[0])
			b.res.traefikErrors += len(errs)
		}
		o.mu.Lock()
		b.res.traefikRestarts += o.restarts
		b.res.serviceMissing += o.serviceMissing
		o.mu.Unlock()
	}
}

// burstReserve is the time kept for the burst phase and the report when
// deciding whether another repetition fits the budget.
const burstReserve = 2 * time.Minute

// fits tells whether something taking about d still fits the time budget.
func (b *bench) fits(d time.Duration) bool {
	return time.Until(b.deadline)-burstReserve > d*11/10
}

// note records a remark for the report and prints it.
func (b *bench) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.res.notes = append(b.res.notes, msg)
	b.progress("note: %s", msg)
}

// idle waits until every Traefik is idle, so that one measurement never
// shares the CPU with another Traefik's reload.
func idle(ctx context.Context, obs ...*traefikObs) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for _, o := range obs {
		if err := o.waitIdle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// change makes one change and returns the path to poll through Traefik and
// how long the write itself took (for the sidecar: the hook's response time).
type change func(ctx context.Context) (path string, write time.Duration, err error)

// startChange posts the start hook of execution id (one route) and polls
// that route's path.
func startChange(h *hooks, id string) change {
	return func(ctx context.Context) (string, time.Duration, error) {
		r, took, err := h.start(ctx, id)
		if err != nil {
			return "", 0, err
		}
		return r.Routes[0].Path + "/", took, nil
	}
}

// maxAttempts bounds the repetitions of a measurement that Traefik's
// ZooKeeper session trouble spoiled.
const maxAttempts = 3

// measure takes one measurement: all Traefiks idle, then the change, then
// polling its path through o until it answers want. prepare returns the
// routes present before the change and the change itself; it is called
// again, with the attempt number, when an attempt is discarded because
// Traefik's ZooKeeper session broke meanwhile (its client logs it) or its
// provider stopped reacting (Traefik is then restarted).
func (b *bench) measure(ctx context.Context, section, variant string, size, rep int, o *traefikObs, all []*traefikObs, want int,
	prepare func(ctx context.Context, attempt int) (int, change, error)) error {
	for attempt := 1; ; attempt++ {
		present, ch, err := prepare(ctx, attempt)
		if err != nil {
			return err
		}
		if err := idle(ctx, all...); err != nil {
			return err
		}
		mctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		p0 := packetsNow(b.res.servers)
		cpu0, cpuErr0 := cpuTicks(o.traefik().Pid())
		if b.cfg.pprof != "" && size == b.cfg.ratioAt && rep == 2 {
			b.profileTraefik(ctx, o, section, variant, size)
		}
		t0 := time.Now()
		path, write, err := ch(mctx)
		if err != nil {
			cancel()
			return err
		}
		t1, err := o.wait(mctx, path, want, t0)
		cancel()
		if errors.Is(err, errStalled) && attempt < maxAttempts {
			b.res.discarded++
			b.progress("%s %s, %d routes, rep %d: discarded, %v; restarting Traefik %s", section, variant, present, rep, err, o.name)
			if err := o.restart(ctx); err != nil {
				return err
			}
			if err := o.settle(ctx, path, want, b.progress); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		p1 := packetsNow(b.res.servers)
		cpu1, cpuErr1 := cpuTicks(o.traefik().Pid())
		if cpuErr0 != nil || cpuErr1 != nil {
			cpu0, cpu1 = 0, -1 // delta reports -1: not recorded
		}
		if why := o.disturbedBetween(t0, t1); why != "" && attempt < maxAttempts {
			b.res.discarded++
			b.progress("%s %s, %d routes, rep %d: discarded after %s, Traefik's ZooKeeper session was disturbed meanwhile: %s",
				section, variant, present, rep, t1.Sub(t0).Round(time.Millisecond), shortLine(why))
			continue
		}
		b.servedRecord(section, variant, size, present, rep, o, t0, t1, write, delta(p0, p1), delta(cpu0, cpu1))
		return nil
	}
}

func shortLine(s string) string {
	if i := strings.Index(s, "> "); i >= 0 {
		s = s[i+2:]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// servedRecord records one measurement with its breakdown from Traefik's
// log (when its walk started, when its configuration arrived) and the
// ZooKeeper requests spent meanwhile.
func (b *bench) servedRecord(section, variant string, size, present, rep int, o *traefikObs, t0, t1 time.Time, write time.Duration, packets, cpuTicks int64) {
	add := func(metric string, v float64, unit string) {
		b.res.add(sample{Section: section, Variant: variant, Routes: size, Present: present, Rep: rep, Metric: metric, Value: v, Unit: unit})
	}
	total := t1.Sub(t0)
	add("served", ms(total), "ms")
	add("write", ms(write), "ms")
	walks := 0
	var firstList, firstConfig time.Duration = -1, -1
	for _, e := range o.eventsSince(t0) {
		if e.at.After(t1) {
			break
		}
		switch e.kind {
		case "list":
			walks++
			if firstList < 0 {
				firstList = e.at.Sub(t0)
			}
		case "config":
			if firstList >= 0 && firstConfig < 0 {
				firstConfig = e.at.Sub(t0)
			}
		}
	}
	add("walks", float64(walks), "count")
	if firstList >= 0 {
		add("walk_started", ms(firstList), "ms")
	}
	if firstConfig >= 0 {
		add("config_received", ms(firstConfig), "ms")
	}
	if packets >= 0 {
		add("zk_requests", float64(packets), "count")
	}
	if cpuTicks >= 0 {
		add("traefik_cpu", float64(cpuTicks*10), "ms")
	}
	detail := ""
	if firstList >= 0 && firstConfig >= 0 {
		detail = fmt.Sprintf("; Traefik walk began +%s, configuration received +%s",
			firstList.Round(time.Millisecond), firstConfig.Round(time.Millisecond))
	}
	b.progress("%s %s, %d routes, rep %d: %s (write %s, %d walk(s), %d ZooKeeper requests%s)",
		section, variant, present, rep, total.Round(time.Millisecond), write.Round(10*time.Microsecond), walks, packets, detail)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func packetsNow(servers []string) int64 {
	n, err := zkPackets(servers)
	if err != nil {
		return -1
	}
	return n
}

func delta(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

// ---------------------------------------------------------------- burst

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
		if _, _, _, err := h.post(ctx, "stop", id); err != nil {
			return err
		}
	}
	if err := o.settle(ctx, probe, 404, b.progress); err != nil {
		return err
	}
	return errRetryBurst
}

// ---------------------------------------------------------------- statistics

// percentile is the nearest-rank percentile (p in 0..100) of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if p <= 0 {
		return s[0]
	}
	rank := int(p/100*float64(len(s)) + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(s) {
		rank = len(s)
	}
	return s[rank-1]
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func zkVersion(server string) string {
	out, err := harness.FourLetterWord(server, "srvr", 2*time.Second)
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Zookeeper version: "); ok {
			v, _, _ = strings.Cut(v, ",")
			v, _, _ = strings.Cut(v, "-") // "3.8.0-${mvngit.commit.id}" in Debian's build
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// slowest returns the indexes of the largest frac of xs (at least one).
func slowest(xs []float64, frac float64) []int {
	if len(xs) == 0 {
		return nil
	}
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] > xs[idx[b]] })
	n := max(1, int(math.Ceil(frac*float64(len(xs)))))
	return idx[:n]
}

// meanAt is the mean of xs at the given indexes (NaN when there is none).
func meanAt(xs []float64, idx []int) float64 {
	if len(idx) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, i := range idx {
		if i >= len(xs) {
			return math.NaN()
		}
		sum += xs[i]
	}
	return sum / float64(len(idx))
}
