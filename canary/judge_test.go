package canary_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/canary/stats"
	"github.com/slipway-dev/slipway/provider"
)

func TestEnumsText(t *testing.T) {
	type enum interface {
		MarshalText() ([]byte, error)
	}
	for _, tc := range []struct {
		v    enum
		text string
		back interface{ UnmarshalText([]byte) error }
	}{
		{canary.ErrorRate, "ErrorRate", new(canary.Metric)},
		{canary.ThrottleRate, "ThrottleRate", new(canary.Metric)},
		{canary.LatencyP50, "LatencyP50", new(canary.Metric)},
		{canary.LatencyP90, "LatencyP90", new(canary.Metric)},
		{canary.LatencyP99, "LatencyP99", new(canary.Metric)},
		{canary.ColdStartRate, "ColdStartRate", new(canary.Metric)},
	} {
		b, err := tc.v.MarshalText()
		if err != nil || string(b) != tc.text {
			t.Errorf("%v.MarshalText() = %q, %v; want %q", tc.v, b, err, tc.text)
			continue
		}
		if err := tc.back.UnmarshalText(b); err != nil {
			t.Errorf("UnmarshalText(%q): %v", b, err)
			continue
		}
		if got := tc.back.(interface{ MarshalText() ([]byte, error) }); got != nil {
			again, _ := got.MarshalText()
			if string(again) != tc.text {
				t.Errorf("round trip of %q gave %q", tc.text, again)
			}
		}
	}
	for _, bad := range []interface{ UnmarshalText([]byte) error }{new(canary.Metric)} {
		if err := bad.UnmarshalText([]byte("Sideways")); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%T.UnmarshalText(Sideways) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := canary.Metric(42).MarshalText(); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Metric(42).MarshalText() = %v, want ErrInvalid", err)
	}
	if got := canary.Metric(42).String(); got != "Metric(42)" {
		t.Errorf("Metric(42).String() = %q", got)
	}
	// A Judge serialises with names.
	b, err := json.Marshal(canary.Judge{Metric: canary.LatencyP99, Direction: canary.Either})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"metric":"LatencyP99","direction":"Either"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var j canary.Judge
	if err := json.Unmarshal(b, &j); err != nil || j.Metric != canary.LatencyP99 || j.Direction != canary.Either {
		t.Errorf("json round trip = %+v, %v", j, err)
	}
}

// TestJudgeWorkedExamples runs the worked examples of Judge's doc.
func TestJudgeWorkedExamples(t *testing.T) {
	t.Run("error rate 7.5% against 3%", func(t *testing.T) {
		c := series("2", minute{inv: 200, errs: 14}, minute{inv: 200, errs: 16})
		s := series("1", minute{inv: 2000, errs: 61}, minute{inv: 2000, errs: 59})
		m := judge(t, canary.Judge{Metric: canary.ErrorRate}, window(&c, &s))
		// R: prop.test(c(30, 120), c(400, 4000), alternative = "greater").
		want := &canary.Stats{Label: "High", PValue: 2.2765549050665473e-06, Estimate: 0.045, Lower: 0.021513339694898145, Upper: 1, EffectSize: 2.5, Samples: [2]int{400, 4000}}
		if m.Verdict != canary.Fail || m.Value != 0.075 || m.Unit != "ratio" {
			t.Errorf("got %v value %v %s, want Fail 0.075 ratio (%s)", m.Verdict, m.Value, m.Unit, m.Reason)
		}
		if diff := cmp.Diff(want, m.Stats, cmpApprox); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
		if m := judge(t, canary.Judge{Metric: canary.ErrorRate, AllowedIncrease: 2.6}, window(&c, &s)); m.Verdict != canary.Pass || m.Stats.Label != "Pass" {
			t.Errorf("allowed increase 2.6: %v (%s), want Pass", m.Verdict, m.Reason)
		}
	})
	t.Run("p99 100ms slower every minute", func(t *testing.T) {
		var cm, sm []minute
		for i := range 10 {
			sm = append(sm, minute{inv: 900, errs: 2, p50: ms(90), p90: ms(150), p99: ms(195 + float64((i*7)%10))})
			cm = append(cm, minute{inv: 100, p50: ms(90), p90: ms(150), p99: ms(295 + float64((i*3)%10))})
		}
		c, s := series("2", cm...), series("1", sm...)
		m := judge(t, canary.Judge{Metric: canary.LatencyP99}, window(&c, &s))
		want := &canary.Stats{Label: "High", PValue: 1.8267179110955043e-4, Estimate: 0.1, Lower: 0.09691876568908427, Upper: 0.10308123431091569, EffectSize: 1.5012531328320802, Samples: [2]int{10, 10}}
		if m.Verdict != canary.Fail || m.Unit != "s" || math.Abs(m.Value-0.2995) > 1e-12 {
			t.Errorf("got %v value %v %s, want Fail 0.2995 s (%s)", m.Verdict, m.Value, m.Unit, m.Reason)
		}
		if diff := cmp.Diff(want, m.Stats, cmpApprox); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
		// The same window judged on error rates: 0 of 1000 against 20 of
		// 9000 is lower, not higher.
		if m := judge(t, canary.Judge{Metric: canary.ErrorRate}, window(&c, &s)); m.Verdict != canary.Pass {
			t.Errorf("error rate: %v (%s), want Pass", m.Verdict, m.Reason)
		}
	})
}

