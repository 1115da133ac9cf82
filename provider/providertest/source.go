package providertest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Traffic is the synthetic traffic of one version in every resolution
// period of a Plan's window: Invocations requests served, Errors of them
// failed.
type Traffic struct {
	Invocations int64 `json:"invocations"`
	Errors      int64 `json:"errors"`
}

// Plan is the traffic RunSource asks a fixture to seed: in every period of
// Resolution in [Start, End()), Versions[i] serves Traffic[i]; outside that
// window, and for every version past len(Traffic), there is none.
type Plan struct {
	// Start is aligned to 5 × Resolution (and to PagePeriods × Resolution).
	Start time.Time `json:"start"`
	// Periods is the number of resolution periods with traffic.
	Periods int `json:"periods"`
	// Resolution is the source's Resolution.
	Resolution time.Duration `json:"resolution"`
	// Traffic holds one entry per version that serves traffic, in the
	// order of MetricsFixture.Versions.
	Traffic []Traffic `json:"traffic"`
	// Quiet is how long before Start and after End() the fixture keeps the
	// versions silent; after seeding, the source's clock must read at
	// least End() + Quiet plus whatever delay the source applies before a
	// period is complete.
	Quiet time.Duration `json:"quiet"`
}

// End is the end of the window with traffic.
func (p Plan) End() time.Time { return p.Start.Add(time.Duration(p.Periods) * p.Resolution) }

// MetricsFixture is a metrics source with a way to give it known synthetic
// traffic, for RunSource.
type MetricsFixture struct {
	// Metrics is the source under test. Required.
	Metrics provider.Metrics
	// Function is the function whose traffic Seed makes. Required.
	Function string
	// Versions are three distinct versions of Function in the source's
	// spelling: Seed gives the first two traffic and the third none.
	// Required.
	Versions []string
	// Now is the source's clock. Required: the suite reads it after Seed
	// to know which periods the source may return.
	Now func() time.Time
	// Seed makes the source hold the plan's traffic and moves the
	// source's clock past plan.End() + plan.Quiet (and past the source's
	// completeness delay). It is called once, before any clause. Required.
	Seed func(t *testing.T, plan Plan)
	// Start is the earliest time a plan may start; the suite picks the
	// first aligned time at or after Start + Quiet. Zero means
	// 2026-03-01T00:00:00Z.
	Start time.Time
	// Sampled says the source's counts are random draws around the seeded
	// rates (the memory provider draws Poisson arrivals and binomial
	// errors): the suite then allows five standard deviations, 5·√n around
	// a seeded count n. Exact sources leave it false and must return the
	// seeded counts to the unit.
	Sampled bool
	// PagePeriods, when positive, is the number of resolution periods
	// beyond which one Observe needs more than one call or page from the
	// source (the fixture configures the source so; a source that always
	// answers in one call may give any size, and the clause then checks a
	// long window all the same). The paging clause seeds more than three
	// pages' worth and checks nothing is lost or counted twice. Zero skips
	// the paging clause.
	PagePeriods int
	// UnknownIsEmpty says the source cannot tell an unknown function from
	// one without traffic (Prometheus and Datadog hold series, not
	// functions): the not-found clause then wants all-zero series instead
	// of ErrNotFound.
	UnknownIsEmpty bool
	// Failing returns a source that fails as the platform does in the
	// situation target names (provider.ErrThrottled: the platform's rate
	// limit answer; provider.ErrUnavailable: its 5xx answer), and false
	// when the fixture cannot make that happen. Nil skips the errors
	// clause.
	Failing func(t *testing.T, target error) (provider.Metrics, bool)
}

// RunSource checks a metrics source holding known traffic: the clauses of
// RunMetrics on it, and the clauses only known traffic can check.
//
//   - Windows: for periods of one and five resolutions over the seeded
//     window, every series has a point at every period start of the window
//     and the series of all versions cover exactly the same periods;
//     Through is the window's end (the clock is past it).
//   - Totals: each version's totals (Invocations, Errors) over the window
//     are the seeded ones, at both periods, and each one-resolution point
//     holds one period's seeded traffic (within 5σ for a sampled source).
//   - Separation: each version's series holds its own traffic (the two
//     seeded versions have different volumes and error rates), asking for
//     the versions in another order or one at a time gives the same series,
//     and the idle version's series is all zeros.
//   - Empty: windows before and after the seeded traffic have one zero
//     point per period (no invocations, errors or throttles, no latency).
//   - Paging (PagePeriods > 0): a window of more than three pages has one
//     point per period and the seeded totals.
//   - Errors (Failing set): a throttled source gives an error matching
//     provider.ErrThrottled, a failing one provider.ErrUnavailable, both
//     *provider.Error naming the function.
//
// The plan is fixed: version 0 serves 600 invocations per resolution period
// with 6 errors (1%), version 1 serves 60 with 12 errors (20%), version 2
// nothing, over 10 periods (with paging, 3 × PagePeriods + 10 rounded up to a
// multiple of 5), with
// Quiet of 10 periods.
func RunSource(t *testing.T, f MetricsFixture) {
	t.Helper()
	runSource(realT{t}, f, func(p Plan) { f.Seed(t, p) }, func(target error) (provider.Metrics, bool) { return f.Failing(t, target) })
}

