package api

// Fuzz target of hook decoding and validation through the real handler.
// Run with
// `go test ./cmd/internal/api -run '^$' -fuzz '^FuzzHookDecode$' -fuzztime 5m`.
//
// The server's provider talks to a ZooKeeper address nobody listens on
// (127.0.0.1:1): the store never gets a session, so every call that would
// touch ZooKeeper fails at once with zkstore.ErrUnavailable (503), while
// prepare, which does no I/O, answers normally. Nothing leaves the process.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

const (
	offlineToken     = "fuzz-token-0123456789abcdef"
	offlineKeySecret = "fuzz-key-secret-0123456789abcdef"
)

var (
	hookPathRE     = regexp.MustCompile(`^/zoe/proxy/([0-9a-f]{64})$`)
	hookPathRuleRE = regexp.MustCompile("^Path\\(`((?:/[A-Za-z0-9._~-]+)+)`\\) \\|\\| PathPrefix\\(`((?:/[A-Za-z0-9._~-]+)+)/`\\)$")
)

// newOfflineServer is a Server whose provider runs (writer and garbage
// collector) against an unreachable ZooKeeper. log receives the server's,
// the provider's and the ZooKeeper client's log lines.
func newOfflineServer(tb testing.TB, log *slog.Logger) (*Server, *keys.Deriver) {
	tb.Helper()
	return newOfflineServerWith(tb, log, execution.Settings{BasePath: "/zoe/proxy", Routing: execution.RoutingPath})
}

// newOfflineServerWith is newOfflineServer with the given routing settings.
func newOfflineServerWith(tb testing.TB, log *slog.Logger, settings execution.Settings) (*Server, *keys.Deriver) {
	tb.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	store, err := zkstore.Connect(zkstore.Options{Servers: []string{"127.0.0.1:1"}, Logger: log})
	require.NoError(tb, err)
	tb.Cleanup(store.Close)
	d, err := keys.NewDeriver([]byte(offlineKeySecret), "prod")
	require.NoError(tb, err)
	p, err := provider.NewWriter(store, d, provider.Config{
		RootKey:   "traefik",
		StateRoot: "/fuzz-state",
		Settings:  settings,
		Logger:    log,
	})
	require.NoError(tb, err)
	tb.Cleanup(p.Start(context.Background()))
	s, err := New(Options{
		Provider:      p,
		Token:         offlineToken,
		TraefikAPIURL: "http://127.0.0.1:1", // lets ?wait pass validation; never reached
		Logger:        log,
	})
	require.NoError(tb, err)
	return s, d
}

func hookSeeds() []string {
	port := func(extra string) string {
		return `{"event":"prepare","execution":{"id":42,"services":[{"name":"py-notebook0","ports":[{"port_number":8888,"proxy":true` + extra + `}]}]}}`
	}
	return []string{
		`{"event":"prepare","execution":{"id":42,"name":"nb","owner":"alice","services":[{"name":"py-notebook0","ports":[` +
			`{"name":"Jupyter","port_number":8888,"protocol":"tcp","proxy":true,"url_template":"http://{ip_port}{proxy_path}"},` +
			`{"name":"Tensorboard","port_number":6006,"protocol":"tcp","url_template":"http://{ip_port}/"}]}]}}`,
		`{"event":"start","execution":{"id":"42","services":[{"name":"py-notebook0","ports":[{"port_number":8888,"proxy":true,"external_ip":"10.1.2.3","external_port":32768}]}]}}`,
		`{"event":"stop","execution":{"id":42}}`,
		`{"event":"stop","execution":{"id":"4/2"}}`,
		`{"event":"prepare","execution":{"id":"7","services":[{"name":"spark-master0","ports":[{"port_number":8080,"proxy":true,"strip_prefix":true},{"port_number":4040,"proxy":true,"url_template":"https://x"},{"port_number":7077}]},{"name":"spark-worker0","ports":[{"port_number":8081,"proxy":true}]}]}}`,
		`{"event":"prepare","execution":{"id":"42"}}`,
		`{"event":"prepare"}`,
		`{"execution":{"id":42}}`,
		`{"event":"restart","execution":{"id":42}}`,
		`{"event":"PREPARE","execution":{"id":42}}`,
		`{"Event":"prepare","Execution":{"ID":42}}`,
		`{"event":"prepare","event":"start","execution":{"id":42}}`,
		`{"event":"prepare","execution":{"id":42}} {"event":"start"}`,
		`{"event":"prepare","execution":{"id":42}}]`,
		`{"event":"prepare","execution":null}`,
		`{"event":"prepare","execution":[]}`,
		`{"event":1,"execution":{"id":42}}`,
		`[]`, `null`, `""`, `42`, ``, ` `, `{`, `}`, `{"event":"prepare",`, "\xef\xbb\xbf{}",
		`{"event":"prepare","execution":{"id":1e400}}`,
		`{"event":"prepare","execution":{"id":-0}}`,
		`{"event":"prepare","execution":{"id":99999999999999999999999999999999999999}}`,
		`{"event":"prepare","execution":{"id":9223372036854775807}}`,
		`{"event":"prepare","execution":{"id":"42` + "`" + `) || Host(` + "`" + `evil.com"}}`,
		`{"event":"prepare","execution":{"id":42,"services":[{"name":"nb0` + "`" + `) || PathPrefix(` + "`" + `/","ports":[{"port_number":1,"proxy":true}]}]}}`,
		`{"event":"prepare","execution":{"id":42,"services":[{"name":"n\u00e9b0","ports":[{"port_number":1,"proxy":true}]}]}}`,
		`{"event":"prepare","execution":{"id":42,"services":[{"name":"\u212ab0","ports":[{"port_number":1,"proxy":true}]}]}}`,
		`{"event":"prepare","execution":{"id":"\ud800","services":[]}}`,
		port(`,"port_number":99999999999999999999`),
		port(`,"port_number":-1`),
		port(`,"port_number":1.5`),
		port(`,"protocol":"udp"`),
		port(`,"url_template":"ftp://{ip_port}"`),
		port(`,"external_ip":"10.0.0.1` + "`" + `) || Host(` + "`" + `x","external_port":1`),
		port(`,"nested":{"a":[[[[[[[[[[{"b":[{}]}]]]]]]]]]]}`),
		`{"event":"prepare","execution":{"id":42,"services":[{"name":"a","ports":[{"port_number":1,"proxy":true},{"port_number":1,"proxy":true}]}]}}`,
		`{"event":"prepare","execution":{"id":42,"services":[{"name":"a"},{"name":"a"}]}}`,
		`{"event":"prepare","execution":{"id":42,"services":[{"name":"` + strings.Repeat("s", 63) + `","ports":[{"port_number":65535,"proxy":true}]}]}}`,
		`{"event":"prepare","execution":{"id":42,"services":[` + strings.Repeat(`{"name":"x","ports":[]},`, 50) + `{"name":"y"}]}}`,
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
	}
}

