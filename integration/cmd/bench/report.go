package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// Sections of results.csv.
const (
	secServed = "hook_to_served"
	// secServedLeader is hook → served at the ratio size with both
	// Traefiks reading from the ZooKeeper leader (secServed: a follower).
	secServedLeader = "hook_to_served_leader"
	secStop         = "stop_to_404"
	secOverhead     = "overhead"
	secMemory       = "memory"
	secBurst        = "burst"
	secCycle        = "reload_cycle"
)

// sectionTitle names sections in notes and file names.
var sectionTitle = map[string]string{
	secServed:       "hook-to-served",
	secServedLeader: "hook-to-served-leader",
	secStop:         "stop-to-404",
}

// Targets of issue 6.
const (
	targetRatio      = 0.25
	targetP99ms      = 10.0
	targetCycles     = 2.0
	targetRSSMiB     = 64.0
	targetOverheadAt = 10000
	targetMemoryAt   = 10000
)

// sample is one row of results.csv: one measured value.
type sample struct {
	Section string
	Variant string // sidecar or baseline
	Routes  int    // the nominal size the measurement belongs to
	Present int    // routes actually present when it was taken
	Rep     int
	Metric  string
	Value   float64
	Unit    string
}

type phaseTime struct {
	name string
	took time.Duration
}

type runInfo struct {
	Commit    string
	Dirty     []string
	Began     time.Time
	Took      time.Duration
	CPUs      int
	CPUModel  string
	MemTotal  string
	Kernel    string
	LoadBegin string
	LoadEnd   string
	Go        string
	Traefik   string
	ZooKeeper string
	Sidecar   string
}

type results struct {
	cfg     config
	info    runInfo
	servers []string
	// follower and leader are the ZooKeeper servers the Traefiks of the
	// hook → served phase read from.
	follower, leader string
	samples          []sample
	phases           []phaseTime
	traefikErrors    int
	traefikRestarts  int
	discarded        int
	serviceMissing   int
	notes            []string
}

func (r *results) add(s sample) { r.samples = append(r.samples, s) }

func (r *results) values(section, variant string, routes int, metric string) []float64 {
	var out []float64
	for _, s := range r.samples {
		if s.Section == section && s.Variant == variant && s.Routes == routes && s.Metric == metric {
			out = append(out, s.Value)
		}
	}
	return out
}

// memoryPresent is how many routes the sidecar owned when its RSS was read.
func (r *results) memoryPresent() int {
	for _, s := range r.samples {
		if s.Section == secMemory {
			return s.Present
		}
	}
	return 0
}

func (r *results) one(section string, metric string) float64 {
	for _, s := range r.samples {
		if s.Section == section && s.Metric == metric {
			return s.Value
		}
	}
	return math.NaN()
}

// ---------------------------------------------------------------- environment

func collectInfo(out string) runInfo {
	info := runInfo{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadBegin: loadAvg()}
	if b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		info.Commit = strings.TrimSpace(string(b))
	} else {
		info.Commit = "unknown"
	}
	// Source not in the commit: changed tracked files and untracked Go
	// files or directories, except the bench's own output.
	if b, err := exec.Command("git", "status", "--porcelain").Output(); err == nil {
		outDir := filepath.ToSlash(filepath.Clean(out)) + "/"
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if len(line) < 4 {
				continue
			}
			f := strings.TrimSpace(line[3:])
			if strings.HasPrefix(f, outDir) || (strings.HasSuffix(f, "/") && strings.HasPrefix(outDir, f)) {
				continue // the bench's output, or an untracked directory holding it
			}
			if strings.HasPrefix(line, "??") {
				if !strings.HasSuffix(f, "/") && !strings.HasSuffix(f, ".go") {
					continue
				}
				f += " (untracked)"
			}
			info.Dirty = append(info.Dirty, f)
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				info.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64); err == nil {
					info.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		info.Kernel = strings.TrimSpace(string(b))
	}
	return info
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (i runInfo) commitString() string {
	if len(i.Dirty) == 0 {
		return i.Commit
	}
	return i.Commit + "-dirty"
}

