package zkstore

import (
	"fmt"
	"sync"

	"github.com/go-zookeeper/zk"
)

// Doorbell tells when a znode's data changes, from a ZooKeeper watch kept
// on a session of its own.
//
// The hazard: a client whose connection drops re-arms its watches on the
// next connection (SetWatches). After the whole ensemble had been frozen
// for longer than the session timeout, sessions that re-armed a watch
// never recovered (ZooKeeper 3.8.0, go-zookeeper 1.0.4: each reconnection
// was accepted, then nothing more was answered, for minutes), while
// sessions without watches recovered in seconds. So a doorbell session is
// never reconnected: when its connection drops, every watch on it rings
// (the caller re-reads, so nothing is missed), and the next Arm opens a new
// session, which has no watch to re-arm. The writer's session keeps no
// watches at all. Nothing depends on the bell for safety: a caller that
// cannot arm it polls, and one that is rung only re-reads.
type Doorbell struct {
	opts Options

	mu     sync.Mutex
	cur    *bellSession
	closed bool
}

// bellSession is one session of the doorbell; broken is closed when its
// connection drops (or the doorbell closes), which rings its watches.
// store (or err) is set, and ready closed, under the doorbell's lock once
// connecting returned (adding the digest credentials waits for the
// server): Arm never waits for it.
type bellSession struct {
	store     *Store
	err       error
	ready     chan struct{}
	broken    chan struct{}
	breakOnce sync.Once
}

func (b *bellSession) breakOff() { b.breakOnce.Do(func() { close(b.broken) }) }

func (b *bellSession) isBroken() bool { return closed(b.broken) }

func (b *bellSession) isReady() bool { return closed(b.ready) }

// closed tells whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// NewDoorbell connects lazily, on the first Arm, with the store's options.
func NewDoorbell(opts Options) *Doorbell { return &Doorbell{opts: opts} }

// Arm reads the data version of the znode at p and leaves a watch on it:
// rung is closed at the first change after that read, or when the
// doorbell's connection drops. It fails fast with ErrUnavailable while the
// doorbell has no session (one is then being made).
func (d *Doorbell) Arm(p string) (version int32, rung <-chan struct{}, err error) {
	sess, err := d.session()
	if err != nil {
		return 0, nil, err
	}
	var changed <-chan zk.Event
	err = sess.store.do(func() error {
		_, st, ch, e := sess.store.conn.GetW(p)
		if e == nil {
			version, changed = st.Version, ch
		}
		return e
	})
	if err != nil {
		return 0, nil, err
	}
	out := make(chan struct{})
	go func() {
		select {
		case <-changed:
		case <-sess.broken:
		}
		close(out)
	}()
	return version, out, nil
}

// session is the live session; it starts a new one in place of a broken
// one (or of one that failed to connect) and fails fast until that one has
// a session.
func (d *Doorbell) session() (*bellSession, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("%w: doorbell closed", ErrUnavailable)
	}
	if cur := d.cur; cur != nil && cur.isReady() && (cur.err != nil || cur.isBroken()) {
		if cur.store != nil {
			go cur.store.Close() // Close waits up to a second for the server
		}
		d.cur = nil
	}
	if d.cur == nil {
		d.cur = d.dial()
	}
	cur := d.cur
	switch {
	case !cur.isReady():
		return nil, fmt.Errorf("%w: doorbell connecting", ErrUnavailable)
	case cur.err != nil:
		return nil, fmt.Errorf("%w: doorbell: %v", ErrUnavailable, cur.err)
	case !cur.store.Connected():
		return nil, fmt.Errorf("%w: doorbell session %s", ErrUnavailable, cur.store.State())
	}
	return cur, nil
}

// dial starts a session in the background.
func (d *Doorbell) dial() *bellSession {
	sess := &bellSession{ready: make(chan struct{}), broken: make(chan struct{})}
	go func() {
		store, err := connect(d.opts, func(st zk.State) {
			if st == zk.StateDisconnected || st == zk.StateExpired {
				sess.breakOff()
			}
		})
		// Under the lock, so that Close sees either a session still
		// connecting (ended here) or a ready one (ended there).
		d.mu.Lock()
		defer d.mu.Unlock()
		sess.store, sess.err = store, err
		close(sess.ready)
		if d.closed && store != nil {
			go store.Close()
		}
	}()
	return sess
}

// Close ends the doorbell's session and rings its watches; a session still
// connecting is ended when it is made.
func (d *Doorbell) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if cur := d.cur; cur != nil {
		cur.breakOff()
		if cur.isReady() && cur.store != nil {
			go cur.store.Close()
		}
		d.cur = nil
	}
}
