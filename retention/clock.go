package retention

import "github.com/slipway-dev/slipway/provider"

// Clock is the source of time of Planner and Apply: the rate budget, the
// retry backoff and the reference-check interval read the time only through
// Now and wait only through Sleep. Nil means the wall clock. A virtual clock
// (canary.VirtualClock, or the wall clock inside a testing/synctest bubble)
// lets a simulation of a 15-minute prune run in a moment, and a benchmark
// measure the run against its ideal in virtual time.
//
// Share one Clock among everything that shares a *rate.Limiter: a limiter's
// reservations are made at the times the clock reports.
type Clock = provider.Clock

func clockOrWall(c Clock) Clock {
	if c == nil {
		return provider.WallClock()
	}
	return c
}
