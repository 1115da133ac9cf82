package canary_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

// t0 is the start of every test window: a whole minute.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// minute is one period of test metrics.
type minute struct {
	inv, errs, thr, cold int64
	p50, p90, p99        time.Duration
}

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// series builds one version's per-minute series from t0.
func series(version string, mins ...minute) provider.Series {
	s := provider.Series{Version: version, Points: make([]provider.Point, len(mins))}
	for i, m := range mins {
		s.Points[i] = provider.Point{
			Start:       t0.Add(time.Duration(i) * time.Minute),
			Invocations: m.inv, Errors: m.errs, Throttles: m.thr, ColdStarts: m.cold,
			P50: m.p50, P90: m.p90, P99: m.p99,
		}
	}
	return s
}

// window builds the window of candidate "2" against stable "1" over the
// series' minutes; a nil series is left out (the version served nothing
// the source saw).
func window(cand, stable *provider.Series) canary.MetricWindow {
	n := 0
	w := canary.MetricWindow{Function: "checkout", Alias: "live", Candidate: "2", Stable: "1", Weight: 1000, Start: t0}
	for _, s := range []*provider.Series{cand, stable} {
		if s != nil {
			w.Metrics.Series = append(w.Metrics.Series, *s)
			n = max(n, len(s.Points))
		}
	}
	w.End = t0.Add(time.Duration(n) * time.Minute)
	w.Metrics.Query = provider.Query{Function: w.Function, Alias: w.Alias, Versions: []string{"2", "1"}, Start: w.Start, End: w.End, Period: time.Minute}
	w.Metrics.Through = w.End
	return w
}

// The candidate of the table tests: 400 invocations in three minutes,
// 6 errors (1.5%), 10 throttles (10/410 = 2.44%), 8 cold starts (2%), worst
// p50 90ms, p90 170ms, p99 620ms.
var candMinutes = []minute{
	{inv: 100, errs: 1, thr: 0, cold: 5, p50: ms(80), p90: ms(150), p99: ms(400)},
	{inv: 150, errs: 3, thr: 5, cold: 2, p50: ms(90), p90: ms(160), p99: ms(450)},
	{inv: 150, errs: 2, thr: 5, cold: 1, p50: ms(85), p90: ms(170), p99: ms(620)},
}

// The stable version of the table tests: 3000 invocations, 30 errors
// (1%), 15 throttles (15/3015 = 0.50%), 30 cold starts (1%), worst p50
// 85ms, p90 160ms, p99 500ms.
var stableMinutes = []minute{
	{inv: 1000, errs: 10, thr: 5, cold: 10, p50: ms(85), p90: ms(160), p99: ms(480)},
	{inv: 1000, errs: 12, thr: 5, cold: 10, p50: ms(84), p90: ms(155), p99: ms(500)},
	{inv: 1000, errs: 8, thr: 5, cold: 10, p50: ms(82), p90: ms(150), p99: ms(470)},
}

func tableWindow() canary.MetricWindow {
	c, s := series("2", candMinutes...), series("1", stableMinutes...)
	return window(&c, &s)
}

var allMetrics = []canary.Metric{canary.ErrorRate, canary.ThrottleRate, canary.LatencyP50, canary.LatencyP90, canary.LatencyP99, canary.ColdStartRate}

func judge(t *testing.T, c canary.Check, w canary.MetricWindow) canary.Measurement {
	t.Helper()
	m, err := c.Judge(context.Background(), w)
	if err != nil {
		t.Fatalf("%+v: %v", c, err)
	}
	if m.Reason == "" {
		t.Errorf("%+v: %v without a reason", c, m.Verdict)
	}
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		t.Errorf("%+v: value %v", c, m.Value)
	}
	return m
}

