package integration

// TestChaos is the chaos run: a client drives 1,000 lifecycle
// hooks through two sidecar replicas (the real binary) while ZooKeeper's
// leader is killed, the whole ensemble is frozen for longer than the
// sidecars' session timeout, and one replica is SIGKILLed mid-burst. Then
// three views are compared: what the client believes (the last 2xx answer
// per execution), what ZooKeeper holds, and what Traefik serves.
//
// It runs on a 3-node ensemble and a Traefik of its own, so that killing
// and freezing nodes disturbs no other test. About two minutes; make test
// runs it, make chaos runs it alone, ZK_SIDECAR_CHAOS=0 leaves it out.
//
// TestChaosAbandonedHook reproduces a reordering the chaos can cause: a
// hook whose caller gave up, applied after a newer one.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/stats"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

const (
	chaosExecutions = 300  // client executions c0..c299
	chaosHooks      = 1000 // start and stop hooks over them
	chaosWorkers    = 32   // hooks in flight at once
	chaosBackends   = 4    // harness backends b0..b3
	chaosProbes     = 4    // executions p0..p3, started once, probed through Traefik
	chaosStopShare  = 0.4  // share of stops among the hooks

	chaosRoot      = "traefik"
	chaosStateRoot = "/chaos"
	chaosToken     = "chaos-token-0123456789abcdef0123456789"
	// chaosReadToken is the read-only token of GET /v1/traefik.
	chaosReadToken = "chaos-read-token-0123456789abcdef0123"
	chaosSecret    = "chaos-key-secret-0123456789abcdef"

	chaosSessionTimeout = 4 * time.Second
	chaosOpTimeout      = 2 * time.Second
	// chaosFreeze is longer than the sidecars' session timeout.
	chaosFreeze = 6 * time.Second
	// chaosLeaderDown is how long the killed leader stays down.
	chaosLeaderDown = 3 * time.Second
	// chaosSidecarDown is how long the killed replica stays down.
	chaosSidecarDown = 2 * time.Second

	// chaosRequestTimeout bounds one answer: a request not answered within
	// it, not counting the time the test process itself was not scheduled
	// (see stallMeter), is a hang.
	chaosRequestTimeout = 15 * time.Second
	// chaosStallAllowance is how much longer the client waits for an
	// answer, so that a machine stall does not cut a request short.
	chaosStallAllowance = 45 * time.Second
	// chaosHookBudget bounds the retries of one hook.
	chaosHookBudget = 60 * time.Second
	chaosMinBackoff = 100 * time.Millisecond
	chaosMaxBackoff = 2 * time.Second

	// Pacing: one hook every chaosInterval, except in the burst, where the
	// workers send as fast as they are answered.
	chaosInterval = 60 * time.Millisecond
	// Hook indexes at which the phases start; each phase must have ended
	// before the next trigger is handed out, and the last one before
	// chaosCooldown.
	chaosTriggerLeader  = 150
	chaosTriggerFreeze  = 400
	chaosBurstFrom      = 620
	chaosTriggerSidecar = 650
	chaosBurstTo        = 780
	chaosCooldown       = 900

	chaosProbeEvery = 50 * time.Millisecond
	// chaosProbeTimeout bounds one GET through Traefik, not counting the
	// test process's own stalls (a JVM starting takes both cores for seconds).
	chaosProbeTimeout = 5 * time.Second
	// chaosConverge bounds the wait for Traefik to serve what ZooKeeper holds.
	chaosConverge = 60 * time.Second
)

// chaosOp is one hook of an execution.
type chaosOp struct {
	stop    bool
	backend int // start: index of the backend
}

func (o chaosOp) String() string {
	if o.stop {
		return "stop"
	}
	return fmt.Sprintf("start(b%d)", o.backend)
}

// chaosExec is one execution: its hooks and what the client believes.
// Only the worker that holds it touches it while the client runs.
type chaosExec struct {
	id   string
	path string // public path, from prepare
	ops  []chaosOp
	next int

	// The client's view: the last 2xx answer.
	live      bool
	backend   int
	uncertain bool // a hook ran out of budget: the state is unknown
}

// chaosAnswer is one HTTP request of the client.
type chaosAnswer struct {
	At      time.Duration // since the client started
	Hook    int           // global hook index
	Exec    string
	Op      string
	Replica int
	Status  int // 0: network error, -1: no answer within chaosRequestTimeout
	Took    time.Duration
	Net     time.Duration // Took without the test process's stalls
	Err     string        `json:",omitempty"`
}

// chaosReplica is a sidecar replica as the chaos run drives it: a process
// of the harness (*harness.Sidecar) or a container (containerReplica).
type chaosReplica interface {
	URL() string
	Client(opts ...harness.ClientOption) *harness.Client
	Logs() string
	Kill() error
	Start(ctx context.Context) error
}

type chaosClient struct {
	t        *testing.T
	replicas []chaosReplica
	apis     []*harness.Client // one per replica
	backends []*harness.Backend
	start    time.Time

	dispensed atomic.Int64 // hooks handed to workers
	stalls    *stallMeter

	mu           sync.Mutex
	answers      []chaosAnswer
	ok           int
	retried503   int
	netRetried   int
	hangs        int
	unanswered   int
	unexpected   []string
	noRetryHdr   int
	maxAnswer    time.Duration
	maxNet       time.Duration // maxAnswer without the test process's stalls
	late         int           // answered, but after chaosRequestTimeout net of stalls
	max503       time.Duration
	max503Frozen time.Duration
	frozen       *atomic.Bool
	max2xx       time.Duration
	maxHook      time.Duration // first request to 2xx, retries included
	answerTimes  []time.Duration
}

func (c *chaosClient) since() time.Duration { return time.Since(c.start) }

// chaosHook is e's hook of event: its one service with one proxied port,
// on backendPort when it starts; a stop carries only the id.
func chaosHook(event string, e *chaosExec, backendPort int) apiv1.HookRequest {
	if event == apiv1.EventStop {
		return harness.StopHook(e.id)
	}
	port := execution.Port{Name: "web", PortNumber: 8080, Protocol: "tcp", Proxy: true, URLTemplate: "http://{ip_port}{proxy_path}"}
	if event == apiv1.EventStart {
		port.ExternalIP, port.ExternalPort = harness.BackendHost(), backendPort
	}
	return harness.Hook(event, execution.Execution{ID: execution.ID(e.id), Name: "chaos", Owner: "chaos",
		Services: []execution.Service{{Name: "app0", Ports: []execution.Port{port}}}})
}

// errChaosHang marks a request that got no answer at all within
// chaosRequestTimeout+chaosStallAllowance.
var errChaosHang = errors.New("no answer")

// post sends one hook to replica r; an error is a network error, or
// errChaosHang.
func (c *chaosClient) post(r int, hook apiv1.HookRequest) (*harness.Reply, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), chaosRequestTimeout+chaosStallAllowance)
	defer cancel()
	start := time.Now()
	reply, err := c.apis[r].Hook(ctx, hook, "")
	if err == nil {
		return reply, reply.Took, nil
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", errChaosHang, err)
	}
	return nil, time.Since(start), err
}

