package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var (
	errAgain = errors.New("again")
	errFatal = errors.New("fatal")
)

func TestDo(t *testing.T) {
	isAgain := func(err error) bool { return errors.Is(err, errAgain) }
	tests := []struct {
		name      string
		policy    Policy
		results   []error // what the tries return, in order; then nil
		wantErr   error
		wantTries int
	}{
		{"first try succeeds", Policy{Attempts: 3}, nil, nil, 1},
		{"succeeds on the third", Policy{Attempts: 3}, []error{errAgain, errAgain}, nil, 3},
		{"attempts spent", Policy{Attempts: 3}, []error{errAgain, errAgain, errAgain, errAgain}, errAgain, 3},
		{"an error not worth retrying", Policy{Attempts: 3}, []error{errAgain, errFatal}, errFatal, 2},
		{"no bound", Policy{}, []error{errAgain, errAgain, errAgain, errAgain, errAgain}, nil, 6},
		{"time spent", Policy{Within: time.Nanosecond, Pause: Constant(time.Millisecond)}, []error{errAgain, errAgain}, errAgain, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tries := 0
			err := Do(context.Background(), tt.policy, isAgain, func() error {
				tries++
				if tries <= len(tt.results) {
					return tt.results[tries-1]
				}
				return nil
			})
			assert.Equal(t, tt.wantErr, err)
			assert.Equal(t, tt.wantTries, tries)
		})
	}
}

func TestDoPausesAndHonoursContext(t *testing.T) {
	var pauses []int
	tries := 0
	err := Do(context.Background(), Policy{Attempts: 3, Pause: func(n int) time.Duration { pauses = append(pauses, n); return 0 }},
		func(error) bool { return true }, func() error { tries++; return errAgain })
	assert.ErrorIs(t, err, errAgain)
	assert.Equal(t, []int{1, 2}, pauses, "a pause before each retry, none after the last try")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Do(ctx, Policy{Pause: Constant(time.Hour)}, func(error) bool { return true }, func() error { return errAgain })
	assert.ErrorIs(t, err, context.Canceled)
}

func TestJittered(t *testing.T) {
	pause := Jittered(5 * time.Millisecond)
	for n := 1; n <= 50; n++ {
		longest := time.Duration(0)
		for range 50 {
			d := pause(n)
			assert.GreaterOrEqual(t, d, time.Millisecond)
			assert.Less(t, d, time.Millisecond+time.Duration(5*n)*time.Millisecond)
			longest = max(longest, d)
		}
		if n >= 10 {
			assert.Greater(t, longest, time.Duration(n)*time.Millisecond, "backs off as collisions repeat")
		}
	}
}
