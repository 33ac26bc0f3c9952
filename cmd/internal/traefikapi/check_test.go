package traefikapi

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

const rule = "Path(`/zoe/proxy/k`) || PathPrefix(`/zoe/proxy/k/`)"

var written = kvschema.Route{Name: "zsc-k-7", Rule: rule, Backend: "http://10.0.0.1:32768"}

// apiRouter and apiService decode JSON shaped as Traefik v3.6's API
// answers, so the tests also pin the field names.
func apiRouter(t *testing.T, js string) *Router {
	t.Helper()
	var r *Router
	require.NoError(t, json.Unmarshal([]byte(js), &r))
	return r
}

func apiService(t *testing.T, js string) *Service {
	t.Helper()
	var s *Service
	require.NoError(t, json.Unmarshal([]byte(js), &s))
	return s
}

const (
	liveRouter  = `{"entryPoints":["web"],"service":"zsc-k-7","rule":"Path(` + "`/zoe/proxy/k`) || PathPrefix(`/zoe/proxy/k/`" + `)","status":"enabled","using":["web"],"name":"zsc-k-7@zookeeper","provider":"zookeeper"}`
	liveService = `{"loadBalancer":{"servers":[{"url":"http://10.0.0.1:32768"}],"passHostHeader":true},"status":"enabled","usedBy":["zsc-k-7@zookeeper"],"serverStatus":{"http://10.0.0.1:32768":"UP"},"name":"zsc-k-7@zookeeper","provider":"zookeeper","type":"loadbalancer"}`
)