// runHook sends e's next hook until a 2xx answer, retrying 503s with
// backoff and network errors on the other replica, within chaosHookBudget.
func (c *chaosClient) runHook(n int, e *chaosExec) {
	op := e.ops[e.next]
	event := apiv1.EventStart
	if op.stop {
		event = apiv1.EventStop
	}
	_, port := c.backends[op.backend].Addr()
	hook := chaosHook(event, e, port)
	replica := ((n % len(c.replicas)) + len(c.replicas)) % len(c.replicas)
	backoff := chaosMinBackoff
	began := time.Now()
	// send records every answer, with -1 for none at all and 0 for a
	// network error.
	send := func(context.Context) (*harness.Reply, error) {
		r, took, err := c.post(replica, hook)
		end := time.Now()
		net := took - c.stalls.within(end.Add(-took), end)
		a := chaosAnswer{At: c.since(), Hook: n, Exec: e.id, Op: op.String(), Replica: replica, Took: took, Net: net}
		switch {
		case errors.Is(err, errChaosHang):
			a.Status = -1
		case err == nil:
			a.Status = r.Status
		}
		if err != nil {
			a.Err = err.Error()
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.answers = append(c.answers, a)
		if a.Status > 0 {
			c.maxAnswer = max(c.maxAnswer, took)
			c.maxNet = max(c.maxNet, net)
			c.answerTimes = append(c.answerTimes, took)
			if net > chaosRequestTimeout {
				c.late++
			}
		}
		return r, err
	}
	// retry says how long to wait before the next try, or -1 when that
	// would overrun the hook's budget (the test process's stalls not
	// counted): the hook is then given up and its state unknown.
	retry := func(wait time.Duration) time.Duration {
		if spent := time.Since(began) - c.stalls.within(began, time.Now()); spent+wait > chaosHookBudget {
			c.unanswered++
			e.uncertain = true
			return -1
		}
		return wait
	}
	policy := harness.RetryPolicy{
		Wait: func(_ int, r *harness.Reply) time.Duration {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.retried503++
			c.max503 = max(c.max503, r.Took)
			if c.frozen != nil && c.frozen.Load() {
				c.max503Frozen = max(c.max503Frozen, r.Took)
			}
			if r.Header.Get("Retry-After") == "" {
				c.noRetryHdr++
			}
			// Jittered exponential backoff; the next try goes to the other
			// replica, as the client spreads over both.
			wait := backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, chaosMaxBackoff)
			replica = 1 - replica
			return retry(wait)
		},
		OnError: func(_ int, err error) time.Duration {
			c.mu.Lock()
			defer c.mu.Unlock()
			var wait time.Duration
			if errors.Is(err, errChaosHang) {
				c.hangs++
			} else {
				c.netRetried++
				wait = 50 * time.Millisecond
			}
			replica = 1 - replica
			return retry(wait)
		},
	}
	r, err := harness.Retry(context.Background(), policy, send)
	if err != nil || r.Status == http.StatusServiceUnavailable {
		return // given up within the policy: counted there
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Status == http.StatusOK {
		c.ok++
		c.max2xx = max(c.max2xx, r.Took)
		c.maxHook = max(c.maxHook, time.Since(began))
		if problem := checkHookReply(e, op, c.backends, r.Body); problem != "" {
			c.unexpected = append(c.unexpected, fmt.Sprintf("hook %d %s %s: %s", n, e.id, op, problem))
		}
		e.live, e.backend = !op.stop, op.backend
		return
	}
	c.unexpected = append(c.unexpected, fmt.Sprintf("hook %d %s %s: status %d: %s", n, e.id, op, r.Status, chaosTrunc(string(r.Body), 300)))
	e.uncertain = true
}

func checkHookReply(e *chaosExec, op chaosOp, backends []*harness.Backend, raw []byte) string {
	var reply apiv1.HookResponse
	if err := json.Unmarshal(raw, &reply); err != nil {
		return fmt.Sprintf("undecodable answer %q: %v", chaosTrunc(string(raw), 200), err)
	}
	if op.stop {
		if len(reply.Routes) > 1 {
			return fmt.Sprintf("stop removed %d routes, want at most 1", len(reply.Routes))
		}
		return ""
	}
	if len(reply.Routes) != 1 {
		return fmt.Sprintf("start answered %d routes, want 1", len(reply.Routes))
	}
	r := reply.Routes[0]
	if r.Path != e.path || r.Backend != backends[op.backend].URL() || r.ExecutionID != e.id {
		return fmt.Sprintf("start answered route %+v, want path %s backend %s", r, e.path, backends[op.backend].URL())
	}
	return ""
}

// chaosPhase is a step of the chaos script, run while the client drives hooks.
type chaosPhase struct {
	name    string
	trigger int // starts once this many hooks were handed out
	run     func() error
	done    chan struct{}
	began   time.Duration
	took    time.Duration
	err     error
}

// chaosProbeStats counts probes of the probe executions through Traefik.
// A probe fails with a wrong answer (not 200 from the route's backend, or
// a refused connection) or with no answer within chaosProbeTimeout. While
// the ensemble is frozen both count; outside the freeze, where only the
// machine's load can delay Traefik, a slow answer is reported, not failed.
type chaosProbeStats struct {
	mu                   sync.Mutex
	total, wrong, slow   int
	frozen, frozenFailed int
	// restarting: taken while Traefik restarted, until it served the
	// probe routes again; not counted in the other figures.
	restarting int
	maxTook    time.Duration
	failures   []string
}

func TestChaos(t *testing.T) {
	requireOwnStack(t)
	// About two minutes: part of make test; ZK_SIDECAR_CHAOS=0 or -short
	// leaves it out, make chaos runs it alone.
	if os.Getenv("ZK_SIDECAR_CHAOS") == "0" || testing.Short() {
		t.Skip("chaos run skipped (ZK_SIDECAR_CHAOS=0 or -short)")
	}
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	run := newChaosRun(t, ctx)
	run.chaos = run.script
	run.startStack()
	run.execute(testStart)
}

// newChaosRun is a run with its seed drawn, or ZK_SIDECAR_CHAOS_SEED's.
func newChaosRun(t *testing.T, ctx context.Context) *chaosRun {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ZK_SIDECAR_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "ZK_SIDECAR_CHAOS_SEED")
		seed = v
	}
	t.Logf("seed %d (ZK_SIDECAR_CHAOS_SEED=%d repeats the hook sequence)", seed, seed)
	return &chaosRun{t: t, ctx: ctx, rng: rand.New(rand.NewPCG(seed, 7))}
}

// execute runs the client and the chaos on the started stack, then checks
// the three views and prints the figures.
func (run *chaosRun) execute(testStart time.Time) {
	stopStalls := run.startClient()
	defer stopStalls()
	run.planHooks()
	run.serveProbes()
	figures := run.drive()
	first, second := run.checkViews()
	// The sidecars' own measure of every hook: the stalls subtracted from
	// the client's times could hide a slow sidecar, this cannot.
	figures.loggedHook = maxLoggedHook(run.replicas)
	run.report(testStart, figures, first, second)
	run.verdict(figures, first, second)
}

