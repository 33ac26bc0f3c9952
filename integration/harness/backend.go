package harness

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Backend is an HTTP server on 127.0.0.1 that names itself in every answer,
// so that a probe through Traefik can tell which backend served it.
type Backend struct {
	name    string
	ln      net.Listener
	srv     *http.Server
	done    chan struct{}
	release chan struct{}
	// advertise replaces the listening IP in URL and Addr when set.
	advertise string
}

// StartBackend serves every request with 200, header X-Backend: <name> and
// body "<name> <request path>\n", except:
//   - a path ending in /ws upgrades to a WebSocket that echoes every
//     message as "<name>: <message>";
//   - a path ending in /sse streams Server-Sent Events: "data: one" at
//     once, then "data: two" only after ReleaseSSE, then the stream ends.
//     A client that reads "one" before calling ReleaseSSE proves nothing on
//     the way buffered the stream.
func StartBackend(name string) (*Backend, error) {
	// A Traefik in a container cannot reach the host's loopback: with
	// HARNESS_BACKEND_HOST set (the host's address as that Traefik sees
	// it), backends listen on all interfaces and advertise that address.
	listen, advertise := "127.0.0.1:0", ""
	if host := os.Getenv(backendHostEnv); host != "" {
		listen, advertise = ":0", host
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", name, err)
	}
	b := &Backend{name: name, ln: ln, advertise: advertise, done: make(chan struct{}), release: make(chan struct{}, 16)}
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", name)
			switch {
			case strings.HasSuffix(r.URL.Path, "/ws"):
				b.serveWebSocket(w, r)
			case strings.HasSuffix(r.URL.Path, "/sse"):
				b.serveEvents(w, r)
			default:
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusOK)
				_, _ = fmt.Fprintf(w, "%s %s\n", name, r.URL.Path)
			}
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(b.done)
		_ = b.srv.Serve(ln)
	}()
	return b, nil
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (b *Backend) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	for {
		kind, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if err := conn.WriteMessage(kind, []byte(b.name+": "+string(msg))); err != nil {
			return
		}
	}
}

func (b *Backend) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "no streaming", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "data: one\n\n")
	flusher.Flush()
	select {
	case <-b.release:
	case <-r.Context().Done():
		return
	case <-time.After(time.Minute):
	}
	_, _ = fmt.Fprint(w, "data: two\n\n")
	flusher.Flush()
}

// ReleaseSSE lets one waiting event stream send its second event and end.
func (b *Backend) ReleaseSSE() { b.release <- struct{}{} }

const backendHostEnv = "HARNESS_BACKEND_HOST"

// BackendHost is the address Traefik reaches the test backends at: 127.0.0.1,
// or HARNESS_BACKEND_HOST for a Traefik in a container.
func BackendHost() string {
	if host := os.Getenv(backendHostEnv); host != "" {
		return host
	}
	return "127.0.0.1"
}

// Name returns the name given to StartBackend.
func (b *Backend) Name() string { return b.name }

// URL returns http://127.0.0.1:<port>, the form Traefik's server url takes.
func (b *Backend) URL() string {
	ip, port := b.Addr()
	return "http://" + net.JoinHostPort(ip, strconv.Itoa(port))
}

// Addr returns the IP (or advertised host) and port Traefik should use.
func (b *Backend) Addr() (ip string, port int) {
	a := b.ln.Addr().(*net.TCPAddr)
	if b.advertise != "" {
		return b.advertise, a.Port
	}
	return a.IP.String(), a.Port
}

// Close stops the server and closes its connections at once. Idempotent.
func (b *Backend) Close() error {
	err := b.srv.Close()
	<-b.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