func TestThresholdEveryMetric(t *testing.T) {
	w := tableWindow()
	for _, tc := range []struct {
		metric canary.Metric
		max    float64
		want   canary.Verdict
		value  float64
		unit   string
	}{
		{canary.ErrorRate, 0.02, canary.Pass, 0.015, "ratio"},
		{canary.ErrorRate, 0.01, canary.Fail, 0.015, "ratio"},
		{canary.ErrorRate, 0.015, canary.Pass, 0.015, "ratio"}, // at the limit passes
		{canary.ThrottleRate, 0.03, canary.Pass, 10.0 / 410, "ratio"},
		{canary.ThrottleRate, 0.02, canary.Fail, 10.0 / 410, "ratio"},
		{canary.LatencyP50, 0.1, canary.Pass, 0.090, "s"},
		{canary.LatencyP50, 0.085, canary.Fail, 0.090, "s"},
		{canary.LatencyP90, 0.2, canary.Pass, 0.170, "s"},
		{canary.LatencyP90, 0.165, canary.Fail, 0.170, "s"},
		// The worst minute decides: 620ms, though the others are 400–450ms.
		{canary.LatencyP99, 0.7, canary.Pass, 0.620, "s"},
		{canary.LatencyP99, 0.5, canary.Fail, 0.620, "s"},
		{canary.ColdStartRate, 0.05, canary.Pass, 0.02, "ratio"},
		{canary.ColdStartRate, 0.01, canary.Fail, 0.02, "ratio"},
	} {
		t.Run(fmt.Sprintf("%v/max=%v", tc.metric, tc.max), func(t *testing.T) {
			m := judge(t, canary.Threshold{Metric: tc.metric, Max: tc.max}, w)
			if m.Verdict != tc.want || math.Abs(m.Value-tc.value) > 1e-12 || m.Unit != tc.unit || m.Stats != nil {
				t.Errorf("got %v value %v %s stats %v (%s), want %v value %v %s", m.Verdict, m.Value, m.Unit, m.Stats, m.Reason, tc.want, tc.value, tc.unit)
			}
		})
	}
}

func TestThresholdReason(t *testing.T) {
	m := judge(t, canary.Threshold{Metric: canary.ErrorRate, Max: 0.01}, tableWindow())
	if want := "error rate 1.50% (6/400) exceeds the maximum 1.00%"; m.Reason != want {
		t.Errorf("reason %q, want %q", m.Reason, want)
	}
	m = judge(t, canary.Threshold{Metric: canary.LatencyP99, Max: 0.7}, tableWindow())
	if want := "p99 latency 620ms (worst of 3 periods) is within the maximum 700ms"; m.Reason != want {
		t.Errorf("reason %q, want %q", m.Reason, want)
	}
}

func TestRelativeEveryMetric(t *testing.T) {
	w := tableWindow()
	for _, tc := range []struct {
		metric        canary.Metric
		factor, slack float64
		want          canary.Verdict
	}{
		{canary.ErrorRate, 0, 0, canary.Fail},    // 1.5% > 1% × 1
		{canary.ErrorRate, 2, 0, canary.Pass},    // 1.5% ≤ 2%
		{canary.ErrorRate, 1, 0.01, canary.Pass}, // 1.5% ≤ 1% + 1%
		{canary.ThrottleRate, 3, 0, canary.Fail}, // 2.44% > 1.49%
		{canary.ThrottleRate, 5, 0, canary.Pass}, // 2.44% ≤ 2.49%
		{canary.LatencyP50, 1, 0, canary.Fail},   // 90ms > 85ms
		{canary.LatencyP50, 1.1, 0, canary.Pass}, // 90ms ≤ 93.5ms
		{canary.LatencyP90, 1, 0.005, canary.Fail},
		{canary.LatencyP90, 1, 0.010, canary.Pass}, // 170ms ≤ 160ms + 10ms
		{canary.LatencyP99, 1.2, 0, canary.Fail},   // 620ms > 600ms
		{canary.LatencyP99, 1, 0.15, canary.Pass},  // 620ms ≤ 650ms
		{canary.ColdStartRate, 1.5, 0, canary.Fail},
		{canary.ColdStartRate, 2.5, 0, canary.Pass},
	} {
		t.Run(fmt.Sprintf("%v/factor=%v,slack=%v", tc.metric, tc.factor, tc.slack), func(t *testing.T) {
			m := judge(t, canary.Relative{Metric: tc.metric, Factor: tc.factor, Slack: tc.slack}, w)
			if m.Verdict != tc.want {
				t.Errorf("got %v (%s), want %v", m.Verdict, m.Reason, tc.want)
			}
		})
	}
}