// chaosRun is one chaos run: its stack, its client and its executions,
// shared by the run's phases in the order TestChaos calls them.
type chaosRun struct {
	t   *testing.T
	ctx context.Context
	// rng decides the hook sequence and the order the workers take it up.
	rng *rand.Rand

	ens      *harness.Ensemble // nil for the compose stack's containers
	servers  []string          // the ensemble's client addresses
	backends []*harness.Backend
	replicas []chaosReplica
	tr       *harness.Traefik
	// chaos makes the phases: script for the harness's processes.
	chaos  func() []*chaosPhase
	stalls *stallMeter
	client *chaosClient

	execs  []*chaosExec // driven by the client
	probes []*chaosExec // served before the chaos, probed through Traefik
	all    []*chaosExec // both

	frozen atomic.Bool // the ensemble is frozen
	// ringsAfterThaw is each replica's count of its mirror's watch rings
	// once it was ready after the whole-ensemble freeze (nil without one).
	ringsAfterThaw []float64
	// traefikDown: Traefik is restarting; probes are counted apart.
	traefikDown atomic.Bool
}

// chaosFigures are what the client run measured.
type chaosFigures struct {
	clientTook time.Duration
	probes     *chaosProbeStats
	// loggedHook is the longest hook the sidecars logged.
	loggedHook time.Duration
}

// startStack starts the stack: a 3-node ensemble, two replicas, Traefik
// and the backends.
func (run *chaosRun) startStack() {
	t, ctx := run.t, run.ctx
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 3})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ens.Close() })
	leader, _ := ens.Leader()
	t.Logf("own ensemble %s, leader node %d", ens.ConnectString(), leader)
	run.ens, run.servers = ens, ens.Servers()

	run.backends = make([]*harness.Backend, chaosBackends)
	for i := range run.backends {
		b, err := harness.StartBackend(fmt.Sprintf("b%d", i))
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		run.backends[i] = b
	}

	bin, err := harness.SidecarBinary(ctx)
	require.NoError(t, err)
	// ZK_SIDECAR_CHAOS_PROVIDER=http: Traefik reads replica 0's GET
	// /v1/traefik (the replica the run kills) instead of ZooKeeper.
	httpProvider := os.Getenv("ZK_SIDECAR_CHAOS_PROVIDER") == "http"
	t.Logf("Traefik's provider: %s", map[bool]string{false: "zookeeper", true: "http (polling replica 0, the one killed)"}[httpProvider])
	run.replicas = make([]chaosReplica, 2)
	for i := range run.replicas {
		// Replica 0 initialises the layout (and Traefik's root) first.
		sctx, scancel := context.WithTimeout(ctx, time.Minute)
		s, err := harness.StartSidecar(sctx, harness.SidecarOptions{
			Binary:    bin,
			Servers:   ens.Servers(),
			RootKey:   chaosRoot,
			StateRoot: chaosStateRoot,
			Token:     chaosToken,
			KeySecret: chaosSecret,
			Args: []string{
				"--log-level=debug",
				"--zk-session-timeout=" + chaosSessionTimeout.String(),
				"--zk-op-timeout=" + chaosOpTimeout.String(),
			},
			Env: []string{"TRAEFIK_ZK_SIDECAR_TRAEFIK_TOKEN=" + chaosReadToken},
		})
		scancel()
		require.NoError(t, err)
		run.replicas[i] = s
		t.Cleanup(func() { _ = s.Close() })
	}
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	trOpts := harness.TraefikOptions{Endpoints: ens.Servers(), RootKey: chaosRoot}
	if httpProvider {
		trOpts.HTTP = &harness.HTTPProviderOptions{
			Endpoint:     run.replicas[0].URL() + "/v1/traefik",
			PollInterval: 100 * time.Millisecond,
			PollTimeout:  5 * time.Second,
			Headers:      map[string]string{"Authorization": "Bearer " + chaosReadToken},
		}
	}
	tr, err := harness.StartTraefik(tctx, trOpts)
	tcancel()
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	run.tr = tr
}

// startClient starts the stall meter and the client of both replicas, and
// keeps every log on failure; it returns the stall meter's stop.
func (run *chaosRun) startClient() (stop func()) {
	t, replicas, tr, ens := run.t, run.replicas, run.tr, run.ens
	run.stalls = &stallMeter{}
	stallCtx, stopStalls := context.WithCancel(run.ctx)
	go run.stalls.run(stallCtx)
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2 * chaosWorkers}}
	client := &chaosClient{t: t, replicas: replicas, backends: run.backends, stalls: run.stalls}
	for _, s := range replicas {
		client.apis = append(client.apis, s.Client(harness.WithHTTPClient(hc)))
	}
	run.client = client
	// On failure (or with ZK_SIDECAR_CHAOS_KEEP_LOGS=1) keep every log for
	// a post-mortem: the harness removes the sidecars' directories on Close.
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("ZK_SIDECAR_CHAOS_KEEP_LOGS") != "1" {
			return
		}
		dir, err := os.MkdirTemp("", "chaos-logs-")
		if err != nil {
			return
		}
		for i, s := range replicas {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("sidecar%d.log", i)), []byte(s.Logs()), 0o644)
		}
		_ = os.WriteFile(filepath.Join(dir, "traefik.log"), []byte(tr.Logs()), 0o644)
		for i := range 3 {
			if ens != nil {
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("zk%d.log", i)), []byte(ens.Logs(i)), 0o644)
			}
		}
		client.mu.Lock()
		if raw, err := json.MarshalIndent(client.answers, "", " "); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "answers.json"), raw, 0o644)
		}
		client.mu.Unlock()
		t.Logf("chaos logs kept in %s", dir)
	})
	return stopStalls
}

// planHooks makes the executions, asks for their paths (prepare) and
// draws their hook sequences.
func (run *chaosRun) planHooks() {
	rng := run.rng
	execs := make([]*chaosExec, chaosExecutions)
	for i := range execs {
		execs[i] = &chaosExec{id: fmt.Sprintf("c%d", i)}
	}
	probes := make([]*chaosExec, chaosProbes)
	for i := range probes {
		probes[i] = &chaosExec{id: fmt.Sprintf("p%d", i), ops: []chaosOp{{backend: i % chaosBackends}}}
	}
	all := append(append([]*chaosExec{}, execs...), probes...)
	prepareAll(run.t, run.client, all)
	// 1,000 hooks: every execution gets 3, and 100 of them a 4th.
	order := rng.Perm(chaosExecutions)
	for rank, i := range order {
		n := chaosHooks / chaosExecutions
		if rank < chaosHooks%chaosExecutions {
			n++
		}
		for range n {
			op := chaosOp{stop: rng.Float64() < chaosStopShare, backend: rng.IntN(chaosBackends)}
			execs[i].ops = append(execs[i].ops, op)
		}
	}
	run.execs, run.probes, run.all = execs, probes, all
}

// serveProbes starts the probe executions and waits until Traefik serves
// them, before the chaos starts; the client's figures start afterwards.
func (run *chaosRun) serveProbes() {
	t, client := run.t, run.client
	for i, p := range run.probes {
		client.runHook(-1-i, p)
		require.True(t, p.live, "probe execution %s not started", p.id)
	}
	for _, p := range run.probes {
		waitBody(t, run.tr.WebURL()+p.path+"/", "", run.backends[p.backend].Name()+" ", time.Minute)
	}
	client.mu.Lock()
	client.answers, client.answerTimes, client.ok = nil, nil, 0
	client.maxAnswer, client.maxNet, client.max2xx, client.maxHook = 0, 0, 0, 0
	client.mu.Unlock()
}

