package api

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a log sink safe for the provider's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTokenNeverLogged drives every endpoint over real HTTP (loopback) with
// the right token, wrong tokens and malformed Authorization headers, with
// every log line at debug level going to a buffer — the API's, the
// provider's, the ZooKeeper client's and net/http's own error log — and
// checks that neither the right nor any wrong token shows up in the logs
// or in an answer.
func TestTokenNeverLogged(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var sink syncBuffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			var handler slog.Handler = slog.NewTextHandler(&sink, opts)
			if format == "json" {
				handler = slog.NewJSONHandler(&sink, opts)
			}
			log := slog.New(handler)
			s, _ := newOfflineServer(t, log)

			srv := httptest.NewUnstartedServer(s.Handler())
			srv.Config.ErrorLog = slog.NewLogLogger(handler, slog.LevelWarn)
			srv.Config.MaxHeaderBytes = 4 << 10
			srv.Config.ReadHeaderTimeout = 5 * time.Second
			srv.Start()
			t.Cleanup(srv.Close)

			wrong := []string{
				"wrong-token-Q7ZK1",
				offlineToken + "-wrong-Q7ZK2",
				offlineToken[:len(offlineToken)-1],
				strings.ToUpper(offlineToken),
			}
			// The scheme is case-insensitive and may be followed by
			// several spaces (RFC 9110); anything else is refused.
			accepted := map[string]bool{"Bearer " + offlineToken: true, "bearer " + offlineToken: true,
				"BEARER " + offlineToken: true, "Bearer  " + offlineToken: true}
			auths := []string{"Bearer " + offlineToken, "bearer " + offlineToken, "BEARER " + offlineToken, offlineToken,
				"Basic " + offlineToken, "Bearer  " + offlineToken, "Bearer " + offlineToken + " " + wrong[0],
				"Bearer" + offlineToken, "Bearer\t" + offlineToken}
			for _, w := range wrong {
				auths = append(auths, "Bearer "+w, w)
			}

			prepare := `{"event":"prepare","execution":{"id":42,"services":[{"name":"nb0","ports":[{"port_number":8888,"proxy":true}]}]}}`
			start := `{"event":"start","execution":{"id":42,"services":[{"name":"nb0","ports":[{"port_number":8888,"proxy":true,"external_ip":"10.0.0.1","external_port":1}]}]}}`
			type call struct{ method, path, body string }
			calls := []call{
				{"POST", "/v1/hooks", prepare},
				{"POST", "/v1/hooks", start},
				{"POST", "/v1/hooks?wait=1s", start},
				{"POST", "/v1/hooks", `{"event":"stop","execution":{"id":42}}`},
				{"POST", "/v1/hooks", `{"event":"prepare","execution":{"id":"bad id"}}`},
				{"POST", "/v1/hooks", `{not json`},
				{"GET", "/v1/routes", ""},
				{"GET", "/v1/executions/42", ""},
				{"GET", "/v1/executions/bad%20id", ""},
				{"PUT", "/v1/executions", `{"executions":[]}`},
				{"PUT", "/v1/executions?dry_run=maybe", `{"executions":[]}`},
				{"GET", "/healthz", ""},
				{"GET", "/readyz", ""},
				{"GET", "/metrics", ""},
				{"DELETE", "/v1/hooks", ""},
				{"GET", "/nowhere", ""},
			}
			client := &http.Client{Timeout: 10 * time.Second}
			var answers strings.Builder
			statuses := map[int]int{}
			for _, auth := range auths {
				for _, c := range calls {
					req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
					require.NoError(t, err)
					req.Header.Set("Authorization", auth)
					resp, err := client.Do(req)
					require.NoError(t, err)
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					statuses[resp.StatusCode]++
					answers.Write(body)
					for k, vs := range resp.Header {
						answers.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
					}
					if !accepted[auth] && strings.HasPrefix(c.path, "/v1/") && c.method != "DELETE" {
						assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s with %q", c.method, c.path, auth)
					}
				}
			}
			// A header block over MaxHeaderBytes holding the token, and a
			// request line net/http rejects, both end before the handler.
			for _, raw := range []string{
				"GET /v1/routes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + offlineToken + "\r\nX-Pad: " + strings.Repeat("p", 8<<10) + "\r\n\r\n",
				"GET /v1/routes?" + offlineToken + " HTTP/1.1 junk\r\nHost: x\r\nAuthorization: Bearer " + wrong[0] + "\r\n\r\n",
			} {
				conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 5*time.Second)
				require.NoError(t, err)
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = conn.Write([]byte(raw))
				reply, _ := io.ReadAll(conn)
				conn.Close()
				assert.Contains(t, string(reply), "HTTP/1.1 4", "net/http refuses it")
				answers.Write(reply)
			}
			// Let the provider's writer and the ZooKeeper client log whatever
			// they log about the failed applies.
			time.Sleep(200 * time.Millisecond)

			logs := sink.String()
			require.NotEmpty(t, logs, "the test must see the log lines")
			assert.Contains(t, logs, `hook`, "hooks are logged")
			assert.GreaterOrEqual(t, statuses[http.StatusUnauthorized], len(auths)-len(accepted))
			assert.Positive(t, statuses[http.StatusOK])
			assert.Positive(t, statuses[http.StatusServiceUnavailable])
			for _, secret := range append([]string{offlineToken}, wrong...) {
				assert.NotContains(t, logs, secret, "a token reached the log")
				assert.NotContains(t, answers.String(), secret, "a token reached an answer")
			}
			// Also no recognisable part of the right token.
			assert.NotContains(t, logs, offlineToken[:12])
			assert.NotContains(t, logs, "Q7ZK")
		})
	}
}
