package provider

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"time"
)

// RetryPolicy retries calls that fail with ErrThrottled or ErrUnavailable,
// with full-jitter exponential backoff, never waiting less than a
// retry-after hint and never past the context's deadline. The zero value is
// ready to use: 5 attempts, 200ms base delay, 20s cap, real time.
type RetryPolicy struct {
	// MaxAttempts is the number of calls including the first; 0 means 5.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// BaseDelay is the backoff before the second attempt's jitter; 0 means
	// 200ms. Attempt n (from 1) waits a uniformly random duration in
	// [0, min(MaxDelay, BaseDelay·2^(n-1))], or the retry-after hint if that
	// is longer.
	BaseDelay time.Duration `json:"baseDelay,omitempty"`
	// MaxDelay caps one wait; 0 means 20s.
	MaxDelay time.Duration `json:"maxDelay,omitempty"`
	// Sleep waits for d or until ctx ends, returning ctx's error in the
	// latter case. Nil uses a real timer; virtual clocks supply their own.
	Sleep func(ctx context.Context, d time.Duration) error `json:"-"`
	// Jitter returns a number in [0,1). Nil uses math/rand/v2.
	Jitter func() float64 `json:"-"`
	// Logger receives one Debug record per retry. Nil is silent.
	Logger *slog.Logger `json:"-"`
}

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts <= 0 {
		return 5
	}
	return p.MaxAttempts
}

// Backoff returns the wait before attempt n+1 after attempt n (n ≥ 1)
// failed with err.
func (p RetryPolicy) Backoff(n int, err error) time.Duration {
	base, ceil := p.BaseDelay, p.MaxDelay
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	if ceil <= 0 {
		ceil = 20 * time.Second
	}
	d := base
	for i := 1; i < n && d < ceil; i++ {
		d *= 2
	}
	d = min(d, ceil)
	j := p.Jitter
	if j == nil {
		j = rand.Float64
	}
	d = time.Duration(j() * float64(d))
	if hint, ok := RetryAfter(err); ok && hint > d {
		d = hint
	}
	return d
}

func (p RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Do calls op until it succeeds, fails with an error that is not Retryable,
// the attempts are spent, or ctx ends. It returns op's last error; when the
// context ended during a wait, the error wraps both ctx.Err() and op's last
// error. A wait that would outlast the context's deadline is not started,
// whether Sleep is injected or not: Do returns op's last error at once.
func (p RetryPolicy) Do(ctx context.Context, op func(context.Context) error) error {
	for n := 1; ; n++ {
		err := op(ctx)
		if err == nil || !Retryable(err) || n >= p.attempts() {
			return err
		}
		if err := p.wait(ctx, n, err); err != nil {
			return err
		}
	}
}

// wait waits before attempt n+1 after attempt n failed with err. It returns
// err, wrapped, without waiting when the wait would pass ctx's deadline
// (read against time.Now, as the context itself does), or when ctx ends
// during the wait.
func (p RetryPolicy) wait(ctx context.Context, n int, err error) error {
	d := p.Backoff(n, err)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("%w (next retry in %s would pass the deadline)", err, d)
	}
	if p.Logger != nil {
		p.Logger.DebugContext(ctx, "provider: retrying", "attempt", n, "wait", d, "err", err)
	}
	if serr := p.sleep(ctx, d); serr != nil {
		return fmt.Errorf("%w (gave up retrying: %w)", err, serr)
	}
	return nil
}

// WithRetry returns a Provider that retries p's calls under pol. Writes are
// made safe to retry:
//   - SetRoute: a retry after ErrUnavailable that meets ErrConflict re-reads
//     the route, and returns it as the result when it already carries the
//     requested traffic (the first attempt did land).
//   - DeleteVersion: a retry after ErrUnavailable that meets ErrNotFound is
//     a success (the first attempt did delete).
//   - Publish is idempotent by contract.
//
// The returned value implements every optional interface of this package,
// forwarding to p where p implements it and answering ErrUnsupported where
// it does not.
func WithRetry(p Provider, pol RetryPolicy) Provider {
	return &retrying{p: p, pol: pol}
}

type retrying struct {
	p   Provider
	pol RetryPolicy
}

var (
	_ Provider          = (*retrying)(nil)
	_ UsageReporter     = (*retrying)(nil)
	_ EventSourceLister = (*retrying)(nil)
	_ PermissionReader  = (*retrying)(nil)
)

