package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	httpmuxer "github.com/traefik/traefik/v3/pkg/muxer/http"
)

// A shape is a Traefik v3 rule for "path p and everything below it, p's
// last segment matched whole". All shapes listed here match the same
// requests; shapes_test.go checks that through Traefik's muxer.
type shape struct {
	name string
	rule func(p string) string
}

var shapes = []shape{
	{"path-or-prefix", func(p string) string { return fmt.Sprintf("Path(`%s`) || PathPrefix(`%s/`)", p, p) }},
	{"prefix-or-path", func(p string) string { return fmt.Sprintf("PathPrefix(`%s/`) || Path(`%s`)", p, p) }},
	{"regexp", func(p string) string { return fmt.Sprintf("PathRegexp(`^%s(/|$)`)", regexp.QuoteMeta(p)) }},
	// A prefix test first, so that a request for another key is rejected
	// by one matcher instead of two.
	{"guard-path-or-prefix", func(p string) string {
		return fmt.Sprintf("PathPrefix(`%s`) && (Path(`%s`) || PathPrefix(`%s/`))", p, p, p)
	}},
	{"guard-regexp", func(p string) string {
		return fmt.Sprintf("PathPrefix(`%s`) && PathRegexp(`^%s(/|$)`)", p, regexp.QuoteMeta(p))
	}},
}

func shapeNamed(name string) (shape, error) {
	for _, s := range shapes {
		if s.name == name {
			return s, nil
		}
	}
	return shape{}, fmt.Errorf("unknown rule shape %q", name)
}

// discard is a ResponseWriter that keeps only the status, so that the
// loops time the muxer and not a recorder.
type discard struct {
	h    http.Header
	code int
}

// serve sends req through h and fails unless it answers want; what
// names the muxer in the error.
func (d *discard) serve(h http.Handler, req *http.Request, want int, what string) {
	d.code = http.StatusOK
	clear(d.h)
	h.ServeHTTP(d, req)
	if d.code != want {
		fail(fmt.Errorf("%s: %s answered %d, want %d", what, req.URL.Path, d.code, want))
	}
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

type shapeRun struct {
	build, parse time.Duration // CPU
	miss, hit    time.Duration // CPU per request
	missAllocs   float64
	hitAllocs    float64
}

// keyPath is the public path of route i: /zoe/proxy/<64 hex>.
func keyPath(i int) string {
	sum := sha256.Sum256([]byte(strconv.Itoa(i)))
	return "/zoe/proxy/" + hex.EncodeToString(sum[:])
}

// measureShape builds a muxer of n routes of one shape as Traefik's router
// manager does (AddRoute with the rule-length priority, one after the
// other), then routes requests through its ServeHTTP: requests below
// hitKeys routes spread over the muxer, and requests no route matches.
func measureShape(s shape, n, requests int) shapeRun {
	parser, err := httpmuxer.NewSyntaxParser()
	if err != nil {
		fail(err)
	}
	ok := http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusOK) })
	rules := make([]string, n)
	for i := range rules {
		rules[i] = s.rule(keyPath(i))
	}
	var r shapeRun
	// Parsing alone: each rule into its own empty muxer, so no sort of
	// the other routes is paid.
	runtime.GC()
	r.parse = timed(func() error {
		for _, rule := range rules {
			if err := httpmuxer.NewMuxer(parser).AddRoute(rule, "", httpmuxer.GetRulePriority(rule), ok); err != nil {
				return err
			}
		}
		return nil
	})
	m := httpmuxer.NewMuxer(parser)
	runtime.GC()
	r.build = timed(func() error {
		for _, rule := range rules {
			if err := m.AddRoute(rule, "", httpmuxer.GetRulePriority(rule), ok); err != nil {
				return err
			}
		}
		return nil
	})

	const hitKeys = 64
	var hits []*http.Request
	for k := range hitKeys {
		hits = append(hits, httptest.NewRequest(http.MethodGet, keyPath(k*n/hitKeys)+"/api/status", nil))
	}
	miss := httptest.NewRequest(http.MethodGet, keyPath(-1)+"/api/status", nil)
	w := &discard{h: http.Header{}}
	serve := func(req *http.Request, want int) { w.serve(m, req, want, s.name) }
	r.miss, r.missAllocs = perRequest(requests, func(i int) { serve(miss, http.StatusNotFound) })
	r.hit, r.hitAllocs = perRequest(requests, func(i int) { serve(hits[i%hitKeys], http.StatusOK) })
	return r
}

// perRequest runs f n times and returns the CPU time and the heap
// allocations per call.
func perRequest(n int, f func(i int)) (time.Duration, float64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := cpuTime()
	for i := range n {
		f(i)
	}
	cpu := cpuTime() - start
	runtime.ReadMemStats(&after)
	return cpu / time.Duration(n), float64(after.Mallocs-before.Mallocs) / float64(n)
}

// compareShapes measures each shape reps times at each size, the shapes in
// a different order at each repetition (rotated, and reversed every other
// one) so that a slow period of a shared machine does not favour one shape,
// and prints the medians.
func compareShapes(names []string, sizes []int, reps int) {
	var list []shape
	for _, name := range names {
		s, err := shapeNamed(name)
		if err != nil {
			fail(err)
		}
		list = append(list, s)
	}
	p := keyPath(0)
	fmt.Println("| shape | rule for p | priority (rule length) at a 64-hex key |")
	fmt.Println("|---|---|---:|")
	for _, s := range list {
		fmt.Printf("| %s | `%s` | %d |\n", s.name, s.rule("p"), len(s.rule(p)))
	}
	for _, n := range sizes {
		// Enough requests for each loop to last a few hundred ms.
		requests := max(200, 20_000_000/n)
		runs := map[string][]shapeRun{}
		for rep := range reps {
			order := slices.Clone(list)
			rot := rep % len(order)
			order = append(order[rot:], order[:rot]...)
			if rep%2 == 1 {
				slices.Reverse(order)
			}
			for _, s := range order {
				runs[s.name] = append(runs[s.name], measureShape(s, n, requests))
			}
		}
		fmt.Printf("\n%d routers, %d repetitions, medians of CPU time (min–max); %d requests per loop\n\n", n, reps, requests)
		fmt.Println("| shape | Muxer.AddRoute × N | of which parsing | 404 per request | hit per request | allocs per 404 / hit |")
		fmt.Println("|---|---:|---:|---:|---:|---:|")
		for _, s := range list {
			rs := runs[s.name]
			// Allocations are the same at every repetition: the first's are shown.
			col := func(f func(shapeRun) time.Duration, round time.Duration) string {
				var ds []time.Duration
				for _, r := range rs {
					ds = append(ds, f(r))
				}
				slices.Sort(ds)
				return fmt.Sprintf("%s (%s–%s)", ds[len(ds)/2].Round(round), ds[0].Round(round), ds[len(ds)-1].Round(round))
			}
			fmt.Printf("| %s | %s | %s | %s | %s | %.0f / %.0f |\n", s.name,
				col(func(r shapeRun) time.Duration { return r.build }, time.Millisecond),
				col(func(r shapeRun) time.Duration { return r.parse }, time.Millisecond),
				col(func(r shapeRun) time.Duration { return r.miss }, time.Microsecond/10),
				col(func(r shapeRun) time.Duration { return r.hit }, time.Microsecond/10),
				rs[0].missAllocs, rs[0].hitAllocs)
		}
	}
}

func splitNames(s string) []string {
	if s == "all" {
		var out []string
		for _, sh := range shapes {
			out = append(out, sh.name)
		}
		return out
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}
