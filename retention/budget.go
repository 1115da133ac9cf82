package retention

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/provider"
)

// Defaults of Planner and ApplyOptions. See the package documentation for
// the arithmetic behind DefaultRate.
const (
	// DefaultRate is the default request budget in calls per second:
	// two thirds of Lambda's control-plane limit of 15 requests per second
	// per account and region, which deploys share.
	DefaultRate = 10.0
	// DefaultConcurrency is how many functions are read, or versions
	// deleted, at once by default.
	DefaultConcurrency = 4
	// DefaultRecheckInterval is how long one read of a function's routes
	// and usage serves as the reference check before a delete.
	DefaultRecheckInterval = 5 * time.Second
	// DefaultGrace is how long a delete already sent may run on after the
	// caller's context ends, so that its outcome is known.
	DefaultGrace = 30 * time.Second
	// ListPageSize is how many versions one listing call is assumed to
	// return (Lambda's ListVersionsByFunction page), for the rate budget:
	// listing n versions takes max(1, ⌈n/ListPageSize⌉) tokens.
	ListPageSize = 50
)

// budget spends rate-limiter tokens on calls and retries them.
type budget struct {
	lim   *rate.Limiter
	retry provider.RetryPolicy
}

// newBudget returns the budget for a limiter or a rate and burst; what is
// invalid is reported against what (e.g. "planner").
func newBudget(what string, lim *rate.Limiter, r float64, burst int, retry provider.RetryPolicy) (*budget, error) {
	bad := func(field, msg string) error {
		return fmt.Errorf("retention: %w", provider.Invalid(what, field, msg))
	}
	if lim != nil {
		if lim.Limit() != rate.Inf && lim.Burst() < 1 {
			return nil, bad("limiter", "has a burst below 1: it would never grant a call")
		}
		return &budget{lim: lim, retry: retry}, nil
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
	return &budget{lim: rate.NewLimiter(rate.Limit(r), burst), retry: retry}, nil
}

// wait takes one token.
func (b *budget) wait(ctx context.Context) error {
	if err := b.lim.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("retention: waiting for the rate limiter: %w", ctx.Err())
		}
		// The limiter refuses a wait that would pass the deadline.
		return fmt.Errorf("retention: %v: %w", err, context.DeadlineExceeded)
	}
	return nil
}

// call runs op under the retry policy, taking one token before every
// attempt.
func (b *budget) call(ctx context.Context, op func(context.Context) error) error {
	return b.retry.Do(ctx, func(ctx context.Context) error {
		if err := b.wait(ctx); err != nil {
			return err
		}
		return op(ctx)
	})
}

func checkConcurrency(what string, n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("retention: %w", provider.Invalid(what, "concurrency", fmt.Sprintf("is %d, must not be negative", n)))
	}
	if n == 0 {
		return DefaultConcurrency, nil
	}
	return n, nil
}
