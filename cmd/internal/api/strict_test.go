package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveOffline sends one request to an offline server (no ZooKeeper: a
// start or stop that passes validation gets 503).
func serveOffline(t *testing.T, h http.Handler, method, target, auth, body string) (int, ErrorResponse) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var e ErrorResponse
	if rec.Code != http.StatusOK {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
	}
	return rec.Code, e
}

func TestWaitParameterCheckedOnEveryEvent(t *testing.T) {
	s, _ := newOfflineServer(t, nil)
	h := s.Handler()
	const (
		prepare = `{"event":"prepare","execution":{"id":42,"services":[{"name":"nb0","ports":[{"port_number":8888,"proxy":true}]}]}}`
		start   = `{"event":"start","execution":{"id":42,"services":[{"name":"nb0","ports":[{"port_number":8888,"proxy":true,"external_ip":"10.0.0.1","external_port":1}]}]}}`
		stop    = `{"event":"stop","execution":{"id":42}}`
	)
	const rule = "want one duration greater than 0 and at most 5m0s, like 10s"
	tests := []struct {
		name, query, body string
		status            int
		message           string
	}{
		{"stop with a malformed wait", "wait=abc", stop, 400, rule},
		{"prepare with a malformed wait", "wait=abc", prepare, 400, rule},
		{"start with a malformed wait", "wait=abc", start, 400, rule},
		{"wait=0 is outside the rule the message states", "wait=0", start, 400, rule},
		{"wait=0s on stop", "wait=0s", stop, 400, rule},
		{"negative", "wait=-1s", stop, 400, rule},
		{"over the bound", "wait=5m1s", start, 400, rule},
		{"empty", "wait=", stop, 400, rule},
		{"given twice", "wait=1s&wait=2s", start, 400, rule},
		{"the bound itself is accepted (start then needs ZooKeeper)", "wait=5m", start, 503, ""},
		{"stop with a good wait (needs ZooKeeper)", "wait=10s", stop, 503, ""},
		{"prepare with a good wait has nothing to wait for", "wait=10s", prepare, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e := serveOffline(t, h, http.MethodPost, "/v1/hooks?"+tt.query, "Bearer "+offlineToken, tt.body)
			require.Equal(t, tt.status, status, e.Error)
			if tt.status == 400 {
				assert.Equal(t, "wait", e.Field)
				assert.Equal(t, tt.message, e.Error)
			}
		})
	}
}

func TestWaitNeedsTraefikAPI(t *testing.T) {
	s, _ := newOfflineServer(t, nil)
	s.traefik = nil // as without --traefik-api-url
	status, e := serveOffline(t, s.Handler(), http.MethodPost, "/v1/hooks?wait=10s", "Bearer "+offlineToken, `{"event":"stop","execution":{"id":42}}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, ErrorResponse{Error: "needs --traefik-api-url", Field: "wait"}, e)
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	s, _ := newOfflineServer(t, nil)
	h := s.Handler()
	tests := []struct {
		auth string
		ok   bool
	}{
		{"Bearer " + offlineToken, true},
		{"bearer " + offlineToken, true},
		{"BEARER " + offlineToken, true},
		{"bEaReR " + offlineToken, true},
		{"Bearer   " + offlineToken, true},
		{"Bearer", false},
		{"Bearer " + offlineToken + "x", false},
		{"Bearer" + offlineToken, false},
		{"Bearers " + offlineToken, false},
		{"Basic " + offlineToken, false},
		{offlineToken, false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.auth, func(t *testing.T) {
			status, e := serveOffline(t, h, http.MethodPost, "/v1/hooks", tt.auth,
				`{"event":"prepare","execution":{"id":42}}`)
			if tt.ok {
				assert.Equal(t, http.StatusOK, status, e.Error)
				return
			}
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Equal(t, "Authorization", e.Field)
		})
	}
}

func TestMetricsElsewhere(t *testing.T) {
	s, _ := newOfflineServer(t, nil)
	get := func(h http.Handler) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Code
	}
	assert.Equal(t, http.StatusOK, get(s.Handler()), "on the API's port by default, without a token")
	assert.Equal(t, http.StatusOK, get(s.MetricsHandler()))
	s.opts.MetricsElsewhere = true
	assert.Equal(t, http.StatusNotFound, get(s.Handler()), "kept off the API's port")
	assert.Equal(t, http.StatusOK, get(s.MetricsHandler()))
}

// A body over the limit gets 413 naming the body, and the client reads
// that answer: the server reads what the client still sends (up to a
// bound) instead of closing the connection under it, which a client still
// writing could see as "connection reset by peer" (the integration test
// of a 2 MiB body did, once, on a loaded machine; here on loopback the
// reset rarely wins the race, so this checks the answer, 30 times).
func TestBodyTooLargeIsAnswered(t *testing.T) {
	s, _ := newOfflineServer(t, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	big := `{"event":"stop","execution":{"id":"42","x":"` + strings.Repeat("a", 2*MaxBodyBytes) + `"}}`
	for i := range 30 {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/hooks", strings.NewReader(big))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+offlineToken)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err, "request %d", i)
		var e ErrorResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, e.Error)
		assert.Equal(t, "body", e.Field)
	}
}
