package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/stats"
)

func secs(msv float64) string {
	if math.IsNaN(msv) {
		return "–"
	}
	switch {
	case msv >= 10000:
		return fmt.Sprintf("%.1f s", msv/1000)
	case msv >= 1000:
		return fmt.Sprintf("%.2f s", msv/1000)
	default:
		return fmt.Sprintf("%.0f ms", msv)
	}
}

func millis(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

func count(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func medianOr(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return stats.Median(xs)
}

// summary holds the numbers the targets are judged on.
type summary struct {
	p99          float64
	cycles       float64
	rss          float64
	p99OK        bool
	cyclesOK     bool
	rssOK        bool
	cycleMedian  float64
	servedAfter  float64
	overheadAtOK bool
}

func (r *results) summarize() summary {
	var s summary
	last := r.cfg.overheadAt[len(r.cfg.overheadAt)-1]
	s.p99 = stats.Percentile(r.values(secOverhead, "sidecar", last, "hook_to_commit"), 99)
	s.p99OK = s.p99 <= targetP99ms
	s.cycleMedian = medianOr(r.values(secCycle, "sidecar", r.cfg.burstHooks, "served"))
	s.servedAfter = r.one(secBurst, "served_after_burst_end")
	s.cycles = s.servedAfter / s.cycleMedian
	s.cyclesOK = s.cycles <= targetCycles
	s.rss = r.one(secMemory, "vmhwm")
	s.rssOK = s.rss <= targetRSSMiB
	return s
}

// report is the Markdown the program prints and puts in README.md.
func (r *results) report() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	s := r.summarize()
	quick := ""
	if r.cfg.quick {
		quick = " **(-quick: small sizes, not comparable with the targets)**"
	}

	w("Commit `%s`, %s, %d CPUs, %s; ZooKeeper %s (3 nodes on 127.0.0.1), Traefik %s with providersThrottleDuration=%s; run took %s%s.\n\n",
		r.info.commitString(), r.info.Began.UTC().Format("2006-01-02 15:04 MST"), r.info.CPUs, r.info.MemTotal,
		r.info.ZooKeeper, r.info.Traefik, r.cfg.throttle, r.info.Took.Round(time.Second), quick)

	if !r.cfg.skipZooKeeperPaths {
		r.reportZooKeeper(w, s)
	}
	if len(r.cfg.providersAt) > 0 {
		w("\n")
		r.reportPaths(w)
	}
	for _, n := range r.notes {
		w("\nNote: %s.\n", n)
	}
	if r.serviceMissing > 0 {
		w("\nTraefik logged %d times that a router's service did not exist: routes created while Traefik walked the tree, "+
			"whose router it read before their service existed; the next walk serves them, so this is harmless.\n", r.serviceMissing)
	}
	if r.traefikErrors > 0 || r.discarded > 0 || r.traefikRestarts > 0 {
		w("\nDisturbances: %d measurement attempts discarded and repeated because Traefik's ZooKeeper session broke "+
			"meanwhile (Traefik uses a fixed 3 s session timeout) or its provider stopped reacting; %d Traefik restarts; "+
			"%d session/provider problems, warnings or errors in Traefik's logs.\n", r.discarded, r.traefikRestarts, r.traefikErrors)
	}
	return b.String()
}

// walkStats are the medians of one layout's hook → served measurements.
type walkStats struct {
	served, walkStarted, configReceived, requests, cpu float64
}

func (w walkStats) walk() float64 { return w.configReceived - w.walkStarted }

func (w walkStats) fixed() float64 { return w.served - w.walk() }

func (w walkStats) perRequest() float64 { return w.walk() / w.requests }

// walkComparison is sidecar against baseline in one section at the ratio size.
type walkComparison struct{ sidecar, baseline walkStats }

func (c walkComparison) ratio() float64 { return c.sidecar.served / c.baseline.served }

// atBaselineCost is the ratio the sidecar's request count would give if
// each of Traefik's requests cost what it cost in the baseline's walk.
func (c walkComparison) atBaselineCost() float64 {
	scaled := c.baseline.walk() * c.sidecar.requests / c.baseline.requests
	return (c.sidecar.fixed() + scaled) / c.baseline.served
}

func (r *results) walkOf(section string) walkComparison {
	at := func(variant string) walkStats {
		m := func(metric string) float64 { return medianOr(r.values(section, variant, r.cfg.ratioAt, metric)) }
		return walkStats{served: m("served"), walkStarted: m("walk_started"), configReceived: m("config_received"),
			requests: m("zk_requests"), cpu: m("traefik_cpu")}
	}
	return walkComparison{sidecar: at("sidecar"), baseline: at("baseline")}
}

// readFrom says which ZooKeeper server the section's Traefiks read from.
func readFrom(section string) string {
	if section == secServedLeader {
		return "the leader"
	}
	return "a follower"
}

func micros(ms float64) string {
	if math.IsNaN(ms) || math.IsInf(ms, 0) {
		return "–"
	}
	return fmt.Sprintf("%.0f µs", ms*1000)
}

// reportZooKeeper is the ZooKeeper provider's part of the report: its
// targets and sections 1 to 5.
func (r *results) reportZooKeeper(w func(format string, args ...any), s summary) {
	w("#### Targets\n\n")
	w("| target | measured | verdict |\n|---|---:|---|\n")
	for _, sec := range []string{secServed, secServedLeader} {
		wk := r.walkOf(sec)
		w("| hook → served at %s routes ≤ %.2f × baseline (same run), both Traefiks reading from %s | %.3f × (%s vs %s; Traefik's ZooKeeper requests %.3f ×) | %s |\n",
			count(float64(r.cfg.ratioAt)), targetRatio, readFrom(sec), wk.ratio(), secs(wk.sidecar.served), secs(wk.baseline.served),
			wk.sidecar.requests/wk.baseline.requests, verdict(wk.ratio() <= targetRatio))
	}
	last := r.cfg.overheadAt[len(r.cfg.overheadAt)-1]
	w("| overhead p99 ≤ %.0f ms at %s routes | %s (ZooKeeper alone, same transactions: %s) | %s |\n", targetP99ms, count(float64(last)), millis(s.p99),
		millis(stats.Percentile(r.values(secOverhead, "zookeeper", last, "multi"), 99)), verdict(s.p99OK))
	w("| %s-hook burst served within %.0f Traefik reload cycles of its end | %.2f cycles (%s after the last answer; cycle %s) | %s |\n",
		count(float64(r.cfg.burstHooks)), targetCycles, s.cycles, secs(s.servedAfter), secs(s.cycleMedian), verdict(s.cyclesOK))
	w("| peak RSS ≤ %.0f MiB with %s routes owned | %.1f MiB | %s |\n\n",
		targetRSSMiB, count(float64(r.memoryPresent())), s.rss, verdict(s.rssOK))

	w("#### 1. Hook → served through Traefik (medians)\n\n")
	w("Start hook sent (baseline: first create sent) → first 200 through Traefik for the new route's path, Traefik idle before each, both Traefiks reading from the same follower. ")
	w("Baseline: the same routes as a generic KV client writes them (every directory znode empty, plain creates, a separate kick).\n\n")
	w("| routes present | runs | sidecar | baseline | sidecar / baseline | ZooKeeper requests per change: sidecar | baseline |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, size := range r.cfg.servedAt {
		scs := r.values(secServed, "sidecar", size, "served")
		sc := medianOr(scs)
		bl := medianOr(r.values(secServed, "baseline", size, "served"))
		w("| %s | %d | %s | %s | %.3f | %s | %s |\n", count(float64(size)), len(scs), secs(sc), secs(bl), sc/bl,
			count(medianOr(r.values(secServed, "sidecar", size, "zk_requests"))),
			count(medianOr(r.values(secServed, "baseline", size, "zk_requests"))))
	}
	w("\nWhere the time goes (medians, from the hook; Traefik's walk start and configuration arrival as seen in its debug log):\n\n")
	w("| routes | layout | write / hook answered | Traefik walk began | configuration received | served | walk (received − began) | apply (served − received) |\n|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, size := range r.cfg.servedAt {
		for _, v := range []string{"sidecar", "baseline"} {
			wr := medianOr(r.values(secServed, v, size, "write"))
			ws := medianOr(r.values(secServed, v, size, "walk_started"))
			cr := medianOr(r.values(secServed, v, size, "config_received"))
			sv := medianOr(r.values(secServed, v, size, "served"))
			w("| %s | %s | %s | %s | %s | %s | %s | %s |\n", count(float64(size)), v, millis(wr), secs(ws), secs(cr), secs(sv), secs(cr-ws), secs(sv-cr))
		}
	}

	w("\nWhich ZooKeeper server Traefik reads from, at %s routes (medians of each layout's repetitions). ", count(float64(r.cfg.ratioAt)))
	w("*Fixed*: Traefik's time outside its walk (until the walk began, and from the configuration's arrival to the first 200): decoding aside, it does not depend on the layout. ")
	w("*Per request*: walk time / ZooKeeper requests. *Traefik CPU*: its user and system time over the measurement. *At the baseline's cost per request*: the sidecar's fixed time plus the baseline's walk scaled to the sidecar's request count, over the baseline's time: ")
	w("the ratio if each of Traefik's requests cost the same in both walks (the sidecar's are cheaper: they include no syncs). ")
	w("The sidecar's own share of its time is the hook's answer; the walk makes the fewest requests a router with a service allows ")
	w("(8 znodes, one list and one read each), and the rest is Traefik's.\n\n")
	w("| Traefik reads from | sidecar | baseline | ratio | requests per route: sidecar | baseline | per request: sidecar | baseline | Traefik CPU: sidecar | baseline | fixed: sidecar | baseline | ratio at the baseline's cost per request |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, sec := range []string{secServed, secServedLeader} {
		wk := r.walkOf(sec)
		per := float64(r.cfg.ratioAt)
		w("| %s | %s | %s | %.3f | %.1f | %.1f | %s | %s | %s | %s | %s | %s | %.3f |\n", readFrom(sec),
			secs(wk.sidecar.served), secs(wk.baseline.served), wk.ratio(),
			wk.sidecar.requests/per, wk.baseline.requests/per,
			micros(wk.sidecar.perRequest()), micros(wk.baseline.perRequest()),
			secs(wk.sidecar.cpu), secs(wk.baseline.cpu),
			secs(wk.sidecar.fixed()), secs(wk.baseline.fixed()), wk.atBaselineCost())
	}

	w("\n#### 2. Sidecar overhead: start hook → ZooKeeper transaction committed\n\n")
	w("Response time of `POST /v1/hooks` start (no wait) for a new execution, %d sequential hooks per size, no Traefik on this ensemble.\n\n", r.cfg.overheadSamples)
	w("ZooKeeper alone: after each hook, the transaction that hook made the sidecar commit (revision set with its version, the route's znodes, the record, the kick) sent as one multi by a plain ZooKeeper client to the same ensemble; its time is ZooKeeper's floor, which no client can go below.\n\n")
	w("| routes present | p50 | p90 | p99 | max | mean | mean ZooKeeper commit (sidecar's histogram) | ZooKeeper alone: p50 | p90 | p99 | max |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, size := range r.cfg.overheadAt {
		v := r.values(secOverhead, "sidecar", size, "hook_to_commit")
		f := r.values(secOverhead, "zookeeper", size, "multi")
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", count(float64(size)), millis(stats.Percentile(v, 50)), millis(stats.Percentile(v, 90)),
			millis(stats.Percentile(v, 99)), millis(stats.Percentile(v, 100)), millis(mean(v)), millis(medianOr(r.values(secOverhead, "sidecar", size, "commit_mean"))),
			millis(stats.Percentile(f, 50)), millis(stats.Percentile(f, 90)), millis(stats.Percentile(f, 99)), millis(stats.Percentile(f, 100)))
	}

	w("\nWhere the time went, from the sidecar's `Server-Timing` header (wait: queued behind other transactions; zk-read: reads the plan needs; plan: planning and encoding; zk-commit: the multi; rest: HTTP, JSON, validation, scheduling): medians, and means over the slowest 1%% of hooks.\n\n")
	w("| routes present | hooks | wait | zk-read | plan | zk-commit | rest | slowest 1%%: total | wait | zk-read | plan | zk-commit | rest |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, size := range r.cfg.overheadAt {
		total := r.values(secOverhead, "sidecar", size, "hook_to_commit")
		phases := append(append([]string{}, serverPhases...), "rest")
		row := []string{count(float64(size)), count(float64(len(total)))}
		for _, ph := range phases {
			row = append(row, millis(medianOr(r.values(secOverhead, "sidecar", size, "server_"+ph))))
		}
		slow := slowest(total, 0.01)
		row = append(row, millis(meanAt(total, slow)))
		for _, ph := range phases {
			row = append(row, millis(meanAt(r.values(secOverhead, "sidecar", size, "server_"+ph), slow)))
		}
		w("| %s |\n", strings.Join(row, " | "))
	}

	w("\n#### 3. Burst: %s start hooks from %d concurrent clients (Traefik root empty before)\n\n", count(float64(r.cfg.burstHooks)), r.cfg.burstClients)
	w("| hooks answered in | all served after the first hook | after the last answer | Traefik reload cycle at %s routes (median of %d) | = cycles | ZooKeeper transactions | kicks | Traefik walks | Traefik reloads |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
		count(float64(r.cfg.burstHooks)), len(r.values(secCycle, "sidecar", r.cfg.burstHooks, "served")))
	w("| %s | %s | %s | %s | %.2f | %s | %s | %s | %s |\n",
		secs(r.one(secBurst, "burst_duration")), secs(r.one(secBurst, "all_served")), secs(s.servedAfter), secs(s.cycleMedian), s.cycles,
		count(r.one(secBurst, "transactions")), count(r.one(secBurst, "kicks")), count(r.one(secBurst, "traefik_walks")), count(r.one(secBurst, "traefik_reloads")))
	w("\nReload cycle: hook → served of one more route with Traefik idle (commit, kick, one walk of the whole tree, one apply). ")
	w("Reloads: Traefik's `traefik_config_reloads_total`; walks: its `List` calls in the debug log.\n")

	w("\n#### 4. Memory\n\n")
	w("| routes owned | peak RSS (VmHWM) after the writes | peak RSS after also listing all (`GET /v1/routes`) | RSS at the end |\n|---:|---:|---:|---:|\n")
	w("| %s | %.1f MiB | %.1f MiB | %.1f MiB |\n", count(float64(r.memoryPresent())), r.one(secMemory, "vmhwm_after_writes"), r.one(secMemory, "vmhwm"), r.one(secMemory, "vmrss_end"))

	stop := r.values(secStop, "sidecar", r.cfg.stopAt, "served")
	w("\n#### 5. Stop hook → 404 through Traefik at %s routes (median of %d)\n\n", count(float64(r.cfg.stopAt)), len(stop))
	sort.Float64s(stop)
	if len(stop) > 0 {
		w("| median | min | max | hook answered (median) |\n|---:|---:|---:|---:|\n| %s | %s | %s | %s |\n",
			secs(stats.Median(stop)), secs(stop[0]), secs(stop[len(stop)-1]), millis(medianOr(r.values(secStop, "sidecar", r.cfg.stopAt, "write"))))
	}
}
