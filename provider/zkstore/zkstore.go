// Package zkstore is the sidecar's only ZooKeeper I/O: one long-lived session
// to the ensemble, reads, and atomic multi-op transactions. Calls fail fast
// with ErrUnavailable while there is no session instead of queueing forever.
package zkstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// ErrUnavailable means ZooKeeper could not be reached in time; the request
// may be retried (the API answers 503).
var ErrUnavailable = errors.New("zookeeper unavailable")

// ErrConflict means a transaction's preconditions no longer held (another
// writer got there first); re-read and retry.
var ErrConflict = errors.New("zookeeper transaction conflict")

// ErrNoNode is returned by reads of a missing znode.
var ErrNoNode = zk.ErrNoNode

// Stat is what the sidecar reads of a znode's metadata: the version of its
// data, which every conditional write names, and the version of its list
// of children, which changes with every kick.
type Stat struct {
	Version  int32
	Cversion int32
}

// Options configure the connection.
type Options struct {
	// Servers are host:port pairs of the ensemble.
	Servers        []string
	SessionTimeout time.Duration
	// OpTimeout bounds every call, so a lost ensemble gives an error, not a hang.
	OpTimeout time.Duration
	// User and Password enable digest authentication; everything created is
	// then writable only by that identity.
	User, Password string
	// ReaderUser and ReaderPassword give a second identity (Traefik's) read
	// access; without them, with User set, anyone may read.
	ReaderUser, ReaderPassword string
	// TLS, when set, gives the TLS configuration for a server's host name;
	// every connection to the ensemble is then TLS. It is called per
	// connection, so what it returns may change (rotated certificates).
	TLS    func(serverName string) *tls.Config
	Logger *slog.Logger
}

// Store is a ZooKeeper session plus the ACL for what it creates.
type Store struct {
	conn      *zk.Conn
	acl       []zk.ACL
	opTimeout time.Duration
	log       *slog.Logger
	// sessions counts new sessions, so callers can see expiry recoveries.
	sessions atomic.Int64
	servers  int
	dials    dialState
}

// ParseServers splits "z1:2181,z2:2181" and checks each entry has a port.
func ParseServers(list string) ([]string, error) {
	var servers []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if i := strings.LastIndex(s, ":"); i <= 0 || i == len(s)-1 {
			return nil, fmt.Errorf("zookeeper server %q: want host:port", s)
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return nil, errors.New("no zookeeper servers given")
	}
	return servers, nil
}

// Connect starts the session in the background; the client reconnects on its
// own and makes a new session after expiry. Use WaitConnected to block.
func Connect(opts Options) (*Store, error) { return connect(opts, nil) }

