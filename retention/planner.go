package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/provider"
)

// Planner reads functions and plans their retention. The zero value is
// ready to use: DefaultConcurrency functions at a time, DefaultRate calls
// per second, the zero provider.RetryPolicy, silent.
type Planner struct {
	// Concurrency is how many functions are read at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// Rate is the call budget in calls per second (0 means DefaultRate)
	// and Burst its burst (0 means 1). Both are ignored when Limiter is
	// set.
	Rate  float64
	Burst int
	// Limiter, when set, is the budget shared with other work (Apply,
	// other planners, deploys of the same account).
	Limiter *rate.Limiter
	// Retry retries throttled and transiently failed reads; every attempt
	// takes a token. Pass an unwrapped provider (not provider.WithRetry),
	// or retries multiply.
	Retry provider.RetryPolicy
	// Logger receives a Debug record per function read. Nil is silent.
	Logger *slog.Logger
	// Clock is what the rate budget and the retries wait on; nil means the
	// wall clock. It does not set the plan's time: Plan takes that as an
	// argument.
	Clock provider.Clock
}

// Plan reads every function in fns (its versions, its routes and, where p
// is a provider.UsageReporter, its usage) and decides each version under
// pol as of now (see Decide).
//
// The policy and the function names are checked before any call: an
// invalid policy, an empty function name or an invalid Planner field fails
// with an error wrapping provider.ErrInvalid. Functions are planned in name
// order, each named once however often fns repeats it.
//
// A function that cannot be read (it does not exist, the platform keeps
// failing, ctx ended) gets a FunctionPlan with Error set and no versions, so
// nothing of it is deleted; Plan still plans the others and returns the
// whole plan with an error joining the failures (each wrapping the
// provider's error, and ctx.Err() when the context ended).
//
// Cost: one listing call per ListPageSize versions, one Routes call and one
// Usage call per function, each taking a token of the rate budget, plus
// retries.
func (pl Planner) Plan(ctx context.Context, p provider.Provider, fns []string, pol Policy, now time.Time) (Plan, error) {
	if err := pol.Validate(); err != nil {
		return Plan{}, err
	}
	for i, fn := range fns {
		if fn == "" {
			return Plan{}, fmt.Errorf("retention: %w", provider.Invalid("plan", fmt.Sprintf("functions[%d]", i), "is empty"))
		}
	}
	conc, err := checkConcurrency("planner", pl.Concurrency, DefaultConcurrency)
	if err != nil {
		return Plan{}, err
	}
	b, err := newBudget("planner", pl.Limiter, pl.Rate, pl.Burst, pl.Retry, pl.Clock)
	if err != nil {
		return Plan{}, err
	}
	names := slices.Clone(fns)
	slices.Sort(names)
	names = slices.Compact(names)

	plan := Plan{Policy: pol, Time: now, Functions: make([]FunctionPlan, len(names))}
	errs := make([]error, len(names))
	var g errgroup.Group
	g.SetLimit(conc)
	for i, fn := range names {
		g.Go(func() error {
			snap, err := read(ctx, b, p, fn)
			if err != nil {
				errs[i] = fmt.Errorf("retention: plan %s: %w", fn, err)
				plan.Functions[i] = FunctionPlan{Function: fn, Versions: []Decision{}, Error: err.Error()}
				if pl.Logger != nil {
					pl.Logger.WarnContext(ctx, "retention: function not planned", "function", fn, "err", err)
				}
				return nil
			}
			plan.Functions[i] = Decide(snap, pol, now)
			if pl.Logger != nil {
				pl.Logger.DebugContext(ctx, "retention: planned", "function", fn,
					"versions", len(snap.Versions), "delete", len(plan.Functions[i].Deletions()))
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines return nil; failures are in errs
	return plan, errors.Join(errs...)
}

// read takes the snapshot of one function.
func read(ctx context.Context, b *budget, p provider.Provider, fn string) (Snapshot, error) {
	s := Snapshot{Function: fn}
	err := b.call(ctx, 1, func(ctx context.Context) error {
		s.Versions = s.Versions[:0]
		for v, err := range p.Versions(ctx, fn) {
			if err != nil {
				return err
			}
			s.Versions = append(s.Versions, v)
			if n := len(s.Versions); n > 1 && (n-1)%ListPageSize == 0 {
				// The listing went on to another page.
				if err := b.wait(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, err
	}
	err = b.call(ctx, 1, func(ctx context.Context) (err error) {
		s.Routes, err = p.Routes(ctx, fn)
		return err
	})
	if err != nil {
		return Snapshot{}, err
	}
	s.Usage, s.UsageUnknown, err = usage(ctx, b.call, nil, p, fn)
	if err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// usage reads the usage of fn; unknown is true when p cannot tell. The Usage
// call is sent through call, with the tokens its requests take
// (Capabilities.UsageRequests). sent, when not nil, is called right before
// every attempt is sent.
func usage(ctx context.Context, call func(context.Context, int, func(context.Context) error) error, sent func(),
	p provider.Provider, fn string) (us []provider.Usage, unknown bool, err error) {
	u, ok := p.(provider.UsageReporter)
	if !ok {
		return nil, true, nil
	}
	err = call(ctx, max(p.Capabilities().UsageRequests, 1), func(ctx context.Context) (err error) {
		if sent != nil {
			sent()
		}
		us, err = u.Usage(ctx, fn)
		return err
	})
	if errors.Is(err, provider.ErrUnsupported) {
		return nil, true, nil
	}
	return us, false, err
}