func TestServed(t *testing.T) {
	strip := written
	strip.StripPrefix = "/zoe/proxy/k"
	onWeb := written
	onWeb.EntryPoints = []string{"websecure"}
	tests := []struct {
		name     string
		route    kvschema.Route
		provider string
		router   string // JSON; "" means the API answered 404
		service  string
		wantErr  string // "" means served
	}{
		{name: "as written", route: written, provider: "zookeeper", router: liveRouter, service: liveService},
		{name: "service named with its provider", route: written, provider: "zookeeper",
			router: `{"service":"zsc-k-7@zookeeper","rule":"` + jsonRule + `","status":"enabled"}`, service: liveService},
		{name: "no router yet", route: written, provider: "zookeeper", service: liveService, wantErr: "router zsc-k-7@zookeeper: not in Traefik's configuration"},
		{name: "router disabled: Traefik read the router before its service",
			route: written, provider: "zookeeper",
			router:  `{"service":"zsc-k-7","rule":"` + jsonRule + `","status":"disabled","error":["the service \"zsc-k-7@zookeeper\" does not exist"]}`,
			wantErr: `router zsc-k-7@zookeeper: status "disabled", errors "the service \"zsc-k-7@zookeeper\" does not exist"`},
		{name: "router with an error but enabled", route: written, provider: "zookeeper",
			router: `{"service":"zsc-k-7","rule":"` + jsonRule + `","status":"enabled","error":["x"]}`, service: liveService, wantErr: `errors "x"`},
		{name: "router in warning", route: written, provider: "zookeeper",
			router: `{"service":"zsc-k-7","rule":"` + jsonRule + `","status":"warning"}`, service: liveService, wantErr: `status "warning"`},
		{name: "old rule", route: written, provider: "zookeeper",
			router: `{"service":"zsc-k-7","rule":"Path(` + "`/`" + `) \u0026\u0026 !PathPrefix(` + "`/`" + `)","status":"enabled"}`, service: liveService, wantErr: "rule"},
		{name: "another service", route: written, provider: "zookeeper",
			router: `{"service":"zsc-other","rule":"` + jsonRule + `","status":"enabled"}`, service: liveService, wantErr: `service "zsc-other", written "zsc-k-7"`},
		{name: "service qualified with another provider", route: written, provider: "zookeeper",
			router: `{"service":"zsc-k-7@file","rule":"` + jsonRule + `","status":"enabled"}`, service: liveService, wantErr: "service"},
		{name: "no service yet", route: written, provider: "zookeeper", router: liveRouter, wantErr: "service zsc-k-7@zookeeper: not in Traefik's configuration"},
		{name: "service disabled", route: written, provider: "zookeeper", router: liveRouter,
			service: `{"loadBalancer":{"servers":[{"url":"http://10.0.0.1:32768"}]},"status":"disabled","error":["boom"]}`, wantErr: `service zsc-k-7@zookeeper: status "disabled"`},
		{name: "old backend still in place", route: written, provider: "zookeeper", router: liveRouter,
			service: `{"loadBalancer":{"servers":[{"url":"http://10.0.0.1:32767"}]},"status":"enabled"}`,
			wantErr: `servers ["http://10.0.0.1:32767"], written ["http://10.0.0.1:32768"]`},
		{name: "old and new backend", route: written, provider: "zookeeper", router: liveRouter,
			service: `{"loadBalancer":{"servers":[{"url":"http://10.0.0.1:32768"},{"url":"http://10.0.0.1:32767"}]},"status":"enabled"}`, wantErr: "servers"},
		{name: "no load balancer", route: written, provider: "zookeeper", router: liveRouter,
			service: `{"status":"enabled"}`, wantErr: "servers []"},
		{name: "strip prefix middleware in place", route: strip, provider: "zookeeper",
			router: `{"service":"zsc-k-7","middlewares":["zsc-k-7-strip"],"rule":"` + jsonRule + `","status":"enabled"}`, service: liveService},
		{name: "strip prefix middleware missing", route: strip, provider: "zookeeper", router: liveRouter, service: liveService,
			wantErr: `middlewares [], written ["zsc-k-7-strip"]`},
		{name: "entry points as written", route: onWeb, provider: "zookeeper",
			router: `{"entryPoints":["websecure"],"service":"zsc-k-7","rule":"` + jsonRule + `","status":"enabled"}`, service: liveService},
		{name: "other entry points", route: onWeb, provider: "zookeeper", router: liveRouter, service: liveService,
			wantErr: `entry points ["web"], written ["websecure"]`},
		{name: "names qualified with the http provider", route: written, provider: "http",
			router: `{"service":"zsc-k-7@http","rule":"` + jsonRule + `","status":"enabled"}`, service: liveService},
		{name: "another provider, no router", route: written, provider: "http", wantErr: "router zsc-k-7@http: not in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var router *Router
			var service *Service
			if tt.router != "" {
				router = apiRouter(t, tt.router)
			}
			if tt.service != "" {
				service = apiService(t, tt.service)
			}
			err := Served(tt.route, tt.provider, router, service)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// jsonRule is rule as a JSON string's content.
var jsonRule = func() string {
	b, _ := json.Marshal(rule)
	return string(b[1 : len(b)-1])
}()

func TestUnserved(t *testing.T) {
	tombRule, _ := json.Marshal(kvschema.NeverMatchRule)
	tests := []struct {
		name    string
		router  string // "" means the API answered 404
		wantErr bool
	}{
		{name: "router gone", router: ""},
		{name: "tombstone's rule in place", router: `{"service":"zsc-k-7","rule":` + string(tombRule) + `,"status":"enabled"}`},
		{name: "router disabled", router: `{"service":"zsc-k-7","rule":"` + jsonRule + `","status":"disabled","error":["x"]}`},
		{name: "still the live rule", router: liveRouter, wantErr: true},
		{name: "live rule in warning", router: `{"service":"zsc-k-7","rule":"` + jsonRule + `","status":"warning"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var router *Router
			if tt.router != "" {
				router = apiRouter(t, tt.router)
			}
			err := Unserved(written, "zookeeper", router)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "router zsc-k-7@zookeeper: still routes")
				return
			}
			assert.NoError(t, err)
		})
	}
}
