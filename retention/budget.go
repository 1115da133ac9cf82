package retention

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/provider"
)

// Defaults of Planner and ApplyOptions. See the package documentation for
// the arithmetic behind DefaultRate.
const (
	// DefaultRate is the default request budget in calls per second:
	// two thirds of Lambda's control-plane limit, which deploys share.
	//
	// The AWS Lambda quotas page (Lambda developer guide, "Lambda quotas",
	// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
	// section "Lambda API requests") lists "Control plane API requests
	// (excludes invocation, GetFunction, and GetPolicy requests)" at 15
	// requests per second per account and region, across all control-plane
	// APIs together: ListVersionsByFunction, ListAliases and DeleteFunction
	// all count against it, and so do the deploys running at the same time.
	// A caller lowers the budget with Rate or a shared Limiter; one that has
	// a raised limit (or another platform) raises it the same way.
	DefaultRate = 10.0
	// DefaultConcurrency is how many functions the Planner reads at once by
	// default.
	DefaultConcurrency = 4
	// DefaultApplyConcurrency is how many versions Apply checks and deletes
	// at once by default. Deletes of one function that wait at the same
	// time share a fresh reference check, so this is what spreads the
	// check's calls over many deletes: at DefaultRate, a read per seven
	// deletions or so, and every delete sent at most about
	// DefaultApplyConcurrency × its requests ÷ DefaultRate (3.2 s; 6.4 s on
	// Lambda, where a delete is two requests) after the read that cleared
	// it began. See the package documentation for the measurements.
	DefaultApplyConcurrency = 32
	// DefaultGrace is how long a delete already sent may run on after the
	// caller's context ends, so that its outcome is known.
	DefaultGrace = 30 * time.Second
	// ListPageSize is how many versions one listing call is assumed to
	// return (Lambda's ListVersionsByFunction page), for the rate budget:
	// listing n versions takes max(1, ⌈n/ListPageSize⌉) tokens.
	ListPageSize = 50
)

// budget spends rate-limiter tokens on calls and retries them, waiting on
// its clock.
type budget struct {
	lim   *rate.Limiter
	retry provider.RetryPolicy
	clock provider.Clock
	// mu makes the reservations of one waitN consecutive.
	mu sync.Mutex
}

// newBudget returns the budget for a limiter or a rate and burst; what is
// invalid is reported against what (e.g. "planner"). When clk is not nil and
// retry has no Sleep of its own, retries wait on clk.
func newBudget(what string, lim *rate.Limiter, r float64, burst int, retry provider.RetryPolicy, clk provider.Clock) (*budget, error) {
	bad := func(field, msg string) error {
		return fmt.Errorf("retention: %w", provider.Invalid(what, field, msg))
	}
	if lim != nil {
		if lim.Limit() != rate.Inf && lim.Burst() < 1 {
			return nil, bad("limiter", "has a burst below 1: it would never grant a call")
		}
		return &budget{lim: lim, retry: retryOn(retry, clk), clock: clockOrWall(clk)}, nil
	}
	if r < 0 || math.IsNaN(r) {
		return nil, bad("rate", fmt.Sprintf("is %v, must not be negative", r))
	}
	if burst < 0 {
		return nil, bad("burst", fmt.Sprintf("is %d, must not be negative", burst))
	}
	if r == 0 {
		r = DefaultRate
	}
	if burst == 0 {
		burst = 1
	}
	return &budget{lim: rate.NewLimiter(rate.Limit(r), burst), retry: retryOn(retry, clk), clock: clockOrWall(clk)}, nil
}

func retryOn(p provider.RetryPolicy, clk provider.Clock) provider.RetryPolicy {
	if clk != nil && p.Sleep == nil {
		p.Sleep = clk.Sleep
	}
	return p
}

// wait takes one token: it reserves the next free slot of the limiter at the
// clock's time and sleeps on the clock until then. When ctx ends first, the
// reservation is given back.
func (b *budget) wait(ctx context.Context) error { return b.waitN(ctx, 1) }

// waitN takes n tokens for a call that sends n requests at once: it
// reserves n consecutive slots of the limiter (no other call of this budget
// reserves in between) and sleeps until the last. Consecutive, so that the
// requests reach the platform at the budget's pace: n slots reserved apart
// would let a later moment send more requests than its slots, beyond what a
// platform's token bucket holds. When ctx ends first, the reservations are
// given back.
func (b *budget) waitN(ctx context.Context, n int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("retention: waiting for the rate limiter: %w", err)
	}
	now := b.clock.Now()
	rs := make([]*rate.Reservation, 0, n)
	b.mu.Lock()
	for range n {
		r := b.lim.ReserveN(now, 1)
		if !r.OK() {
			b.mu.Unlock()
			return fmt.Errorf("retention: the rate limiter (limit %v, burst %d) cannot grant a call: %w",
				b.lim.Limit(), b.lim.Burst(), provider.ErrInvalid)
		}
		rs = append(rs, r)
	}
	b.mu.Unlock()
	if err := b.clock.Sleep(ctx, rs[n-1].DelayFrom(now)); err != nil {
		at := b.clock.Now()
		for _, r := range slices.Backward(rs) {
			r.CancelAt(at)
		}
		return fmt.Errorf("retention: waiting for the rate limiter: %w", err)
	}
	return nil
}

// call runs op under the retry policy, taking n tokens (waitN) before every
// attempt.
func (b *budget) call(ctx context.Context, n int, op func(context.Context) error) error {
	return b.callHolding(ctx, n, false, op)
}

// callHolding is call for a caller that has taken the first attempt's n
// tokens already when held is set: later attempts take their own.
func (b *budget) callHolding(ctx context.Context, n int, held bool, op func(context.Context) error) error {
	return b.retry.Do(ctx, func(ctx context.Context) error {
		if !held {
			if err := b.waitN(ctx, n); err != nil {
				return err
			}
		}
		held = false
		return op(ctx)
	})
}

// checkConcurrency returns n, or def when n is 0.
func checkConcurrency(what string, n, def int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("retention: %w", provider.Invalid(what, "concurrency", fmt.Sprintf("is %d, must not be negative", n)))
	}
	if n == 0 {
		return def, nil
	}
	return n, nil
}