// cmpApprox compares floats to 1e-9, relative above 1.
var cmpApprox = cmp.Comparer(func(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*max(1, math.Abs(b))
})

// simulated is one version's simulated traffic: its per-minute series and
// the mean latency of all its requests, which provider.Point does not
// carry (CloudWatch's "Average" Duration statistic does).
type simulated struct {
	series provider.Series
	mean   float64 // seconds
}

// simulate draws perMinute requests a minute for minutes minutes: latency
// lognormal with median 120ms and σ 0.3 (p99 ≈ 241ms), plus slowExtra for
// a slowShare of the requests (a slow path: a cache miss, a retry to a
// dependency). Percentiles are nearest-rank, as CloudWatch computes them.
// Errors are not drawn: each request adds errRate to a running count, so
// both versions fail at the same rate to within a request (the scenario's "errors
// unchanged"; a drawn count would make the error check a coin toss at the
// 5% level, which is what α means, not what this test is about).
func simulate(r *rand.Rand, version string, minutes, perMinute int, errRate, slowShare float64, slowExtra time.Duration) simulated {
	var sim simulated
	sim.series.Version = version
	total, failed := 0.0, 0.0
	lat := make([]float64, perMinute)
	for i := range minutes {
		p := provider.Point{Start: t0.Add(time.Duration(i) * time.Minute), Invocations: int64(perMinute)}
		for k := range lat {
			lat[k] = 0.120 * math.Exp(0.3*r.NormFloat64())
			if r.Float64() < slowShare {
				lat[k] += slowExtra.Seconds()
			}
			failed += errRate
			total += lat[k]
		}
		p.Errors = int64(failed)
		failed -= float64(p.Errors)
		slices.Sort(lat)
		rank := func(q float64) time.Duration {
			return time.Duration(lat[int(math.Ceil(q*float64(perMinute)))-1] * float64(time.Second))
		}
		p.P50, p.P90, p.P99 = rank(0.50), rank(0.90), rank(0.99)
		sim.series.Points = append(sim.series.Points, p)
	}
	sim.mean = total / float64(minutes*perMinute)
	return sim
}

// naiveMean is the alarm a statistical judge replaces: the candidate's
// mean latency within 10% of the stable version's.
func naiveMean(cand, stable simulated) canary.Check {
	return canary.CheckFunc(func(ctx context.Context, w canary.MetricWindow) (canary.Measurement, error) {
		ratio := cand.mean / stable.mean
		m := canary.Measurement{Verdict: canary.Pass, Value: cand.mean, Unit: "s",
			Reason: fmt.Sprintf("mean latency %.1fms against stable %.1fms (ratio %.3f, limit 1.1)", 1000*cand.mean, 1000*stable.mean, ratio)}
		if ratio > 1.1 {
			m.Verdict = canary.Fail
		}
		return m, nil
	})
}

