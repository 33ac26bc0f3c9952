package main

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/stats"
)

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
	if err := r.plotPaths(filepath.Join(cfg.out, "providers.svg")); err != nil {
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
		pt, err := plotter.NewScatter(plotter.XYs{{X: float64(r.cfg.ratioAt), Y: stats.Median(v.xs) / 1000}})
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
		XYs:    []plotter.XY{{X: float64(r.cfg.ratioAt), Y: stats.Median(sc) / 1000}},
		Labels: []string{fmt.Sprintf("leader: %.2f×", stats.Median(sc)/stats.Median(bl))},
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
		line, points, err := r.medianSeries(p, secServed, v.name, r.cfg.servedAt, v.c, v.shape)
		if err != nil {
			return err
		}
		if line == nil {
			continue
		}
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
		labels.XYs = append(labels.XYs, plotter.XY{X: float64(size), Y: stats.Median(sc) / 1000})
		labels.Labels = append(labels.Labels, fmt.Sprintf("  %.2f×", stats.Median(sc)/stats.Median(bl)))
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
			vals = append(vals, stats.Percentile(r.values(secOverhead, sr.variant, size, sr.metric), sr.pct))
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

// medianSeries adds to p the medians of section's variant over sizes as a
// line with points, and every run as a cross (seconds). The line and the
// points are nil when nothing was measured.
func (r *results) medianSeries(p *plot.Plot, section, variant string, sizes []int, c color.Color, shape draw.GlyphDrawer) (*plotter.Line, *plotter.Scatter, error) {
	var med, all plotter.XYs
	for _, size := range sizes {
		xs := r.values(section, variant, size, "served")
		if len(xs) == 0 {
			continue
		}
		med = append(med, plotter.XY{X: float64(size), Y: stats.Median(xs) / 1000})
		for _, x := range xs {
			all = append(all, plotter.XY{X: float64(size), Y: x / 1000})
		}
	}
	if len(med) == 0 {
		return nil, nil, nil
	}
	line, points, err := plotter.NewLinePoints(med)
	if err != nil {
		return nil, nil, err
	}
	line.Color, line.Width = c, vg.Points(1.5)
	points.Color, points.Shape, points.Radius = c, shape, vg.Points(3.5)
	sc, err := plotter.NewScatter(all)
	if err != nil {
		return nil, nil, err
	}
	sc.Color, sc.Shape, sc.Radius = c, draw.CrossGlyph{}, vg.Points(2.5)
	p.Add(line, points, sc)
	return line, points, nil
}
