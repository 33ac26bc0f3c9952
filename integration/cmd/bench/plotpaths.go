package main

import (
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	colHTTP  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colRedis = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	colFloor = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
)

// plotPaths draws hook → served against routes present for the three ways
// Traefik gets the routes, and the floor under them.
func (r *results) plotPaths(path string) error {
	p := plot.New()
	p.Title.Text = "Hook → served by Traefik's provider (lines: medians; crosses: each run)"
	p.X.Label.Text = "routes already present"
	p.Y.Label.Text = "seconds"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	sizes := append(append([]int{}, r.cfg.servedAt...), r.cfg.providersAt...)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	p.X.Tick.Marker = fixedTicks(sizes)
	p.Y.Tick.Marker = logTicks125{}
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), 0.0
	for _, v := range []struct {
		section, variant, label string
		c                       color.Color
		shape                   draw.GlyphDrawer
	}{
		{secServed, "sidecar", "ZooKeeper provider (sidecar writes ZooKeeper)", colSidecar, draw.CircleGlyph{}},
		{secPaths, "http", "HTTP provider (sidecar's GET /v1/traefik, held polls)", colHTTP, draw.TriangleGlyph{}},
		{secPaths, "redis", "Redis provider (plain client, MULTI/EXEC per route)", colRedis, draw.SquareGlyph{}},
		{secFloor, r.floorVariant(), "floor: Traefik's rebuild on its own (static body)", colFloor, draw.RingGlyph{}},
	} {
		line, points, err := r.medianSeries(p, v.section, v.variant, sizes, v.c, v.shape)
		if err != nil {
			return err
		}
		if line == nil {
			continue
		}
		if v.section == secFloor {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		for _, size := range sizes {
			for _, x := range r.values(v.section, v.variant, size, "served") {
				lo, hi = math.Min(lo, x/1000), math.Max(hi, x/1000)
			}
		}
		p.Legend.Add(v.label, line, points)
	}
	if hi == 0 {
		return nil // nothing measured
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(8)
	p.X.Min, p.X.Max = float64(sizes[0])*0.7, float64(sizes[len(sizes)-1])*1.4
	p.Y.Min, p.Y.Max = lo/1.5, hi*4
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}
