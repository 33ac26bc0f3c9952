package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

// Every validation error names the JSON path of the request that was sent,
// wherever the execution sits in it. The checks run before any ZooKeeper
// I/O, so the offline server answers them.
func TestErrorFieldIsThePathInTheRequest(t *testing.T) {
	s, _ := newOfflineServerWith(t, nil, execution.Settings{BasePath: "/zoe/proxy", Routing: execution.RoutingHost, ProxyDomain: "apps.example.com"})
	h := s.Handler()
	exec := func(id, extra string) string {
		return `{"id":"` + id + `","services":[{"name":"nb0","ports":[{"port_number":8888,"proxy":true,"external_ip":"10.0.0.1"` + extra + `}]}]}`
	}
	good := func(id string) string { return exec(id, `,"external_port":1`) }
	tests := []struct {
		name, method, path, body string
		field, message           string
	}{
		{"resync: an id that cannot become a host name", http.MethodPut, "/v1/executions?dry_run=true",
			`{"executions":[` + good("7") + `,` + good("7-1") + `]}`,
			"executions[1].id", `execution id "7-1" must not contain '-' in host routing`},
		{"resync: the same, not a dry run", http.MethodPut, "/v1/executions",
			`{"executions":[` + good("7") + `,` + good("7-1") + `]}`,
			"executions[1].id", "must not contain '-'"},
		{"resync: a port of the second execution", http.MethodPut, "/v1/executions?dry_run=true",
			`{"executions":[` + good("7") + `,` + exec("8", "") + `]}`,
			"executions[1].services[0].ports[0].external_port", ""},
		{"resync: a host name too long", http.MethodPut, "/v1/executions?dry_run=true",
			`{"executions":[` + good("7") + `,` + strings.Replace(good("8"), "nb0", strings.Repeat("n", 60), 1) + `]}`,
			"executions[1].services[0].ports[0]", "not a DNS label"},
		{"resync: a repeated id", http.MethodPut, "/v1/executions?dry_run=true",
			`{"executions":[` + good("7") + `,` + good("7") + `]}`,
			"executions[1].id", "duplicate execution id"},
		{"hook: the same id", http.MethodPost, "/v1/hooks",
			`{"event":"start","execution":` + good("7-1") + `}`,
			"execution.id", "must not contain '-'"},
		{"prepare: the same id", http.MethodPost, "/v1/hooks",
			`{"event":"prepare","execution":` + good("7-1") + `}`,
			"execution.id", "must not contain '-'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+offlineToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			var resp ErrorResponse
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
			assert.Equal(t, tt.field, resp.Field, resp.Error)
			assert.Contains(t, resp.Error, tt.message)
		})
	}
}
