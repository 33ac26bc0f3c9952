package integration

// A bounded load test of the HTTP API: 200 concurrent clients on
// loopback, each posting start and stop hooks for executions of its own,
// against one real sidecar on the shared ensemble. Every answer must be 200
// or the documented 503 with Retry-After; the sidecar's peak memory must
// stay under a fixed bound.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/stats"
)

const (
	loadClients        = 200
	loadExecsPerClient = 5 // a start and a stop each: 10 hooks per client
	// loadMaxRSS bounds the sidecar's peak resident memory (VmHWM). Idle,
	// the binary holds about 15-20 MiB; what load adds is bounded by
	// design: at most --max-concurrent-applies hooks in flight, bodies of
	// at most 1 MiB (ours are ~0.5 KiB), ZooKeeper transactions of at most
	// 512 KiB, and per-connection buffers of a few KiB for 200 connections.
	// 128 MiB is several times what that adds up to, yet low enough to
	// catch per-request leaks or unbounded queues (4,000 requests × even
	// 32 KiB retained would exceed it).
	loadMaxRSS = 128 << 20
	// loadDeadline bounds the whole run on a shared 2-core machine.
	loadDeadline = 5 * time.Minute
)

// procStatusKiB reads a "<key>: <n> kB" line of /proc/<pid>/status.
func procStatusKiB(t *testing.T, pid int, key string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err, line)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

type loadStats struct {
	mu        sync.Mutex
	requests  int
	byStatus  map[int]int
	latencies []time.Duration
	problems  []string
}

func (s *loadStats) add(status int, took time.Duration, problem string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.byStatus[status]++
	s.latencies = append(s.latencies, took)
	if problem != "" && len(s.problems) < 20 {
		s.problems = append(s.problems, problem)
	}
}

func (s *loadStats) percentile(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	return stats.Percentile(s.latencies, p*100)
}

// runLoad has loadClients clients post a start then a stop for each of
// their executions; a 503 is retried after its Retry-After, at most 60
// times. It returns the statistics of every answer.
func runLoad(t *testing.T, sc *apiSidecar, prefix string, backendPort int) *loadStats {
	t.Helper()
	stats := &loadStats{byStatus: map[int]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), loadDeadline)
	defer cancel()
	// One connection per client, kept alive: 200 sockets on loopback.
	transport := &http.Transport{Proxy: nil, MaxIdleConns: loadClients, MaxIdleConnsPerHost: loadClients, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 2 * time.Minute}

	api := sc.Client(harness.WithHTTPClient(client))
	// Every answer is counted; a 503 is retried after its Retry-After (the
	// policy gives up on one without a valid Retry-After).
	send := func(hook apiv1.HookRequest) func(ctx context.Context) (*harness.Reply, error) {
		return func(ctx context.Context) (*harness.Reply, error) {
			start := time.Now()
			r, err := api.Hook(ctx, hook, "")
			if err != nil {
				stats.add(-1, time.Since(start), "transport: "+err.Error())
				return nil, err
			}
			problem := ""
			switch r.Status {
			case http.StatusOK:
			case http.StatusServiceUnavailable:
				if _, ok := r.RetryAfter(); !ok {
					problem = fmt.Sprintf("503 without a valid Retry-After (%q): %s", r.Header.Get("Retry-After"), r.Body)
				}
			default:
				problem = fmt.Sprintf("status %d: %s", r.Status, harness.Truncate(string(r.Body), 300))
			}
			stats.add(r.Status, r.Took, problem)
			return r, nil
		}
	}
	post := func(hook apiv1.HookRequest) {
		_, _ = harness.Retry(ctx, harness.RetryPolicy{Tries: 61}, send(hook))
	}

	var wg sync.WaitGroup
	var ready sync.WaitGroup
	ready.Add(loadClients)
	startLine := make(chan struct{})
	for c := 0; c < loadClients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			ready.Done()
			<-startLine
			for e := 0; e < loadExecsPerClient; e++ {
				id := fmt.Sprintf("%s%dx%d", prefix, c, e)
				post(harness.Hook(apiv1.EventStart, apiIssueExecution(id, backendPort)))
				post(harness.StopHook(id))
			}
		}(c)
	}
	ready.Wait()
	close(startLine)
	wg.Wait()
	require.NoError(t, ctx.Err(), "the load run exceeded %s", loadDeadline)
	return stats
}

