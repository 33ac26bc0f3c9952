package api

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// Metrics are the sidecar's Prometheus metrics, on their own registry.
type Metrics struct {
	registry *prometheus.Registry
	hooks    *prometheus.CounterVec
	apply    prometheus.Histogram
	// traefikAnswers counts GET /v1/traefik answers by kind.
	traefikAnswers *prometheus.CounterVec
}

// MirrorSource reports the mirror GET /v1/traefik serves.
type MirrorSource interface {
	// Age is how long the mirror may have missed changes; negative
	// before the first load.
	Age() time.Duration
	// Revision is the mirror's revision; -1 before the first load.
	Revision() int64
	// FullLoads counts loads of every record (at start, after falling
	// behind the kept change records).
	FullLoads() float64
	// BellRings counts the ZooKeeper watch's rings that woke the mirror.
	BellRings() float64
}

// RegisterMirror adds the mirror's gauges.
func (m *Metrics) RegisterMirror(src MirrorSource) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "zk_sidecar_mirror_age_seconds",
			Help: "How long the mirror served to Traefik's HTTP provider may have missed changes: 0 while it follows ZooKeeper, growing while ZooKeeper is unreachable; -1 before the first load.",
		}, func() float64 {
			if age := src.Age(); age >= 0 {
				return age.Seconds()
			}
			return -1
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "zk_sidecar_mirror_revision",
			Help: "Revision of the mirror served to Traefik's HTTP provider (-1 before the first load).",
		}, func() float64 { return float64(src.Revision()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "zk_sidecar_mirror_full_loads_total",
			Help: "Loads of every record into the mirror (at start, or after falling behind the kept change records).",
		}, src.FullLoads),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "zk_sidecar_mirror_bell_rings_total",
			Help: "Times the mirror's ZooKeeper watch on the revision rang (a commit, or its connection dropped); without rings the mirror polls the revision every 20 ms.",
		}, src.BellRings),
	)
}

// Source reports live values at scrape time; *provider.Writer is one.
type Source interface {
	Connected() bool
	// Stats counts transactions refused because another writer (a
	// replica, the garbage collector) committed first, each re-planned,
	// and tombstoned routes the garbage collector deleted.
	Stats() provider.Stats
	// Meta holds the number of routes the sidecars own.
	Meta() (state.Meta, error)
}

// NewMetrics registers the metrics of hooks and commits; Track adds the
// gauges read from a source.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zk_sidecar_hooks_total",
			Help: "Lifecycle hooks answered, by event and HTTP status.",
		}, []string{"event", "status"}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "zk_sidecar_apply_duration_seconds",
			Help:    "Time to commit one ZooKeeper transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		traefikAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zk_sidecar_traefik_config_answers_total",
			Help: "GET /v1/traefik answers: body, not-modified or unavailable; -after-hold when the poll was held first.",
		}, []string{"answer"}),
	}
	m.registry.MustRegister(m.hooks, m.apply, m.traefikAnswers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Track registers the gauges read from src at scrape time; call it once.
func (m *Metrics) Track(src Source) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "zk_sidecar_zookeeper_connected",
			Help: "1 while the ZooKeeper session is up.",
		}, func() float64 {
			if src.Connected() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "zk_sidecar_routes_owned",
			Help: "Routes the sidecars own in ZooKeeper (-1 when unknown).",
		}, func() float64 {
			meta, err := src.Meta()
			if err != nil {
				return -1
			}
			return float64(meta.Routes)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "zk_sidecar_transaction_conflicts_total",
			Help: "Transactions refused because another writer committed first; each was re-planned.",
		}, func() float64 { return float64(src.Stats().Conflicts) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "zk_sidecar_gc_collected_routes_total",
			Help: "Tombstoned routes deleted by the garbage collector.",
		}, func() float64 { return float64(src.Stats().GCDeleted) }),
	)
}

// ObserveApply records how long one committed transaction took.
func (m *Metrics) ObserveApply(took time.Duration) { m.apply.Observe(took.Seconds()) }

// Handler serves the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
