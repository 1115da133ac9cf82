package memory

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// canarySetup publishes versions 1 and 2 of "fn" and routes prod: stableBP
// to 1, the rest to 2, with rps arriving at prod.
func canarySetup(t *testing.T, seed int64, canaryBP int, rps float64) (*Provider, *providertest.Clock) {
	t.Helper()
	p, c := newTest(t, Options{Seed: seed})
	mustPublish(t, p, "fn", "stable")
	mustPublish(t, p, "fn", "canary")
	mustSetRoute(t, p, "fn", provider.Split("prod", "1", "2", canaryBP))
	p.SetLoad("fn", "prod", rps)
	return p, c
}

func observe(t *testing.T, p *Provider, q provider.Query) provider.Observation {
	t.Helper()
	o, err := p.Observe(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func total(t *testing.T, o provider.Observation, version string) provider.Point {
	t.Helper()
	s, ok := o.Of(version)
	if !ok {
		t.Fatalf("no series for version %s", version)
	}
	return s.Total()
}

// within fails unless got is within k standard deviations of want.
func within(t *testing.T, what string, got int64, want, sd, k float64) {
	t.Helper()
	if math.Abs(float64(got)-want) > k*sd {
		t.Errorf("%s = %d, want %.1f ± %.1f (%.0f sd)", what, got, want, k*sd, k)
	}
}

func TestTrafficCanaryShare(t *testing.T) {
	// A 10% canary at 100 rps for 10 minutes: λ = 100 × 0.1 × 600 = 6000,
	// Poisson sd √6000 ≈ 77.5; the stable version gets 54000 (sd ≈ 232).
	for seed := range int64(5) {
		p, c := canarySetup(t, seed, 1000, 100)
		c.Advance(10 * time.Minute)
		o := observe(t, p, query("fn", "prod", 0, 10, "1", "2"))
		within(t, "canary invocations", total(t, o, "2").Invocations, 6000, math.Sqrt(6000), 5)
		within(t, "stable invocations", total(t, o, "1").Invocations, 54000, math.Sqrt(54000), 5)
		s, _ := o.Of("2")
		if len(s.Points) != 10 {
			t.Fatalf("got %d points, want 10", len(s.Points))
		}
		for i, pt := range s.Points {
			within(t, "canary per minute", pt.Invocations, 600, math.Sqrt(600), 5)
			if want := query("fn", "", i, i+1).Start; !pt.Start.Equal(want) {
				t.Errorf("point %d starts %v, want %v", i, pt.Start, want)
			}
		}
	}
}

func TestTrafficLowLoadCanaryGetsAHandful(t *testing.T) {
	// A 1% canary at 0.1 rps for 10 minutes expects 0.1 × 0.01 × 600 = 0.6
	// requests: a handful at most, and most minutes have none.
	empty, sum := 0, int64(0)
	for seed := range int64(20) {
		p, c := canarySetup(t, seed, 100, 0.1)
		c.Advance(10 * time.Minute)
		o := observe(t, p, query("fn", "prod", 0, 10, "2"))
		s, _ := o.Of("2")
		for _, pt := range s.Points {
			if pt.Invocations == 0 {
				empty++
				if pt.P99 != 0 || pt.Errors != 0 {
					t.Errorf("empty period has %+v", pt)
				}
			}
			sum += pt.Invocations
		}
	}
	// 20 runs × 0.6 = 12 expected, sd √12 ≈ 3.5.
	within(t, "canary invocations over 20 runs", sum, 12, math.Sqrt(12), 5)
	if empty < 150 {
		t.Errorf("%d of 200 minutes were empty, want most (P(0) = e^-0.06 ≈ 0.94)", empty)
	}
}

func TestTrafficErrorRate(t *testing.T) {
	p, c := canarySetup(t, 7, 5000, 50)
	p.SetBehavior("fn", "2", Behavior{ErrorRate: 0.2, ThrottleRate: 0.05})
	c.Advance(10 * time.Minute)
	o := observe(t, p, query("fn", "prod", 0, 10, "1", "2"))
	bad, good := total(t, o, "2"), total(t, o, "1")
	// 15000 requests; 5% throttled (750, sd ≈ 26.7); 20% of 14250 fail
	// (2850, sd ≈ 47.7 from the binomial plus the Poisson spread).
	within(t, "throttles", bad.Throttles, 750, math.Sqrt(15000*0.05*0.95+750*0.05), 5)
	within(t, "invocations", bad.Invocations, 14250, math.Sqrt(14250), 5)
	rate, _ := provider.Point{Invocations: bad.Invocations, Errors: bad.Errors}.ErrorRate()
	sd := math.Sqrt(0.2 * 0.8 / float64(bad.Invocations))
	if math.Abs(rate-0.2) > 5*sd {
		t.Errorf("error rate %.4f, want 0.2 ± %.4f", rate, 5*sd)
	}
	if good.Errors != 0 || good.Throttles != 0 {
		t.Errorf("stable version has %d errors, %d throttles, want none", good.Errors, good.Throttles)
	}
}

func TestTrafficWeightsChangedMidWindow(t *testing.T) {
	p, c := canarySetup(t, 3, 1000, 100)
	c.Advance(2*time.Minute + 30*time.Second)
	r, _ := p.Route(context.Background(), "fn", "prod")
	next := provider.Split("prod", "1", "2", 5000)
	next.Revision = r.Revision
	mustSetRoute(t, p, "fn", next)
	c.Advance(2*time.Minute + 30*time.Second)
	o := observe(t, p, query("fn", "prod", 0, 5, "2"))
	s, _ := o.Of("2")
	// Minutes 0 and 1 at 10% (600), minute 2 half at 10% and half at 50%
	// (300 + 1500 = 1800), minutes 3 and 4 at 50% (3000).
	want := []float64{600, 600, 1800, 3000, 3000}
	if len(s.Points) != len(want) {
		t.Fatalf("got %d points, want %d", len(s.Points), len(want))
	}
	for i, pt := range s.Points {
		within(t, "canary minute", pt.Invocations, want[i], math.Sqrt(want[i]), 5)
	}

	// The window is observed per route: another alias's load does not leak
	// into prod, and without an alias both count.
	mustSetRoute(t, p, "fn", provider.To("dev", "2"))
	p.SetLoad("fn", "dev", 10)
	c.Advance(time.Minute)
	prod := observe(t, p, query("fn", "prod", 5, 6, "2"))
	all := observe(t, p, query("fn", "", 5, 6, "2"))
	within(t, "prod minute 5", total(t, prod, "2").Invocations, 3000, math.Sqrt(3000), 5)
	within(t, "all routes minute 5", total(t, all, "2").Invocations, 3600, math.Sqrt(3600), 5)
}

func TestObserveCompletePeriodsOnly(t *testing.T) {
	p, c := canarySetup(t, 1, 1000, 100)
	c.Advance(3*time.Minute + 20*time.Second)
	q := query("fn", "prod", 0, 10, "1", "2")
	o := observe(t, p, q)
	wantThrough := q.Start.Add(3 * time.Minute)
	if !o.Through.Equal(wantThrough) {
		t.Errorf("Through = %v, want %v", o.Through, wantThrough)
	}
	for _, s := range o.Series {
		if len(s.Points) != 3 {
			t.Errorf("version %s: %d points, want the 3 complete minutes", s.Version, len(s.Points))
		}
	}
	// A five-minute period is not complete until minute 5.
	q5 := q
	q5.Period = 5 * time.Minute
	if o := observe(t, p, q5); len(o.Series[0].Points) != 0 || !o.Through.Equal(q.Start) {
		t.Errorf("5-minute query at 3m20s: %d points, through %v; want none, through the start", len(o.Series[0].Points), o.Through)
	}
	// Before any load the periods are zero points, not missing.
	early := query("fn", "prod", -3, 0, "2")
	o = observe(t, p, early)
	if diff := cmp.Diff([]provider.Point{{Start: early.Start}, {Start: early.Start.Add(time.Minute)}, {Start: early.Start.Add(2 * time.Minute)}}, o.Series[0].Points); diff != "" {
		t.Errorf("periods before traffic (-want +got):\n%s", diff)
	}
}

func TestObserveDeterministic(t *testing.T) {
	run := func(seed int64) provider.Observation {
		p, c := canarySetup(t, seed, 500, 20)
		p.SetBehavior("fn", "2", Behavior{ErrorRate: 0.01, Latency: Latency{Median: 80 * time.Millisecond, P99: 400 * time.Millisecond},
			ColdStart: ColdStart{Rate: 0.01, Spike: 10, SpikeFor: 2 * time.Minute, Init: 300 * time.Millisecond}})
		c.Advance(15 * time.Minute)
		return observe(t, p, query("fn", "prod", 0, 15, "1", "2"))
	}
	a, b := run(42), run(42)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different observations (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, run(43)) {
		t.Error("different seeds gave identical observations")
	}
	// The same query asked again later (after more traffic) answers the
	// same for the periods it already answered.
	p, c := canarySetup(t, 9, 500, 20)
	c.Advance(5 * time.Minute)
	first := observe(t, p, query("fn", "prod", 0, 5, "2"))
	p.SetLoad("fn", "prod", 1000)
	c.Advance(5 * time.Minute)
	if diff := cmp.Diff(first, observe(t, p, query("fn", "prod", 0, 5, "2"))); diff != "" {
		t.Errorf("a past window changed after a later load change (-before +after):\n%s", diff)
	}
}

func TestLatencyAndColdStarts(t *testing.T) {
	p, c := canarySetup(t, 11, 5000, 100)
	lat := Latency{Median: 100 * time.Millisecond, P99: 500 * time.Millisecond}
	p.SetBehavior("fn", "2", Behavior{Latency: lat, ColdStart: ColdStart{Rate: 0.001, Spike: 50, SpikeFor: time.Minute, Init: 400 * time.Millisecond}})
	p.SetBehavior("fn", "1", Behavior{Latency: lat})
	c.Advance(10 * time.Minute)
	o := observe(t, p, query("fn", "prod", 0, 10, "2"))
	s, _ := o.Of("2")
	// 3000 invocations per minute: the sample quantiles are close to the
	// distribution's (p50 100ms, p90 = 100ms × (5)^(1.2816/2.3263) ≈ 243ms,
	// p99 500ms).
	p90 := 100 * math.Pow(5, 1.2815515655446004/z99)
	for i, pt := range s.Points {
		for _, q := range []struct {
			name     string
			got      time.Duration
			wantMs   float64
			tolRatio float64
		}{{"p50", pt.P50, 100, 0.05}, {"p90", pt.P90, p90, 0.08}, {"p99", pt.P99, 500, 0.2}} {
			gotMs := float64(q.got) / float64(time.Millisecond)
			if math.Abs(gotMs/q.wantMs-1) > q.tolRatio {
				t.Errorf("minute %d %s = %v, want %.0fms ±%.0f%%", i, q.name, q.got, q.wantMs, 100*q.tolRatio)
			}
		}
		if !(pt.P50 <= pt.P90 && pt.P90 <= pt.P99) {
			t.Errorf("minute %d percentiles out of order: %v %v %v", i, pt.P50, pt.P90, pt.P99)
		}
	}
	// The first minute has the cold-start spike (5% of 3000 = 150, sd
	// ≈ 11.9); later ones 0.1% (3, sd ≈ 1.7).
	within(t, "cold starts in the spike", s.Points[0].ColdStarts, 150, math.Sqrt(150), 5)
	if s.Points[0].InitDuration < 300*time.Millisecond || s.Points[0].InitDuration > 2*time.Second {
		t.Errorf("init duration %v, want the longest of ~150 draws around 400ms", s.Points[0].InitDuration)
	}
	later := int64(0)
	for _, pt := range s.Points[1:] {
		later += pt.ColdStarts
	}
	within(t, "cold starts after the spike", later, 27, math.Sqrt(27), 5)
}

func TestLatencySmallSamplesAreNoisy(t *testing.T) {
	// With 5 invocations per minute the p99 is the largest of five draws:
	// it varies from minute to minute far more than with 3000.
	p, c := canarySetup(t, 5, 100, 5) // 5 rps × 1% × 60 s = 3 per minute
	lat := Latency{Median: 100 * time.Millisecond, P99: 500 * time.Millisecond}
	p.SetBehavior("fn", "2", Behavior{Latency: lat})
	c.Advance(30 * time.Minute)
	o := observe(t, p, query("fn", "prod", 0, 30, "2"))
	s, _ := o.Of("2")
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	for _, pt := range s.Points {
		if pt.Invocations == 0 {
			continue
		}
		lo, hi = min(lo, pt.P99), max(hi, pt.P99)
	}
	if float64(hi) < 2*float64(lo) {
		t.Errorf("p99 over small samples ranges %v..%v; want a spread of at least 2×", lo, hi)
	}
}

func TestBehaviorValidate(t *testing.T) {
	bad := []Behavior{
		{ErrorRate: -0.1},
		{ErrorRate: 1.1},
		{ThrottleRate: math.NaN()},
		{ColdStart: ColdStart{Rate: 2}},
		{ColdStart: ColdStart{Spike: -1}},
		{ColdStart: ColdStart{Init: -time.Second}},
		{ColdStart: ColdStart{SpikeFor: -time.Second}},
		{Latency: Latency{Median: -1}},
		{Latency: Latency{P99: -1}},
	}
	for _, b := range bad {
		if err := b.Validate(); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", b, err)
		}
	}
	if err := (Behavior{ErrorRate: 1, ThrottleRate: 0, ColdStart: ColdStart{Rate: 1, Spike: 3}}).Validate(); err != nil {
		t.Errorf("valid behavior: %v", err)
	}
}

func TestSamplers(t *testing.T) {
	// Means and variances of the samplers over many draws, against the
	// theoretical values (a check of the algorithms, not of the model).
	p, _ := newTest(t, Options{})
	r := p.periodRand(query("fn", "", 0, 1, "1"), "1", time.Unix(0, 0))
	const n = 20000
	for _, lambda := range []float64{0.5, 4, 30, 700} {
		var sum, sq float64
		for range n {
			x := float64(poisson(r, lambda))
			sum += x
			sq += x * x
		}
		mean := sum / n
		variance := sq/n - mean*mean
		if math.Abs(mean-lambda) > 5*math.Sqrt(lambda/n) {
			t.Errorf("poisson(%v) mean %.3f", lambda, mean)
		}
		if math.Abs(variance/lambda-1) > 0.1 {
			t.Errorf("poisson(%v) variance %.3f", lambda, variance)
		}
	}
	for _, c := range []struct {
		n int64
		p float64
	}{{10, 0.3}, {1000, 0.01}, {1000, 0.9}, {100000, 0.2}} {
		var sum, sq float64
		for range n {
			x := float64(binomial(r, c.n, c.p))
			sum += x
			sq += x * x
		}
		mean, want := sum/n, float64(c.n)*c.p
		wantVar := want * (1 - c.p)
		if math.Abs(mean-want) > 5*math.Sqrt(wantVar/n) {
			t.Errorf("binomial(%d, %v) mean %.3f, want %.3f", c.n, c.p, mean, want)
		}
		if math.Abs((sq/n-mean*mean)/wantVar-1) > 0.1 {
			t.Errorf("binomial(%d, %v) variance %.3f, want %.3f", c.n, c.p, sq/n-mean*mean, wantVar)
		}
	}
}

func TestObserveMetricsLag(t *testing.T) {
	p, c := newTest(t, Options{MetricsLag: 90 * time.Second})
	mustPublish(t, p, "fn", "a")
	mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	p.SetLoad("fn", "prod", 10)
	c.Advance(5 * time.Minute)
	// At 5:00 with a 1m30s lag, data is complete through 3:30, so the
	// minutes 0..2 are visible.
	q := query("fn", "prod", 0, 5, "1")
	o := observe(t, p, q)
	if want := q.Start.Add(3 * time.Minute); !o.Through.Equal(want) || len(o.Series[0].Points) != 3 {
		t.Errorf("through %v with %d points, want %v with 3", o.Through, len(o.Series[0].Points), want)
	}
	if _, err := New(Options{MetricsLag: -time.Second}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("negative lag: err = %v, want ErrInvalid", err)
	}
}
