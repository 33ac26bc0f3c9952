package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/stats"
)

// Targets of the providers phase (HTTP provider): hook → served and
// stop → 404 medians at most targetSmallMs at the small target size and at
// most the floor plus targetOverFloorMs at the large one, ahead of Redis at
// every size; at the large size mirror lag p99 at most targetLagMs, idle
// Traefik at most targetIdlePct of a core, the replica Traefik polls at
// most targetSidecarMiB.
const (
	targetSmallMs     = 250.0
	targetOverFloorMs = 150.0
	targetLagMs       = 50.0
	targetIdlePct     = 5.0
	targetSidecarMiB  = 96.0
)

// floorVariant is the floor that matches what the sidecar delivers.
func (r *results) floorVariant() string {
	if r.deliversCert {
		return floorCert
	}
	return floorNoCert
}

// pathTarget is one row of the providers' targets table.
type pathTarget struct {
	what, measured string
	ok             bool
	known          bool
	// unjudged, when set, replaces the verdict: the figures cannot decide.
	unjudged string
}

// pathTargets judges the providers phase's targets from its figures.
func (r *results) pathTargets() []pathTarget {
	small, large := r.cfg.targetSmall, r.cfg.targetLarge
	floor := r.med(secFloor, r.floorVariant(), large, "served")
	var out []pathTarget
	judge := func(what, measured string, v, limit float64) {
		out = append(out, pathTarget{what: what, measured: measured, ok: v <= limit, known: !math.IsNaN(v) && !math.IsNaN(limit)})
	}
	for _, sec := range []string{secPaths, secPathsStop} {
		name := "hook → served"
		if sec == secPathsStop {
			name = "stop → 404"
		}
		at := r.med(sec, "http", small, "served")
		judge(fmt.Sprintf("%s median ≤ %.0f ms at %s routes", name, targetSmallMs, count(float64(small))), secs(at), at, targetSmallMs)
		at = r.med(sec, "http", large, "served")
		judge(fmt.Sprintf("%s median ≤ floor + %.0f ms at %s routes", name, targetOverFloorMs, count(float64(large))),
			fmt.Sprintf("%s (floor %s, %s)", secs(at), secs(floor), r.floorVariant()), at, floor+targetOverFloorMs)
		if floor > at {
			// The path includes the floor's work: a floor above it was
			// disturbed (the machine's load), and the target says nothing.
			last := &out[len(out)-1]
			last.unjudged = "NOT JUDGED (floor above the path itself)"
		}
		var ratios []string
		worst := math.NaN()
		for _, n := range r.cfg.providersAt {
			ratio := r.med(sec, "http", n, "served") / r.med(sec, "redis", n, "served")
			ratios = append(ratios, fmt.Sprintf("%s: %.2f", count(float64(n)), ratio))
			if math.IsNaN(worst) || ratio > worst || math.IsNaN(ratio) {
				worst = ratio
			}
		}
		out = append(out, pathTarget{what: name + " ahead of the Redis provider at every size (HTTP / Redis < 1)",
			measured: strings.Join(ratios, "; "), ok: worst < 1, known: !math.IsNaN(worst)})
	}
	lag := pctOrNaN(r.values(secLag, "http", large, "lag"), 99)
	judge(fmt.Sprintf("mirror lag p99 ≤ %.0f ms at %s routes", targetLagMs, count(float64(large))), millis(lag), lag, targetLagMs)
	idle := r.med(secFootprint, "http", large, "idle_cpu_pct")
	judge(fmt.Sprintf("idle Traefik CPU ≤ %.0f %% of a core at %s routes (HTTP provider)", targetIdlePct, count(float64(large))),
		fmt.Sprintf("%.1f %%", idle), idle, targetIdlePct)
	hwm := r.med(secFootprint, "sidecar-b", large, "vmhwm")
	judge(fmt.Sprintf("sidecar RSS ≤ %.0f MiB at %s routes, endpoint in use (peak, replica Traefik polls)", targetSidecarMiB, count(float64(large))),
		fmt.Sprintf("%.1f MiB (now %.1f MiB)", hwm, r.med(secFootprint, "sidecar-b", large, "rss")), hwm, targetSidecarMiB)
	return out
}