// TestRelativeSlack is the worked example of Relative's doc: a stable
// version without errors fails every candidate with one, unless Slack
// allows it.
func TestRelativeSlack(t *testing.T) {
	c := series("2", minute{inv: 200, errs: 1})
	s := series("1", minute{inv: 4000})
	w := window(&c, &s)
	if m := judge(t, canary.Relative{Metric: canary.ErrorRate, Factor: 1.5}, w); m.Verdict != canary.Fail {
		t.Errorf("without slack: %v (%s), want Fail", m.Verdict, m.Reason)
	}
	m := judge(t, canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.01}, w)
	if m.Verdict != canary.Pass || m.Value != 0.005 {
		t.Errorf("with slack: %v value %v (%s), want Pass 0.005", m.Verdict, m.Value, m.Reason)
	}
	if want := "error rate 0.50% (1/200) against stable 0.00% (0/4000) × 1.5 + 1.00% = 1.00%: within"; m.Reason != want {
		t.Errorf("reason %q, want %q", m.Reason, want)
	}
}

// TestHighStableErrorRateDoesNotBlockFix: production fails 20% of
// requests; the candidate, a fix, fails 5%. An absolute alarm blocks the
// fix (CodeDeploy's alarm-already-firing problem); the checks relative to
// the stable version let it through.
func TestHighStableErrorRateDoesNotBlockFix(t *testing.T) {
	c := series("2", minute{inv: 130, errs: 7}, minute{inv: 140, errs: 7}, minute{inv: 130, errs: 6})
	s := series("1", minute{inv: 1200, errs: 240}, minute{inv: 1300, errs: 260}, minute{inv: 1500, errs: 300})
	w := window(&c, &s)
	for _, tc := range []struct {
		check canary.Check
		want  canary.Verdict
	}{
		{canary.Threshold{Metric: canary.ErrorRate, Max: 0.01}, canary.Fail},
		{canary.Relative{Metric: canary.ErrorRate}, canary.Pass},
		{canary.Judge{Metric: canary.ErrorRate}, canary.Pass},
		// With Direction Either a significant change either way fails,
		// a fix included (Kayenta's "Low"): choose the direction of concern.
		{canary.Judge{Metric: canary.ErrorRate, Direction: canary.Either}, canary.Fail},
	} {
		m := judge(t, tc.check, w)
		if m.Verdict != tc.want {
			t.Errorf("%+v: %v (%s), want %v", tc.check, m.Verdict, m.Reason, tc.want)
		}
	}
}

// TestMinimumSamples: too little traffic is Inconclusive, never Pass, for
// every check and every metric — a canary that got no traffic is not
// promoted.
func TestMinimumSamples(t *testing.T) {
	fine := minute{inv: 1000, errs: 1, cold: 1, p50: ms(80), p90: ms(120), p99: ms(200)}
	stable := series("1", fine, fine, fine)
	silent := series("2", minute{}, minute{}, minute{})
	// 49 requests, none failed, fast: it would pass if judged.
	trickle := series("2", minute{inv: 16, p50: ms(80), p90: ms(90), p99: ms(100)}, minute{inv: 16, p50: ms(80), p90: ms(90), p99: ms(100)}, minute{inv: 17, p50: ms(80), p90: ms(90), p99: ms(100)})
	healthy := series("2", fine, fine, fine)
	stableTrickle := series("1", minute{inv: 10, p50: ms(80), p90: ms(90), p99: ms(100)})
	for _, tc := range []struct {
		name string
		w    canary.MetricWindow
		rel  bool // only the comparisons are inconclusive
	}{
		{"candidate absent from the metrics", window(nil, &stable), false},
		{"candidate served nothing", window(&silent, &stable), false},
		{"candidate served 49 requests", window(&trickle, &stable), false},
		{"stable served 10 requests", window(&healthy, &stableTrickle), true},
		{"no stable version", func() canary.MetricWindow { w := window(&healthy, nil); w.Stable = ""; return w }(), true},
		{"stable absent from the metrics", window(&healthy, nil), true},
	} {
		for _, metric := range allMetrics {
			checks := []canary.Check{
				canary.Relative{Metric: metric, Factor: 10, Slack: 1},
				canary.Judge{Metric: metric},
			}
			if !tc.rel {
				checks = append(checks, canary.Threshold{Metric: metric, Max: 1})
			}
			for _, c := range checks {
				t.Run(fmt.Sprintf("%s/%T/%v", tc.name, c, metric), func(t *testing.T) {
					m := judge(t, c, tc.w)
					if m.Verdict != canary.Inconclusive {
						t.Errorf("got %v (%s), want Inconclusive", m.Verdict, m.Reason)
					}
				})
			}
		}
	}
}