// script is the chaos: the phases run while the client drives hooks, each
// from its trigger on.
func (run *chaosRun) script() []*chaosPhase {
	t, ctx, ens, replicas, frozen := run.t, run.ctx, run.ens, run.replicas, &run.frozen
	phases := []*chaosPhase{
		{name: "kill the ZooKeeper leader, restart it", trigger: chaosTriggerLeader, run: func() error {
			leader, err := ens.Leader()
			if err != nil {
				return err
			}
			t.Logf("phase 1: killing leader node %d", leader)
			if err := ens.Kill(leader); err != nil {
				return err
			}
			time.Sleep(chaosLeaderDown)
			if err := ens.Restart(leader); err != nil {
				return err
			}
			qctx, qcancel := context.WithTimeout(ctx, 2*time.Minute)
			defer qcancel()
			newLeader, err := ens.WaitForQuorum(qctx)
			t.Logf("phase 1: node %d back, quorum with leader node %d", leader, newLeader)
			return err
		}},
		{name: fmt.Sprintf("freeze all 3 nodes for %s (session timeout %s)", chaosFreeze, chaosSessionTimeout), trigger: chaosTriggerFreeze, run: func() error {
			frozen.Store(true)
			for i := range 3 {
				if err := ens.Freeze(i); err != nil {
					return err
				}
			}
			time.Sleep(chaosFreeze)
			var errs []error
			for i := range 3 {
				errs = append(errs, ens.Thaw(i))
			}
			frozen.Store(false)
			thawed := time.Now()
			if err := errors.Join(errs...); err != nil {
				return err
			}
			qctx, qcancel := context.WithTimeout(ctx, 2*time.Minute)
			defer qcancel()
			leader, err := ens.WaitForQuorum(qctx)
			if err != nil {
				return err
			}
			t.Logf("phase 2: quorum %s after thaw (leader node %d)", time.Since(thawed).Round(time.Millisecond), leader)
			for i, s := range replicas {
				_, _, err := harness.WaitHTTP(qctx, s.URL()+"/readyz", "", func(status int, _ string) bool { return status == http.StatusOK })
				if err != nil {
					return fmt.Errorf("replica %d not ready after thaw: %w", i, err)
				}
			}
			t.Logf("phase 2: both replicas ready %s after thaw", time.Since(thawed).Round(time.Millisecond))
			rings := make([]float64, len(replicas))
			for i, s := range replicas {
				if rings[i], err = mirrorRings(s.URL()); err != nil {
					return fmt.Errorf("replica %d: %w", i, err)
				}
			}
			run.ringsAfterThaw = rings
			return nil
		}},
		{name: "SIGKILL replica 0 mid-burst, restart it", trigger: chaosTriggerSidecar, run: func() error {
			if err := replicas[0].Kill(); err != nil {
				return err
			}
			time.Sleep(chaosSidecarDown)
			sctx, scancel := context.WithTimeout(ctx, time.Minute)
			defer scancel()
			restarted := time.Now()
			if err := replicas[0].Start(sctx); err != nil {
				return err
			}
			t.Logf("phase 3: replica 0 ready %s after restart", time.Since(restarted).Round(time.Millisecond))
			return nil
		}},
	}
	for _, ph := range phases {
		ph.done = make(chan struct{})
	}
	return phases
}

// probe probes, through Traefik, the routes served before the chaos, the
// whole run; those taken while the ensemble is frozen must all succeed.
// It returns the probes' figures and their stop.
func (run *chaosRun) probe() (*chaosProbeStats, func()) {
	probes, tr, backends, stalls, client, frozen := run.probes, run.tr, run.backends, run.stalls, run.client, &run.frozen
	probeStats := &chaosProbeStats{}
	probeCtx, stopProbes := context.WithCancel(run.ctx)
	probesDone := make(chan struct{})
	go func() {
		defer close(probesDone)
		tick := time.NewTicker(chaosProbeEvery)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-probeCtx.Done():
				return
			case <-tick.C:
			}
			p := probes[i%len(probes)]
			inFreeze, inRestart := frozen.Load(), run.traefikDown.Load()
			gctx, gcancel := context.WithTimeout(probeCtx, chaosProbeTimeout+chaosStallAllowance)
			began := time.Now()
			status, body, err := harness.GetWith(gctx, chaosProbeClient, tr.WebURL()+p.path+"/", "")
			end := time.Now()
			gcancel()
			if probeCtx.Err() != nil {
				return
			}
			net := end.Sub(began) - stalls.within(began, end)
			answered := err == nil || gctx.Err() == nil
			right := err == nil && status == http.StatusOK && strings.HasPrefix(body, backends[p.backend].Name()+" ")
			slow := !answered || net > chaosProbeTimeout
			inFreeze = inFreeze || frozen.Load()
			if inRestart || run.traefikDown.Load() {
				probeStats.mu.Lock()
				probeStats.restarting++
				probeStats.mu.Unlock()
				continue
			}
			probeStats.mu.Lock()
			probeStats.total++
			probeStats.maxTook = max(probeStats.maxTook, net)
			if inFreeze {
				probeStats.frozen++
			}
			if !right || slow {
				if answered && !right {
					probeStats.wrong++
				} else {
					probeStats.slow++
				}
				if inFreeze {
					probeStats.frozenFailed++
				}
				if len(probeStats.failures) < 20 {
					probeStats.failures = append(probeStats.failures, fmt.Sprintf("%s (frozen %v): %s: status %d %v %q",
						client.since().Round(time.Millisecond), inFreeze, p.id, status, err, chaosTrunc(body, 80)))
				}
			}
			probeStats.mu.Unlock()
		}
	}()
	return probeStats, func() {
		stopProbes()
		<-probesDone
	}
}

// drive runs the client's 1,000 hooks from chaosWorkers workers while the
// script runs and the probes probe.
func (run *chaosRun) drive() chaosFigures {
	t, client, execs := run.t, run.client, run.execs
	client.frozen = &run.frozen
	phases := run.chaos()
	probeStats, stopProbes := run.probe()

	// Hook tokens: paced, unpaced in the burst, held back at a trigger
	// until the previous phase has ended.
	client.start = time.Now()
	tokens := make(chan int)
	go func() {
		defer close(tokens)
		// Each phase's trigger waits for the phase before it.
		gate := map[int]chan struct{}{chaosCooldown: phases[len(phases)-1].done}
		for i := 1; i < len(phases); i++ {
			gate[phases[i].trigger] = phases[i-1].done
		}
		for n := 0; n < chaosHooks; n++ {
			if g, ok := gate[n]; ok {
				<-g
			}
			if n < chaosBurstFrom || n >= chaosBurstTo {
				time.Sleep(chaosInterval)
			}
			tokens <- n
			client.dispensed.Store(int64(n + 1))
		}
	}()
	go func() {
		for _, ph := range phases {
			for client.dispensed.Load() < int64(ph.trigger) {
				time.Sleep(10 * time.Millisecond)
			}
			ph.began = client.since()
			ph.err = ph.run()
			ph.took = client.since() - ph.began
			close(ph.done)
		}
	}()

	ready := make(chan *chaosExec, len(execs))
	for _, i := range run.rng.Perm(len(execs)) {
		ready <- execs[i]
	}
	var remaining atomic.Int64
	remaining.Store(int64(len(execs)))
	var wg sync.WaitGroup
	for range chaosWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range ready {
				n := <-tokens
				client.runHook(n, e)
				e.next++
				if e.next < len(e.ops) {
					ready <- e
				} else if remaining.Add(-1) == 0 {
					close(ready)
				}
			}
		}()
	}
	wg.Wait()
	clientTook := client.since()
	stopProbes()
	for _, ph := range phases {
		<-ph.done
		t.Logf("phase %q at %s took %s", ph.name, ph.began.Round(time.Millisecond), ph.took.Round(time.Millisecond))
		if ph.err != nil {
			t.Errorf("phase %q: %v", ph.name, ph.err)
		}
	}
	return chaosFigures{clientTook: clientTook, probes: probeStats}
}

