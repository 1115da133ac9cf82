package retention_test

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/retention"
)

// The scale scenario: 100 functions of 100 versions on the memory provider
// behind an account-wide rate limit of 50 calls per second that throttles
// beyond it (as Lambda's control plane answers 429 TooManyRequests with a
// retry-after), with 100 ms per call. Keep the newest version of each:
// 9,900 deletions. Ideal time of the deletes alone: 9,900 ÷ 50 = 198 s.
// The reference reads (Routes, Usage) take tokens of the same account
// limit, as ListAliases does on Lambda, so the ideal of a run is
// (deletes + reads) ÷ 50; both ratios are reported.
const (
	scaleFunctions = 100
	scaleVersions  = 100
	accountRate    = 50 // calls per second
	accountBurst   = 5
	callLatency    = 100 * time.Millisecond
)

var timeScale = flag.Float64("retention.timescale", 50,
	"how many times faster than real time BenchmarkFleetPrune's virtual clock runs")

// account wraps a provider with an account-wide token bucket that every
// request draws from: a call beyond it fails with a *provider.ThrottleError
// whose hint is the time until the next token. Every call then takes
// latency on clk. A Usage or DeleteVersion call is usageCost or deleteCost
// requests (as on Lambda: two each), which Capabilities reports.
type account struct {
	provider.Provider
	clk                   provider.Clock
	lim                   *rate.Limiter
	latency               time.Duration
	usageCost, deleteCost int // requests per call; 0 means 1
	calls                 atomic.Int64
	requests              atomic.Int64 // what the calls cost
	throttled             atomic.Int64
	reads                 atomic.Int64 // Routes and Usage calls
	deletes               atomic.Int64 // DeleteVersion calls
}

func (a *account) Capabilities() provider.Capabilities {
	c := a.Provider.Capabilities()
	c.UsageRequests, c.DeleteRequests = a.usageCost, a.deleteCost
	return c
}

func (a *account) admit(ctx context.Context, n int) error {
	n = max(n, 1)
	a.calls.Add(1)
	a.requests.Add(int64(n))
	now := a.clk.Now()
	if !a.lim.AllowN(now, n) {
		a.throttled.Add(1)
		r := a.lim.ReserveN(now, n)
		hint := r.DelayFrom(now)
		r.CancelAt(now)
		if err := a.clk.Sleep(ctx, a.latency); err != nil {
			return err
		}
		return &provider.Error{Op: "call", Err: &provider.ThrottleError{RetryAfter: hint}}
	}
	return a.clk.Sleep(ctx, a.latency)
}

func (a *account) Routes(ctx context.Context, fn string) ([]provider.Route, error) {
	a.reads.Add(1)
	if err := a.admit(ctx, 1); err != nil {
		return nil, err
	}
	return a.Provider.Routes(ctx, fn)
}

func (a *account) Usage(ctx context.Context, fn string) ([]provider.Usage, error) {
	a.reads.Add(1)
	if err := a.admit(ctx, a.usageCost); err != nil {
		return nil, err
	}
	return a.Provider.(provider.UsageReporter).Usage(ctx, fn)
}

func (a *account) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	if err := a.admit(ctx, 1); err != nil {
		return provider.Version{}, err
	}
	return a.Provider.Version(ctx, fn, id)
}

func (a *account) DeleteVersion(ctx context.Context, fn, id string) error {
	a.deletes.Add(1)
	if err := a.admit(ctx, a.deleteCost); err != nil {
		return err
	}
	return a.Provider.DeleteVersion(ctx, fn, id)
}

// scaleFleet builds the scenario and its plan; the plan is made without
// the account limit (planning is not what is measured).
func scaleFleet(tb testing.TB, fns, versions int) (*memory.Provider, retention.Plan) {
	tb.Helper()
	p := newMemory(tb, memory.Options{})
	var names []string
	for f := range fns {
		fn := fmt.Sprintf("fn%03d", f)
		names = append(names, fn)
		publishN(tb, p, fn, versions)
		setRoute(tb, p, fn, "live", fmt.Sprint(versions), provider.AllTraffic)
	}
	return p, plan(tb, p, retention.Policy{KeepLast: 1}, names...)
}

