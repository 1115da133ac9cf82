package provider

import (
	"context"
	"time"
)

// Clock is a source of time for code that waits: it reads the time only
// through Now and waits only through Sleep, so that a simulation can run it
// on virtual time (canary.VirtualClock, or the wall clock inside a
// testing/synctest bubble). canary.Clock is this interface; retention's
// Planner and ApplyOptions and release's Options.Runner take it.
//
// Implementations are safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx ends, in which case it returns
	// ctx.Err(). A d of zero or less returns at once with ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock returns the real clock: time.Now and Sleep.
func WallClock() Clock { return wallClock{} }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Sleep(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }

// Sleep waits for d of real time, or until ctx ends, in which case it
// returns ctx.Err(). A d of zero or less returns at once with ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
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

// The helpers below read an adapter's Options, whose zero values mean the
// defaults: a nil Now or Sleep is the real clock, a duration of zero or
// less its package's default.

// NowOr returns now() or, when now is nil, time.Now().
func NowOr(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

// SleepOr waits for d with sleep or, when sleep is nil, with Sleep.
func SleepOr(ctx context.Context, sleep func(context.Context, time.Duration) error, d time.Duration) error {
	if sleep != nil {
		return sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// DurationOr returns d when it is positive, otherwise def.
func DurationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