// TestMinSamplesField: a lower minimum lets the same traffic be judged; a
// higher one makes it Inconclusive.
func TestMinSamplesField(t *testing.T) {
	c := series("2", minute{inv: 30, p99: ms(100)})
	w := window(&c, nil)
	if m := judge(t, canary.Threshold{Metric: canary.ErrorRate, Max: 0.01}, w); m.Verdict != canary.Inconclusive {
		t.Errorf("default minimum, 30 requests: %v, want Inconclusive", m.Verdict)
	}
	m := judge(t, canary.Threshold{Metric: canary.ErrorRate, Max: 0.01, MinSamples: 30}, w)
	if m.Verdict != canary.Pass {
		t.Errorf("minimum 30, 30 requests: %v (%s), want Pass", m.Verdict, m.Reason)
	}
	if want := "candidate 2 served 30 requests, fewer than the 31 needed to judge error rate"; judge(t, canary.Threshold{Metric: canary.ErrorRate, Max: 0.01, MinSamples: 31}, w).Reason != want {
		t.Errorf("reason, want %q", want)
	}
	// Throttled requests count towards the throttle rate's sample.
	th := series("2", minute{inv: 10, thr: 40})
	if m := judge(t, canary.Threshold{Metric: canary.ThrottleRate, Max: 0.5}, window(&th, nil)); m.Verdict != canary.Fail || m.Value != 0.8 {
		t.Errorf("throttled canary: %v value %v (%s), want Fail 0.8", m.Verdict, m.Value, m.Reason)
	}
}

// TestChecksErrorsAreNotVerdicts: a broken metrics source, a source without
// the metric and a cancelled context are errors, with a zero Measurement.
func TestChecksErrorsAreNotVerdicts(t *testing.T) {
	good := series("1", stableMinutes...)
	bad := series("2", minute{inv: 10, errs: 11})
	badStable := series("1", minute{inv: 4000, errs: 5}, minute{inv: -1})
	noCold := series("2", minute{inv: 100, cold: -1, p99: ms(100)})
	noPercentiles := series("2", minute{inv: 100}, minute{inv: 100}, minute{inv: 100})
	stableNoPercentiles := series("1", minute{inv: 100}, minute{inv: 100}, minute{inv: 100})
	cand := series("2", candMinutes...)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		w     canary.MetricWindow
		check canary.Check
		want  error
	}{
		{"more errors than invocations", context.Background(), window(&bad, &good), canary.Threshold{Metric: canary.ErrorRate, Max: 0.1}, provider.ErrInvalid},
		{"more errors than invocations, relative", context.Background(), window(&bad, &good), canary.Relative{Metric: canary.ErrorRate}, provider.ErrInvalid},
		{"malformed stable", context.Background(), window(&cand, &badStable), canary.Judge{Metric: canary.ErrorRate}, provider.ErrInvalid},
		{"cold starts unknown to the source", context.Background(), window(&noCold, &good), canary.Threshold{Metric: canary.ColdStartRate, Max: 0.1}, provider.ErrUnsupported},
		{"no percentiles, threshold", context.Background(), window(&noPercentiles, &good), canary.Threshold{Metric: canary.LatencyP99, Max: 1}, provider.ErrUnsupported},
		{"no percentiles, relative", context.Background(), window(&cand, &stableNoPercentiles), canary.Relative{Metric: canary.LatencyP90}, provider.ErrUnsupported},
		{"no percentiles, judge", context.Background(), window(&noPercentiles, &good), canary.Judge{Metric: canary.LatencyP50}, provider.ErrUnsupported},
		{"cancelled threshold", cancelled, window(&cand, &good), canary.Threshold{Metric: canary.ErrorRate, Max: 0.1}, context.Canceled},
		{"cancelled relative", cancelled, window(&cand, &good), canary.Relative{Metric: canary.ErrorRate}, context.Canceled},
		{"cancelled judge", cancelled, window(&cand, &good), canary.Judge{Metric: canary.ErrorRate}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.check.Judge(tc.ctx, tc.w)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "canary: ") {
				t.Errorf("message %q lacks the package prefix", err)
			}
			if m != (canary.Measurement{}) {
				t.Errorf("measurement %+v alongside an error", m)
			}
		})
	}
}

