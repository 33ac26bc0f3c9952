// Command bench measures the sidecar against real components: a 3-node
// ZooKeeper ensemble, Traefik v3 with its ZooKeeper provider, and the
// sidecar binary, nothing mocked. It prints a table and writes
// results.csv, plots and README.md to -out. `make bench` runs it.
//
// Measured in one run:
//  1. hook → served (start hook sent → first 200 through Traefik for its
//     path) with 100, 1,000 and 5,000 routes present, for the sidecar and
//     for a baseline: the same routes written as a generic KV client does
//     (empty directory znodes, plain creates, a separate kick);
//  2. sidecar overhead: start hook → ZooKeeper transaction committed, with
//     0, 1,000 and 10,000 routes present;
//  3. a burst of 1,000 start hooks from 32 clients: time until all are
//     served, transactions, kicks, Traefik reloads, and Traefik's reload
//     cycle at that size;
//  4. the sidecar's peak RSS with 10,000 routes owned;
//  5. stop hook → 404 through Traefik at 1,000 routes.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// config is what a run measures.
type config struct {
	out             string
	reps            int
	throttle        time.Duration
	budget          time.Duration
	quick           bool
	servedAt        []int // hook → served sizes
	ratioAt         int   // size of the ratio target
	stopAt          int
	overheadAt      []int
	overheadSamples int
	burstHooks      int
	burstClients    int
	overheadOnly    bool
	pprof           string // directory for Traefik CPU profiles, or ""
	// The providers phase: its sizes, the sizes its targets are judged
	// at, and how long idle cost and routing cost are sampled.
	providersAt              []int
	targetSmall, targetLarge int
	idleFor, routingFor      time.Duration
	lagSamples               int
	skipZooKeeperPaths       bool
}

// largeReps caps the repetitions at sizes above the ratio size: they only
// feed the plot, and one of them costs minutes.
const largeReps = 3

// repsAt is how many repetitions hook → served gets at size n.
func (c config) repsAt(n int) int {
	if n > c.ratioAt {
		return min(c.reps, largeReps)
	}
	return c.reps
}