// TestJudgeLatencyOnlyRegression is the issue's proof point: a candidate
// whose p99 is about 50% higher, with unchanged error rates and a mean
// latency within a few percent, is caught by the statistical judge and
// not by a naive mean check. A 10% canary over ten minutes: 300 requests a
// minute on the candidate, 2700 on the stable version; 3% of the
// candidate's requests take a 250ms slower path.
func TestJudgeLatencyOnlyRegression(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 4))
	stable := simulate(r, "1", 10, 2700, 0.005, 0, 0)
	cand := simulate(r, "2", 10, 300, 0.005, 0.03, 250*time.Millisecond)
	w := window(&cand.series, &stable.series)

	p99 := judge(t, canary.Judge{Metric: canary.LatencyP99}, w)
	errs := judge(t, canary.Judge{Metric: canary.ErrorRate}, w)
	p50 := judge(t, canary.Judge{Metric: canary.LatencyP50}, w)
	mean := judge(t, naiveMean(cand, stable), w)
	t.Logf("p99 judge: %v: %s", p99.Verdict, p99.Reason)
	t.Logf("error rate judge: %v: %s", errs.Verdict, errs.Reason)
	t.Logf("p50 judge: %v: %s", p50.Verdict, p50.Reason)
	t.Logf("naive mean: %v: %s", mean.Verdict, mean.Reason)

	if p99.Verdict != canary.Fail || p99.Stats == nil || p99.Stats.Label != "High" {
		t.Fatalf("p99 judge: %v (%s), want Fail High", p99.Verdict, p99.Reason)
	}
	st := p99.Stats
	if !(st.PValue < 0.05 && st.Lower > 0 && st.Lower <= st.Estimate && st.Estimate <= st.Upper) {
		t.Errorf("p99 stats %+v: want p < 0.05 and 0 < lower ≤ estimate ≤ upper", st)
	}
	if st.EffectSize < 1.35 || st.EffectSize > 1.65 {
		t.Errorf("p99 mean ratio %v, want about 1.5 (the regression the test means to simulate)", st.EffectSize)
	}
	if st.Samples != [2]int{10, 10} {
		t.Errorf("samples %v, want 10 periods a side", st.Samples)
	}
	if errs.Verdict != canary.Pass {
		t.Errorf("error rate judge: %v (%s), want Pass: the error rates are unchanged", errs.Verdict, errs.Reason)
	}
	if mean.Verdict != canary.Pass {
		t.Errorf("naive mean: %v (%s), want Pass: the regression is in the tail", mean.Verdict, mean.Reason)
	}

	// The control experiment: without the slow path the judge passes.
	healthy := simulate(r, "2", 10, 300, 0.005, 0, 0)
	if m := judge(t, canary.Judge{Metric: canary.LatencyP99}, window(&healthy.series, &stable.series)); m.Verdict != canary.Pass {
		t.Errorf("healthy candidate: %v (%s), want Pass", m.Verdict, m.Reason)
	}
}

// TestJudgeOneNoisyMinute: one bad minute in ten is not evidence; a
// threshold on the worst minute fails it, the judge does not.
func TestJudgeOneNoisyMinute(t *testing.T) {
	var cm, sm []minute
	for i := range 10 {
		sm = append(sm, minute{inv: 2700, errs: 13, p99: ms(240 + float64((i*7)%10))})
		cm = append(cm, minute{inv: 300, errs: 1, p99: ms(240 + float64((i*3)%10))})
	}
	cm[4].p99 = ms(900) // a GC pause, a noisy neighbour
	c, s := series("2", cm...), series("1", sm...)
	w := window(&c, &s)
	if m := judge(t, canary.Threshold{Metric: canary.LatencyP99, Max: 0.5}, w); m.Verdict != canary.Fail {
		t.Errorf("threshold: %v (%s), want Fail", m.Verdict, m.Reason)
	}
	if m := judge(t, canary.Judge{Metric: canary.LatencyP99}, w); m.Verdict != canary.Pass {
		t.Errorf("judge: %v (%s), want Pass", m.Verdict, m.Reason)
	}
}

// TestJudgeDirections: the direction of concern picks which significant
// changes fail.
func TestJudgeDirections(t *testing.T) {
	var hi, lo, base []minute
	for i := range 6 {
		base = append(base, minute{inv: 1000, errs: 10, p50: ms(100 + float64(i)), p90: ms(150), p99: ms(200)})
		hi = append(hi, minute{inv: 1000, errs: 30, p50: ms(150 + float64(i)), p90: ms(150), p99: ms(200)})
		lo = append(lo, minute{inv: 1000, errs: 1, p50: ms(60 + float64(i)), p90: ms(150), p99: ms(200)})
	}
	b, h, l := series("1", base...), series("2", hi...), series("2", lo...)
	for _, tc := range []struct {
		cand   *provider.Series
		metric canary.Metric
		dir    canary.Direction
		label  string
		want   canary.Verdict
	}{
		{&h, canary.ErrorRate, canary.Increase, "High", canary.Fail},
		{&h, canary.ErrorRate, canary.Decrease, "Pass", canary.Pass},
		{&h, canary.ErrorRate, canary.Either, "High", canary.Fail},
		{&l, canary.ErrorRate, canary.Increase, "Pass", canary.Pass},
		{&l, canary.ErrorRate, canary.Decrease, "Low", canary.Fail},
		{&l, canary.ErrorRate, canary.Either, "Low", canary.Fail},
		{&h, canary.LatencyP50, canary.Increase, "High", canary.Fail},
		{&h, canary.LatencyP50, canary.Decrease, "Pass", canary.Pass},
		{&h, canary.LatencyP50, canary.Either, "High", canary.Fail},
		{&l, canary.LatencyP50, canary.Increase, "Pass", canary.Pass},
		{&l, canary.LatencyP50, canary.Decrease, "Low", canary.Fail},
		{&l, canary.LatencyP50, canary.Either, "Low", canary.Fail},
		// Identical p90s on both sides: nothing to find in any direction.
		{&h, canary.LatencyP90, canary.Either, "Pass", canary.Pass},
	} {
		t.Run(fmt.Sprintf("%s/%v/%v", tc.cand.Points[0].P50, tc.metric, tc.dir), func(t *testing.T) {
			m := judge(t, canary.Judge{Metric: tc.metric, Direction: tc.dir}, window(tc.cand, &b))
			if m.Verdict != tc.want || m.Stats == nil || m.Stats.Label != tc.label {
				t.Errorf("got %v %+v (%s), want %v %s", m.Verdict, m.Stats, m.Reason, tc.want, tc.label)
			}
		})
	}
}

