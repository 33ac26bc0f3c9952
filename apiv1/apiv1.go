// Package apiv1 is the wire format of the sidecar's HTTP API v1: the
// request and response bodies, shared by the server and its clients (the
// CLI, the integration tests, the demo and the bench), so that no client
// keeps a copy of them. Types only: no I/O.
package apiv1

import "github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"

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
	// Served is set on start with ?wait: whether Traefik served every
	// route as written before the wait ended.
	Served *bool `json:"served,omitempty"`
	// Unserved is set on stop with ?wait: whether Traefik stopped routing
	// every stopped route before the wait ended.
	Unserved *bool `json:"unserved,omitempty"`
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

// ReadyResponse is the body of /readyz.
type ReadyResponse struct {
	Status string `json:"status"`
	// Mirror describes the copy GET /v1/traefik serves, which stays
	// served while ZooKeeper is unreachable.
	Mirror *MirrorStatus `json:"mirror,omitempty"`
}

// MirrorStatus is the mirror's revision and age in /readyz.
type MirrorStatus struct {
	Loaded   bool  `json:"loaded"`
	Revision int64 `json:"revision"`
	Routes   int   `json:"routes"`
	// AgeSeconds is how long the mirror may have missed changes: 0 while
	// it follows ZooKeeper.
	AgeSeconds float64 `json:"age_seconds"`
}
