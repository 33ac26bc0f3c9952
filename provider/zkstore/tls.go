package zkstore

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// dialState remembers how the latest connection attempts ended, so that a
// caller waiting for a session can say why there is none.
type dialState struct {
	mu sync.Mutex
	// last is the latest dial error, nil after a successful dial.
	last error
	// untrusted counts consecutive attempts refused because the server's
	// certificate did not verify.
	untrusted int
}

func (d *dialState) record(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = err
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		d.untrusted++
	} else {
		d.untrusted = 0
	}
}

func (d *dialState) get() (error, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.untrusted
}

// tlsDialer is go-zookeeper's dialer for TLS: it connects and completes the
// handshake within the client's connect timeout, with the configuration
// config gives for the server's host name (so certificates rotate between
// connections).
func tlsDialer(config func(serverName string) *tls.Config, state *dialState) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		d := &tls.Dialer{NetDialer: &net.Dialer{}, Config: config(host)}
		conn, err := d.DialContext(ctx, network, address)
		state.record(err)
		return conn, err
	}
}

// plainDialer is go-zookeeper's default dialer, recording its errors.
func plainDialer(state *dialState) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		conn, err := net.DialTimeout(network, address, timeout)
		state.record(err)
		return conn, err
	}
}

// namedHosts is go-zookeeper's HostProvider without its DNS resolution,
// for TLS: the client's default provider replaces each host name by its
// addresses before dialing, and a certificate naming zk1.example.com would
// then be checked against 10.0.0.7. Here the dialer gets the names as
// given (net.Dial resolves them). The order is shuffled once and walked
// round robin, with the default provider's retryStart semantics.
type namedHosts struct {
	mu      sync.Mutex
	servers []string
	curr    int
	last    int
}

func (h *namedHosts) Init(servers []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(servers) == 0 {
		return errors.New("no zookeeper servers")
	}
	h.servers = append([]string(nil), servers...)
	rand.Shuffle(len(h.servers), func(i, j int) { h.servers[i], h.servers[j] = h.servers[j], h.servers[i] })
	h.curr, h.last = -1, -1
	return nil
}

func (h *namedHosts) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.servers)
}

func (h *namedHosts) Next() (server string, retryStart bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.curr = (h.curr + 1) % len(h.servers)
	retryStart = h.curr == h.last
	if h.last == -1 {
		h.last = 0
	}
	return h.servers[h.curr], retryStart
}

func (h *namedHosts) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = h.curr
}