// SourcePlan returns the plan RunSource seeds for a source of the given
// resolution, starting at or after start, and paging clause size.
func SourcePlan(start time.Time, resolution time.Duration, pagePeriods int) Plan {
	if start.IsZero() {
		start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	periods := 10
	align := 5 * resolution
	if pagePeriods > 0 {
		periods = (3*pagePeriods + 10 + 4) / 5 * 5
		align = time.Duration(pagePeriods) * 5 * resolution
	}
	quiet := 10 * resolution
	s := provider.AlignDown(start.Add(quiet), align)
	if s.Before(start.Add(quiet)) {
		s = s.Add(align)
	}
	return Plan{
		Start:      s.UTC(),
		Periods:    periods,
		Resolution: resolution,
		Traffic:    []Traffic{{Invocations: 600, Errors: 6}, {Invocations: 60, Errors: 12}},
		Quiet:      quiet,
	}
}

func runSource(t tester, f MetricsFixture, seed func(Plan), failing func(error) (provider.Metrics, bool)) {
	t.Helper()
	if f.Metrics == nil || f.Function == "" || len(f.Versions) != 3 || f.Now == nil || f.Seed == nil {
		t.Fatalf("providertest.RunSource: MetricsFixture.Metrics, Function, Versions (three), Now and Seed are required")
	}
	res := f.Metrics.Resolution()
	if res <= 0 {
		t.Fatalf("Resolution() = %s, want a positive duration", res)
	}
	plan := SourcePlan(f.Start, res, f.PagePeriods)
	seed(plan)
	if now := f.Now(); now.Before(plan.End().Add(plan.Quiet)) {
		t.Fatalf("after Seed the source's clock reads %s, want at least the plan's end plus quiet %s", now, plan.End().Add(plan.Quiet))
	}
	sx := &sourceEnv{f: f, plan: plan, res: res}

	// The shape clauses of RunMetrics, over the seeded window.
	t.run("Metrics", func(t tester) {
		// Windows ending at the clock, reaching back over the traffic.
		opts := MetricsOptions{
			Function: f.Function, Versions: slices.Clone(f.Versions[:2]),
			Now:         f.Now,
			Periods:     int(f.Now().Sub(plan.Start)/res) + 1,
			WantTraffic: true,
		}
		if f.UnknownIsEmpty {
			runMetricsClauses(t, f.Metrics, opts, "NotFound")
		} else {
			runMetrics(t, f.Metrics, opts)
		}
	})
	clauses := []struct {
		name string
		f    func(t tester, sx *sourceEnv)
	}{
		{"Windows", sourceWindows},
		{"Totals", sourceTotals},
		{"Separation", sourceSeparation},
		{"Empty", sourceEmpty},
		{"NotFound", sourceNotFound},
		{"Paging", sourcePaging},
		{"Errors", func(t tester, sx *sourceEnv) { sourceErrors(t, sx, failing) }},
	}
	for _, c := range clauses {
		t.run(c.name, func(t tester) {
			t.Parallel()
			sx := *sx
			sx.t, sx.ctx = t, t.Context()
			c.f(t, &sx)
		})
	}
}

type sourceEnv struct {
	t    tester
	ctx  context.Context
	f    MetricsFixture
	plan Plan
	res  time.Duration
}

func (sx *sourceEnv) query(versions []string, start, end time.Time, period time.Duration) provider.Query {
	return provider.Query{Function: sx.f.Function, Versions: versions, Start: start, End: end, Period: period}
}

// observe runs q and checks the shape every observation has; it returns
// the observation and whether it may be inspected further.
func (sx *sourceEnv) observe(q provider.Query) (provider.Observation, bool) {
	sx.t.Helper()
	obs, err := sx.f.Metrics.Observe(sx.ctx, q)
	if err != nil {
		sx.t.Errorf("Observe(%s..%s every %s, %q): %v", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339), q.Period, q.Versions, err)
		return obs, false
	}
	if !obs.Through.Equal(q.End) {
		sx.t.Errorf("Observe(%s..%s every %s): Through = %s, want the window's end: the clock is past it", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339), q.Period, obs.Through)
		return obs, false
	}
	var got []string
	for _, s := range obs.Series {
		got = append(got, s.Version)
	}
	if !slices.Equal(got, q.Versions) {
		sx.t.Errorf("Observe returned series %q, want %q", got, q.Versions)
		return obs, false
	}
	n := int(q.End.Sub(q.Start) / q.Period)
	ok := true
	for _, s := range obs.Series {
		if len(s.Points) != n {
			sx.t.Errorf("series %q has %d points over %s..%s every %s, want %d", s.Version, len(s.Points), q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339), q.Period, n)
			ok = false
			continue
		}
		for i, p := range s.Points {
			if want := q.Start.Add(time.Duration(i) * q.Period); !p.Start.Equal(want) {
				sx.t.Errorf("series %q point %d starts at %s, want %s", s.Version, i, p.Start, want)
				ok = false
			}
			if msg := checkPoint(p); msg != "" {
				sx.t.Errorf("series %q point %d (%s): %s: %+v", s.Version, i, p.Start, msg, p)
			}
		}
	}
	return obs, ok
}