// reportPaths is the providers phase's part of the report.
func (r *results) reportPaths(w func(format string, args ...any)) {
	w("#### Targets: the HTTP provider\n\n| target | measured | verdict |\n|---|---:|---|\n")
	for _, t := range r.pathTargets() {
		v := verdict(t.ok)
		switch {
		case !t.known:
			v = "NOT MEASURED"
		case t.unjudged != "":
			v = t.unjudged
		}
		w("| %s | %s | %s |\n", t.what, t.measured, v)
	}

	w("\n#### 6. Three ways Traefik gets the routes: hook → served\n\n")
	w("*HTTP*: hook to replica A, Traefik polls replica B's `GET /v1/traefik` (held polls, `pollInterval=100ms`, `pollTimeout=5s`). ")
	w("*Redis*: a plain client writes one route in one MULTI/EXEC, Traefik's Redis provider reads redis-server. ")
	w("*ZooKeeper*: Traefik's ZooKeeper provider, from section 1 (its sizes). ")
	w("*Floor*: Traefik's rebuild on its own: the same body as B's, served by the bench and swapped with one more router. ")
	w("Ratios are against Redis at the same size.\n\n")
	r.pathTable(w, secPaths)
	w("\n#### 7. Stop → 404 (HTTP: stop hook to A; Redis: DEL of the route's keys in one MULTI/EXEC)\n\n")
	r.pathTable(w, secPathsStop)

	w("\n#### 8. Floor, footprint and mirror lag\n\n")
	w("| routes | floor, no default certificate | floor, default certificate | body | gzipped | mirror lag A → B p50 | p99 | hooks | idle Traefik CPU: HTTP | Redis | Traefik RSS: HTTP | Redis | sidecar RSS (peak): A | B | redis-server RSS |\n")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range r.cfg.providersAt {
		lags := r.values(secLag, "http", n, "lag")
		f := func(variant, metric string) float64 { return r.med(secFootprint, variant, n, metric) }
		w("| %s | %s | %s | %s | %s | %s | %s | %d | %.1f %% | %.1f %% | %.0f MiB | %.0f MiB | %.1f (%.1f) MiB | %.1f (%.1f) MiB | %.1f MiB |\n",
			count(float64(n)), secs(r.med(secFloor, floorNoCert, n, "served")), secs(r.med(secFloor, floorCert, n, "served")),
			bytesize(f("http", "body_bytes")), bytesize(f("http", "body_gzip_bytes")),
			millis(pctOrNaN(lags, 50)), millis(pctOrNaN(lags, 99)), len(lags),
			f("http", "idle_cpu_pct"), f("redis", "idle_cpu_pct"), f("http", "traefik_rss"), f("redis", "traefik_rss"),
			f("sidecar-a", "rss"), f("sidecar-a", "vmhwm"), f("sidecar-b", "rss"), f("sidecar-b", "vmhwm"), f("redis-server", "rss"))
	}
	w("\n#### 9. Traefik's routing cost per request (CPU time, HTTP-provider Traefik)\n\n")
	w("| routes | hit | 404 | requests sent: hit | 404 |\n|---:|---:|---:|---:|---:|\n")
	for _, n := range r.cfg.providersAt {
		m := func(metric string) float64 { return r.med(secRouting, "http", n, metric) }
		w("| %s | %s | %s | %s | %s |\n", count(float64(n)), millis(m("cpu_per_request_hit")), millis(m("cpu_per_request_404")),
			count(m("requests_hit")), count(m("requests_404")))
	}
}

// pathTable is one size-by-path table of section sec.
func (r *results) pathTable(w func(format string, args ...any), sec string) {
	zkSec := secServed
	if sec == secPathsStop {
		zkSec = secStop
	}
	w("| routes | HTTP: median | p95 | runs | Redis: median | p95 | runs | HTTP / Redis | ZooKeeper provider: median | runs | ZooKeeper / Redis | floor (%s) |\n", r.floorVariant())
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	sizes := append([]int{}, r.cfg.providersAt...)
	for _, n := range r.cfg.servedAt {
		if !slices.Contains(sizes, n) {
			sizes = append(sizes, n)
		}
	}
	slices.Sort(sizes)
	for _, n := range sizes {
		h := r.values(sec, "http", n, "served")
		rd := r.values(sec, "redis", n, "served")
		zk := r.values(zkSec, "sidecar", n, "served")
		if len(h)+len(rd)+len(zk) == 0 {
			continue
		}
		w("| %s | %s | %s | %d | %s | %s | %d | %s | %s | %d | %s | %s |\n", count(float64(n)),
			secs(medianOr(h)), secs(pctOrNaN(h, 95)), len(h), secs(medianOr(rd)), secs(pctOrNaN(rd, 95)), len(rd),
			ratio(medianOr(h), medianOr(rd)), secs(medianOr(zk)), len(zk), ratio(medianOr(zk), medianOr(rd)),
			secs(r.med(secFloor, r.floorVariant(), n, "served")))
	}
}

func pctOrNaN(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return stats.Percentile(xs, p)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func bytesize(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 1<<20:
		return fmt.Sprintf("%.2f MB", v/1e6)
	default:
		return fmt.Sprintf("%.0f kB", v/1e3)
	}
}
