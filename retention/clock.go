package retention

import "github.com/slipway-dev/slipway/provider"

// clockOrWall returns c, or the wall clock when c is nil. Planner and
// ApplyOptions take a provider.Clock: the rate budget, the retry backoff
// and the reference-check interval read the time only through Now and wait
// only through Sleep. A virtual clock (canary.VirtualClock, or the wall
// clock inside a testing/synctest bubble) lets a simulation of a 15-minute
// prune run in a moment, and a benchmark measure the run against its ideal
// in virtual time. Share one clock among everything that shares a
// *rate.Limiter: a limiter's reservations are made at the times the clock
// reports.
func clockOrWall(c provider.Clock) provider.Clock {
	if c == nil {
		return provider.WallClock()
	}
	return c
}
