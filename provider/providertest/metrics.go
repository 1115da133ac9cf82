package providertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

// MetricsOptions tells RunMetrics what it may observe. Metrics are read
// only, so RunMetrics takes one source rather than a factory, as
// testing/fstest.TestFS takes one file system.
type MetricsOptions struct {
	// Function is a function the source knows. Required.
	Function string
	// Versions are published versions of Function. Required.
	Versions []string
	// Alias, when set, is a route of Function; the shape clause observes
	// through it as well.
	Alias string
	// Now is the source's clock; nil means time.Now. The suite observes
	// windows ending at Now aligned down to the period, and one reaching
	// past Now.
	Now func() time.Time
	// Periods is how many periods of the source's resolution the observed
	// windows span; 0 means 10.
	Periods int
	// WantTraffic says the caller produced traffic to at least one of
	// Versions during the last Periods periods before Now, so the window
	// must not be all zeros.
	WantTraffic bool
}

// RunMetrics checks a provider.Metrics against its contract: a positive,
// stable Resolution; ErrInvalid for a malformed or misaligned query (empty
// function or versions, a period that is not a positive multiple of the
// resolution, a start or end not aligned to the period, an end not after
// the start); ErrNotFound for an unknown function; context.Canceled for a
// cancelled context; and, for aligned windows with periods of one and five
// resolutions, a Query echoed back, Through aligned and not after End, one
// series per requested version in the requested order, each with exactly
// one point per whole period of [Start, min(End, Through)) in ascending
// order and none half-filled, and every point consistent (0 ≤ Errors ≤
// Invocations, ColdStarts ≥ -1, P50 ≤ P90 ≤ P99, no latency without
// invocations). Every expected error must also be a *provider.Error naming
// the function.
func RunMetrics(t *testing.T, m provider.Metrics, opts MetricsOptions) {
	t.Helper()
	runMetrics(realT{t}, m, opts)
}

func runMetrics(t tester, m provider.Metrics, opts MetricsOptions) {
	t.Helper()
	runMetricsClauses(t, m, opts)
}

// runMetricsClauses runs the clauses of RunMetrics except those named in
// skip.
func runMetricsClauses(t tester, m provider.Metrics, opts MetricsOptions, skip ...string) {
	t.Helper()
	if opts.Function == "" || len(opts.Versions) == 0 {
		t.Fatalf("providertest.RunMetrics: MetricsOptions.Function and Versions are required")
	}
	clauses := []struct {
		name string
		f    func(t tester, mx *metricsEnv)
	}{
		{"Resolution", metricsResolution},
		{"Invalid", metricsInvalid},
		{"NotFound", metricsNotFound},
		{"Cancel", metricsCancel},
		{"Shape", metricsShape},
		{"Future", metricsFuture},
	}
	for _, c := range clauses {
		if slices.Contains(skip, c.name) {
			continue
		}
		t.run(c.name, func(t tester) {
			t.Parallel()
			mx := &metricsEnv{t: t, ctx: t.Context(), m: m, opts: opts}
			mx.res = m.Resolution()
			if mx.res <= 0 {
				t.Fatalf("Resolution() = %s, want a positive duration", mx.res)
			}
			c.f(t, mx)
		})
	}
}

type metricsEnv struct {
	t    tester
	ctx  context.Context
	m    provider.Metrics
	opts MetricsOptions
	res  time.Duration
}

func (mx *metricsEnv) now() time.Time {
	if mx.opts.Now != nil {
		return mx.opts.Now()
	}
	return time.Now()
}

// query returns an aligned query of mx.periods() periods of length period
// ending at now aligned down.
func (mx *metricsEnv) query(period time.Duration) provider.Query {
	n := mx.opts.Periods
	if n <= 0 {
		n = 10
	}
	end := provider.AlignDown(mx.now(), period)
	return provider.Query{
		Function: mx.opts.Function,
		Versions: slices.Clone(mx.opts.Versions),
		Start:    end.Add(-time.Duration(n) * period),
		End:      end,
		Period:   period,
	}
}

