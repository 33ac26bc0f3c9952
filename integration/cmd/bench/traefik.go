package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// traefikObs watches one Traefik: its debug log (walk starts "List: <root>",
// configurations received, ZooKeeper session trouble), its CPU time, and
// its Prometheus metrics. restart replaces a Traefik whose provider stopped
// watching.
type traefikObs struct {
	name     string
	root     string
	servers  []string
	throttle time.Duration
	// debugAPI serves Go's pprof endpoints on the API entry point.
	debugAPI bool
	// http and redis, when set, replace the ZooKeeper provider (see
	// harness.TraefikOptions).
	http  *harness.HTTPProviderOptions
	redis []string
	// jsonLog logs in JSON: Traefik's default console format re-decodes
	// every log event's JSON, which at DEBUG level (which the bench reads)
	// took about a third of a 10,000-route rebuild's CPU.
	jsonLog bool

	mu       sync.Mutex
	t        *harness.Traefik
	logPath  string
	off      int64
	partial  []byte
	events   []logEvent
	lists    int
	configs  int
	errs     []string
	restarts int
	// serviceMissing counts "the service ... does not exist": a route
	// created while Traefik walked the tree, so that it read the router
	// before its service existed; the next walk serves it: harmless.
	serviceMissing int

	// gate is the router the next wait polls the API for (see gateOn).
	gate string

	stop chan struct{}
	done chan struct{}
}

type logEvent struct {
	kind string // "list", "config", "disturb", "error"
	at   time.Time
	line string
}

func startTraefik(ctx context.Context, name string, servers []string, root string, throttle time.Duration, debugAPI bool) (*traefikObs, error) {
	return startObserved(ctx, &traefikObs{name: name, root: root, servers: servers, throttle: throttle, debugAPI: debugAPI})
}

// startObserved launches the Traefik o describes and starts watching it.
func startObserved(ctx context.Context, o *traefikObs) (*traefikObs, error) {
	if err := o.launch(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *traefikObs) launch(ctx context.Context) error {
	// traefik_config_reloads_total on the API entry point ("traefik").
	args := []string{"--metrics.prometheus=true"}
	if o.jsonLog {
		args = append(args, "--log.format=json")
	}
	if o.debugAPI {
		args = append(args, "--api.debug=true")
	}
	t, err := harness.StartTraefik(ctx, harness.TraefikOptions{
		Endpoints: o.servers,
		RootKey:   o.root,
		Throttle:  o.throttle,
		ExtraArgs: args,
		HTTP:      o.http,
		Redis:     o.redis,
	})
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.t, o.logPath, o.off, o.partial = t, t.LogPath(), 0, nil
	o.stop, o.done = make(chan struct{}), make(chan struct{})
	o.mu.Unlock()
	go o.tail(o.stop, o.done)
	return nil
}

func (o *traefikObs) traefik() *harness.Traefik {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.t
}

func (o *traefikObs) web() string { return o.traefik().WebURL() }

func (o *traefikObs) close() {
	close(o.stop)
	<-o.done
	_ = o.traefik().Close()
}

// restart replaces the Traefik process (same root, new ports): used when
// its ZooKeeper provider stopped reacting, which Traefik v3.6 does not
// recover from by itself after a lost session on an overloaded machine.
func (o *traefikObs) restart(ctx context.Context) error {
	o.close()
	o.mu.Lock()
	o.restarts++
	o.mu.Unlock()
	return o.launch(ctx)
}

// relaunch replaces the Traefik process with a fresh one, same options.
func (o *traefikObs) relaunch(ctx context.Context) error {
	o.close()
	return o.launch(ctx)
}

// repin replaces the Traefik process with one reading from servers.
func (o *traefikObs) repin(ctx context.Context, servers []string) error {
	o.close()
	o.servers = servers
	return o.launch(ctx)
}

// idleWindow and idleTicks define "Traefik is idle": over idleWindow it used
// at most idleTicks of CPU (1 tick = 10 ms) and started no walk. A walk of
// the tree keeps Traefik busy well above that (measured: 10-40 % of a core).
const (
	idleWindow = 500 * time.Millisecond
	idleTicks  = 1
)

// waitIdle waits until Traefik walks nothing and applies nothing, so that a
// measurement starts from rest and is not queued behind an earlier reload.
func (o *traefikObs) waitIdle(ctx context.Context) error {
	for {
		pid := o.traefik().Pid()
		c0, err := cpuTicks(pid)
		if err != nil {
			return err
		}
		l0, _ := o.counts()
		select {
		case <-ctx.Done():
			return fmt.Errorf("Traefik %s never became idle: %w", o.name, ctx.Err())
		case <-time.After(idleWindow):
		}
		c1, err := cpuTicks(pid)
		if err != nil {
			return err
		}
		l1, _ := o.counts()
		if c1-c0 <= idleTicks && l1 == l0 {
			return nil
		}
	}
}

// errStalled means Traefik stopped reacting to changes: no walk for a long
// time while the change is not served, and Traefik idle.
var errStalled = errors.New("Traefik's ZooKeeper provider stopped reacting to changes")

// stallAfter is how long without a walk start, with the change not served
// and Traefik idle, counts as a lost watch. A walk of the largest baseline
// tree takes longer, but keeps Traefik busy.
const stallAfter = 30 * time.Second

// gateOn makes the next wait first poll Traefik's API for router
// (name@provider) and probe the path only once the API shows it (or, when
// waiting for a 404, no longer shows it). With thousands of routes every
// probe answered 404 costs Traefik milliseconds of CPU (it tries each rule;
// 5 ms at 10,000 routes), which a probe every 10 ms takes from the rebuild
// being measured; the API's answer is a map lookup. Traefik applies the
// routers and the API's view of them in the same configuration switch, and
// the path is still probed to its first expected answer afterwards.
func (o *traefikObs) gateOn(router string) {
	o.mu.Lock()
	o.gate = router
	o.mu.Unlock()
}

func (o *traefikObs) takeGate() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	g := o.gate
	o.gate = ""
	return g
}

