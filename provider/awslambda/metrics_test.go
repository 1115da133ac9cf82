package awslambda_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// canaryEnv: versions 1 (healthy) and 2 (as candidate behaves), alias
// "live" on version 1 receiving 10 requests a second from t0, CloudWatch
// data two minutes late on both sides.
func canaryEnv(t *testing.T, candidate lambdatest.Behavior, opts lambdatest.Options) (*awslambdatest.Env, time.Time) {
	t.Helper()
	opts.SettlePolls = -1
	opts.MetricsDelay = 2 * time.Minute
	e := awslambdatest.New(t, opts, awslambda.Options{MetricsDelay: 2 * time.Minute})
	e.PublishN(t, 2)
	e.Clock.Advance(time.Hour) // start on a whole minute, well after the publishes
	t0 := provider.AlignDown(e.Clock.Now(), time.Minute)
	e.Clock.Advance(t0.Sub(e.Clock.Now()))
	if _, err := e.Provider.SetRoute(context.Background(), fn, provider.To("live", "1")); err != nil {
		t.Fatal(err)
	}
	must(t, e.Server.SetLoad(fn, "live", 10))
	must(t, e.Server.SetBehavior(fn, "1", lambdatest.Behavior{ErrorRate: 0.01, P50: 20 * time.Millisecond, P90: 40 * time.Millisecond, P99: 80 * time.Millisecond}))
	must(t, e.Server.SetBehavior(fn, "2", candidate))
	e.Ops()
	return e, t0
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	healthy = awslambdatest.Healthy
	faulty  = awslambdatest.Faulty
)

func TestObserve_SplitIsVisiblePerExecutedVersion(t *testing.T) {
	e, t0 := canaryEnv(t, faulty, lambdatest.Options{})
	ctx := context.Background()
	e.Clock.Advance(5 * time.Minute)
	cur, err := e.Provider.Route(ctx, fn, "live")
	must(t, err)
	step := provider.Split("live", "1", "2", 1000) // 10% to the candidate
	step.Revision = cur.Revision
	_, err = e.Provider.SetRoute(ctx, fn, step)
	must(t, err)
	e.Clock.Advance(5*time.Minute + 2*time.Minute)
	e.Ops()

	q := provider.Query{Function: fn, Alias: "live", Versions: []string{"1", "2"}, Start: t0, End: t0.Add(10 * time.Minute), Period: time.Minute}
	obs, err := e.Provider.Observe(ctx, q)
	must(t, err)
	awslambdatest.OpsEqual(t, "observe", e.Ops(), "GetMetricData")
	if !obs.Through.Equal(q.End) {
		t.Fatalf("Through = %v, want %v", obs.Through, q.End)
	}
	v1, _ := obs.Of("1")
	v2, _ := obs.Of("2")
	if len(v1.Points) != 10 || len(v2.Points) != 10 {
		t.Fatalf("points: %d and %d, want 10 each", len(v1.Points), len(v2.Points))
	}
	for k := range 10 {
		p1, p2 := v1.Points[k], v2.Points[k]
		if !p1.Start.Equal(t0.Add(time.Duration(k)*time.Minute)) || p1.ColdStarts != -1 || p2.ColdStarts != -1 {
			t.Fatalf("minute %d: %+v / %+v", k, p1, p2)
		}
		want1, want2 := int64(600), int64(0)
		if k >= 5 {
			want1, want2 = 540, 60
		}
		if p1.Invocations != want1 || p2.Invocations != want2 {
			t.Fatalf("minute %d: invocations %d and %d, want %d and %d", k, p1.Invocations, p2.Invocations, want1, want2)
		}
		if k < 5 && p2 != (provider.Point{Start: p2.Start, ColdStarts: -1}) {
			t.Fatalf("minute %d: the candidate had no traffic yet, got %+v (missing datapoints are zero points)", k, p2)
		}
		if k >= 5 && (p2.Errors != 12 || p2.P99 != 300*time.Millisecond || p2.P50 != 50*time.Millisecond || p2.P90 != 150*time.Millisecond) {
			t.Fatalf("minute %d: candidate %+v", k, p2)
		}
		if p1.P99 != 80*time.Millisecond {
			t.Fatalf("minute %d: stable p99 %s", k, p1.P99)
		}
	}
	if tot := v1.Total(); tot.Errors != 30+27 {
		t.Fatalf("stable errors = %d, want 57 (1%% of 5700)", tot.Errors)
	}
	if r, _ := v2.Total().ErrorRate(); r != 0.2 {
		t.Fatalf("candidate error rate = %v", r)
	}
}