func main() {
	sidecarBin := flag.String("sidecar", "", "sidecar binary (default: build it from this checkout)")
	out := flag.String("out", "docs/bench", "directory for results.csv, the plots and README.md")
	quick := flag.Bool("quick", false, "small sizes, for development (results are not comparable with a full run)")
	reps := flag.Int("reps", 5, "repetitions of every hook → served and stop → 404 measurement (medians are reported)")
	throttle := flag.Duration("throttle", 100*time.Millisecond, "Traefik's providers.providersThrottleDuration")
	budget := flag.Duration("budget", 50*time.Minute, "time budget: repetitions that would not fit are skipped (and reported)")
	overheadOnly := flag.Bool("overhead-only", false, "run only the overhead and memory phase, print its figures and write nothing (for profiling)")
	replot := flag.Bool("replot", false, "only redraw the plots in -out from its results.csv (same sizes as the run that wrote it)")
	providersAt := flag.String("providers-at", "", "comma-separated sizes of the providers phase instead of the default ones (e.g. 10000 with -providers-only -pprof)")
	providersOnly := flag.Bool("providers-only", false, "run only the providers phase (HTTP provider, Redis, floor), for development")
	pprofDir := flag.String("pprof", "", "write CPU profiles of both Traefiks during the second hook → served repetition at the ratio size into this directory")
	flag.Parse()
	// lagSamples: a p99 of fewer than 100 samples is their maximum; of 200
	// it lies between the two largest.
	const lagSamples = 200
	cfg := config{
		out: *out, reps: max(1, *reps), throttle: *throttle, budget: *budget, quick: *quick,
		servedAt: []int{100, 1000, 5000}, ratioAt: 1000, stopAt: 1000,
		overheadAt: []int{0, 1000, 10000}, overheadSamples: 1000,
		burstHooks: 1000, burstClients: 32, overheadOnly: *overheadOnly, pprof: *pprofDir,
		providersAt: []int{100, 1000, 10000, 20000}, targetSmall: 1000, targetLarge: 10000,
		idleFor: 12 * time.Second, routingFor: 3 * time.Second, lagSamples: lagSamples,
		skipZooKeeperPaths: *providersOnly,
	}
	if *quick {
		cfg.servedAt, cfg.ratioAt, cfg.stopAt = []int{20, 100, 300}, 100, 100
		cfg.overheadAt, cfg.overheadSamples = []int{0, 100, 1000}, 50
		cfg.burstHooks = 200
		cfg.providersAt, cfg.targetSmall, cfg.targetLarge = []int{20, 100, 300}, 100, 300
		cfg.idleFor, cfg.routingFor, cfg.lagSamples = 5*time.Second, time.Second, 20
	}
	if *providersAt != "" {
		sizes, err := parseSizes(*providersAt)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -providers-at:", err)
			os.Exit(2)
		}
		cfg.providersAt = sizes
	}
	if *replot {
		if err := redraw(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(cfg, *sidecarBin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg config, sidecarBin string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	progress := func(format string, args ...any) {
		fmt.Printf("[%6.1fs] "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}
	res := &results{cfg: cfg, info: collectInfo(cfg.out)}
	res.info.Began = began

	progress("preparing: ZooKeeper package, Traefik %s binary (built once, minutes), sidecar binary", harness.TraefikVersion)
	if err := harness.EnsureZooKeeper(ctx); err != nil {
		return err
	}
	if _, err := harness.TraefikBinary(ctx); err != nil {
		return err
	}
	if sidecarBin == "" {
		bin, err := harness.SidecarBinary(ctx)
		if err != nil {
			return err
		}
		sidecarBin = bin
	}
	res.info.Sidecar = sidecarVersion(sidecarBin)
	backend, err := harness.StartBackend("bench")
	if err != nil {
		return err
	}
	defer backend.Close()
	b := &bench{cfg: cfg, deadline: began.Add(cfg.budget), sidecar: sidecarBin, token: randomHex(16), secret: randomHex(32), backend: backend, res: res, progress: progress}

	phase := func(name string, f func() error) error {
		start := time.Now()
		progress("=== %s", name)
		err := f()
		res.phases = append(res.phases, phaseTime{name, time.Since(start)})
		progress("=== %s done in %s", name, time.Since(start).Round(time.Second))
		return err
	}
	if !cfg.skipZooKeeperPaths {
		if err := phase("sidecar overhead and memory", func() error { return b.overhead(ctx) }); err != nil {
			return err
		}
	}
	if cfg.overheadOnly {
		return nil
	}

	progress("starting the 3-node ZooKeeper ensemble for the Traefik phases")
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 3})
	if err != nil {
		return err
	}
	defer ens.Close()
	res.servers = ens.Servers()
	conn, err := connectZK(ens.Servers())
	if err != nil {
		return err
	}
	defer conn.Close()
	if !cfg.skipZooKeeperPaths {
		if err := phase("hook → served (sidecar vs baseline) and stop → 404", func() error { return b.served(ctx, ens, conn) }); err != nil {
			return err
		}
		if err := phase("burst", func() error { return b.burst(ctx, ens, conn) }); err != nil {
			return err
		}
	}
	if err := phase("providers: HTTP provider, Redis provider, Traefik's floor", func() error { return b.providers(ctx, ens) }); err != nil {
		return err
	}
	res.info.Took = time.Since(began)
	res.info.LoadEnd = loadAvg()

	report := res.report()
	fmt.Println()
	fmt.Println(report)
	if err := res.write(cfg.out, report); err != nil {
		return err
	}
	progress("wrote %s/results.csv, its plots and %s/README.md", cfg.out, cfg.out)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// parseSizes reads "100,1000" as route counts.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a route count", f)
		}
		out = append(out, n)
	}
	return out, nil
}