// TestChecksValidate: every configuration error wraps ErrInvalid and names
// its field, before any metric is read.
func TestChecksValidate(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		check interface {
			canary.Check
			Validate() error
		}
		field string
	}{
		{canary.Threshold{Metric: canary.Metric(17), Max: 1}, "metric"},
		{canary.Threshold{Metric: canary.ErrorRate, Max: 1.5}, "max"},
		{canary.Threshold{Metric: canary.LatencyP99, Max: -1}, "max"},
		{canary.Threshold{Metric: canary.LatencyP99, Max: math.Inf(1)}, "max"},
		{canary.Threshold{Metric: canary.ErrorRate, Max: 0.1, MinSamples: -1}, "minSamples"},
		{canary.Relative{Metric: canary.Metric(-1)}, "metric"},
		{canary.Relative{Metric: canary.ErrorRate, Factor: -2}, "factor"},
		{canary.Relative{Metric: canary.ErrorRate, Slack: nan}, "slack"},
		{canary.Relative{Metric: canary.ErrorRate, MinSamples: -5}, "minSamples"},
		{canary.Judge{Metric: canary.Metric(6)}, "metric"},
		{canary.Judge{Confidence: 1.5}, "confidence"},
		{canary.Judge{Confidence: -0.1}, "confidence"},
		{canary.Judge{Direction: canary.Direction(3)}, "direction"},
		{canary.Judge{AllowedIncrease: 0.9}, "allowedIncrease"},
		{canary.Judge{AllowedIncrease: nan}, "allowedIncrease"},
		{canary.Judge{AllowedDecrease: 1.1}, "allowedDecrease"},
		{canary.Judge{Tolerance: -1}, "tolerance"},
		{canary.Judge{MinSamples: -1}, "minSamples"},
		{canary.Judge{MinPeriods: -1}, "minPeriods"},
	} {
		t.Run(fmt.Sprintf("%T/%s", tc.check, tc.field), func(t *testing.T) {
			err := tc.check.Validate()
			var ie *provider.InvalidError
			if !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ie) {
				t.Fatalf("Validate() = %v, want a *provider.InvalidError", err)
			}
			if ie.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", ie.Field, tc.field, err)
			}
			if !strings.HasPrefix(err.Error(), "canary: ") {
				t.Errorf("message %q lacks the package prefix", err)
			}
			m, jerr := tc.check.Judge(context.Background(), tableWindow())
			if !errors.Is(jerr, provider.ErrInvalid) || m != (canary.Measurement{}) {
				t.Errorf("Judge = %+v, %v; want the validation error", m, jerr)
			}
		})
	}
	for _, ok := range []interface{ Validate() error }{
		canary.Threshold{}, canary.Relative{}, canary.Judge{},
		canary.Threshold{Metric: canary.LatencyP99, Max: 2.5},
		canary.Judge{Metric: canary.LatencyP99, Confidence: 0.99, Direction: canary.Either, AllowedIncrease: 1.2, AllowedDecrease: 0.8, Tolerance: 0.1, MinSamples: 10, MinPeriods: 5},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v", ok, err)
		}
	}
}

func TestCheckFunc(t *testing.T) {
	var got canary.MetricWindow
	var c canary.Check = canary.CheckFunc(func(ctx context.Context, w canary.MetricWindow) (canary.Measurement, error) {
		got = w
		return canary.Measurement{Verdict: canary.Pass, Reason: "called"}, nil
	})
	w := tableWindow()
	m, err := c.Judge(context.Background(), w)
	if err != nil || m.Verdict != canary.Pass || got.Candidate != "2" {
		t.Errorf("CheckFunc: %+v, %v; window candidate %q", m, err, got.Candidate)
	}
}

func TestWindowSeries(t *testing.T) {
	w := tableWindow()
	c, s := w.Series()
	if c.Version != "2" || s.Version != "1" || len(c.Points) != 3 || len(s.Points) != 3 {
		t.Errorf("Series() = %v, %v", c.Version, s.Version)
	}
	w.Stable = ""
	if _, s := w.Series(); s.Version != "" || s.Points != nil {
		t.Errorf("no stable version: stable series %+v", s)
	}
}

