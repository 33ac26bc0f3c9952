package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"
)

// probeClient opens a new connection per request, so that a probe never
// reuses a connection to a process that has since changed or gone.
var probeClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	Timeout:   5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// Get performs one GET of url, with Host header host when it is not empty,
// and returns the status and body.
func Get(ctx context.Context, url, host string) (status int, body string, err error) {
	return GetWith(ctx, probeClient, url, host)
}

// TLSClient is a probe client (a new connection per request) speaking TLS
// with config: the CA to trust and, for mutual TLS, a client certificate.
func TLSClient(config *tls.Config) *http.Client {
	c := *probeClient
	c.Transport = &http.Transport{DisableKeepAlives: true, Proxy: nil, TLSClientConfig: config}
	return &c
}

// GetWith is Get with another client, e.g. TLSClient's.
func GetWith(ctx context.Context, client *http.Client, url, host string) (status int, body string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// WaitHTTP polls url every 50ms until want(status, body) is true or ctx
// ends, and returns the last answer. host, when not empty, is sent as the
// Host header. On timeout the error says what was last seen.
func WaitHTTP(ctx context.Context, url string, host string, want func(status int, body string) bool) (status int, body string, err error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var getErr error
		status, body, getErr = Get(ctx, url, host)
		if getErr == nil && want(status, body) {
			return status, body, nil
		}
		select {
		case <-ctx.Done():
			last := fmt.Sprintf("status %d, body %q", status, Truncate(body, 300))
			if getErr != nil {
				last = getErr.Error()
			}
			return status, body, fmt.Errorf("GET %s (Host %q): %w; last answer: %s", url, host, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// Truncate cuts s after n bytes, marking the cut with "...".
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