// wait polls path on Traefik's web entry point every pollInterval until it
// answers want and returns when that answer arrived; errStalled when
// Traefik's watch looks lost.
func (o *traefikObs) wait(ctx context.Context, path string, want int, since time.Time) (time.Time, error) {
	var (
		last     int
		lastErr  error
		checked  = time.Now()
		ticks, _ = cpuTicks(o.traefik().Pid())
	)
	gate := o.takeGate()
	for {
		var st int
		var err error
		if gate != "" {
			// Until Traefik's API shows the router (or no longer shows it,
			// for a 404), the path is not probed: see gateOn.
			st, err = status(ctx, o.traefik().APIURL()+"/api/http/routers/"+gate)
			if err == nil && (st == http.StatusOK) == (want == http.StatusOK) {
				gate = ""
				continue
			}
		} else {
			st, err = status(ctx, o.web()+path)
			if err == nil && st == want {
				return time.Now(), nil
			}
		}
		last, lastErr = st, err
		if time.Since(checked) >= 2*time.Second {
			now, _ := cpuTicks(o.traefik().Pid())
			active := since
			if w := o.lastWalkStart(); w.After(active) {
				active = w
			}
			if time.Since(active) > stallAfter && now-ticks <= 2 {
				return time.Time{}, fmt.Errorf("%w: %s has not answered %d for %s (last %d, %v)",
					errStalled, path, want, time.Since(since).Round(time.Second), last, lastErr)
			}
			checked, ticks = time.Now(), now
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("GET %s never answered %d: %w (last %d, %v)", path, want, ctx.Err(), last, lastErr)
		case <-time.After(pollInterval):
		}
	}
}

// settle waits until path answers want (the latest write is served) and
// Traefik is idle afterwards, restarting a Traefik whose watch got lost.
func (o *traefikObs) settle(ctx context.Context, path string, want int, progress func(string, ...any)) error {
	since := time.Now()
	for attempt := 0; ; attempt++ {
		_, err := o.wait(ctx, path, want, since)
		if errors.Is(err, errStalled) && attempt < 3 {
			progress("Traefik %s: %v; restarting it", o.name, err)
			if err := o.restart(ctx); err != nil {
				return err
			}
			since = time.Now()
			continue
		}
		if err != nil {
			return err
		}
		return o.waitIdle(ctx)
	}
}

// reloads is traefik_config_reloads_total: configurations Traefik applied.
func (o *traefikObs) reloads(ctx context.Context) (float64, error) {
	m, err := scrape(ctx, o.traefik().APIURL()+"/metrics")
	if err != nil {
		return 0, err
	}
	for k, v := range m {
		if k == "traefik_config_reloads_total" || strings.HasPrefix(k, "traefik_config_reloads_total{") {
			return v, nil
		}
	}
	return 0, errors.New("Traefik /metrics has no traefik_config_reloads_total")
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
