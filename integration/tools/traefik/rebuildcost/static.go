package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	httpmuxer "github.com/traefik/traefik/v3/pkg/muxer/http"
)

// uiRule is the rule of the sidecar's static route for Zoe's UI at /zoe,
// which keeps the proxied paths below it out.
const uiRule = "(Path(`/zoe`) || PathPrefix(`/zoe/`)) && !PathPrefix(`/zoe/proxy/`)"

// staticRun is the routing cost of one muxer: a request to the UI and one
// to an execution's route.
type staticRun struct{ ui, hit time.Duration }

// measureStatic builds n execution routes of the sidecar's shape plus the
// UI route, at uiPriority (0: the rule's length, as Traefik derives it),
// and times a request to the UI and one to an execution.
func measureStatic(n, requests, uiPriority int) staticRun {
	parser, err := httpmuxer.NewSyntaxParser()
	if err != nil {
		fail(err)
	}
	ok := http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusOK) })
	ui := http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusAccepted) })
	m := httpmuxer.NewMuxer(parser)
	for i := range n {
		rule := shapes[0].rule(keyPath(i))
		if err := m.AddRoute(rule, "", httpmuxer.GetRulePriority(rule), ok); err != nil {
			fail(err)
		}
	}
	priority := uiPriority
	if priority == 0 {
		priority = httpmuxer.GetRulePriority(uiRule)
	}
	if err := m.AddRoute(uiRule, "", priority, ui); err != nil {
		fail(err)
	}
	w := &discard{h: http.Header{}}
	what := fmt.Sprintf("UI priority %d", uiPriority)
	serve := func(req *http.Request, want int) { w.serve(m, req, want, what) }
	uiReq := httptest.NewRequest(http.MethodGet, "/zoe/api/status", nil)
	hitReq := httptest.NewRequest(http.MethodGet, keyPath(n/2)+"/api/status", nil)
	var r staticRun
	r.ui, _ = perRequest(requests, func(int) { serve(uiReq, http.StatusAccepted) })
	r.hit, _ = perRequest(requests, func(int) { serve(hitReq, http.StatusOK) })
	return r
}

// compareStatic times the UI route at Traefik's derived priority and at
// the sidecar's static-route priority, alternating, and prints medians.
func compareStatic(sizes []int, reps int) {
	const first = 1_000_000
	fmt.Printf("Zoe's UI route `%s` among N execution routes; CPU time per request, median of %d (min–max)\n\n", uiRule, reps)
	fmt.Println("| routes | UI request, derived priority | UI request, priority 1,000,000 | execution request, derived | execution request, UI first |")
	fmt.Println("|---:|---:|---:|---:|---:|")
	for _, n := range sizes {
		requests := max(200, 20_000_000/n)
		var derived, prioritized []staticRun
		for rep := range reps {
			if rep%2 == 0 {
				derived = append(derived, measureStatic(n, requests, 0))
				prioritized = append(prioritized, measureStatic(n, requests, first))
			} else {
				prioritized = append(prioritized, measureStatic(n, requests, first))
				derived = append(derived, measureStatic(n, requests, 0))
			}
		}
		col := func(rs []staticRun, f func(staticRun) time.Duration) string {
			var ds []time.Duration
			for _, r := range rs {
				ds = append(ds, f(r))
			}
			slices.Sort(ds)
			round := time.Microsecond / 10
			return fmt.Sprintf("%s (%s–%s)", ds[len(ds)/2].Round(round), ds[0].Round(round), ds[len(ds)-1].Round(round))
		}
		ui := func(r staticRun) time.Duration { return r.ui }
		hit := func(r staticRun) time.Duration { return r.hit }
		fmt.Printf("| %d | %s | %s | %s | %s |\n", n, col(derived, ui), col(prioritized, ui), col(derived, hit), col(prioritized, hit))
	}
}
