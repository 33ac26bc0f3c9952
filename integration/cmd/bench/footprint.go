package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/stats"
)

// footprint records, at size n: mirror lag from A to B, the body's size,
// idle Traefik CPU and RSS, the sidecars' and redis-server's RSS, and
// Traefik's routing cost per request.
func (r *providersRun) footprint(ctx context.Context, n int) error {
	add := func(section, variant, metric string, v float64, unit string) {
		r.res.add(sample{Section: section, Variant: variant, Routes: n, Present: n, Rep: 1, Metric: metric, Value: v, Unit: unit})
	}
	lags, err := r.mirrorLag(ctx, n)
	if err != nil {
		return err
	}
	for i, l := range lags {
		r.res.add(sample{Section: secLag, Variant: "http", Routes: n, Present: n, Rep: i + 1, Metric: "lag", Value: l, Unit: "ms"})
	}
	r.progress("providers: mirror lag A → B at %d routes: p50 %s, p99 %s (%d hooks)", n,
		millis(stats.Percentile(lags, 50)), millis(stats.Percentile(lags, 99)), len(lags))

	plain, err := r.bodySize(ctx, false)
	if err != nil {
		return err
	}
	gz, err := r.bodySize(ctx, true)
	if err != nil {
		return err
	}
	add(secFootprint, "http", "body_bytes", float64(plain), "B")
	add(secFootprint, "http", "body_gzip_bytes", float64(gz), "B")

	if err := idle(ctx, r.all...); err != nil {
		return err
	}
	window := r.cfg.idleFor
	c0 := map[*traefikObs]int64{}
	for _, o := range []*traefikObs{r.httpT, r.redisT} {
		c0[o], _ = cpuTicks(o.traefik().Pid())
	}
	time.Sleep(window)
	for _, o := range []*traefikObs{r.httpT, r.redisT} {
		c1, err := cpuTicks(o.traefik().Pid())
		if err == nil {
			add(secFootprint, o.name, "idle_cpu_pct", float64(c1-c0[o])*10/float64(window.Milliseconds())*100, "%")
		}
		if rss, err := procStatus(o.traefik().Pid(), "VmRSS"); err == nil {
			add(secFootprint, o.name, "traefik_rss", mib(rss), "MiB")
		}
	}
	for name, pid := range map[string]int{"sidecar-a": r.a.Pid(), "sidecar-b": r.bb.Pid()} {
		if rss, err := procStatus(pid, "VmRSS"); err == nil {
			add(secFootprint, name, "rss", mib(rss), "MiB")
		}
		if hwm, err := procStatus(pid, "VmHWM"); err == nil {
			add(secFootprint, name, "vmhwm", mib(hwm), "MiB")
		}
	}
	if rss, err := r.redisSrv.rss(); err == nil {
		add(secFootprint, "redis-server", "rss", mib(rss), "MiB")
	}

	for _, probe := range []struct{ kind, path string }{{"hit", r.httpProbe}, {"404", "/zoe/proxy/" + routeKey(-1) + "/"}} {
		perReq, reqs, err := routingCost(ctx, r.httpT, probe.path, r.cfg.routingFor)
		if err != nil {
			return err
		}
		add(secRouting, "http", "cpu_per_request_"+probe.kind, perReq, "ms")
		add(secRouting, "http", "requests_"+probe.kind, float64(reqs), "count")
	}
	r.progress("providers: %d routes: body %s B (gzip %s B); routing cost hit %s, 404 %s of Traefik CPU per request",
		n, count(float64(plain)), count(float64(gz)),
		millis(r.res.med(secRouting, "http", n, "cpu_per_request_hit")), millis(r.res.med(secRouting, "http", n, "cpu_per_request_404")))
	return nil
}

// mirrorLag starts cfg.lagSamples executions through A and times, from
// each answer, until B's /readyz shows a mirror revision at least the
// transaction's (the router name ends with it). /readyz is read instead of
// GET /v1/traefik so that rendering the body is not counted.
func (r *providersRun) mirrorLag(ctx context.Context, n int) ([]float64, error) {
	var lags []float64
	for i := range r.cfg.lagSamples {
		id := fmt.Sprintf("lag%d-%d", n, i)
		reply, _, err := r.h.start(ctx, id)
		if err != nil {
			return nil, err
		}
		answered := time.Now()
		r.httpPresent++
		rev, err := routerRevision(reply.Routes[0].Router)
		if err != nil {
			return nil, err
		}
		for {
			got, err := mirrorRevision(ctx, r.bb.URL())
			if err != nil {
				return nil, err
			}
			if got >= rev {
				break
			}
			if time.Since(answered) > time.Minute {
				return nil, fmt.Errorf("revision %d never reached B's mirror (at %d)", rev, got)
			}
			time.Sleep(time.Millisecond)
		}
		lags = append(lags, ms(time.Since(answered)))
		// Spaced, so that each change is a change of its own.
		time.Sleep(50 * time.Millisecond)
	}
	return lags, nil
}

// routerRevision is the revision a sidecar's router name ends with
// ("zsc-<key16>-<revision>").
func routerRevision(router string) (int64, error) {
	i := strings.LastIndexByte(router, '-')
	if i < 0 {
		return 0, fmt.Errorf("router name %q carries no revision", router)
	}
	return strconv.ParseInt(router[i+1:], 10, 64)
}

// mirrorRevision reads the mirror's revision from a sidecar's /readyz.
func mirrorRevision(ctx context.Context, base string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var ready struct {
		Mirror *struct {
			Revision int64 `json:"revision"`
		} `json:"mirror"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ready); err != nil {
		return 0, err
	}
	if ready.Mirror == nil {
		return 0, fmt.Errorf("%s/readyz has no mirror", base)
	}
	return ready.Mirror.Revision, nil
}

// body GETs B's /v1/traefik, gzipped or not, as Traefik does.
func (r *providersRun) body(ctx context.Context, gzip bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.bb.URL()+"/v1/traefik", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	// A transport of its own: the sidecar holds a second poll on the same
	// connection.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}, Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/traefik: %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func (r *providersRun) bodySize(ctx context.Context, gzip bool) (int, error) {
	b, err := r.body(ctx, gzip)
	return len(b), err
}

// routingCost sends requests for path through o's web entry point, one at a
// time on a kept-alive connection, for about d, and returns Traefik's CPU
// time per request (ms) and the requests sent.
func routingCost(ctx context.Context, o *traefikObs, path string, d time.Duration) (float64, int, error) {
	if err := o.waitIdle(ctx); err != nil {
		return 0, 0, err
	}
	url := o.web() + path
	pid := o.traefik().Pid()
	c0, err := cpuTicks(pid)
	if err != nil {
		return 0, 0, err
	}
	reqs := 0
	for end := time.Now().Add(d); time.Now().Before(end); reqs++ {
		if _, err := status(ctx, url); err != nil {
			return 0, 0, err
		}
	}
	c1, err := cpuTicks(pid)
	if err != nil {
		return 0, 0, err
	}
	return float64(c1-c0) * 10 / float64(reqs), reqs, nil
}