// traefikVersion is the release the harness builds; the binary, built from
// Traefik's Go module, reports itself as "dev".
func traefikVersion(context.Context) string { return harness.TraefikVersion }

func sidecarVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(strings.SplitN(string(out), "\n", 2)[0]), " ")
}

// ---------------------------------------------------------------- formatting

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
	return median(xs)
}

// ---------------------------------------------------------------- report

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
	s.p99 = percentile(r.values(secOverhead, "sidecar", last, "hook_to_commit"), 99)
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
		millis(percentile(r.values(secOverhead, "zookeeper", last, "multi"), 99)), verdict(s.p99OK))
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
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", count(float64(size)), millis(percentile(v, 50)), millis(percentile(v, 90)),
			millis(percentile(v, 99)), millis(percentile(v, 100)), millis(mean(v)), millis(medianOr(r.values(secOverhead, "sidecar", size, "commit_mean"))),
			millis(percentile(f, 50)), millis(percentile(f, 90)), millis(percentile(f, 99)), millis(percentile(f, 100)))
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
			secs(median(stop)), secs(stop[0]), secs(stop[len(stop)-1]), millis(medianOr(r.values(secStop, "sidecar", r.cfg.stopAt, "write"))))
	}
	for _, n := range r.notes {
		w("\nNote: %s.\n", n)
	}
	if r.serviceMissing > 0 {
		w("\nTraefik logged %d times that a router's service did not exist: routes created while Traefik walked the tree, "+
			"whose router it read before their service existed; the next walk serves them (facts 6: harmless).\n", r.serviceMissing)
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

func (w walkStats) walk() float64       { return w.configReceived - w.walkStarted }
func (w walkStats) fixed() float64      { return w.served - w.walk() }
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

// ---------------------------------------------------------------- files

func (r *results) write(out, report string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := r.writeCSV(filepath.Join(out, "results.csv")); err != nil {
		return err
	}
	if err := r.plotServed(filepath.Join(out, "hook-to-served.svg")); err != nil {
		return err
	}
	if err := r.plotOverhead(filepath.Join(out, "overhead.svg")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "README.md"), []byte(r.readme(report)), 0o644)
}

func (r *results) writeCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"section", "variant", "routes", "present", "rep", "metric", "value", "unit"})
	for _, s := range r.samples {
		_ = w.Write([]string{s.Section, s.Variant, strconv.Itoa(s.Routes), strconv.Itoa(s.Present), strconv.Itoa(s.Rep),
			s.Metric, strconv.FormatFloat(s.Value, 'f', -1, 64), s.Unit})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readCSV loads the samples writeCSV wrote.
func readCSV(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	var out []sample
	for i, row := range rows[1:] {
		if len(row) != 8 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 8", path, i+2, len(row))
		}
		routes, err1 := strconv.Atoi(row[2])
		present, err2 := strconv.Atoi(row[3])
		rep, err3 := strconv.Atoi(row[4])
		value, err4 := strconv.ParseFloat(row[6], 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+2, err)
		}
		out = append(out, sample{Section: row[0], Variant: row[1], Routes: routes, Present: present, Rep: rep, Metric: row[5], Value: value, Unit: row[7]})
	}
	return out, nil
}

// redraw draws the plots again from cfg.out's results.csv.
func redraw(cfg config) error {
	samples, err := readCSV(filepath.Join(cfg.out, "results.csv"))
	if err != nil {
		return err
	}
	r := &results{cfg: cfg, samples: samples}
	if err := r.plotServed(filepath.Join(cfg.out, "hook-to-served.svg")); err != nil {
		return err
	}
	return r.plotOverhead(filepath.Join(cfg.out, "overhead.svg"))
}

