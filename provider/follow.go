package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/mirror"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// followRetry is the pause after a failed step of the follower (ZooKeeper
// unavailable): the last mirror stays published meanwhile.
const followRetry = 500 * time.Millisecond

// followPoll is how often the follower reads the revision while it has no
// doorbell to ring it: one read of a small znode.
const followPoll = 20 * time.Millisecond

// followFallback is how often the follower reads the revision while its
// doorbell is armed. The bell rings within a round trip of a commit; this
// read only bounds the delay should a ring be lost, at one read a second.
const followFallback = time.Second

// Bell rings when the revision's data may have changed: a ZooKeeper watch
// (zkstore.Doorbell is the real one). Arm reads the revision's version and
// arms the bell; rung is closed at the first change after that read, or
// whenever the bell can no longer tell (the follower then re-reads).
type Bell interface {
	Arm(path string) (version int32, rung <-chan struct{}, err error)
}

// Follower keeps a mirror of the served routes in step with ZooKeeper: its
// bell (or, without one, a read of the revision every followPoll) tells it
// that something was committed, and it reads only the change records of
// the revisions it lacks. It loads every record only at start, or when the
// records it needs were trimmed.
type Follower struct {
	reader *Reader
	bell   Bell
	log    *slog.Logger
	// poll and fallback are followPoll and followFallback; tests shorten
	// or lengthen them.
	poll, fallback time.Duration
	current        mirror.Current
	// state, loaded and the armed bell belong to the follower's goroutine
	// (see Start). rung is nil while the bell is not armed; armedVersion
	// is the revision's version the bell's server had when it was armed.
	state        mirror.State
	loaded       bool
	rung         <-chan struct{}
	armedVersion int32
	// polling is true while the bell cannot be armed (logged once).
	polling bool

	// confirmed is when the mirror was last known to be in step (unix
	// nanoseconds); following is true while reading the revision succeeds.
	confirmed atomic.Int64
	following atomic.Bool

	fullLoads, records, rings atomic.Int64
	// DefaultCertificate puts the deployment's default certificate (see
	// Config.DefaultCertificate), once there is one, into Traefik's
	// default TLS store of the body. Set it before Start.
	DefaultCertificate bool
}

// FollowerStats are counters for tests and metrics.
type FollowerStats struct {
	FullLoads int64
	// Records counts change records applied.
	Records int64
	// Rings counts the bell's rings.
	Rings int64
}

// NewFollower follows the records the writers commit; call Start. bell may
// be nil: the follower then polls the revision.
func NewFollower(r *Reader, bell Bell, log *slog.Logger) *Follower {
	return &Follower{reader: r, bell: bell, log: log, poll: followPoll, fallback: followFallback}
}

// Snapshot is the latest mirror; nil until the first load.
func (f *Follower) Snapshot() *mirror.Snapshot { return f.current.Load() }

// Age is how long the mirror may have missed changes: zero while reading
// the revision succeeds on a connected session, else the time since it was
// last known to be in step (ZooKeeper unreachable: the last mirror keeps
// being served). Negative before the first load.
func (f *Follower) Age() time.Duration {
	at := f.confirmed.Load()
	if at == 0 {
		return -1
	}
	if f.following.Load() && f.reader.store.Connected() {
		return 0
	}
	return time.Since(time.Unix(0, at))
}

// Revision is the mirror's revision; -1 before the first load.
func (f *Follower) Revision() int64 {
	if snap := f.Snapshot(); snap != nil {
		return snap.Revision
	}
	return -1
}

// Stats returns the counters.
func (f *Follower) Stats() FollowerStats {
	return FollowerStats{FullLoads: f.fullLoads.Load(), Records: f.records.Load(), Rings: f.rings.Load()}
}

// Start follows until stop is called or ctx ends; stop waits for the
// follower to finish.
func (f *Follower) Start(ctx context.Context) (stop func()) { return start(ctx, f.run) }

// run follows until ctx ends.
func (f *Follower) run(ctx context.Context) {
	failing := false
	for ctx.Err() == nil {
		err := f.step(ctx)
		if err == nil {
			if failing {
				f.log.Info("mirror following ZooKeeper again")
			}
			failing = false
			continue
		}
		// Only a failed step ends "following": between two successful
		// steps the mirror is in step, and Age must say zero there.
		f.following.Store(false)
		if !failing {
			f.log.Warn("mirror cannot follow ZooKeeper; serving the last mirror", "error", err)
		}
		failing = true
		select {
		case <-ctx.Done():
		case <-time.After(followRetry):
		}
	}
}