func TestObserve_ThroughStopsAtCompleteData(t *testing.T) {
	e, t0 := canaryEnv(t, healthy, lambdatest.Options{})
	e.Clock.Advance(6*time.Minute + 30*time.Second) // minutes 0..5 ended; data complete up to minute 4
	q := provider.Query{Function: fn, Alias: "live", Versions: []string{"1"}, Start: t0, End: t0.Add(10 * time.Minute), Period: time.Minute}
	obs, err := e.Provider.Observe(context.Background(), q)
	must(t, err)
	if want := t0.Add(4 * time.Minute); !obs.Through.Equal(want) {
		t.Fatalf("Through = %v, want %v", obs.Through, want)
	}
	if s, _ := obs.Of("1"); len(s.Points) != 4 || s.Points[3].Invocations != 600 {
		t.Fatalf("points = %+v", s.Points)
	}
	// Nothing complete yet: no call at all.
	e.Ops()
	early := q
	early.Start, early.End = t0.Add(5*time.Minute), t0.Add(10*time.Minute)
	obs, err = e.Provider.Observe(context.Background(), early)
	must(t, err)
	if s, _ := obs.Of("1"); len(s.Points) != 0 || !obs.Through.Equal(early.Start) {
		t.Fatalf("early observation = %+v", obs)
	}
	awslambdatest.OpsEqual(t, "early observe", e.Ops())
}

func TestObserve_PagesWithNextToken(t *testing.T) {
	e, t0 := canaryEnv(t, faulty, lambdatest.Options{MaxDatapointsPerPage: 7})
	ctx := context.Background()
	cur, err := e.Provider.Route(ctx, fn, "live")
	must(t, err)
	step := provider.Split("live", "1", "2", 2500)
	step.Revision = cur.Revision
	_, err = e.Provider.SetRoute(ctx, fn, step)
	must(t, err)
	e.Clock.Advance(30 * time.Minute)
	e.Ops()
	q := provider.Query{Function: fn, Alias: "live", Versions: []string{"1", "2"}, Start: t0, End: t0.Add(20 * time.Minute), Period: time.Minute}
	obs, err := e.Provider.Observe(ctx, q)
	must(t, err)
	// 2 versions × 6 statistics × 20 minutes = 240 datapoints, 7 a page.
	if n := len(e.Ops()); n != 35 {
		t.Fatalf("GetMetricData calls = %d, want 35 pages of 7 datapoints", n)
	}
	for _, s := range obs.Series {
		for _, p := range s.Points {
			if want := map[string]int64{"1": 450, "2": 150}[s.Version]; p.Invocations != want {
				t.Fatalf("version %s at %s: %d invocations, want %d", s.Version, p.Start.Format("15:04"), p.Invocations, want)
			}
		}
	}
	// Five-minute periods sum the minutes.
	q.Period = 5 * time.Minute
	obs5, err := e.Provider.Observe(ctx, q)
	must(t, err)
	if s, _ := obs5.Of("2"); len(s.Points) != 4 || s.Points[0].Invocations != 750 || s.Points[0].Errors != 150 {
		t.Fatalf("5-minute points = %+v", s.Points)
	}
}

func TestObserve_WithoutAliasSumsEveryRoute(t *testing.T) {
	e, t0 := canaryEnv(t, healthy, lambdatest.Options{})
	ctx := context.Background()
	_, err := e.Provider.SetRoute(ctx, fn, provider.Split("beta", "2", "1", 5000))
	must(t, err)
	must(t, e.Server.SetLoad(fn, "beta", 2))
	e.Clock.Advance(10 * time.Minute)
	e.Ops()
	q := provider.Query{Function: fn, Versions: []string{"1", "2"}, Start: t0, End: t0.Add(5 * time.Minute), Period: time.Minute}
	obs, err := e.Provider.Observe(ctx, q)
	must(t, err)
	awslambdatest.OpsEqual(t, "observe without alias", e.Ops(), "ListAliases", "GetMetricData")
	v1, _ := obs.Of("1")
	v2, _ := obs.Of("2")
	// Version 1: all of live (600/min) and half of beta (60/min).
	if v1.Points[0].Invocations != 660 || v2.Points[0].Invocations != 60 {
		t.Fatalf("invocations %d and %d, want 660 and 60", v1.Points[0].Invocations, v2.Points[0].Invocations)
	}
}