var (
	colSidecar  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colBaseline = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// plotLeader adds the medians measured with both Traefiks on the leader,
// as triangles with their ratio.
func (r *results) plotLeader(p *plot.Plot) error {
	sc := r.values(secServedLeader, "sidecar", r.cfg.ratioAt, "served")
	bl := r.values(secServedLeader, "baseline", r.cfg.ratioAt, "served")
	if len(sc) == 0 || len(bl) == 0 {
		return nil
	}
	shape, radius := draw.TriangleGlyph{}, vg.Points(4)
	for _, v := range []struct {
		xs []float64
		c  color.Color
	}{{sc, colSidecar}, {bl, colBaseline}} {
		pt, err := plotter.NewScatter(plotter.XYs{{X: float64(r.cfg.ratioAt), Y: median(v.xs) / 1000}})
		if err != nil {
			return err
		}
		pt.Color, pt.Shape, pt.Radius = v.c, shape, radius
		p.Add(pt)
	}
	gray, err := plotter.NewScatter(plotter.XYs{{}})
	if err != nil {
		return err
	}
	gray.Color, gray.Shape, gray.Radius = color.Gray{Y: 0x60}, shape, radius
	p.Legend.Add("triangles: both Traefiks on the leader (others: on a follower)", gray)
	l, err := plotter.NewLabels(plotter.XYLabels{
		XYs:    []plotter.XY{{X: float64(r.cfg.ratioAt), Y: median(sc) / 1000}},
		Labels: []string{fmt.Sprintf("leader: %.2f×", median(sc)/median(bl))},
	})
	if err != nil {
		return err
	}
	l.TextStyle[0].Color = colSidecar
	l.TextStyle[0].XAlign = draw.XRight
	l.Offset = vg.Point{X: -vg.Points(16), Y: -vg.Points(16)}
	p.Add(l)
	return nil
}

// plotServed draws hook → served against routes present, log-log: median
// lines and every repetition as a dot.
func (r *results) plotServed(path string) error {
	p := plot.New()
	p.Title.Text = "Hook → served through Traefik (lines: medians; crosses: each run)"
	p.X.Label.Text = "routes already present"
	p.Y.Label.Text = "seconds"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = fixedTicks(r.cfg.servedAt)
	p.Y.Tick.Marker = logTicks125{}
	p.Add(plotter.NewGrid())
	for _, v := range []struct {
		name, label string
		c           color.Color
		shape       draw.GlyphDrawer
	}{
		{"sidecar", "sidecar: directories hold \"true\", one multi with its kick", colSidecar, draw.CircleGlyph{}},
		{"baseline", "baseline: generic KV client, empty directories, separate kick", colBaseline, draw.SquareGlyph{}},
	} {
		var med, all plotter.XYs
		for _, size := range r.cfg.servedAt {
			xs := r.values(secServed, v.name, size, "served")
			if len(xs) == 0 {
				continue
			}
			med = append(med, plotter.XY{X: float64(size), Y: median(xs) / 1000})
			for _, x := range xs {
				all = append(all, plotter.XY{X: float64(size), Y: x / 1000})
			}
		}
		if len(med) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(med)
		if err != nil {
			return err
		}
		line.Color, line.Width = v.c, vg.Points(1.5)
		points.Color, points.Shape, points.Radius = v.c, v.shape, vg.Points(3.5)
		sc, err := plotter.NewScatter(all)
		if err != nil {
			return err
		}
		sc.Color, sc.Shape, sc.Radius = v.c, draw.CrossGlyph{}, vg.Points(2.5)
		p.Add(line, points, sc)
		p.Legend.Add(v.label, line, points)
	}
	// Ratio labels above the sidecar points.
	var labels plotter.XYLabels
	for _, size := range r.cfg.servedAt {
		sc := r.values(secServed, "sidecar", size, "served")
		bl := r.values(secServed, "baseline", size, "served")
		if len(sc) == 0 || len(bl) == 0 {
			continue
		}
		labels.XYs = append(labels.XYs, plotter.XY{X: float64(size), Y: median(sc) / 1000})
		labels.Labels = append(labels.Labels, fmt.Sprintf("  %.2f×", median(sc)/median(bl)))
	}
	if len(labels.XYs) > 0 {
		l, err := plotter.NewLabels(labels)
		if err != nil {
			return err
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Color = colSidecar
			l.Offset = vg.Point{X: vg.Points(2), Y: vg.Points(-14)}
		}
		p.Add(l)
	}
	if err := r.plotLeader(p); err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(8)
	p.X.Min, p.X.Max = float64(r.cfg.servedAt[0])*0.7, float64(r.cfg.servedAt[len(r.cfg.servedAt)-1])*1.4
	// Room above the highest point for the legend (log scale).
	lo, hi := math.Inf(1), 0.0
	for _, s := range r.samples {
		if (s.Section == secServed || s.Section == secServedLeader) && s.Metric == "served" {
			lo, hi = math.Min(lo, s.Value/1000), math.Max(hi, s.Value/1000)
		}
	}
	if hi > 0 {
		p.Y.Min, p.Y.Max = lo/1.5, hi*3
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// logTicks125 labels 1, 2 and 5 times each power of ten.
type logTicks125 struct{}

func (logTicks125) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		}
	}
	return out
}

