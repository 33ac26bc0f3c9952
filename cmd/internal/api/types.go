// Package api is the sidecar's HTTP API (v1): lifecycle hooks from Zoe's
// master, listing, full resync, health, readiness and metrics.
package api

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// The wire types live in apiv1, where clients can import them.
const (
	EventPrepare = apiv1.EventPrepare
	EventStart   = apiv1.EventStart
	EventStop    = apiv1.EventStop
)

type (
	HookRequest       = apiv1.HookRequest
	RouteView         = apiv1.RouteView
	RoutesResponse    = apiv1.RoutesResponse
	ExecutionsRequest = apiv1.ExecutionsRequest
	PlanView          = apiv1.PlanView
	SyncResponse      = apiv1.SyncResponse
	ErrorResponse     = apiv1.ErrorResponse
)

// HookResponse is the body of a hook's answer plus what goes in its headers.
type HookResponse struct {
	apiv1.HookResponse
	// timing is sent as the Server-Timing header, not in the body.
	timing *provider.Timing
}

// Views turn the provider's records into the API's shapes; the CLI prints
// the same shapes.
type Views struct {
	public *url.URL
}

// NewViews takes the optional public URL ("https://zoe.example.com").
func NewViews(publicURL string) (Views, error) {
	if publicURL == "" {
		return Views{}, nil
	}
	u, err := url.Parse(strings.TrimRight(publicURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Views{}, fmt.Errorf("public URL %q: want http(s)://host[:port][/path]", publicURL)
	}
	return Views{public: u}, nil
}

// Route is one route as clients see it; a tombstone shows no backend.
func (v Views) Route(r state.Route) RouteView {
	rv := RouteView{
		ExecutionID: r.ExecutionID,
		Service:     r.Service,
		Port:        r.Port,
		Key:         r.Key,
		Path:        r.Path,
		Host:        r.Host,
		Backend:     r.Traefik.Backend,
		Router:      r.Traefik.Name,
		URL:         v.publicURL(r),
	}
	if r.Traefik.IsTombstone() {
		rv.Backend = ""
	}
	return rv
}

// Routes maps Route over rs; never nil, so JSON shows [].
func (v Views) Routes(rs []state.Route) []RouteView {
	out := make([]RouteView, 0, len(rs))
	for _, r := range rs {
		out = append(out, v.Route(r))
	}
	return out
}

// Plan shows a plan; a replacement is a delete plus a create.
func (v Views) Plan(p plan.Plan) PlanView {
	pv := PlanView{Create: v.Routes(p.Create), Update: []RouteView{}, Delete: v.Routes(p.Delete)}
	for _, c := range p.Update {
		pv.Update = append(pv.Update, v.Route(c.New))
	}
	for _, c := range p.Replace {
		pv.Delete = append(pv.Delete, v.Route(c.Old))
		pv.Create = append(pv.Create, v.Route(c.New))
	}
	return pv
}

// Sync shows a resync's plans.
func (v Views) Sync(sp provider.SyncPlan, dryRun bool) SyncResponse {
	resp := SyncResponse{DryRun: dryRun, Plan: map[string]PlanView{}}
	for id, p := range sp.Plans {
		resp.Plan[id] = v.Plan(p)
	}
	return resp
}

// publicURL is where users reach the route, when a public URL is set.
func (v Views) publicURL(r state.Route) string {
	if v.public == nil {
		return ""
	}
	if r.Host != "" {
		host := r.Host
		if port := v.public.Port(); port != "" {
			host = net.JoinHostPort(r.Host, port)
		}
		return v.public.Scheme + "://" + host + "/"
	}
	return v.public.String() + r.Path + "/"
}

func envOf(rs []state.Route) map[string]map[string]string {
	env := map[string]map[string]string{}
	for _, r := range rs {
		if env[r.Service] == nil {
			env[r.Service] = map[string]string{}
		}
		env[r.Service][execution.EnvName(r.Port)] = r.Path
	}
	return env
}
