// Package retry is the sidecar's one retry loop: try again while an error
// is worth it, within a number of attempts or a time, pausing in between.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy bounds the attempts; a zero bound is no bound.
type Policy struct {
	// Attempts is the most tries in all.
	Attempts int
	// Within is how long after the first try a new one may still start.
	Within time.Duration
	// Pause is the wait before the n-th retry (n from 1); nil: none.
	Pause func(n int) time.Duration
}

// Do calls try until it succeeds or fails with an error again refuses,
// the policy is spent, or ctx ends, and returns try's last error (ctx's
// error when it ended during a pause). again is asked only when another
// try would follow, so it may log "retrying".
func Do(ctx context.Context, p Policy, again func(error) bool, try func() error) error {
	start := time.Now()
	for n := 1; ; n++ {
		err := try()
		if err == nil {
			return nil
		}
		if (p.Attempts > 0 && n >= p.Attempts) || (p.Within > 0 && time.Since(start) >= p.Within) || !again(err) {
			return err
		}
		if p.Pause == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.Pause(n)):
		}
	}
}

// Constant pauses d before every retry.
func Constant(d time.Duration) func(int) time.Duration {
	return func(int) time.Duration { return d }
}

// Jittered pauses a millisecond plus a random time below n*step before
// the n-th retry, so that writers which collided do not collide again in
// step, and back off while they keep colliding.
func Jittered(step time.Duration) func(int) time.Duration {
	return func(n int) time.Duration { return time.Millisecond + time.Duration(rand.Int64N(int64(n)*int64(step))) }
}