func TestObserve_InvalidQueryMakesNoCall(t *testing.T) {
	e, t0 := canaryEnv(t, healthy, lambdatest.Options{})
	tests := map[string]provider.Query{
		"start":    {Function: fn, Alias: "live", Versions: []string{"1"}, Start: t0.Add(time.Second), End: t0.Add(time.Hour), Period: time.Minute},
		"period":   {Function: fn, Alias: "live", Versions: []string{"1"}, Start: t0, End: t0.Add(time.Hour), Period: 30 * time.Second},
		"versions": {Function: fn, Alias: "live", Start: t0, End: t0.Add(time.Hour), Period: time.Minute},
	}
	for field, q := range tests {
		_, err := e.Provider.Observe(context.Background(), q)
		var ie *provider.InvalidError
		if !errors.As(err, &ie) || ie.Field != field {
			t.Errorf("Observe with a bad %s = %v", field, err)
		}
	}
	awslambdatest.OpsEqual(t, "invalid queries", e.Ops())
	noCW := awslambda.NewFromClients(e.Server.LambdaClient(), nil, awslambda.Options{})
	if _, err := noCW.Observe(context.Background(), provider.Query{Function: fn, Alias: "live", Versions: []string{"1"}, Start: t0, End: t0.Add(time.Minute), Period: time.Minute}); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("Observe without a CloudWatch client = %v, want ErrUnsupported", err)
	}
}

// One canary step through the SDK, as a runner drives it: move the weight
// with the route's token, bake, observe both versions over the step's
// window. The step costs exactly two API calls: UpdateAlias and one
// GetMetricData (12 queries). The runs below walk a 10% → 50% → 100%
// canary and check CloudWatch reflects each split; the faulty candidate is
// caught on the first step and rolled back in one more UpdateAlias.
func TestCanaryEndToEnd(t *testing.T) {
	for _, tt := range []struct {
		name      string
		candidate lambdatest.Behavior
		promoted  bool
		steps     int
	}{{"healthy", healthy, true, 2}, {"faulty", faulty, false, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := canaryEnv(t, tt.candidate, lambdatest.Options{})
			ctx := context.Background()
			route, err := e.Provider.Route(ctx, fn, "live")
			must(t, err)
			e.Ops()
			const bake = 5 * time.Minute
			failed, steps := false, 0
			for _, bp := range []int{1000, 5000} {
				steps++
				want := provider.Split("live", "1", "2", bp)
				want.Revision = route.Revision
				if route, err = e.Provider.SetRoute(ctx, fn, want); err != nil {
					t.Fatal(err)
				}
				start := provider.AlignDown(e.Clock.Now(), time.Minute)
				e.Clock.Advance(bake + 2*time.Minute) // bake, then wait out the CloudWatch delay
				obs, err := e.Provider.Observe(ctx, provider.Query{Function: fn, Alias: "live", Versions: []string{"1", "2"}, Start: start, End: start.Add(bake), Period: time.Minute})
				must(t, err)
				awslambdatest.OpsEqual(t, "one canary step", e.Ops(), "UpdateAlias", "GetMetricData")

				stable, _ := obs.Of("1")
				cand, _ := obs.Of("2")
				s, c := stable.Total(), cand.Total()
				if share := float64(c.Invocations) / float64(s.Invocations+c.Invocations); share != float64(bp)/10000 {
					t.Fatalf("step %d bp: candidate served %.4f of the traffic", bp, share)
				}
				sr, _ := s.ErrorRate()
				cr, _ := c.ErrorRate()
				if cr > 2*sr || c.P99 > 2*s.P99 {
					failed = true
					break
				}
			}
			final := provider.To("live", "2")
			if failed {
				final = provider.To("live", "1")
			}
			final.Revision = route.Revision
			if _, err := e.Provider.SetRoute(ctx, fn, final); err != nil {
				t.Fatal(err)
			}
			awslambdatest.OpsEqual(t, "promote or roll back", e.Ops(), "UpdateAlias")
			if failed == tt.promoted || steps != tt.steps {
				t.Fatalf("promoted = %v after %d steps, want %v after %d", !failed, steps, tt.promoted, tt.steps)
			}
			got, err := e.Provider.Route(ctx, fn, "live")
			must(t, err)
			if diff := cmp.Diff(final.Weights, got.Weights); diff != "" {
				t.Fatalf("final route (-want +got):\n%s", diff)
			}
		})
	}
}