// connect is Connect with a callback for the session's state changes.
func connect(opts Options, onState func(zk.State)) (*Store, error) {
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 10 * time.Second
	}
	if opts.OpTimeout == 0 {
		opts.OpTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{opTimeout: opts.OpTimeout, log: opts.Logger, acl: zk.WorldACL(zk.PermAll), servers: len(opts.Servers)}
	dialer, hosts := zk.WithDialer(plainDialer(&s.dials)), zk.WithHostProvider(zk.NewDNSHostProvider())
	if opts.TLS != nil {
		dialer, hosts = zk.WithDialer(tlsDialer(opts.TLS, &s.dials)), zk.WithHostProvider(&namedHosts{})
	}
	if opts.User != "" {
		s.acl = zk.DigestACL(zk.PermAll, opts.User, opts.Password)
		if opts.ReaderUser != "" {
			s.acl = append(s.acl, zk.DigestACL(zk.PermRead, opts.ReaderUser, opts.ReaderPassword)...)
		} else {
			s.acl = append(s.acl, zk.WorldACL(zk.PermRead)...)
		}
	}
	conn, _, err := zk.Connect(opts.Servers, opts.SessionTimeout,
		zk.WithLogger(slogPrintf{opts.Logger}),
		zk.WithLogInfo(false),
		dialer, hosts,
		zk.WithEventCallback(func(ev zk.Event) {
			if ev.Type != zk.EventSession {
				return
			}
			if ev.State == zk.StateHasSession {
				s.sessions.Add(1)
			}
			if onState != nil {
				onState(ev.State)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("connect to zookeeper: %w", err)
	}
	s.conn = conn
	if opts.User != "" {
		// The client keeps the credentials and sends them again on every reconnect.
		if err := conn.AddAuth("digest", []byte(opts.User+":"+opts.Password)); err != nil && !errors.Is(err, zk.ErrConnectionClosed) {
			conn.Close()
			return nil, fmt.Errorf("zookeeper digest auth: %w", err)
		}
	}
	return s, nil
}

// ErrUntrusted means every server was tried over TLS and none presented a
// certificate that verifies: a setting to fix, not an outage to wait out.
var ErrUntrusted = errors.New("zookeeper server certificate not trusted")

// WaitConnected blocks until there is a session or the timeout passes. It
// gives up early, with ErrUntrusted, once every server's certificate failed
// verification in a row. Errors name the last connection failure.
func (s *Store) WaitConnected(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !s.Connected() {
		last, untrusted := s.dials.get()
		if untrusted >= s.servers {
			return fmt.Errorf("%w: %v", ErrUntrusted, last)
		}
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("%w: no session after %s (last connection attempt: %v)", ErrUnavailable, timeout, last)
			}
			return fmt.Errorf("%w: no session after %s", ErrUnavailable, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// Connected is true while the session is usable.
func (s *Store) Connected() bool { return s.conn.State() == zk.StateHasSession }

// State is the client's connection state, for metrics.
func (s *Store) State() string { return s.conn.State().String() }

// Sessions counts sessions established so far (more than one after expiry).
func (s *Store) Sessions() int64 { return s.sessions.Load() }

// Close ends the session.
func (s *Store) Close() { s.conn.Close() }

// Get reads a znode.
func (s *Store) Get(p string) (data []byte, stat Stat, err error) {
	err = s.do(func() error {
		d, st, e := s.conn.Get(p)
		if e == nil {
			data, stat = d, Stat{Version: st.Version, Cversion: st.Cversion}
		}
		return e
	})
	return data, stat, err
}

// Sync makes the server this session reads from catch up with the leader,
// so that the reads after it see every write committed before it, also
// those made through other sessions (other replicas).
func (s *Store) Sync(p string) error {
	return s.do(func() error {
		_, e := s.conn.Sync(p)
		return e
	})
}

// Children lists a znode's children.
func (s *Store) Children(p string) (children []string, err error) {
	err = s.do(func() error {
		var e error
		children, _, e = s.conn.Children(p)
		return e
	})
	return children, err
}

// Subtree lists p and every znode below it, parents before children; a
// missing p gives an empty list.
func (s *Store) Subtree(p string) ([]string, error) {
	children, err := s.Children(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := []string{p}
	for _, c := range children {
		sub, err := s.Subtree(path.Join(p, c))
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// EnsurePath creates p and its missing parents, each holding data; existing
// znodes are left as they are.
func (s *Store) EnsurePath(p string, data []byte) error {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	cur := ""
	for _, part := range parts {
		cur += "/" + part
		err := s.do(func() error {
			_, e := s.conn.Create(cur, data, 0, s.acl)
			return e
		})
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", cur, err)
		}
	}
	return nil
}

// Commit applies ops as one ZooKeeper multi: all or nothing.
func (s *Store) Commit(ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	reqs := make([]any, len(ops))
	for i, op := range ops {
		reqs[i] = op.request(s.acl)
	}
	var responses []zk.MultiResponse
	err := s.do(func() error {
		var e error
		responses, e = s.conn.Multi(reqs...)
		return e
	})
	if err == nil {
		return nil
	}
	// ZooKeeper marks the failing op with its reason and the others with a
	// rollback code; report the reason.
	for i, r := range responses {
		switch {
		case errors.Is(r.Error, zk.ErrBadVersion), errors.Is(r.Error, zk.ErrNodeExists),
			errors.Is(r.Error, zk.ErrNoNode), errors.Is(r.Error, zk.ErrNotEmpty):
			return fmt.Errorf("%w: %s %s: %v", ErrConflict, ops[i].Kind, ops[i].Path, r.Error)
		case errors.Is(r.Error, zk.ErrNoAuth), errors.Is(r.Error, zk.ErrInvalidACL):
			return fmt.Errorf("%s %s: %w", ops[i].Kind, ops[i].Path, r.Error)
		}
	}
	if errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// do runs one client call with the operation timeout. A call that times out
// may still complete later; callers only ever retry whole, idempotent plans.
func (s *Store) do(call func() error) error {
	if !s.Connected() {
		return fmt.Errorf("%w: %s", ErrUnavailable, s.conn.State())
	}
	done := make(chan error, 1)
	go func() { done <- call() }()
	timer := time.NewTimer(s.opTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if isConnectionError(err) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	case <-timer.C:
		return fmt.Errorf("%w: no answer within %s", ErrUnavailable, s.opTimeout)
	}
}

func isConnectionError(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrSessionMoved) ||
		errors.Is(err, zk.ErrClosing)
}

// slogPrintf routes the client's own log lines to slog at debug level.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "zookeeper")
}
