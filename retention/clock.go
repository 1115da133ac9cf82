package retention

import (
	"context"
	"time"
)

// Clock is the source of time of Planner and Apply: the rate budget, the
// retry backoff and the reference-check interval read the time only through
// Now and wait only through Sleep. Nil means the wall clock. A virtual clock
// (canary.VirtualClock has the same method set) lets a simulation of a
// 15-minute prune run in a moment, and a benchmark measure the run against
// its ideal in virtual time.
//
// Implementations are safe for concurrent use. Share one Clock among
// everything that shares a *rate.Limiter: a limiter's reservations are made
// at the times the clock reports.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx ends, in which case it returns
	// ctx.Err(). A d of zero or less returns at once with ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// wallClock is the Clock used when none is given.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func clockOrWall(c Clock) Clock {
	if c == nil {
		return wallClock{}
	}
	return c
}