// TestJudgeEffectSize: a significant change smaller than the allowed
// effect passes.
func TestJudgeEffectSize(t *testing.T) {
	var c10, s10 []minute
	for i := range 10 {
		// p99 10% higher in every minute: significant.
		s10 = append(s10, minute{inv: 5000, errs: 50, p99: ms(200 + float64(i))})
		c10 = append(c10, minute{inv: 5000, errs: 60, p99: ms(220 + float64(i))})
	}
	c, s := series("2", c10...), series("1", s10...)
	w := window(&c, &s)
	for _, tc := range []struct {
		j    canary.Judge
		want canary.Verdict
	}{
		{canary.Judge{Metric: canary.LatencyP99, Tolerance: 0.05}, canary.Fail},
		{canary.Judge{Metric: canary.LatencyP99, Tolerance: 0.05, AllowedIncrease: 1.2}, canary.Pass},
		// 600 errors in 50,000 against 500 in 50,000: ratio 1.2, p = 0.0013.
		{canary.Judge{Metric: canary.ErrorRate}, canary.Fail},
		{canary.Judge{Metric: canary.ErrorRate, AllowedIncrease: 1.25}, canary.Pass},
		{canary.Judge{Metric: canary.ErrorRate, Confidence: 0.99}, canary.Fail},
		{canary.Judge{Metric: canary.ErrorRate, Confidence: 0.999}, canary.Pass},
	} {
		t.Run(fmt.Sprintf("%+v", tc.j), func(t *testing.T) {
			if m := judge(t, tc.j, w); m.Verdict != tc.want {
				t.Errorf("got %v (%s), want %v", m.Verdict, m.Reason, tc.want)
			}
		})
	}
}

// TestJudgeStableWithoutErrors: a stable version without errors makes the
// ratio unbounded; the two-proportion test still decides whether the
// candidate's errors are evidence.
func TestJudgeStableWithoutErrors(t *testing.T) {
	st := series("1", minute{inv: 4000})
	for _, tc := range []struct {
		errs int64
		want canary.Verdict
	}{
		{1, canary.Pass}, // 1 in 400 against 0 in 4000: p = 0.17
		{5, canary.Fail}, // 5 in 400: p < 1e-5
		{0, canary.Pass}, // nothing on either side
	} {
		c := series("2", minute{inv: 400, errs: tc.errs})
		m := judge(t, canary.Judge{Metric: canary.ErrorRate}, window(&c, &st))
		if m.Verdict != tc.want {
			t.Errorf("%d errors: %v (%s), want %v", tc.errs, m.Verdict, m.Reason, tc.want)
		}
		if tc.errs > 0 && m.Stats.EffectSize != 0 {
			t.Errorf("%d errors: effect size %v, want 0 (undefined)", tc.errs, m.Stats.EffectSize)
		}
	}
}

