package awslambda_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// TestSource runs the seeded metrics-source clauses against the adapter's
// CloudWatch reader pointed at the emulator: one alias per version ("v1",
// "v2") routed to it alone and loaded at the plan's rate, CloudWatch data
// a minute late, pages of 40 datapoints so a window of 20 periods needs
// several GetMetricData pages.
func TestSource(t *testing.T) {
	var plan providertest.Plan
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1, MetricsDelay: time.Minute, MaxDatapointsPerPage: 40}, awslambda.Options{MetricsDelay: time.Minute})
	e.PublishN(t, 3)
	providertest.RunSource(t, providertest.MetricsFixture{
		Metrics: e.Provider, Function: fn, Versions: []string{"1", "2", "3"}, Now: e.Clock.Now,
		Start:       e.Clock.Now(),
		PagePeriods: 20,
		Seed: func(t *testing.T, p providertest.Plan) {
			plan = p
			ctx := context.Background()
			e.Clock.Advance(plan.Start.Add(-plan.Quiet).Sub(e.Clock.Now()))
			for i, tr := range plan.Traffic {
				v := []string{"1", "2"}[i]
				if _, err := e.Provider.SetRoute(ctx, fn, provider.To("v"+v, v)); err != nil {
					t.Fatal(err)
				}
				must(t, e.Server.SetBehavior(fn, v, lambdatest.Behavior{ErrorRate: float64(tr.Errors) / float64(tr.Invocations), P50: 20 * time.Millisecond, P90: 40 * time.Millisecond, P99: 80 * time.Millisecond}))
			}
			e.Clock.Advance(plan.Start.Sub(e.Clock.Now()))
			for i, tr := range plan.Traffic {
				must(t, e.Server.SetLoad(fn, "v"+[]string{"1", "2"}[i], float64(tr.Invocations)/plan.Resolution.Seconds()))
			}
			e.Clock.Advance(plan.End().Sub(e.Clock.Now()))
			for i := range plan.Traffic {
				must(t, e.Server.SetLoad(fn, "v"+[]string{"1", "2"}[i], 0))
			}
			e.Clock.Advance(plan.Quiet + 2*time.Minute)
		},
		Failing: func(t *testing.T, target error) (provider.Metrics, bool) {
			var opts lambdatest.Options
			switch target {
			case provider.ErrThrottled:
				opts.Throttle = func(string) (time.Duration, bool) { return 0, true }
			case provider.ErrUnavailable:
				opts.Fault = func(op string) *lambdatest.Fault {
					if op == "GetMetricData" {
						return &lambdatest.Fault{Status: 500, Code: "InternalServiceError"}
					}
					return &lambdatest.Fault{Status: 500, Code: "ServiceException"}
				}
			default:
				return nil, false
			}
			opts.Now = e.Clock.Now
			srv := lambdatest.NewServer(opts)
			t.Cleanup(srv.Close)
			return awslambda.NewFromClients(srv.LambdaClient(awslambdatest.NoRetry), srv.CloudWatchClient(awslambdatest.NoRetryCW), awslambda.Options{Now: e.Clock.Now}), true
		},
	})
	// The pages are real: one observation of the seeded window takes
	// several GetMetricData calls.
	e.Ops()
	if _, err := e.Provider.Observe(context.Background(), provider.Query{Function: fn, Versions: []string{"1", "2"}, Start: plan.Start, End: plan.End(), Period: time.Minute}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, op := range e.Ops() {
		if op == "GetMetricData" {
			calls++
		}
	}
	if calls < 2 {
		t.Errorf("observing %d periods took %d GetMetricData calls, want several pages", plan.Periods, calls)
	}
	t.Logf("observing %d periods of 2 versions: %d GetMetricData calls", plan.Periods, calls)
}
