package harness

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Backend is an HTTP server on 127.0.0.1 that names itself in every answer,
// so that a probe through Traefik can tell which backend served it.
type Backend struct {
	name string
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// StartBackend serves every request with 200, header X-Backend: <name> and
// body "<name> <request path>\n".
func StartBackend(name string) (*Backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", name, err)
	}
	b := &Backend{name: name, ln: ln, done: make(chan struct{})}
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", name)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = fmt.Fprintf(w, "%s %s\n", name, r.URL.Path)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(b.done)
		_ = b.srv.Serve(ln)
	}()
	return b, nil
}

// Name returns the name given to StartBackend.
func (b *Backend) Name() string { return b.name }

// URL returns http://127.0.0.1:<port>, the form Traefik's server url takes.
func (b *Backend) URL() string { return "http://" + b.ln.Addr().String() }

// Addr returns the listening IP and port.
func (b *Backend) Addr() (ip string, port int) {
	a := b.ln.Addr().(*net.TCPAddr)
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