// Unwrap returns the wrapped provider.
func (r *retrying) Unwrap() Provider { return r.p }

func (r *retrying) Capabilities() Capabilities { return r.p.Capabilities() }

func (r *retrying) Publish(ctx context.Context, fn string, in PublishInput) (v Version, err error) {
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		v, err = r.p.Publish(ctx, fn, in)
		return err
	})
	return v, err
}

func (r *retrying) Version(ctx context.Context, fn, id string) (v Version, err error) {
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		v, err = r.p.Version(ctx, fn, id)
		return err
	})
	return v, err
}

// Versions retries the whole listing from the start while nothing has been
// yielded, and only transient failures after that are passed to the caller:
// a partially consumed sequence cannot be resumed portably.
func (r *retrying) Versions(ctx context.Context, fn string) iter.Seq2[Version, error] {
	return func(yield func(Version, error) bool) {
		for n := 1; ; n++ {
			yielded := false
			var failure error
			for v, err := range r.p.Versions(ctx, fn) {
				if err != nil {
					failure = err
					break
				}
				yielded = true
				if !yield(v, nil) {
					return
				}
			}
			if failure == nil {
				return
			}
			if yielded || !Retryable(failure) || n >= r.pol.attempts() {
				yield(Version{}, failure)
				return
			}
			if err := r.pol.wait(ctx, n, failure); err != nil {
				yield(Version{}, err)
				return
			}
		}
	}
}

func (r *retrying) Route(ctx context.Context, fn, alias string) (rt Route, err error) {
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		rt, err = r.p.Route(ctx, fn, alias)
		return err
	})
	return rt, err
}

func (r *retrying) Routes(ctx context.Context, fn string) (rs []Route, err error) {
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		rs, err = r.p.Routes(ctx, fn)
		return err
	})
	return rs, err
}

func (r *retrying) SetRoute(ctx context.Context, fn string, want Route) (got Route, err error) {
	uncertain := false
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		got, err = r.p.SetRoute(ctx, fn, want)
		if errors.Is(err, ErrConflict) && uncertain {
			cur, rerr := r.p.Route(ctx, fn, want.Alias)
			if rerr == nil && cur.SameTraffic(want) {
				got = cur
				return nil
			}
		}
		if errors.Is(err, ErrUnavailable) {
			uncertain = true
		}
		return err
	})
	return got, err
}

func (r *retrying) DeleteVersion(ctx context.Context, fn, id string) error {
	uncertain := false
	return r.pol.Do(ctx, func(ctx context.Context) error {
		err := r.p.DeleteVersion(ctx, fn, id)
		if uncertain && errors.Is(err, ErrNotFound) {
			return nil
		}
		if errors.Is(err, ErrUnavailable) {
			uncertain = true
		}
		return err
	})
}

func (r *retrying) Usage(ctx context.Context, fn string) (us []Usage, err error) {
	u, ok := r.p.(UsageReporter)
	if !ok {
		return nil, &Error{Op: "usage", Function: fn, Err: ErrUnsupported}
	}
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		us, err = u.Usage(ctx, fn)
		return err
	})
	return us, err
}

func (r *retrying) EventSources(ctx context.Context, fn string) (es []EventSource, err error) {
	l, ok := r.p.(EventSourceLister)
	if !ok {
		return nil, &Error{Op: "event sources", Function: fn, Err: ErrUnsupported}
	}
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		es, err = l.EventSources(ctx, fn)
		return err
	})
	return es, err
}

func (r *retrying) Permissions(ctx context.Context, fn, qualifier string) (ps []Permission, err error) {
	pr, ok := r.p.(PermissionReader)
	if !ok {
		return nil, &Error{Op: "permissions", Function: fn, Err: ErrUnsupported}
	}
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		ps, err = pr.Permissions(ctx, fn, qualifier)
		return err
	})
	return ps, err
}

// WithRetryMetrics returns a Metrics that retries m's calls under pol.
func WithRetryMetrics(m Metrics, pol RetryPolicy) Metrics {
	return &retryingMetrics{m: m, pol: pol}
}

type retryingMetrics struct {
	m   Metrics
	pol RetryPolicy
}

func (r *retryingMetrics) Resolution() time.Duration { return r.m.Resolution() }

func (r *retryingMetrics) Observe(ctx context.Context, q Query) (o Observation, err error) {
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		o, err = r.m.Observe(ctx, q)
		return err
	})
	return o, err
}