// scaleMode is how the scenario is pruned.
type scaleMode struct {
	name        string
	sequential  bool          // a loop of deletes, one after the other
	concurrency int           // Apply's
	recheck     time.Duration // Apply's RecheckInterval
	rate        float64       // the account's limit and Apply's Rate; 0 means accountRate
	defaults    bool          // Apply with zero Concurrency and Rate (rate must be DefaultRate)
	functions   int           // 0 means scaleFunctions
	lambda      bool          // Usage and DeleteVersion cost two requests each, as on Lambda
}

// deleteCost is the requests of one delete call in the mode.
func (m scaleMode) deleteCost() int {
	if m.lambda {
		return 2
	}
	return 1
}

func (m scaleMode) limit() float64 {
	if m.rate == 0 {
		return accountRate
	}
	return m.rate
}

var (
	// applyFresh is Apply with the default fresh reference check. Its
	// deletes wait for reads, and a read is shared by the deletes of a
	// function that ask while it waits for its token; so it needs many
	// versions in progress to share each read widely, more than the calls
	// in flight (rate × latency = 5). Each delete then waits behind the
	// others for its token: about Concurrency ÷ rate = 4 s at most.
	applyFresh = scaleMode{name: "apply", concurrency: 200}
	// applyShared opts into sharing one read per function for 5 s.
	applyShared = scaleMode{name: "apply-shared-5s", concurrency: 8, recheck: 5 * time.Second}
	sequential  = scaleMode{name: "sequential", sequential: true}
	// applyDefaults is Apply's zero options (DefaultRate, the account's
	// limit here, and DefaultApplyConcurrency) on a tenth of the fleet.
	applyDefaults = scaleMode{name: "apply-defaults", defaults: true, rate: retention.DefaultRate,
		concurrency: retention.DefaultApplyConcurrency, functions: scaleFunctions / 10}
	// applyLambda is applyFresh with Lambda's request costs: a Usage is
	// two requests (provisioned concurrency, event-source mappings) and a
	// delete two (ListAliases, DeleteFunction), so the ideal is twice the
	// deletions ÷ rate, and the budget must never let the account throttle.
	applyLambda = scaleMode{name: "apply-lambda-costs", concurrency: 200, lambda: true}
)

type scaleResult struct {
	mode                    scaleMode
	elapsed                 time.Duration // on the scenario's clock
	deleted, failed         int
	calls, throttled        int64
	reads, deletes          int64
	ideal                   time.Duration // planned deletions × their cost ÷ the account's rate
	ratio                   float64       // elapsed ÷ ideal
	idealCalls              time.Duration // the requests of every call ÷ the account's rate
	ratioCalls, perDeletion float64       // elapsed ÷ idealCalls; read calls per deleted version
	planned                 int
	maxCheckAge             time.Duration // Report.MaxCheckAge
}

func (r scaleResult) String() string {
	mode := fmt.Sprintf("Apply (concurrency %d, rate %g/s, recheck interval %v)", r.mode.concurrency, r.mode.limit(), r.mode.recheck)
	if r.mode.lambda {
		mode += " with Lambda's request costs"
	}
	if r.mode.sequential {
		mode = "sequential loop"
	}
	return fmt.Sprintf("%s: %d planned, %d deleted, %d failed; %d calls (%d deletes, %d reads = %.3f per deletion, %d throttled); "+
		"%.1f s: %.3f× the deletes' ideal of %.1f s, %.3f× the calls' ideal of %.1f s; checks at most %v old",
		mode, r.planned, r.deleted, r.failed, r.calls, r.deletes, r.reads, r.perDeletion, r.throttled,
		r.elapsed.Seconds(), r.ratio, r.ideal.Seconds(), r.ratioCalls, r.idealCalls.Seconds(), r.maxCheckAge)
}