type fixedTicks []int

func (f fixedTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, v := range f {
		if float64(v) >= lo && float64(v) <= hi {
			out = append(out, plot.Tick{Value: float64(v), Label: count(float64(v))})
		}
	}
	return out
}

// plotOverhead draws p50 and p99 of hook → commit per size as bars, with the
// p99 target as a line.
func (r *results) plotOverhead(path string) error {
	p := plot.New()
	p.Title.Text = "Start hook → transaction committed"
	p.Y.Label.Text = "milliseconds"
	p.X.Label.Text = "routes present"
	series := []struct {
		label, variant, metric string
		pct                    float64
		color                  color.Color
	}{
		{"sidecar p50", "sidecar", "hook_to_commit", 50, colSidecar},
		{"sidecar p99", "sidecar", "hook_to_commit", 99, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}},
		{"ZooKeeper alone p50", "zookeeper", "multi", 50, color.RGBA{R: 0x9e, G: 0xc9, B: 0xe2, A: 0xff}},
		{"ZooKeeper alone p99", "zookeeper", "multi", 99, color.RGBA{R: 0xff, G: 0xc6, B: 0x8a, A: 0xff}},
	}
	var names []string
	for _, size := range r.cfg.overheadAt {
		names = append(names, count(float64(size)))
	}
	w := vg.Points(12)
	top := 0.0
	p.Add(plotter.NewGrid())
	for i, sr := range series {
		var vals plotter.Values
		for _, size := range r.cfg.overheadAt {
			vals = append(vals, percentile(r.values(secOverhead, sr.variant, size, sr.metric), sr.pct))
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color, bars.LineStyle.Width, bars.Offset = sr.color, 0, w*vg.Length(float64(i)-1.5)
		p.Add(bars)
		p.Legend.Add(sr.label, bars)
		top = math.Max(top, maxOf(vals))
	}
	target := plotter.NewFunction(func(float64) float64 { return targetP99ms })
	target.Color, target.Dashes, target.Width = colBaseline, []vg.Length{vg.Points(4), vg.Points(3)}, vg.Points(1)
	p.Add(target)
	p.Legend.Add(fmt.Sprintf("target: p99 ≤ %.0f ms at %s routes", targetP99ms, count(targetOverheadAt)), target)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(8)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.7, float64(len(names))-0.3
	p.Y.Min = 0
	p.Y.Max = math.Max(targetP99ms*1.5, top*1.8) // room for the legend
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

func maxOf(v plotter.Values) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}