// wantErr checks err against target and, when fn is set, for a
// *provider.Error naming fn.
func (mx *metricsEnv) wantErr(call string, err, target error, fn string) {
	mx.t.Helper()
	switch {
	case err == nil:
		mx.t.Errorf("%s: got no error, want one matching %v", call, target)
		return
	case !errors.Is(err, target):
		mx.t.Errorf("%s: got error %q, want one matching %v under errors.Is", call, err, target)
		return
	}
	if fn == "" {
		return
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		mx.t.Errorf("%s: error %q is not a *provider.Error (errors.As found none)", call, err)
	} else if pe.Op == "" || pe.Function != fn {
		mx.t.Errorf("%s: *provider.Error{Op: %q, Function: %q}, want a non-empty Op and Function %q", call, pe.Op, pe.Function, fn)
	}
}

func metricsResolution(t tester, mx *metricsEnv) {
	if again := mx.m.Resolution(); again != mx.res {
		t.Errorf("Resolution() changed between calls: %s, then %s", mx.res, again)
	}
}

func metricsInvalid(t tester, mx *metricsEnv) {
	good := mx.query(mx.res)
	fn := good.Function
	cases := []struct {
		name   string
		mutate func(q *provider.Query)
	}{
		{"an empty function", func(q *provider.Query) { q.Function = "" }},
		{"no versions", func(q *provider.Query) { q.Versions = nil }},
		{"an empty version", func(q *provider.Query) { q.Versions = append(q.Versions, "") }},
		{"a zero period", func(q *provider.Query) { q.Period = 0 }},
		{"a negative period", func(q *provider.Query) { q.Period = -mx.res }},
		{"an end before the start", func(q *provider.Query) { q.Start, q.End = q.End, q.Start }},
		{"an empty window", func(q *provider.Query) { q.Start = q.End }},
	}
	if mx.res > 1 {
		cases = append(cases,
			struct {
				name   string
				mutate func(q *provider.Query)
			}{"a period not a multiple of the resolution", func(q *provider.Query) {
				q.Period = mx.res + mx.res/2
				if q.Period%mx.res == 0 {
					q.Period = mx.res + 1
				}
				q.Start = provider.AlignDown(q.Start, q.Period)
				q.End = provider.AlignDown(q.End, q.Period)
			}},
			struct {
				name   string
				mutate func(q *provider.Query)
			}{"a misaligned start", func(q *provider.Query) { q.Start = q.Start.Add(mx.res / 2) }},
			struct {
				name   string
				mutate func(q *provider.Query)
			}{"a misaligned end", func(q *provider.Query) { q.End = q.End.Add(-mx.res / 2) }},
		)
	}
	for _, c := range cases {
		q := good
		q.Versions = slices.Clone(good.Versions)
		c.mutate(&q)
		obs, err := mx.m.Observe(mx.ctx, q)
		if err == nil {
			t.Errorf("Observe with %s (%+v) = %d series through %s, want an error matching %v", c.name, q, len(obs.Series), obs.Through, provider.ErrInvalid)
			continue
		}
		want := fn
		if q.Function == "" {
			want = ""
		}
		mx.wantErr(fmt.Sprintf("Observe with %s", c.name), err, provider.ErrInvalid, want)
	}
}

func metricsNotFound(t tester, mx *metricsEnv) {
	q := mx.query(mx.res)
	q.Function = mx.opts.Function + "-absent"
	_, err := mx.m.Observe(mx.ctx, q)
	mx.wantErr(fmt.Sprintf("Observe of function %q that does not exist", q.Function), err, provider.ErrNotFound, q.Function)
}

func metricsCancel(t tester, mx *metricsEnv) {
	ctx, cancel := context.WithCancel(mx.ctx)
	cancel()
	_, err := mx.m.Observe(ctx, mx.query(mx.res))
	mx.wantErr("Observe with a cancelled context", err, context.Canceled, mx.opts.Function)
}