// runScale prunes the fleet through the account limit, with Apply or with
// a sequential loop that deletes one version after the other and waits out
// each throttle's hint (the way simple pruners work).
func runScale(tb testing.TB, p *memory.Provider, pl retention.Plan, clk provider.Clock, mode scaleMode) scaleResult {
	tb.Helper()
	acct := &account{Provider: p, clk: clk, lim: rate.NewLimiter(rate.Limit(mode.limit()), accountBurst), latency: callLatency}
	if mode.lambda {
		acct.usageCost, acct.deleteCost = 2, 2
	}
	acct.lim.AllowN(clk.Now(), accountBurst) // the bucket starts empty: other tools used the account
	_, _, planned := pl.Counts()
	res := scaleResult{planned: planned, mode: mode,
		ideal: time.Duration(float64(planned*mode.deleteCost()) / mode.limit() * float64(time.Second))}
	ctx := context.Background()
	start := clk.Now()
	if mode.sequential {
		for _, f := range pl.Functions {
			for _, id := range f.Deletions() {
				for {
					err := acct.DeleteVersion(ctx, f.Function, id)
					if d, ok := provider.RetryAfter(err); ok {
						if err := clk.Sleep(ctx, d); err != nil {
							tb.Fatal(err)
						}
						continue
					}
					if err != nil {
						res.failed++
					} else {
						res.deleted++
					}
					break
				}
			}
		}
	} else {
		opts := retention.ApplyOptions{
			Rate: mode.limit(), Concurrency: mode.concurrency, RecheckInterval: mode.recheck, Clock: clk,
			Retry: provider.RetryPolicy{MaxAttempts: 10},
		}
		if mode.defaults {
			opts.Rate, opts.Concurrency = 0, 0
		}
		rep, err := retention.Apply(ctx, acct, pl, opts)
		if err != nil {
			tb.Errorf("Apply: %v", err)
		}
		t := rep.Totals()
		res.maxCheckAge = rep.MaxCheckAge
		res.deleted, res.failed = t.Deleted, t.Failed+t.Skipped+t.Canceled
	}
	res.elapsed = clk.Now().Sub(start)
	res.calls, res.throttled = acct.calls.Load(), acct.throttled.Load()
	res.reads, res.deletes = acct.reads.Load(), acct.deletes.Load()
	res.ratio = float64(res.elapsed) / float64(res.ideal)
	res.idealCalls = time.Duration(float64(acct.requests.Load()) / mode.limit() * float64(time.Second))
	res.ratioCalls = float64(res.elapsed) / float64(res.idealCalls)
	res.perDeletion = float64(res.reads) / float64(max(res.deleted, 1))
	return res
}

// wall is the real clock; inside a synctest bubble its time is the
// bubble's virtual time.
type wall struct{}

func (wall) Now() time.Time { return time.Now() }

func (wall) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestScaleWithinTenPercentOfIdeal runs the scale scenario in a synctest
// bubble, where time is virtual and exact: 200 s of pruning take no wall
// time, and what is measured does not depend on the machine's load.
//
// With the default fresh reference check (Concurrency 200), Apply must
// delete every version with no failure within 10% of the deletes' own ideal
// (versions ÷ rate), although its reads take tokens of the same limit, and
// send every delete at most about Concurrency ÷ rate (with 10% for the reads
// queued among the deletes) plus the read's two calls after the read that
// cleared it began. With Lambda's request costs (a Usage and a delete are
// two requests each) the same holds with twice the tokens per delete, and
// the account never throttles but the first call (the account's bucket
// starts empty). Opting into a read shared for 5 s, Apply must come within
// 10% too. The sequential loop, bound by the call latency, cannot: it must
// take more than 4×. Apply's zero options (10 per second,
// DefaultApplyConcurrency), on a tenth of the fleet, must come within 20%.
func TestScaleWithinTenPercentOfIdeal(t *testing.T) {
	for _, mode := range []scaleMode{applyFresh, applyShared, sequential, applyDefaults, applyLambda} {
		t.Run(mode.name, func(t *testing.T) {
			fns := cmp.Or(mode.functions, scaleFunctions)
			if testing.Short() {
				fns = max(fns/10, 2)
			}
			synctest.Test(t, func(t *testing.T) {
				p, pl := scaleFleet(t, fns, scaleVersions)
				res := runScale(t, p, pl, wall{}, mode)
				t.Log(res)
				if res.deleted != res.planned || res.failed != 0 {
					t.Errorf("deleted %d of %d, %d failed", res.deleted, res.planned, res.failed)
				}
				limit := 1.10
				if mode.lambda && res.throttled > 1 {
					t.Errorf("%d calls throttled by the account, want at most the first: the budget must count every request", res.throttled)
				}
				switch mode {
				case sequential:
					if res.ratio < 4 {
						t.Errorf("the sequential loop took %.3f× the ideal, want over 4× (100 ms per call at 50 per second)", res.ratio)
					}
					return
				case applyDefaults:
					limit = 1.20
				}
				if res.ratio > limit {
					t.Errorf("Apply took %.3f× the deletes' ideal, want at most %.2f×", res.ratio, limit)
				}
				// The deletes in progress queue for their tokens (and
				// reads for theirs among them, hence 10% more), after the
				// read's two calls.
				perToken := time.Duration(float64(time.Second) / mode.limit())
				queue := time.Duration(float64(mode.concurrency*mode.deleteCost()) * 1.1 * float64(perToken))
				maxAge := mode.recheck + queue + 2*callLatency + time.Duration(1+mode.deleteCost())*perToken
				if res.maxCheckAge <= 0 || res.maxCheckAge > maxAge {
					t.Errorf("checks at most %v old, want (0, %v]", res.maxCheckAge, maxAge)
				}
			})
		})
	}
}