func startLoadSidecar(t *testing.T, root, stateRoot string, args ...string) *apiSidecar {
	t.Helper()
	return runSidecar(t, harness.SidecarOptions{
		Servers:   env.servers,
		RootKey:   root,
		StateRoot: stateRoot,
		KeySecret: "load-key-secret" + strings.ReplaceAll(stateRoot, "/", "-") + "-0123456789abcdef",
		// Info level: 4,000 debug lines would measure the logger.
		Args: append([]string{"--log-level=info", "--log-format=json"}, args...),
	})
}

// TestLoadConcurrentHooks: 200 clients × 5 executions × (start + stop) =
// 2,000 hooks against one sidecar (own root key and state root, no Traefik
// watching, so the shared Traefik is not reloaded 2,000 times). With the
// default --max-concurrent-applies (256) the 200 clients never exceed it, so
// 503s can only mean ZooKeeper was slow.
func TestLoadConcurrentHooks(t *testing.T) {
	requireEnv(t)
	a := startBackend(t, "A")
	_, aPort := a.Addr()

	for _, tc := range []struct {
		name, root, stateRoot string
		args                  []string
		want503               bool
	}{
		{name: "default limit", root: "loadroot", stateRoot: "/load-state"},
		// A limit below the number of clients: the documented 503 with
		// Retry-After must appear, and every hook still succeeds on retry.
		{name: "max-concurrent-applies 16", root: "loadroot16", stateRoot: "/load-state-16",
			args: []string{"--max-concurrent-applies=16"}, want503: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := startLoadSidecar(t, tc.root, tc.stateRoot, tc.args...)
			pid := sc.Pid()
			require.Positive(t, pid)
			idleHWM := procStatusKiB(t, pid, "VmHWM")

			start := time.Now()
			stats := runLoad(t, sc, "l", aPort)
			elapsed := time.Since(start)

			hwm := procStatusKiB(t, pid, "VmHWM")
			rss := procStatusKiB(t, pid, "VmRSS")
			threads := procStatusKiB(t, pid, "Threads")
			hooks := loadClients * loadExecsPerClient * 2
			t.Logf("load %s: %d clients, %d hooks, %d requests in %s (%.0f req/s): 200: %d, 503: %d, other: %d; "+
				"latency p50 %s p99 %s max %s; sidecar VmHWM %d KiB (idle %d KiB, bound %d KiB), VmRSS %d KiB, threads %d",
				tc.name, loadClients, hooks, stats.requests, elapsed.Round(time.Millisecond),
				float64(stats.requests)/elapsed.Seconds(), stats.byStatus[200], stats.byStatus[503],
				stats.requests-stats.byStatus[200]-stats.byStatus[503],
				stats.percentile(0.5).Round(time.Millisecond), stats.percentile(0.99).Round(time.Millisecond),
				stats.percentile(1).Round(time.Millisecond), hwm, idleHWM, loadMaxRSS>>10, rss, threads)

			assert.Empty(t, stats.problems, "answers other than 200 or 503 with Retry-After")
			assert.Equal(t, hooks, stats.byStatus[200], "every hook succeeded (after retries of 503s)")
			assert.Equal(t, stats.requests, stats.byStatus[200]+stats.byStatus[503], "only 200 and 503")
			if tc.want503 {
				assert.Positive(t, stats.byStatus[503], "200 clients over a limit of 16 must meet 503s")
			}
			assert.Less(t, hwm*1024, int64(loadMaxRSS), "sidecar peak RSS")

			// Every execution was stopped last: nothing is live.
			r := sc.get("/v1/routes")
			require.Equal(t, http.StatusOK, r.status, r)
			routes := apiDecode[apiRoutesReply](t, r)
			live := 0
			for _, rt := range routes.Routes {
				if rt.Backend != "" {
					live++
				}
			}
			assert.Zero(t, live, "routes still live after every stop (of %d listed)", len(routes.Routes))

			// Still healthy, and nothing went wrong inside.
			r = sc.request(http.MethodGet, "/readyz", nil, apiNoAuth, 10*time.Second)
			assert.Equal(t, http.StatusOK, r.status, r)
			logs := sc.Logs()
			assert.NotContains(t, logs, `"level":"ERROR"`)
			assert.NotContains(t, logs, "panic")
			assert.NotContains(t, logs, apiToken)
			metrics := sc.metrics()
			t.Logf("load %s: hooks_total start/200 %.0f, stop/200 %.0f, start/503 %.0f, stop/503 %.0f",
				tc.name, metrics[`zk_sidecar_hooks_total{event="start",status="200"}`],
				metrics[`zk_sidecar_hooks_total{event="stop",status="200"}`],
				metrics[`zk_sidecar_hooks_total{event="start",status="503"}`],
				metrics[`zk_sidecar_hooks_total{event="stop",status="503"}`])
		})
	}
}