// checkViews compares the client's, ZooKeeper's and Traefik's views, then
// again once the garbage collector has removed every tombstone, and checks
// that the checker can fail.
func (run *chaosRun) checkViews() (first, second *chaosVerdict) {
	t, tr, all, backends := run.t, run.tr, run.all, run.backends
	conn := chaosConnect(t, run.servers)
	first = checkChaosViews(t, conn, tr, all, backends, chaosConverge)
	// Then let the garbage collector remove every tombstone and check again.
	gcStart := time.Now()
	gcErr := waitNoTombstones(conn, 2*time.Minute)
	t.Logf("garbage collection of the tombstones: %s (%v)", time.Since(gcStart).Round(time.Millisecond), gcErr)
	if gcErr != nil {
		t.Errorf("garbage collection: %v", gcErr)
	}
	second = checkChaosViews(t, conn, tr, all, backends, chaosConverge)
	checkTheChecker(t, conn, tr, all, backends)
	return first, second
}

// ringsSinceThaw checks that replica 1's mirror watch rang again after
// the whole ensemble was frozen past the session timeout (the hooks after
// the freeze commit through both replicas): the watch's session was
// replaced, not left wedged. Replica 0 is restarted later, which resets
// its count.
func (run *chaosRun) ringsSinceThaw() string {
	if run.ringsAfterThaw == nil {
		return "no freeze"
	}
	now, err := mirrorRings(run.replicas[1].URL())
	if err != nil {
		run.t.Errorf("replica 1's metrics: %v", err)
		return err.Error()
	}
	rang := now - run.ringsAfterThaw[1]
	if rang <= 0 {
		run.t.Errorf("replica 1's mirror watch never rang after the freeze (%.0f rings before, %.0f now): the mirror fell back to reading the revision once a second", run.ringsAfterThaw[1], now)
	}
	return fmt.Sprintf("%.0f", rang)
}

// mirrorRings reads zk_sidecar_mirror_bell_rings_total from a replica's
// /metrics (no token).
func mirrorRings(base string) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	series, err := parseMetrics(body)
	if err != nil {
		return 0, err
	}
	rings, ok := series["zk_sidecar_mirror_bell_rings_total"]
	if !ok {
		return 0, fmt.Errorf("no zk_sidecar_mirror_bell_rings_total in %s/metrics", base)
	}
	return rings, nil
}

// report prints the run's figures.
func (run *chaosRun) report(testStart time.Time, figures chaosFigures, first, second *chaosVerdict) {
	t, client, replicas, probeStats := run.t, run.client, run.replicas, figures.probes
	clientTook, loggedHook := figures.clientTook, figures.loggedHook
	sessions := make([]string, len(replicas))
	for i, s := range replicas {
		sessions[i] = sessionSummary(s.Logs())
	}
	p99 := stats.Percentile(client.answerTimes, 99)
	requests := len(client.answers)
	rows := [][2]string{
		{"hooks sent (start/stop, 300 executions, 32 concurrent)", strconv.Itoa(chaosHooks)},
		{"HTTP requests (with retries)", strconv.Itoa(requests)},
		{"answered 2xx", strconv.Itoa(client.ok)},
		{"503 answers retried with backoff", strconv.Itoa(client.retried503)},
		{"network errors retried on the other replica", strconv.Itoa(client.netRetried)},
		{"hangs (no answer within " + chaosRequestTimeout.String() + ", test-process stalls not counted)", strconv.Itoa(client.hangs + client.late)},
		{"hooks without 2xx within " + chaosHookBudget.String(), strconv.Itoa(client.unanswered)},
		{"unexpected answers", strconv.Itoa(len(client.unexpected) + client.noRetryHdr)},
		{"max answer time (any status)", client.maxAnswer.Round(time.Millisecond).String()},
		{"max answer time, test-process stalls not counted", client.maxNet.Round(time.Millisecond).String()},
		{"max hook duration logged by the sidecars", loggedHook.Round(time.Millisecond).String()},
		{"max 503 answer time (--zk-op-timeout " + chaosOpTimeout.String() + ")", client.max503.Round(time.Millisecond).String()},
		{"max 503 answer time while frozen", client.max503Frozen.Round(time.Millisecond).String()},
		{"p99 answer time", p99.Round(time.Millisecond).String()},
		{"max time to 2xx of one hook (retries included)", client.maxHook.Round(time.Millisecond).String()},
		{"lost routes", fmt.Sprintf("%d (after GC: %d)", first.lost(), second.lost())},
		{"phantom routes", fmt.Sprintf("%d (after GC: %d)", first.phantom(), second.phantom())},
		{"half-written routes", fmt.Sprintf("%d (after GC: %d)", first.halfWritten, second.halfWritten)},
		{"executions live / stopped at the end", fmt.Sprintf("%d / %d", first.live, first.stopped)},
		{"Traefik converged after the last hook", first.converged.Round(time.Millisecond).String()},
		{"probes during the freeze: failed / total", fmt.Sprintf("%d / %d", probeStats.frozenFailed, probeStats.frozen)},
		{"probes during the whole run: wrong / slow (> " + chaosProbeTimeout.String() + ") / total", fmt.Sprintf("%d / %d / %d", probeStats.wrong, probeStats.slow, probeStats.total)},
		{"slowest probe through Traefik (stalls not counted)", probeStats.maxTook.Round(time.Millisecond).String()},
		{"probes while Traefik restarted (not counted above)", strconv.Itoa(probeStats.restarting)},
		{"stalls of the test process (machine load)", run.stalls.summary()},
		{"sidecar ZooKeeper sessions (replica 0 / 1)", sessions[0] + " / " + sessions[1]},
		{"mirror watch rings after the freeze (replica 1)", run.ringsSinceThaw()},
		{"client run", clientTook.Round(time.Millisecond).String()},
		{"whole test", time.Since(testStart).Round(time.Second).String()},
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	var table strings.Builder
	for _, r := range rows {
		line := fmt.Sprintf("%-*s  %s", width, r[0], r[1])
		table.WriteString("\n  " + line)
		fmt.Printf("integration: chaos | %s\n", line)
	}
	t.Logf("chaos figures:%s", table.String())
}

// verdict fails the run on what the client, the probes and the views saw.
func (run *chaosRun) verdict(figures chaosFigures, first, second *chaosVerdict) {
	t, client, probeStats, loggedHook := run.t, run.client, figures.probes, figures.loggedHook
	for _, u := range client.unexpected {
		t.Errorf("unexpected answer: %s", u)
	}
	if client.noRetryHdr > 0 {
		t.Errorf("%d answers 503 without Retry-After", client.noRetryHdr)
	}
	if client.hangs+client.late > 0 {
		t.Errorf("%d requests got no answer within %s (%d none at all within %s)", client.hangs+client.late, chaosRequestTimeout,
			client.hangs, chaosRequestTimeout+chaosStallAllowance)
	}
	if loggedHook > chaosRequestTimeout {
		t.Errorf("a sidecar took %s to answer a hook, more than %s", loggedHook, chaosRequestTimeout)
	}
	if client.unanswered > 0 {
		t.Errorf("%d hooks got no 2xx within %s", client.unanswered, chaosHookBudget)
	}
	if client.ok != chaosHooks {
		t.Errorf("%d hooks answered 2xx, want %d", client.ok, chaosHooks)
	}
	if probeStats.frozen == 0 {
		t.Errorf("no probe ran while the ensemble was frozen")
	}
	if probeStats.frozenFailed > 0 || probeStats.wrong > 0 {
		t.Errorf("probes through Traefik failed: %d of %d during the freeze, %d wrong answers of %d in all; first failures:\n%s",
			probeStats.frozenFailed, probeStats.frozen, probeStats.wrong, probeStats.total, strings.Join(probeStats.failures, "\n"))
	} else if probeStats.slow > 0 {
		t.Logf("%d probes outside the freeze got no answer within %s (machine load): %s",
			probeStats.slow, chaosProbeTimeout, strings.Join(probeStats.failures, "; "))
	}
	for i, v := range []*chaosVerdict{first, second} {
		when := []string{"after the client", "after garbage collection"}[i]
		for _, p := range v.problems {
			t.Errorf("%s: %s", when, p)
		}
	}
}

// prepareAll asks for every execution's public path (prepare writes nothing).
func prepareAll(t *testing.T, c *chaosClient, execs []*chaosExec) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(execs))
	sem := make(chan struct{}, 8)
	for i, e := range execs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, _, err := c.post(i%len(c.replicas), chaosHook(apiv1.EventPrepare, e, 0))
			switch {
			case err != nil:
				errs[i] = err
			case r.Status != http.StatusOK:
				errs[i] = fmt.Errorf("prepare %s: status %d: %s", e.id, r.Status, chaosTrunc(string(r.Body), 300))
			default:
				var reply apiv1.HookResponse
				if err := json.Unmarshal(r.Body, &reply); err != nil || len(reply.Routes) != 1 {
					errs[i] = fmt.Errorf("prepare %s: %s", e.id, chaosTrunc(string(r.Body), 300))
					return
				}
				e.path = reply.Routes[0].Path
			}
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
}