// scaledClock is virtual time that runs *timeScale times faster than real
// time: Sleep(d) sleeps d/scale for real.
type scaledClock struct {
	start time.Time
	base  time.Time
	scale float64
}

func newScaledClock(scale float64) *scaledClock {
	return &scaledClock{start: time.Now(), base: t0, scale: scale}
}

func (c *scaledClock) Now() time.Time {
	return c.base.Add(time.Duration(float64(time.Since(c.start)) * c.scale))
}

func (c *scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return wall{}.Sleep(ctx, time.Duration(float64(d)/c.scale))
}

// BenchmarkFleetPrune measures the scale scenario on a clock that runs
// -retention.timescale times faster than real time (default 50: Apply's
// 200-odd virtual seconds take about 4 s), reporting the run in virtual
// seconds, its ratios to the deletes' ideal and to the ideal of all its
// calls, read calls per deletion, throttles, failures and Report.MaxCheckAge
// — for Apply with fresh checks (the default), Apply sharing a read for 5 s,
// and a sequential loop. Timer jitter of the machine is magnified by the scale;
// TestScaleWithinTenPercentOfIdeal measures the same in exact virtual time.
func BenchmarkFleetPrune(b *testing.B) {
	for _, mode := range []scaleMode{applyFresh, applyShared, sequential} {
		fns := scaleFunctions
		if mode.sequential {
			// The loop's ratio to the ideal is its call latency × the
			// rate whatever the fleet's size: a tenth of the fleet shows
			// it in a fifth of the time.
			fns = scaleFunctions / 10
		}
		b.Run(mode.name, func(b *testing.B) {
			var last scaleResult
			for range b.N {
				b.StopTimer()
				p, pl := scaleFleet(b, fns, scaleVersions)
				clk := newScaledClock(*timeScale)
				b.StartTimer()
				last = runScale(b, p, pl, clk, mode)
			}
			b.ReportMetric(last.elapsed.Seconds(), "virtual-s/op")
			b.ReportMetric(last.ideal.Seconds(), "ideal-s/op")
			b.ReportMetric(last.ratio, "x-ideal")
			b.ReportMetric(last.ratioCalls, "x-ideal-calls")
			b.ReportMetric(last.perDeletion, "reads/deletion")
			b.ReportMetric(float64(last.throttled), "throttled/op")
			b.ReportMetric(float64(last.failed), "failed/op")
			b.ReportMetric(last.maxCheckAge.Seconds(), "max-check-age-s")
			b.Logf("%v", last)
		})
	}
}

// BenchmarkPlanAndApplyCPU is the CPU cost of planning and applying the
// scale scenario (100 functions × 100 versions, 9,900 deletions) on the
// memory provider with no rate limit and no latency: Apply's own overhead.
func BenchmarkPlanAndApplyCPU(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		p, _ := scaleFleet(b, scaleFunctions, scaleVersions)
		var names []string
		for f := range scaleFunctions {
			names = append(names, fmt.Sprintf("fn%03d", f))
		}
		b.StartTimer()
		pl, err := retention.Planner{Limiter: unlimited()}.Plan(context.Background(), p, names, retention.Policy{KeepLast: 1}, t0)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := retention.Apply(context.Background(), p, pl, retention.ApplyOptions{Limiter: unlimited(), Concurrency: 8})
		if err != nil || rep.Totals().Deleted != scaleFunctions*(scaleVersions-1) {
			b.Fatalf("Apply: %v, %+v", err, rep.Totals())
		}
	}
}