// near reports whether got is want, or within five standard deviations of
// it for a sampled source.
func (sx *sourceEnv) near(got, want int64) bool {
	if !sx.f.Sampled {
		return got == want
	}
	return math.Abs(float64(got-want)) <= 5*math.Sqrt(math.Max(float64(want), 1))
}

func (sx *sourceEnv) traffic(i int) Traffic {
	if i < len(sx.plan.Traffic) {
		return sx.plan.Traffic[i]
	}
	return Traffic{}
}

// wantTotals checks each series of obs against the seeded traffic of the
// version it names over periods resolution periods.
func (sx *sourceEnv) wantTotals(obs provider.Observation, periods int, what string) {
	sx.t.Helper()
	for _, s := range obs.Series {
		i := slices.Index(sx.f.Versions, s.Version)
		tr := sx.traffic(i)
		tot := s.Total()
		wi, we := tr.Invocations*int64(periods), tr.Errors*int64(periods)
		if !sx.near(tot.Invocations, wi) || !sx.near(tot.Errors, we) {
			sx.t.Errorf("%s: version %q totals %d invocations, %d errors; seeded %d and %d (sampled: %t)", what, s.Version, tot.Invocations, tot.Errors, wi, we, sx.f.Sampled)
		}
	}
}

func sourceWindows(t tester, sx *sourceEnv) {
	for _, period := range []time.Duration{sx.res, 5 * sx.res} {
		q := sx.query(slices.Clone(sx.f.Versions), sx.plan.Start, sx.plan.End().Add(5*sx.res), period)
		obs, ok := sx.observe(q)
		if !ok {
			continue
		}
		for _, s := range obs.Series[1:] {
			a, b := starts(obs.Series[0]), starts(s)
			if !slices.EqualFunc(a, b, time.Time.Equal) {
				t.Errorf("period %s: series %q and %q cover different periods: %v and %v", period, obs.Series[0].Version, s.Version, a, b)
			}
		}
	}
}

func starts(s provider.Series) []time.Time {
	out := make([]time.Time, len(s.Points))
	for i, p := range s.Points {
		out[i] = p.Start
	}
	return out
}

func sourceTotals(t tester, sx *sourceEnv) {
	for _, period := range []time.Duration{sx.res, 5 * sx.res} {
		q := sx.query(slices.Clone(sx.f.Versions), sx.plan.Start, sx.plan.End().Add(5*sx.res), period)
		obs, ok := sx.observe(q)
		if !ok {
			continue
		}
		sx.wantTotals(obs, sx.plan.Periods, fmt.Sprintf("period %s", period))
		if period != sx.res {
			continue
		}
		for _, s := range obs.Series {
			tr := sx.traffic(slices.Index(sx.f.Versions, s.Version))
			for k, p := range s.Points {
				want := tr
				if k >= sx.plan.Periods {
					want = Traffic{}
				}
				if !sx.near(p.Invocations, want.Invocations) || !sx.near(p.Errors, want.Errors) {
					t.Errorf("version %q period %s: %d invocations, %d errors; seeded %d and %d", s.Version, p.Start.Format(time.RFC3339), p.Invocations, p.Errors, want.Invocations, want.Errors)
				}
			}
		}
	}
}

