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
	}
	m.registry.MustRegister(m.hooks, m.apply,
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