// sessionSummary counts the ZooKeeper sessions a sidecar's log shows: one
// per process start, and a new one after every expiry (the client logs the
// expiry at debug level, then makes a new session on its own).
func sessionSummary(log string) string {
	starts := strings.Count(log, `msg="zookeeper session established"`)
	expired := strings.Count(log, "session has been expired")
	return fmt.Sprintf("%d (%d after expiry)", starts+expired, expired)
}

func chaosConnect(t *testing.T, servers []string) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect(servers, 10*time.Second, zk.WithLogInfo(false))
	require.NoError(t, err)
	t.Cleanup(conn.Close)
	deadline := time.Now().Add(30 * time.Second)
	for conn.State() != zk.StateHasSession {
		require.True(t, time.Now().Before(deadline), "no ZooKeeper session")
		time.Sleep(20 * time.Millisecond)
	}
	return conn
}

// chaosZKView is one consistent read of everything the sidecars wrote.
type chaosZKView struct {
	meta         state.Meta
	records      map[string]*state.Execution
	tombstones   map[string]bool
	routers      map[string]map[string]string // name → child → value (rule, service)
	services     map[string]string            // name → server url ("" when missing)
	rootChildren []string
}

// readChaosZK reads the state root and Traefik's routers and services; it
// reads again if the revision or the root's children changed meanwhile
// (a garbage collection), so the view is one state.
func readChaosZK(conn *zk.Conn) (*chaosZKView, error) {
	root := "/" + chaosRoot
	for attempt := 0; attempt < 20; attempt++ {
		// Reads from a follower may lag the sidecars' committed writes.
		if _, err := conn.Sync("/"); err != nil {
			return nil, err
		}
		revData, before, err := conn.Get(chaosStateRoot + "/revision")
		if err != nil {
			return nil, err
		}
		_, rootBefore, err := conn.Get(root)
		if err != nil {
			return nil, err
		}
		v := &chaosZKView{records: map[string]*state.Execution{}, tombstones: map[string]bool{},
			routers: map[string]map[string]string{}, services: map[string]string{}}
		if err := json.Unmarshal(revData, &v.meta); err != nil {
			return nil, fmt.Errorf("revision: %w", err)
		}
		if v.rootChildren, _, err = conn.Children(root); err != nil {
			return nil, err
		}
		ids, _, err := conn.Children(chaosStateRoot + "/executions")
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			data, _, err := conn.Get(chaosStateRoot + "/executions/" + id)
			if err != nil {
				return nil, err
			}
			var rec state.Execution
			if err := json.Unmarshal(data, &rec); err != nil {
				return nil, fmt.Errorf("record %s: %w", id, err)
			}
			v.records[id] = &rec
		}
		names, _, err := conn.Children(chaosStateRoot + "/tombstones")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			v.tombstones[n] = true
		}
		routers, _, err := conn.Children(root + "/http/routers")
		if err != nil {
			return nil, err
		}
		for _, name := range routers {
			children, _, err := conn.Children(root + "/http/routers/" + name)
			if err != nil {
				return nil, err
			}
			vals := map[string]string{}
			for _, c := range children {
				data, _, err := conn.Get(root + "/http/routers/" + name + "/" + c)
				if err != nil {
					return nil, err
				}
				vals[c] = string(data)
			}
			v.routers[name] = vals
		}
		services, _, err := conn.Children(root + "/http/services")
		if err != nil {
			return nil, err
		}
		for _, name := range services {
			data, _, err := conn.Get(root + "/http/services/" + name + "/loadBalancer/servers/0/url")
			if err != nil && !errors.Is(err, zk.ErrNoNode) {
				return nil, err
			}
			v.services[name] = string(data)
		}
		_, after, err := conn.Get(chaosStateRoot + "/revision")
		if err != nil {
			return nil, err
		}
		_, rootAfter, err := conn.Get(root)
		if err != nil {
			return nil, err
		}
		if before.Version == after.Version && rootBefore.Cversion == rootAfter.Cversion {
			return v, nil
		}
	}
	return nil, errors.New("ZooKeeper kept changing while it was read")
}