// step reads the revision, catches up with it, and waits for the bell (or
// followPoll without one).
//
// The bell is armed before the revision is read, so a commit after that
// read always rings it. The bell's session may be on a server ahead of
// the store's: when the bell saw a newer revision than the store reads,
// the store's server is made to catch up first (Sync), or the follower
// would wait for a ring that already came.
func (f *Follower) step(ctx context.Context) error {
	if !f.loaded {
		if err := f.fullLoad(); err != nil {
			return err
		}
	}
	f.arm()
	version, err := f.readRevision()
	if err != nil {
		return err
	}
	if f.rung != nil && f.armedVersion > version {
		if err := f.reader.store.Sync(f.reader.layout.revisionPath()); err != nil {
			return err
		}
		if version, err = f.readRevision(); err != nil {
			return err
		}
	}
	if err := f.catchUp(int64(version)); err != nil {
		return err
	}
	f.confirmed.Store(time.Now().UnixNano())
	f.following.Store(true)
	wait, rung := f.poll, f.rung
	if rung != nil {
		wait = f.fallback
	}
	select {
	case <-rung:
		f.rung = nil
		f.rings.Add(1)
	case <-time.After(wait):
	case <-ctx.Done():
	}
	return nil
}

// arm arms the bell unless it is armed already. A bell that cannot be
// armed leaves the follower polling.
func (f *Follower) arm() {
	if f.bell == nil || f.rung != nil {
		return
	}
	version, rung, err := f.bell.Arm(f.reader.layout.revisionPath())
	if err != nil {
		if !f.polling {
			f.log.Debug("mirror polls the revision: its watch cannot be armed", "error", err)
		}
		f.polling = true
		return
	}
	if f.polling {
		f.log.Debug("mirror follows its watch again")
	}
	f.rung, f.armedVersion, f.polling = rung, version, false
}

func (f *Follower) readRevision() (int32, error) {
	_, stat, err := f.reader.store.Get(f.reader.layout.revisionPath())
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return stat.Version, nil
}

// catchUp applies the change records after the mirror's revision up to
// target, and publishes once.
func (f *Follower) catchUp(target int64) error {
	if target == f.state.Revision {
		return nil
	}
	if target < f.state.Revision || target-f.state.Revision > changesKept {
		// Behind what is kept, or the state root was made anew.
		return f.fullLoad()
	}
	changes, err := f.readChanges(f.state.Revision+1, target)
	if errors.Is(err, zkstore.ErrNoNode) {
		return f.fullLoad()
	}
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := f.state.Apply(c); err != nil {
			// A record that does not say its own revision: never
			// guess, load everything.
			return f.fullLoad()
		}
		f.records.Add(1)
	}
	f.publish()
	return nil
}

// fullLoad reads every record. Records read while writers commit may be
// newer than the revision read first; replaying the change records from
// that revision to the one read last brings every route to the last one's
// state (each record says what a route became, not how it changed).
func (f *Follower) fullLoad() error {
	r := f.reader
	if err := r.store.Sync(r.layout.stateRoot); err != nil {
		return err
	}
	first, _, err := r.readRevision()
	if err != nil {
		return err
	}
	permanent, _, err := r.readPermanent()
	if err != nil {
		return err
	}
	records, err := r.readAllExecutions()
	if err != nil {
		return err
	}
	cert, err := r.readDefaultCertificate()
	if errors.Is(err, zkstore.ErrNoNode) {
		cert, err = nil, nil
	}
	if err != nil {
		return err
	}
	last, _, err := r.readRevision()
	if err != nil {
		return err
	}
	st := mirror.Load(int64(first), permanent, cert, slices.Collect(maps.Values(records)))
	if last > first {
		changes, err := f.readChanges(int64(first)+1, int64(last))
		if err != nil {
			return fmt.Errorf("mirror load: records changed meanwhile: %w", err)
		}
		for _, c := range changes {
			if err := st.Apply(c); err != nil {
				return err
			}
		}
	}
	f.fullLoads.Add(1)
	f.state, f.loaded = st, true
	f.publish()
	return nil
}

func (f *Follower) publish() {
	var cert *state.Certificate
	if f.DefaultCertificate {
		cert = f.state.DefaultCertificate
	}
	f.current.Publish(f.state.Snapshot(cert))
}

// readChanges reads the change records of revisions from..to, in order.
func (f *Follower) readChanges(from, to int64) ([]state.Change, error) {
	out := make([]state.Change, to-from+1)
	err := parallel(len(out), func(i int) error {
		revision := from + int64(i)
		data, _, err := f.reader.store.Get(f.reader.layout.changePath(revision))
		if err != nil {
			return fmt.Errorf("change record %d: %w", revision, err)
		}
		if err := json.Unmarshal(data, &out[i]); err != nil {
			return fmt.Errorf("change record %d: %w", revision, err)
		}
		return nil
	})
	return out, err
}