func metricsShape(t tester, mx *metricsEnv) {
	traffic := false
	for _, period := range []time.Duration{mx.res, 5 * mx.res} {
		aliases := []string{""}
		if mx.opts.Alias != "" {
			aliases = append(aliases, mx.opts.Alias)
		}
		for _, alias := range aliases {
			q := mx.query(period)
			q.Alias = alias
			if mx.observe(q) {
				traffic = true
			}
		}
	}
	if mx.opts.WantTraffic && !traffic {
		t.Errorf("Observe over the last %d periods found no invocations of %q, want some (MetricsOptions.WantTraffic)", max(mx.opts.Periods, 10), mx.opts.Versions)
	}
}

// metricsFuture observes a window reaching past now: no period that has
// not ended may be returned.
func metricsFuture(t tester, mx *metricsEnv) {
	q := mx.query(mx.res)
	shift := time.Duration(max(mx.opts.Periods, 10)/2) * mx.res
	q.Start, q.End = q.Start.Add(shift), q.End.Add(shift)
	mx.observe(q)
}

// observe checks one observation's shape and reports whether it held any
// invocations.
func (mx *metricsEnv) observe(q provider.Query) bool {
	t := mx.t
	t.Helper()
	now := mx.now()
	obs, err := mx.m.Observe(mx.ctx, q)
	if err != nil {
		t.Errorf("Observe(%+v): %v", q, err)
		return false
	}
	if diff := cmp.Diff(q, obs.Query); diff != "" {
		t.Errorf("Observation.Query differs from the query (-asked +echoed):\n%s", diff)
	}
	through := obs.Through
	if !provider.AlignDown(through, q.Period).Equal(through) {
		t.Errorf("Observation.Through = %s is not aligned to the %s period", through, q.Period)
	}
	if through.After(q.End) || through.After(now) {
		t.Errorf("Observation.Through = %s is after the window's end %s or the clock's %s", through, q.End, now)
	}
	whole := 0
	if through.After(q.Start) {
		whole = int(through.Sub(q.Start) / q.Period)
	}
	var got []string
	for _, s := range obs.Series {
		got = append(got, s.Version)
	}
	if !slices.Equal(got, q.Versions) {
		t.Errorf("Observe(%q, alias %q) returned series %q, want one per requested version %q in order", q.Function, q.Alias, got, q.Versions)
		return false
	}
	traffic := false
	for _, s := range obs.Series {
		if len(s.Points) != whole {
			t.Errorf("series %q has %d points, want one per whole period of [%s, %s): %d", s.Version, len(s.Points), q.Start, through, whole)
		}
		for i, p := range s.Points {
			want := q.Start.Add(time.Duration(i) * q.Period)
			if !p.Start.Equal(want) {
				t.Errorf("series %q point %d starts at %s, want %s", s.Version, i, p.Start, want)
			}
			if p.Start.Add(q.Period).After(through) {
				t.Errorf("series %q point %d (%s) ends after Through %s: a partial period", s.Version, i, p.Start, through)
			}
			if msg := checkPoint(p); msg != "" {
				t.Errorf("series %q point %d (%s): %s: %+v", s.Version, i, p.Start, msg, p)
			}
			traffic = traffic || p.Invocations > 0
		}
	}
	return traffic
}

// checkPoint returns what is inconsistent in p, or "".
func checkPoint(p provider.Point) string {
	switch {
	case p.Invocations < 0 || p.Errors < 0 || p.Throttles < 0:
		return "negative count"
	case p.Errors > p.Invocations:
		return "more errors than invocations"
	case p.ColdStarts < -1 || p.ColdStarts > p.Invocations:
		return "cold starts outside -1..invocations"
	case p.P50 < 0 || p.P50 > p.P90 || p.P90 > p.P99:
		return "latency percentiles out of order"
	case p.Invocations == 0 && (p.P50 != 0 || p.P90 != 0 || p.P99 != 0):
		return "latency without invocations"
	case p.InitDuration < 0:
		return "negative init duration"
	}
	return ""
}
