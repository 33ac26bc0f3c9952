// Package api is the sidecar's HTTP API (v1): lifecycle hooks from Zoe's
// master, listing, full resync, health, readiness and metrics.
package api

import (
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// Hook events.
const (
	EventPrepare = "prepare"
	EventStart   = "start"
	EventStop    = "stop"
)

// HookRequest is the body of POST /v1/hooks.
type HookRequest struct {
	Event     string               `json:"event"`
	Execution *execution.Execution `json:"execution"`
}

// RouteView is one route as clients see it.
type RouteView struct {
	ExecutionID string `json:"execution_id,omitempty"`
	Service     string `json:"service"`
	Port        int    `json:"port"`
	Key         string `json:"key"`
	Path        string `json:"path"`
	Host        string `json:"host,omitempty"`
	URL         string `json:"url,omitempty"`
	Backend     string `json:"backend,omitempty"`
	Router      string `json:"router,omitempty"`
}

// HookResponse answers every hook event.
type HookResponse struct {
	ExecutionID string                       `json:"execution_id"`
	Routes      []RouteView                  `json:"routes"`
	Env         map[string]map[string]string `json:"env"`
	// Served is set on start with ?wait: whether Traefik shows every router live.
	Served *bool `json:"served,omitempty"`
}

// RoutesResponse answers GET /v1/routes.
type RoutesResponse struct {
	Routes []RouteView `json:"routes"`
}

// ExecutionsRequest is the body of PUT /v1/executions (full resync).
type ExecutionsRequest struct {
	Executions []execution.Execution `json:"executions"`
}

// PlanView is one execution's part of a resync plan.
type PlanView struct {
	Create []RouteView `json:"create"`
	Update []RouteView `json:"update"`
	Delete []RouteView `json:"delete"`
}

// SyncResponse answers PUT /v1/executions.
type SyncResponse struct {
	DryRun bool                `json:"dry_run"`
	Plan   map[string]PlanView `json:"plan"`
}

// ErrorResponse is every error body; Field is the JSON path at fault.
type ErrorResponse struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (s *Server) routeView(r state.Route) RouteView {
	v := RouteView{
		ExecutionID: r.ExecutionID,
		Service:     r.Service,
		Port:        r.Port,
		Key:         r.Key,
		Path:        r.Path,
		Host:        r.Host,
		Backend:     r.Traefik.Backend,
		Router:      r.Traefik.Name,
	}
	if r.Traefik.IsTombstone() {
		v.Backend = ""
	}
	v.URL = s.publicURL(r)
	return v
}

func (s *Server) routeViews(rs []state.Route) []RouteView {
	out := make([]RouteView, 0, len(rs))
	for _, r := range rs {
		out = append(out, s.routeView(r))
	}
	return out
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

func (s *Server) planView(p plan.Plan) PlanView {
	v := PlanView{Create: s.routeViews(p.Create), Update: []RouteView{}, Delete: s.routeViews(p.Delete)}
	for _, c := range p.Update {
		v.Update = append(v.Update, s.routeView(c.New))
	}
	for _, c := range p.Replace {
		v.Delete = append(v.Delete, s.routeView(c.Old))
		v.Create = append(v.Create, s.routeView(c.New))
	}
	return v
}
