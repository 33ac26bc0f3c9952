package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// The HTTP-provider path (-http-provider): two sidecar replicas on one
// ensemble, hooks posted to A, a Traefik polling B's GET /v1/traefik with
// held polls. Per size: hook → served and stop → 404 through Traefik, the
// mirror's lag from A's answer to B's mirror, Traefik's idle CPU and RSS,
// the sidecar's RSS and the body's size; once with the sidecar's default
// certificate in the body and once without (Traefik then generates one per
// reload), which moves Traefik's rebuild floor.

// httpVariant is one configuration of the path.
type httpVariant struct {
	name string
	args []string
}

var httpVariants = []httpVariant{
	{"default certificate", []string{"--traefik-default-certificate"}},
	{"no default certificate", nil},
}

// httpFigures are one size's figures of one variant.
type httpFigures struct {
	variant                  string
	size                     int
	served, stopped          []time.Duration
	lag                      []time.Duration
	idleCPU                  float64 // share of one core
	traefikRSS, sidecarRSS   int64   // bytes
	bodyBytes, gzipBodyBytes int
}

const httpReadToken = "bench-read-token-0123456789abcdef"

func (b *bench) httpProvider(ctx context.Context, ens *harness.Ensemble, sizes []int, reps int) ([]httpFigures, error) {
	var out []httpFigures
	for i, v := range httpVariants {
		figs, err := b.httpVariant(ctx, ens, fmt.Sprintf("bench-http-%d", i), v, sizes, reps)
		out = append(out, figs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (b *bench) httpVariant(ctx context.Context, ens *harness.Ensemble, root string, v httpVariant, sizes []int, reps int) ([]httpFigures, error) {
	start := func() (*harness.Sidecar, error) {
		return harness.StartSidecar(ctx, harness.SidecarOptions{
			Binary: b.sidecar, Servers: ens.Servers(), RootKey: root, StateRoot: "/" + root + "-state",
			Token: b.token, KeySecret: b.secret,
			Args: append([]string{"--gc-quiet-window=1h", "--log-level=warn"}, v.args...),
			Env:  []string{"TRAEFIK_ZK_SIDECAR_TRAEFIK_TOKEN=" + httpReadToken},
		})
	}
	a, err := start()
	if err != nil {
		return nil, err
	}
	defer a.Close()
	replicaB, err := start()
	if err != nil {
		return nil, err
	}
	defer replicaB.Close()
	tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{Throttle: b.cfg.throttle, HTTP: &harness.HTTPProviderOptions{
		Endpoint: replicaB.URL() + "/v1/traefik", PollInterval: 100 * time.Millisecond, PollTimeout: 5 * time.Second,
		Headers: map[string]string{"Authorization": "Bearer " + httpReadToken},
	}})
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	h := b.hooksFor(a)
	present := 0
	var out []httpFigures
	for _, n := range sizes {
		if n > present {
			b.progress("http provider (%s): growing to %d routes", v.name, n)
			if _, err := h.populate(ctx, ids(root+"-p", present, n), 32); err != nil {
				return out, err
			}
			present = n
		}
		// The last populated route must be served before measuring.
		last, err := h.execution(ctx, ids(root+"-p", n-1, n)[0])
		if err != nil {
			return out, err
		}
		if _, err := waitStatus(ctx, tr.WebURL()+last+"/", http.StatusOK, time.Now(), 5*time.Minute); err != nil {
			return out, fmt.Errorf("populated routes never served: %w", err)
		}
		f := httpFigures{variant: v.name, size: n}
		for rep := range reps {
			id := fmt.Sprintf("%s-m%d-%d", root, n, rep)
			t0 := time.Now()
			reply, _, err := h.start(ctx, id)
			if err != nil {
				return out, err
			}
			path := tr.WebURL() + reply.Routes[0].Path + "/"
			t1, err := waitStatus(ctx, path, http.StatusOK, t0, 2*time.Minute)
			if err != nil {
				return out, err
			}
			f.served = append(f.served, t1.Sub(t0))
			t0 = time.Now()
			if _, _, err := h.post(ctx, "stop", id); err != nil {
				return out, err
			}
			t1, err = waitStatus(ctx, path, http.StatusNotFound, t0, 2*time.Minute)
			if err != nil {
				return out, err
			}
			f.stopped = append(f.stopped, t1.Sub(t0))
		}
		var lastLag string
		if f.lag, lastLag, err = mirrorLag(ctx, h, replicaB, root, n, 30); err != nil {
			return out, err
		}
		present += 30
		// Idle means Traefik has applied the last change and been polled
		// (held) since: served, then more than a hold.
		if _, err := waitStatus(ctx, tr.WebURL()+lastLag+"/", http.StatusOK, time.Now(), 2*time.Minute); err != nil {
			return out, err
		}
		time.Sleep(6 * time.Second)
		if f.idleCPU, err = idleCPU(tr.Pid(), 10*time.Second); err != nil {
			return out, err
		}
		f.traefikRSS, _ = procStatus(tr.Pid(), "VmRSS")
		f.sidecarRSS, _ = procStatus(replicaB.Pid(), "VmHWM")
		if f.bodyBytes, f.gzipBodyBytes, err = bodySizes(ctx, replicaB.URL()); err != nil {
			return out, err
		}
		b.progress("http provider (%s), %d routes: served median %s, stop → 404 median %s, lag p50 %s p99 %s, idle Traefik CPU %.1f %%, body %d B (%d gzipped)",
			v.name, n, median(f.served), median(f.stopped), pct(f.lag, 0.5), pct(f.lag, 0.99), 100*f.idleCPU, f.bodyBytes, f.gzipBodyBytes)
		out = append(out, f)
	}
	return out, nil
}

// waitStatus probes url every pollInterval until it answers want, and
// returns when it first did.
func waitStatus(ctx context.Context, url string, want int, since time.Time, limit time.Duration) (time.Time, error) {
	for {
		if st, err := status(ctx, url); err == nil && st == want {
			return time.Now(), nil
		}
		if time.Since(since) > limit {
			return time.Time{}, fmt.Errorf("%s never answered %d within %s", url, want, limit)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// mirrorLag posts count start hooks to one replica and measures, for each,
// the time from its answer to the other replica's mirror holding its
// revision (its /readyz, polled every millisecond).
// It also returns the last route's path.
func mirrorLag(ctx context.Context, h *hooks, other *harness.Sidecar, root string, size, count int) ([]time.Duration, string, error) {
	var (
		lags []time.Duration
		last string
	)
	for i := range count {
		before, err := mirrorRevision(ctx, other.URL())
		if err != nil {
			return nil, "", err
		}
		reply, _, err := h.start(ctx, fmt.Sprintf("%s-lag%d-%d", root, size, i))
		if err != nil {
			return nil, "", err
		}
		answered := time.Now()
		last = reply.Routes[0].Path
		for {
			rev, err := mirrorRevision(ctx, other.URL())
			if err != nil {
				return nil, "", err
			}
			if rev > before {
				lags = append(lags, time.Since(answered))
				break
			}
			if time.Since(answered) > 30*time.Second {
				return nil, "", fmt.Errorf("the other replica's mirror stayed at revision %d", rev)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return lags, last, nil
}

// idleCPU is the share of one core the process used over d.
func idleCPU(pid int, d time.Duration) (float64, error) {
	t0, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	t1, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ
	return float64(t1-t0) / ticksPerSecond / d.Seconds(), nil
}

// bodySizes fetches GET /v1/traefik plain and gzipped.
func bodySizes(ctx context.Context, base string) (plain, gzipped int, err error) {
	fetch := func(enc string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/traefik", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+httpReadToken)
		req.Header.Set("Accept-Encoding", enc)
		// A new connection each: a kept one would be held.
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}).Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if enc == "gzip" && resp.Header.Get("Content-Encoding") != "gzip" {
			return 0, fmt.Errorf("no gzip answer")
		}
		return int(n), err
	}
	if plain, err = fetch("identity"); err != nil {
		return 0, 0, err
	}
	gzipped, err = fetch("gzip")
	return plain, gzipped, err
}

func median(ds []time.Duration) time.Duration { return pct(ds, 0.5) }

// pct is the q-quantile (nearest rank) of ds.
func pct(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)].Round(time.Millisecond)
}

// httpReport renders the figures as a Markdown table.
func httpReport(figs []httpFigures, took time.Duration) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# HTTP provider: GET /v1/traefik\n\n")
	fmt.Fprintf(&sb, "`bench -http-provider` (%s on a shared 2-core machine: other engineers' tests ran at the same time, so the figures are noisy). "+
		"Two sidecar replicas on a 3-node ZooKeeper ensemble, hooks to replica A, Traefik %s polling replica B's `GET /v1/traefik` "+
		"(`pollInterval=100ms`, held polls, `providersThrottleDuration=100ms`). Probes every 10 ms. "+
		"Lag: A's answer → B's mirror at the new revision (B's `/readyz` polled every ms), 30 hooks per size.\n\n", took.Round(time.Second), harness.TraefikVersion)
	sb.WriteString("| variant | routes | hook → served median (min–max, runs) | stop → 404 median (min–max) | mirror lag p50 / p99 | idle Traefik CPU | Traefik RSS | sidecar peak RSS | body (gzipped) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range figs {
		fmt.Fprintf(&sb, "| %s | %d | %s (%s–%s, %d) | %s (%s–%s) | %s / %s | %.1f %% | %d MiB | %d MiB | %.2f MB (%.2f MB) |\n",
			f.variant, f.size, median(f.served), pct(f.served, 0), pct(f.served, 1), len(f.served),
			median(f.stopped), pct(f.stopped, 0), pct(f.stopped, 1), pct(f.lag, 0.5), pct(f.lag, 0.99),
			100*f.idleCPU, f.traefikRSS>>20, f.sidecarRSS>>20, float64(f.bodyBytes)/1e6, float64(f.gzipBodyBytes)/1e6)
	}
	return sb.String()
}

// runHTTPProvider runs the HTTP-provider phase alone and writes its report.
func runHTTPProvider(ctx context.Context, b *bench, sizes []int, reps int) error {
	began := time.Now()
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 3})
	if err != nil {
		return err
	}
	defer ens.Close()
	figs, err := b.httpProvider(ctx, ens, sizes, reps)
	report := httpReport(figs, time.Since(began))
	fmt.Println()
	fmt.Println(report)
	if werr := os.WriteFile(filepath.Join(b.cfg.out, "http-provider.md"), []byte(report), 0o644); werr != nil && err == nil {
		err = werr
	}
	return err
}
