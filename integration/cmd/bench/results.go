package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
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
	// The providers phase: hook → served and stop → 404 through Traefik's
	// HTTP provider (variant http) and its Redis provider (redis);
	// Traefik's rebuild on its own (floor-*); mirror lag; idle cost,
	// memory and body size; routing cost per request.
	secPaths     = "provider_served"
	secPathsStop = "provider_stop_to_404"
	secFloor     = "traefik_floor"
	secLag       = "mirror_lag"
	secFootprint = "footprint"
	secRouting   = "routing"
)

// sectionTitle names sections in notes and file names.
var sectionTitle = map[string]string{
	secServed:       "hook-to-served",
	secServedLeader: "hook-to-served-leader",
	secStop:         "stop-to-404",
	secPaths:        "provider-served",
	secPathsStop:    "provider-stop-to-404",
	secFloor:        "floor",
}

// Targets the sidecar is held to: hook → served at the ratio size at most a
// quarter of the baseline's; hook → committed p99 at most 10 ms with 10,000
// routes present; a burst served within two Traefik reload cycles of its
// end; peak RSS at most 64 MiB with 10,000 routes owned.
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
	Redis     string
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
	// deliversCert: the sidecar's body names a default certificate.
	deliversCert bool
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

// med is the median of values (NaN when there is none).
func (r *results) med(section, variant string, routes int, metric string) float64 {
	return medianOr(r.values(section, variant, routes, metric))
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

func (r *results) write(out, report string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := r.writeCSV(filepath.Join(out, "results.csv")); err != nil {
		return err
	}
	if !r.cfg.skipZooKeeperPaths {
		if err := r.plotServed(filepath.Join(out, "hook-to-served.svg")); err != nil {
			return err
		}
		if err := r.plotOverhead(filepath.Join(out, "overhead.svg")); err != nil {
			return err
		}
	}
	if err := r.plotPaths(filepath.Join(out, "providers.svg")); err != nil {
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
