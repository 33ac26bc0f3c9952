package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/stats"
)

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
			n, stats.Percentile(lat, 50), stats.Percentile(lat, 99), stats.Percentile(lat, 100), mean(lat), commitMean, len(lat))
		slow := slowest(lat, 0.01)
		var parts []string
		for _, phase := range append(append([]string{}, serverPhases...), "rest") {
			parts = append(parts, fmt.Sprintf("%s %.2f", phase, meanAt(b.res.values(secOverhead, "sidecar", n, "server_"+phase), slow)))
		}
		b.progress("overhead: %d routes present: slowest 1%% (%d hooks) spent on average %s ms", n, len(slow), strings.Join(parts, ", "))
		b.progress("overhead: %d routes present: the same transactions from a plain ZooKeeper client: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
			n, stats.Percentile(floorLat, 50), stats.Percentile(floorLat, 99), stats.Percentile(floorLat, 100))
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

// serverPhases are the sidecar's Server-Timing entries, in order.
var serverPhases = []string{"wait", "zk-read", "plan", "zk-commit"}

// overheadWarmup hooks precede each size's samples, unrecorded: the first
// requests pay for new connections and cold code paths.
const overheadWarmup = 5

func mib(b int64) float64 { return float64(b) / (1 << 20) }