func FuzzHookDecode(f *testing.F) {
	for _, s := range hookSeeds() {
		f.Add([]byte(s), uint8(0), "")
	}
	f.Add([]byte(hookSeeds()[0]), uint8(1), "")
	f.Add([]byte(hookSeeds()[0]), uint8(2), "")
	f.Add([]byte(hookSeeds()[0]), uint8(3), "")
	f.Add([]byte(hookSeeds()[1]), uint8(0), "wait=10s")
	f.Add([]byte(hookSeeds()[1]), uint8(0), "wait=-1s")
	f.Add([]byte(hookSeeds()[1]), uint8(0), "wait=1h")
	f.Add([]byte(hookSeeds()[1]), uint8(0), "wait=%zz&wait=1s;x")

	s, d := newOfflineServer(f, nil)
	h := s.Handler()

	f.Fuzz(func(t *testing.T, body []byte, authMode uint8, query string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/hooks", bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/json")
		switch authMode % 4 {
		case 0:
			req.Header.Set("Authorization", "Bearer "+offlineToken)
		case 1: // none
		case 2:
			req.Header.Set("Authorization", "Bearer "+offlineToken+"x")
		case 3: // the scheme is case-insensitive
			req.Header.Set("Authorization", "bearer "+offlineToken)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		resp := rec.Result()
		status := resp.StatusCode
		out := rec.Body.Bytes()

		switch status {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d for body %q: %s", status, body, out)
		}
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		if authMode%4 == 1 || authMode%4 == 2 {
			require.Equal(t, http.StatusUnauthorized, status, "%s", out)
		}
		if status != http.StatusOK {
			var e ErrorResponse
			require.NoError(t, json.Unmarshal(out, &e), "error body %q", out)
			require.NotEmpty(t, e.Error, "error body %q", out)
			if status == http.StatusServiceUnavailable {
				require.Equal(t, "1", resp.Header.Get("Retry-After"))
			}
			return
		}

		// 200 only for a prepare: start and stop need ZooKeeper.
		var sent HookRequest
		require.NoError(t, json.Unmarshal(body, &sent), "accepted body %q", body)
		require.Equal(t, EventPrepare, sent.Event)
		require.NotNil(t, sent.Execution)

		var got HookResponse
		require.NoError(t, json.Unmarshal(out, &got), "answer %q", out)
		require.Equal(t, string(sent.Execution.ID), got.ExecutionID)
		require.NoError(t, kvschema.ValidateName(got.ExecutionID))
		require.Nil(t, got.Served)
		envCount := 0
		for _, vars := range got.Env {
			envCount += len(vars)
		}
		require.Equal(t, len(got.Routes), envCount, "one env variable per route")
		for _, r := range got.Routes {
			m := hookPathRE.FindStringSubmatch(r.Path)
			require.NotNil(t, m, "path %q", r.Path)
			require.Equal(t, r.Key, m[1])
			require.Equal(t, d.Key(got.ExecutionID, r.Service, r.Port), r.Key)
			require.Equal(t, got.ExecutionID, r.ExecutionID)
			require.NoError(t, kvschema.ValidateName(r.Service))
			require.True(t, r.Port >= 1 && r.Port <= 65535, "port %d", r.Port)
			require.Empty(t, r.Router, "prepare creates no Traefik objects")
			require.Empty(t, r.Backend)
			require.Empty(t, r.Host)

			rule, err := kvschema.PathRule(r.Path)
			require.NoError(t, err)
			rm := hookPathRuleRE.FindStringSubmatch(rule)
			require.NotNil(t, rm, "rule %q", rule)
			require.Equal(t, r.Path, rm[1])
			require.Equal(t, r.Path, rm[2])
			require.Equal(t, 4, strings.Count(rule, "`"))

			require.Equal(t, r.Path, got.Env[r.Service][execution.EnvName(r.Port)])
		}
	})
}