// chaosVerdict is the comparison of the three views.
type chaosVerdict struct {
	lostIDs, phantomIDs map[string]bool
	halfWritten         int
	live, stopped       int
	converged           time.Duration
	problems            []string
}

func (v *chaosVerdict) lost() int    { return len(v.lostIDs) }
func (v *chaosVerdict) phantom() int { return len(v.phantomIDs) }

func (v *chaosVerdict) problem(format string, args ...any) {
	if len(v.problems) < 60 {
		v.problems = append(v.problems, fmt.Sprintf(format, args...))
	}
}

// checkChaosViews compares what the client believes with ZooKeeper and
// with what Traefik serves (polling Traefik until it agrees or converge
// passes: a route that stays wrong is lost or phantom).
func checkChaosViews(t *testing.T, conn *zk.Conn, tr *harness.Traefik, execs []*chaosExec, backends []*harness.Backend, converge time.Duration) *chaosVerdict {
	t.Helper()
	v := &chaosVerdict{lostIDs: map[string]bool{}, phantomIDs: map[string]bool{}}
	zv, err := readChaosZK(conn)
	if err != nil {
		v.problem("read ZooKeeper: %v", err)
		return v
	}
	root := "/" + chaosRoot
	byPath := map[string]*chaosExec{}
	for _, e := range execs {
		byPath[e.path] = e
	}

	// Half-written: every router and service complete and paired; every
	// live router owned by a record; every tombstoned router awaited by
	// the garbage collector; the counters in the revision znode right.
	owned := map[string]string{} // router name → execution id
	recordRoutes := 0
	for id, rec := range zv.records {
		recordRoutes += len(rec.Routes)
		for _, r := range rec.Routes {
			owned[r.Traefik.Name] = id
		}
	}
	liveRouters := map[string][]string{} // execution id → live router names
	for name, vals := range zv.routers {
		if name == kvschema.SentinelName {
			continue
		}
		rule, hasRule := vals["rule"]
		svc, hasSvc := vals["service"]
		url, hasURL := zv.services[name]
		switch {
		case !hasRule || !hasSvc || svc != name:
			v.halfWritten++
			v.problem("half-written: router %s has rule=%v service=%q", name, hasRule, svc)
			continue
		case !hasURL || url == "":
			v.halfWritten++
			v.problem("half-written: router %s has no service url", name)
			continue
		}
		if rule == kvschema.NeverMatchRule {
			if url != kvschema.DeadBackend {
				v.halfWritten++
				v.problem("half-written: tombstoned router %s still points at %s", name, url)
			}
			if !zv.tombstones[name] {
				v.halfWritten++
				v.problem("leaked: tombstoned router %s has no tombstone record (never collected)", name)
			}
			if id, ok := owned[name]; ok {
				v.halfWritten++
				v.problem("half-written: record of %s still names tombstoned router %s", id, name)
			}
			continue
		}
		id, ok := owned[name]
		if !ok {
			v.halfWritten++
			v.problem("half-written: live router %s (rule %s) is in no execution record", name, rule)
			for path, e := range byPath {
				if strings.Contains(rule, "`"+path+"`") {
					liveRouters[e.id] = append(liveRouters[e.id], name)
				}
			}
			continue
		}
		liveRouters[id] = append(liveRouters[id], name)
	}
	for name := range zv.services {
		if _, ok := zv.routers[name]; !ok {
			v.halfWritten++
			v.problem("half-written: service %s has no router", name)
		}
	}
	for name := range zv.tombstones {
		if vals, ok := zv.routers[name]; !ok || vals["rule"] != kvschema.NeverMatchRule {
			v.halfWritten++
			v.problem("half-written: tombstone record %s without its tombstoned router (rule %q)", name, vals["rule"])
		}
	}
	for _, c := range zv.rootChildren {
		if c != "http" {
			v.problem("leftover child %s of %s (a kick not deleted?)", c, root)
		}
	}
	if zv.meta.Routes != recordRoutes || zv.meta.Tombstones != len(zv.tombstones) {
		v.problem("revision counters %+v, but %d routes in records and %d tombstones", zv.meta, recordRoutes, len(zv.tombstones))
	}

	// ZooKeeper against the client.
	for _, e := range execs {
		if e.uncertain {
			continue
		}
		if e.live {
			v.live++
		} else {
			v.stopped++
		}
		rec := zv.records[e.id]
		switch {
		case e.live && rec == nil:
			v.lostIDs[e.id] = true
			v.problem("lost in ZooKeeper: %s answered live on %s, no record", e.id, backends[e.backend].Name())
		case e.live:
			want := backends[e.backend].URL()
			if len(rec.Routes) != 1 {
				v.lostIDs[e.id] = true
				v.problem("ZooKeeper: record of %s has %d routes", e.id, len(rec.Routes))
				break
			}
			r := rec.Routes[0]
			vals := zv.routers[r.Traefik.Name]
			if r.Traefik.Backend != want || r.Path != e.path || vals["rule"] != r.Traefik.Rule || zv.services[r.Traefik.Name] != want {
				v.lostIDs[e.id] = true
				v.problem("lost in ZooKeeper: %s answered live on %s; record %s → %s, router rule %q, service url %q",
					e.id, want, r.Traefik.Name, r.Traefik.Backend, vals["rule"], zv.services[r.Traefik.Name])
			}
			if n := len(liveRouters[e.id]); n != 1 {
				v.phantomIDs[e.id] = true
				v.problem("ZooKeeper: %s has %d live routers %v, want 1", e.id, n, liveRouters[e.id])
			}
		default:
			if rec != nil {
				v.phantomIDs[e.id] = true
				v.problem("phantom in ZooKeeper: %s answered stopped, record with %d routes", e.id, len(rec.Routes))
			}
			if len(liveRouters[e.id]) > 0 {
				v.phantomIDs[e.id] = true
				v.problem("phantom in ZooKeeper: %s answered stopped, live routers %v", e.id, liveRouters[e.id])
			}
		}
	}

	// Traefik against the client: every path, polled until it agrees.
	start := time.Now()
	var wrong map[string]string
	for {
		wrong = traefikMismatches(tr, execs, backends)
		if len(wrong) == 0 || time.Since(start) > converge {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	v.converged = time.Since(start)
	ids := make([]string, 0, len(wrong))
	for id := range wrong {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		var e *chaosExec
		for _, x := range execs {
			if x.id == id {
				e = x
			}
		}
		if e.live {
			v.lostIDs[id] = true
			v.problem("lost in Traefik: %s answered live on %s; %s", id, backends[e.backend].Name(), wrong[id])
		} else {
			v.phantomIDs[id] = true
			v.problem("phantom in Traefik: %s answered stopped; %s", id, wrong[id])
		}
	}
	return v
}

// traefikMismatches GETs every execution's path through Traefik: a live one
// must answer 200 from its backend, any other 404.
func traefikMismatches(tr *harness.Traefik, execs []*chaosExec, backends []*harness.Backend) map[string]string {
	var mu sync.Mutex
	wrong := map[string]string{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, e := range execs {
		if e.uncertain {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			status, body, err := harness.Get(ctx, tr.WebURL()+e.path+"/", "")
			ok := err == nil && status == http.StatusNotFound
			if e.live {
				ok = err == nil && status == http.StatusOK && strings.HasPrefix(body, backends[e.backend].Name()+" ")
			}
			if !ok {
				mu.Lock()
				wrong[e.id] = fmt.Sprintf("Traefik answered %d %q (%v)", status, chaosTrunc(body, 60), err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return wrong
}

// waitNoTombstones waits until the garbage collector removed every tombstone.
func waitNoTombstones(conn *zk.Conn, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		names, _, err := conn.Children(chaosStateRoot + "/tombstones")
		if err == nil && len(names) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d tombstones left after %s (%v)", len(names), timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func chaosTrunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// TestChaosAbandonedHook: a hook whose caller gave up while it waited for
// the writer (its request context ended) must not be applied afterwards.
// By then the caller, told nothing, may have sent a newer hook through
// another replica; applying the stale one would undo it, here re-creating
// the routes of an execution the caller stopped: a phantom route. Replica
// a's writer is held back so that the start waits in its queue, as it
// does behind slow transactions while ZooKeeper struggles.
func TestChaosAbandonedHook(t *testing.T) {
	requireEnv(t)
	b, err := harness.StartBackend("A")
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ip, port := b.Addr()
	notebook := func(id string) *execution.Execution {
		return &execution.Execution{ID: execution.ID(id), Services: []execution.Service{{Name: "app0", Ports: []execution.Port{
			{Name: "web", PortNumber: 8080, Protocol: "tcp", Proxy: true, ExternalIP: ip, ExternalPort: port}}}}}
	}
	const root, stateRoot = "chaos-abandoned-traefik", "/chaos-abandoned-state"
	replica := func(run bool) *provider.Writer {
		store, err := zkstore.Connect(zkstore.Options{Servers: env.servers, SessionTimeout: 10 * time.Second, OpTimeout: 10 * time.Second})
		require.NoError(t, err)
		t.Cleanup(store.Close)
		require.NoError(t, store.WaitConnected(time.Minute))
		deriver, err := keys.NewDeriver([]byte(chaosSecret), "chaos")
		require.NoError(t, err)
		p, err := provider.NewWriter(store, deriver, provider.Config{RootKey: root, StateRoot: stateRoot,
			Settings: execution.Settings{BasePath: "/zoe/proxy", Routing: execution.RoutingPath}, GCInterval: time.Hour})
		require.NoError(t, err)
		require.NoError(t, p.Init())
		if run {
			t.Cleanup(p.Start(context.Background()))
		}
		return p
	}
	a, other := replica(false), replica(true)
	id := fmt.Sprintf("abandoned-%d", time.Now().UnixNano()%1e9)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err = a.StartExecution(ctx, notebook(id))
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "the start must wait: replica a's writer is not running")
	// The caller does not know whether the start happened; it stops the
	// execution through the other replica, which answers.
	_, err = other.StopExecution(context.Background(), execution.ID(id))
	require.NoError(t, err)

	// Replica a's writer comes round to its queue; a later hook through
	// it is answered only once the queued one has been dealt with.
	t.Cleanup(a.Start(context.Background()))
	_, err = a.StartExecution(context.Background(), notebook(id+"-flush"))
	require.NoError(t, err)

	rec, err := other.Execution(execution.ID(id))
	require.NoError(t, err)
	require.Nil(t, rec, "the abandoned start was applied after the stop that followed it: phantom routes %+v", rec)
}

// checkTheChecker makes sure the invariant checker can fail: with one live
// and one stopped execution swapped in the client's view, and a router
// written without its service, it must report a lost, a phantom and a
// half-written route.
func checkTheChecker(t *testing.T, conn *zk.Conn, tr *harness.Traefik, execs []*chaosExec, backends []*harness.Backend) {
	t.Helper()
	var live, stopped *chaosExec
	for _, e := range execs {
		switch {
		case e.uncertain:
		case e.live && live == nil:
			live = e
		case !e.live && stopped == nil:
			stopped = e
		}
	}
	if live == nil || stopped == nil {
		t.Errorf("checker self-test: no live or no stopped execution")
		return
	}
	swapped := *live
	swapped.live = false
	revived := *stopped
	revived.live, revived.backend = true, 0
	router := "/" + chaosRoot + "/http/routers/zsc-checker-selftest"
	_, err := conn.Create(router, []byte(kvschema.DirectoryValue), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = conn.Create(router+"/rule", []byte("Path(`/checker-selftest`)"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	v := checkChaosViews(t, conn, tr, []*chaosExec{&swapped, &revived}, backends, 0)
	require.NoError(t, conn.Delete(router+"/rule", -1))
	require.NoError(t, conn.Delete(router, -1))
	if !v.phantomIDs[live.id] || !v.lostIDs[stopped.id] || v.halfWritten != 1 {
		t.Errorf("checker self-test: want %s phantom, %s lost and 1 half-written; got phantom %v, lost %v, half-written %d",
			live.id, stopped.id, v.phantomIDs, v.lostIDs, v.halfWritten)
	}
}

// stallMeter records when the test process itself was not scheduled: on
// a loaded machine every process can stand still for seconds, and time
// the client could not run is not time the sidecar kept it waiting.
type stallMeter struct {
	mu     sync.Mutex
	stalls [][2]time.Time
	max    time.Duration
}

const stallTick = 20 * time.Millisecond

// run samples until ctx ends; a tick late by more than 100ms is a stall.
func (m *stallMeter) run(ctx context.Context) {
	for {
		before := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-time.After(stallTick):
		}
		now := time.Now()
		if late := now.Sub(before) - stallTick; late > 100*time.Millisecond {
			m.mu.Lock()
			m.stalls = append(m.stalls, [2]time.Time{now.Add(-late), now})
			m.max = max(m.max, late)
			m.mu.Unlock()
		}
	}
}

// within is how long the process stood still between from and to.
func (m *stallMeter) within(from, to time.Time) time.Duration {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var d time.Duration
	for _, s := range m.stalls {
		lo, hi := s[0], s[1]
		if lo.Before(from) {
			lo = from
		}
		if hi.After(to) {
			hi = to
		}
		if hi.After(lo) {
			d += hi.Sub(lo)
		}
	}
	return d
}

func (m *stallMeter) summary() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var total time.Duration
	for _, s := range m.stalls {
		total += s[1].Sub(s[0])
	}
	return fmt.Sprintf("%d, %s in all, longest %s", len(m.stalls), total.Round(time.Millisecond), m.max.Round(time.Millisecond))
}

// chaosProbeClient opens a connection per probe and has no timeout of its
// own: the caller's context bounds it.
var chaosProbeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

var hookDurationPattern = regexp.MustCompile(`msg=hook .*duration=(\S+)`)

// maxLoggedHook is the longest hook the sidecars logged (their own
// measure, from request decoded to answer written).
func maxLoggedHook(replicas []chaosReplica) time.Duration {
	var longest time.Duration
	for _, s := range replicas {
		for _, m := range hookDurationPattern.FindAllStringSubmatch(s.Logs(), -1) {
			if d, err := time.ParseDuration(m[1]); err == nil {
				longest = max(longest, d)
			}
		}
	}
	return longest
}