// TestJudgeLatencyMinimums: periods and requests both count.
func TestJudgeLatencyMinimums(t *testing.T) {
	fine := minute{inv: 1000, p99: ms(200)}
	s := series("1", fine, fine, fine, fine)
	for _, tc := range []struct {
		name string
		cand []minute
		j    canary.Judge
		want canary.Verdict
	}{
		{"two periods", []minute{{inv: 500, p99: ms(200)}, {inv: 500, p99: ms(201)}, {}, {}}, canary.Judge{Metric: canary.LatencyP99}, canary.Inconclusive},
		{"two periods allowed", []minute{{inv: 500, p99: ms(200)}, {inv: 500, p99: ms(201)}, {}, {}}, canary.Judge{Metric: canary.LatencyP99, MinPeriods: 2}, canary.Pass},
		{"four periods of one request", []minute{{inv: 1, p99: ms(200)}, {inv: 1, p99: ms(201)}, {inv: 1, p99: ms(199)}, {inv: 1, p99: ms(200)}}, canary.Judge{Metric: canary.LatencyP99}, canary.Inconclusive},
		{"four periods of one request allowed", []minute{{inv: 1, p99: ms(200)}, {inv: 1, p99: ms(201)}, {inv: 1, p99: ms(199)}, {inv: 1, p99: ms(200)}}, canary.Judge{Metric: canary.LatencyP99, MinSamples: 4}, canary.Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := series("2", tc.cand...)
			if m := judge(t, tc.j, window(&c, &s)); m.Verdict != tc.want {
				t.Errorf("got %v (%s), want %v", m.Verdict, m.Reason, tc.want)
			}
		})
	}
}

// ExampleJudge judges a ten-minute window of a 10% canary whose p99 is
// about 50% higher in every minute while its error rate matches the stable
// version's: the latency judge fails it, the error-rate judge passes it.
func ExampleJudge() {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var cand, stable provider.Series
	cand.Version, stable.Version = "8", "7"
	for i := range 10 {
		at := start.Add(time.Duration(i) * time.Minute)
		jitter := time.Duration((i*7)%10) * time.Millisecond
		stable.Points = append(stable.Points, provider.Point{Start: at, Invocations: 2700, Errors: 14, P99: 240*time.Millisecond + jitter})
		cand.Points = append(cand.Points, provider.Point{Start: at, Invocations: 300, Errors: 1, P99: 360*time.Millisecond + jitter})
	}
	w := canary.MetricWindow{Function: "checkout", Alias: "live", Candidate: "8", Stable: "7", Weight: 1000,
		Start: start, End: start.Add(10 * time.Minute), Metrics: provider.Observation{Series: []provider.Series{cand, stable}}}

	for _, j := range []canary.Judge{
		{Metric: canary.LatencyP99},
		{Metric: canary.ErrorRate},
	} {
		m, err := j.Judge(context.Background(), w)
		if err != nil {
			fmt.Println(err)
			continue
		}
		s := m.Stats
		fmt.Printf("%v %v: %s, p = %.2g, estimate %+.4g [%+.4g, %+.4g], effect %.3g\n",
			j.Metric, m.Verdict, s.Label, s.PValue, s.Estimate, s.Lower, s.Upper, s.EffectSize)
	}
	// Output:
	// LatencyP99 Fail: High, p = 0.00018, estimate +0.12 [+0.1169, +0.1231], effect 1.49
	// ErrorRate Pass: Pass, p = 0.89, estimate -0.001852 [-0.003911, +1], effect 0.643
}

// ExampleClassify runs Kayenta's Mann–Whitney classifier on two samples
// of a metric, with Kayenta's default tolerance and confidence.
func ExampleClassify() {
	canaryValues := []float64{20, 22, 21, 25, 30}
	baseline := []float64{1, 2.2, 1.1, 2.5, 3}
	r, err := stats.Classify(canaryValues, baseline, stats.KayentaConfig{Tolerance: 0.1, AllowedIncrease: 1.2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: shift %.7g in [%.7g, %.7g], mean ratio %.4g\n", r.Label, r.MW.Estimate, r.MW.Lower, r.MW.Upper, r.Deviation)
	// Output:
	// High: shift 20 in [17.80004, 27.79994], mean ratio 12.04
}

// benchWindow is a typical analysis window: ten one-minute periods of a
// 10% canary.
func benchWindow() canary.MetricWindow {
	r := rand.New(rand.NewPCG(2026, 4))
	stable := simulate(r, "1", 10, 2700, 0.005, 0, 0)
	cand := simulate(r, "2", 10, 300, 0.005, 0.03, 250*time.Millisecond)
	return window(&cand.series, &stable.series)
}

func BenchmarkJudgeLatencyP99(b *testing.B) {
	w := benchWindow()
	j := canary.Judge{Metric: canary.LatencyP99}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if m, err := j.Judge(ctx, w); err != nil || m.Verdict != canary.Fail {
			b.Fatal(m, err)
		}
	}
}

func BenchmarkJudgeErrorRate(b *testing.B) {
	w := benchWindow()
	j := canary.Judge{Metric: canary.ErrorRate}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if m, err := j.Judge(ctx, w); err != nil || m.Verdict != canary.Pass {
			b.Fatal(m, err)
		}
	}
}

func BenchmarkThreshold(b *testing.B) {
	w := benchWindow()
	c := canary.Threshold{Metric: canary.LatencyP99, Max: 0.5}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Judge(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
}
