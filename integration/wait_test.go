package integration

// ?wait must never answer early: every start answered "served": true is
// followed at once by a 200 from the backend that start wrote, and every
// stop answered "unserved": true by a 404, through a real Traefik, while
// other writers churn the tree Traefik is re-reading.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

// waitHook posts one hook through the harness's client and decodes a 200;
// safe in goroutines (no testing.T).
func waitHook(c *harness.Client, h apiv1.HookRequest, query string) (apiv1.HookResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got apiv1.HookResponse
	r, err := c.Hook(ctx, h, query)
	if err != nil {
		return got, err
	}
	return got, r.OK(&got)
}

// TestWaitMeansServedUnderChurn reproduces the two ways a shallow check
// answered early: (A) a new execution started right after a burst of
// concurrent starts of another one, while Traefik re-reads a tree of a few
// hundred routes (Traefik may load the router before its service); (B) a
// restart with a changed backend (the router already exists, the old
// backend keeps serving until the next reload). Several clients run
// start → restart on the other backend → stop, each with ?wait, and probe
// Traefik once, immediately after every answer.
func TestWaitMeansServedUnderChurn(t *testing.T) {
	requireOwnStack(t)
	const root, stateRoot = "traefik-wait", "/wait-churn"
	tr := startTraefik(t, root)
	sc := startWebSidecar(t, webSidecarOptions{rootKey: root, stateRoot: stateRoot,
		args: []string{"--traefik-api-url=" + tr.APIURL()}})
	client := sc.Client()
	backends := map[string]*harness.Backend{"A": startBackend(t, "A"), "B": startBackend(t, "B")}
	web := tr.WebURL()

	// exec is execution id with one proxied port on backend.
	exec := func(id, backend string) execution.Execution {
		ip, port := backends[backend].Addr()
		return execution.Execution{ID: execution.ID(id), Services: []execution.Service{{Name: "nb0", Ports: []execution.Port{
			{PortNumber: 8888, Proxy: true, ExternalIP: ip, ExternalPort: port},
		}}}}
	}
	start := func(id, backend string) apiv1.HookRequest { return harness.Hook(apiv1.EventStart, exec(id, backend)) }

	// A few hundred routes make each of Traefik's re-reads take a while,
	// so that writes land while it walks the tree.
	const filler = 300
	fill := apiv1.ExecutionsRequest{Executions: []execution.Execution{}}
	for i := 0; i < filler; i++ {
		fill.Executions = append(fill.Executions, exec(fmt.Sprintf("fill%d", i), "A"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := client.Sync(ctx, fill, false)
	require.NoError(t, err)
	require.NoError(t, r.OK(nil))
	t.Cleanup(func() {
		_, _ = client.Sync(context.Background(), apiv1.ExecutionsRequest{Executions: []execution.Execution{}}, false)
	})
	first, err := waitHook(client, start("fill0", "A"), "wait=2m")
	require.NoError(t, err)
	require.NotNil(t, first.Served)
	require.True(t, *first.Served, "the filler routes are served")

	// Churn: one execution restarted again and again on alternating
	// backends by concurrent clients, without waiting.
	stop := make(chan struct{})
	var churnWG sync.WaitGroup
	var churned atomic.Int64
	burst := func() {
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if _, err := waitHook(client, start("churn", []string{"A", "B"}[i%2]), ""); err == nil {
					churned.Add(1)
				}
			}(i)
		}
		wg.Wait()
	}
	churnWG.Add(1)
	go func() {
		defer churnWG.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
				burst()
			}
		}
	}()

	type outcome struct {
		step     string
		answered bool // served / unserved true
		wrong    string
		took     time.Duration
	}
	var mu sync.Mutex
	var outcomes []outcome
	record := func(o outcome) {
		mu.Lock()
		defer mu.Unlock()
		outcomes = append(outcomes, o)
	}
	probe := func(path string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		status, body, err := harness.Get(ctx, web+path+"/", "")
		if err != nil {
			return 0, err.Error()
		}
		return status, body
	}
	// startStep posts a start with ?wait and, when it answers served,
	// probes Traefik at once for backend's name.
	startStep := func(step, id, backend string) (path string, ok bool) {
		began := time.Now()
		got, err := waitHook(client, start(id, backend), "wait=30s")
		took := time.Since(began)
		if err != nil || len(got.Routes) != 1 {
			record(outcome{step: step, wrong: fmt.Sprintf("start %s: %v %+v", id, err, got)})
			return "", false
		}
		path = got.Routes[0].Path
		if got.Served == nil || !*got.Served {
			record(outcome{step: step})
			return path, true
		}
		status, body := probe(path)
		o := outcome{step: step, answered: true, took: took}
		if status != http.StatusOK || !strings.HasPrefix(body, backend+" ") {
			o.wrong = fmt.Sprintf("%s: served=true, then Traefik answered %d %q (want 200 from backend %s)", id, status, harness.Truncate(body, 120), backend)
		}
		record(o)
		return path, true
	}

	const clients, cycles = 3, 6
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for n := 0; n < cycles; n++ {
				id := fmt.Sprintf("w%dn%d", c, n)
				first, second := "A", "B"
				if (c+n)%2 == 1 {
					first, second = "B", "A"
				}
				// (A): a burst of concurrent starts, then a new execution.
				burst()
				path, ok := startStep("start new execution", id, first)
				if !ok {
					continue
				}
				// (B): the same execution on the other backend.
				startStep("restart on the other backend", id, second)
				began := time.Now()
				got, err := waitHook(client, harness.StopHook(id), "wait=30s")
				took := time.Since(began)
				switch {
				case err != nil:
					record(outcome{step: "stop", wrong: fmt.Sprintf("stop %s: %v", id, err)})
				case got.Unserved == nil:
					record(outcome{step: "stop", wrong: fmt.Sprintf("stop %s?wait: no \"unserved\" in the answer", id)})
				case !*got.Unserved:
					record(outcome{step: "stop"})
				default:
					status, body := probe(path)
					o := outcome{step: "stop", answered: true, took: took}
					if status != http.StatusNotFound {
						o.wrong = fmt.Sprintf("%s: unserved=true, then Traefik answered %d %q (want 404)", id, status, harness.Truncate(body, 120))
					}
					record(o)
				}
			}
		}(c)
	}
	wg.Wait()
	close(stop)
	churnWG.Wait()

	perStep := map[string][3]int{} // answered, not answered, wrong
	slowest := map[string]time.Duration{}
	var wrong []string
	for _, o := range outcomes {
		slowest[o.step] = max(slowest[o.step], o.took)
		n := perStep[o.step]
		switch {
		case o.wrong != "":
			n[2]++
			wrong = append(wrong, o.step+": "+o.wrong)
		case o.answered:
			n[0]++
		default:
			n[1]++
		}
		perStep[o.step] = n
	}
	for step, n := range perStep {
		t.Logf("%-30s answered true and right: %d, answered false (timed out): %d, wrong: %d; slowest true answer %s",
			step, n[0], n[1], n[2], slowest[step].Round(time.Millisecond))
	}
	t.Logf("churn: %d concurrent starts of one execution answered 200", churned.Load())
	assert.Empty(t, wrong, "answers that Traefik contradicted")
	for _, step := range []string{"start new execution", "restart on the other backend", "stop"} {
		n := perStep[step]
		assert.GreaterOrEqual(t, n[0], clients*cycles*3/4, "%s: most answers must be true within 30 s, or the test proves little", step)
	}
}