func TestVerdictText(t *testing.T) {
	for _, v := range []canary.Verdict{canary.Inconclusive, canary.Pass, canary.Fail} {
		b, err := v.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back canary.Verdict
		if err := back.UnmarshalText(b); err != nil || back != v {
			t.Errorf("%v round trip: %v, %v", v, back, err)
		}
	}
	var v canary.Verdict
	if err := v.UnmarshalText([]byte("Maybe")); err == nil {
		t.Error("UnmarshalText(Maybe) succeeded")
	}
	if got := canary.Verdict(9).String(); got != "Verdict(9)" {
		t.Errorf("String() = %q", got)
	}
}

// exampleWindow is a three-minute window of a 10% canary: the candidate
// (version 8) served 400 requests with 6 errors, the stable version (7)
// 3600 with 36.
func exampleWindow() canary.MetricWindow {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	point := func(i int, inv, errs int64, p99 time.Duration) provider.Point {
		return provider.Point{Start: start.Add(time.Duration(i) * time.Minute), Invocations: inv, Errors: errs, P99: p99}
	}
	return canary.MetricWindow{
		Function: "checkout", Alias: "live", Candidate: "8", Stable: "7", Weight: 1000,
		Start: start, End: start.Add(3 * time.Minute),
		Metrics: provider.Observation{Series: []provider.Series{
			{Version: "8", Points: []provider.Point{point(0, 130, 2, 410*time.Millisecond), point(1, 140, 3, 380*time.Millisecond), point(2, 130, 1, 395*time.Millisecond)}},
			{Version: "7", Points: []provider.Point{point(0, 1200, 12, 400*time.Millisecond), point(1, 1150, 11, 390*time.Millisecond), point(2, 1250, 13, 405*time.Millisecond)}},
		}},
	}
}

func ExampleThreshold() {
	w := exampleWindow()
	for _, c := range []canary.Threshold{
		{Metric: canary.ErrorRate, Max: 0.02},
		{Metric: canary.ErrorRate, Max: 0.01},
		{Metric: canary.LatencyP99, Max: 0.5},
	} {
		m, err := c.Judge(context.Background(), w)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%v: %s\n", m.Verdict, m.Reason)
	}
	// Output:
	// Pass: error rate 1.50% (6/400) is within the maximum 2.00%
	// Fail: error rate 1.50% (6/400) exceeds the maximum 1.00%
	// Pass: p99 latency 410ms (worst of 3 periods) is within the maximum 500ms
}

func ExampleRelative() {
	m, err := canary.Relative{Metric: canary.ErrorRate, Factor: 1.2, Slack: 0.005}.Judge(context.Background(), exampleWindow())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v: %s\n", m.Verdict, m.Reason)
	// Output:
	// Pass: error rate 1.50% (6/400) against stable 1.00% (36/3600) × 1.2 + 0.50% = 1.70%: within
}

// ExampleCheckFunc turns a function into a check: here one that fails the
// window when the candidate served fewer than a tenth of the requests its
// weight promised (the route is not sending it traffic).
func ExampleCheckFunc() {
	routed := canary.CheckFunc(func(ctx context.Context, w canary.MetricWindow) (canary.Measurement, error) {
		cand, stable := w.Series()
		c, s := cand.Total().Invocations, stable.Total().Invocations
		if c+s == 0 {
			return canary.Measurement{Verdict: canary.Inconclusive, Reason: "no traffic at all"}, nil
		}
		share := float64(c) / float64(c+s)
		want := float64(w.Weight) / 10000
		m := canary.Measurement{Verdict: canary.Pass, Value: share, Unit: "ratio",
			Reason: fmt.Sprintf("candidate served %.1f%% of requests at a weight of %.1f%%", 100*share, 100*want)}
		if share < want/10 {
			m.Verdict = canary.Fail
		}
		return m, nil
	})
	m, _ := routed.Judge(context.Background(), exampleWindow())
	fmt.Printf("%v: %s\n", m.Verdict, m.Reason)
	// Output:
	// Pass: candidate served 10.0% of requests at a weight of 10.0%
}