func sourceSeparation(t tester, sx *sourceEnv) {
	v := sx.f.Versions
	all, ok := sx.observe(sx.query(slices.Clone(v), sx.plan.Start, sx.plan.End(), sx.res))
	if !ok {
		return
	}
	sx.wantTotals(all, sx.plan.Periods, "all versions")
	for _, order := range [][]string{{v[1], v[0]}, {v[2], v[0], v[1]}, {v[0]}, {v[1]}, {v[2]}} {
		obs, ok := sx.observe(sx.query(slices.Clone(order), sx.plan.Start, sx.plan.End(), sx.res))
		if !ok {
			continue
		}
		for _, s := range obs.Series {
			want, _ := all.Of(s.Version)
			if !slices.EqualFunc(want.Points, s.Points, pointEqual) {
				t.Errorf("versions %q: series %q differs from the one observed with all versions:\n%+v\nthen\n%+v", order, s.Version, want.Points, s.Points)
			}
		}
	}
	idle, _ := all.Of(v[2])
	if tot := idle.Total(); tot.Invocations != 0 || tot.Errors != 0 || tot.Throttles != 0 {
		t.Errorf("idle version %q has traffic: %+v", v[2], tot)
	}
}

func pointEqual(a, b provider.Point) bool {
	return a.Start.Equal(b.Start) && a == withStart(b, a.Start)
}

func withStart(p provider.Point, s time.Time) provider.Point { p.Start = s; return p }

func (sx *sourceEnv) wantEmpty(obs provider.Observation, what string) {
	sx.t.Helper()
	for _, s := range obs.Series {
		for _, p := range s.Points {
			if p.Invocations != 0 || p.Errors != 0 || p.Throttles != 0 || p.P50 != 0 || p.P90 != 0 || p.P99 != 0 || p.ColdStarts > 0 {
				sx.t.Errorf("%s: version %q period %s has traffic: %+v", what, s.Version, p.Start.Format(time.RFC3339), p)
				return
			}
			if _, ok := p.ErrorRate(); ok {
				sx.t.Errorf("%s: version %q period %s has an error rate", what, s.Version, p.Start.Format(time.RFC3339))
			}
		}
	}
}

func sourceEmpty(t tester, sx *sourceEnv) {
	q := sx.plan.Quiet / sx.res * sx.res
	for _, w := range []struct {
		what       string
		start, end time.Time
	}{
		{"before the traffic", sx.plan.Start.Add(-q), sx.plan.Start},
		{"after the traffic", sx.plan.End(), sx.plan.End().Add(q)},
	} {
		obs, ok := sx.observe(sx.query(slices.Clone(sx.f.Versions), w.start, w.end, sx.res))
		if ok {
			sx.wantEmpty(obs, w.what)
		}
	}
}

func sourceNotFound(t tester, sx *sourceEnv) {
	q := sx.query(slices.Clone(sx.f.Versions[:2]), sx.plan.Start, sx.plan.End(), sx.res)
	q.Function = sx.f.Function + "-absent"
	if !sx.f.UnknownIsEmpty {
		_, err := sx.f.Metrics.Observe(sx.ctx, q)
		(&metricsEnv{t: t}).wantErr(fmt.Sprintf("Observe of function %q that does not exist", q.Function), err, provider.ErrNotFound, q.Function)
		return
	}
	obs, ok := sx.observe(q)
	if ok {
		sx.wantEmpty(obs, "an unknown function")
	}
}

func sourcePaging(t tester, sx *sourceEnv) {
	if sx.f.PagePeriods <= 0 {
		t.Skipf("MetricsFixture.PagePeriods is zero: the fixture does not say when the source pages")
	}
	q := sx.query(slices.Clone(sx.f.Versions[:2]), sx.plan.Start, sx.plan.End(), sx.res)
	obs, ok := sx.observe(q)
	if ok {
		sx.wantTotals(obs, sx.plan.Periods, fmt.Sprintf("%d periods, page size %d", sx.plan.Periods, sx.f.PagePeriods))
	}
}

func sourceErrors(t tester, sx *sourceEnv, failing func(error) (provider.Metrics, bool)) {
	if sx.f.Failing == nil {
		t.Skipf("MetricsFixture.Failing is nil")
	}
	for _, target := range []error{provider.ErrThrottled, provider.ErrUnavailable} {
		m, ok := failing(target)
		if !ok {
			t.Logf("the fixture cannot make the source fail with %v", target)
			continue
		}
		_, err := m.Observe(sx.ctx, sx.query(slices.Clone(sx.f.Versions[:2]), sx.plan.Start, sx.plan.End(), sx.res))
		(&metricsEnv{t: t}).wantErr(fmt.Sprintf("Observe on a source failing with %v", target), err, target, sx.f.Function)
		if errors.Is(err, provider.ErrThrottled) && errors.Is(err, provider.ErrUnavailable) {
			t.Errorf("Observe error %q matches both ErrThrottled and ErrUnavailable", err)
		}
	}
}
