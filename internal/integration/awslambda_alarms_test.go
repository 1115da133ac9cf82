package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

var errorsAlarm = lambdatest.AlarmSpec{Namespace: "AWS/Lambda", MetricName: "Errors",
	Dimensions: map[string]string{"FunctionName": fn, "Resource": fn + ":live"}, Statistic: "Sum",
	Period: time.Minute, EvaluationPeriods: 1, Threshold: 5, ComparisonOperator: "GreaterThanThreshold"}

// TestCanaryRollsBackOnAlarm runs Canary10Percent5Minutes on the emulator
// with a healthy candidate judged by its error rate and by the alarm
// "checkout-errors" (SAM's DeploymentPreference.Alarms): an alarm already
// in ALARM before the rollout does not block it (SAM #716); one that enters
// ALARM during the rollout, or leaves and re-enters it, rolls it back.
func TestCanaryRollsBackOnAlarm(t *testing.T) {
	cases := []struct {
		name   string
		before string           // the alarm's state before the rollout
		during map[int][]string // step events → states set when the n-th window is judged
		want   canary.Phase
	}{
		{"already firing (SAM #716)", "ALARM", nil, canary.PhaseSucceeded},
		{"quiet", "OK", nil, canary.PhaseSucceeded},
		{"fires during the rollout", "OK", map[int][]string{1: {"ALARM"}}, canary.PhaseRolledBack},
		{"was firing, clears, fires again", "ALARM", map[int][]string{1: {"OK"}, 2: {"ALARM"}}, canary.PhaseRolledBack},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			epoch := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
			clk := canary.NewVirtualClock(epoch.Add(-time.Hour))
			srv, p := liveCanary(t, clk, healthy)
			ctx := context.Background()
			must(t, srv.PutAlarm("checkout-errors", errorsAlarm))
			must(t, srv.SetAlarmState("checkout-errors", c.before, "set before the rollout"))
			must(t, clk.Sleep(ctx, time.Hour))

			s, err := canary.Preset("Canary10Percent5Minutes")
			must(t, err)
			s.Interval = time.Minute
			s.Analysis.Checks = []canary.CheckSpec{
				{Name: "errors", Check: canary.Relative{Metric: canary.ErrorRate, Factor: 2, Slack: 0.005}},
				{Name: "alarms", Check: canary.Alarms{Reader: p, Names: []string{"checkout-errors"}}},
			}
			windows := 0
			var reasons []string
			r, err := canary.NewRunner(canary.RunnerOptions{
				Provider: p, Metrics: p, Clock: clk, MetricsLag: 3 * time.Minute,
				OnEvent: func(e canary.ProgressEvent) {
					if e.Results == nil {
						return
					}
					windows++
					for _, res := range e.Results {
						if res.Name == "alarms" {
							reasons = append(reasons, res.Measurement.Verdict.String()+": "+res.Measurement.Reason)
						}
					}
					for _, st := range c.during[windows] {
						must(t, srv.SetAlarmState("checkout-errors", st, "set during the rollout"))
					}
				},
			})
			must(t, err)
			st, err := r.Start(ctx, canary.Rollout{ID: "r1", Function: fn, Alias: "live", Candidate: "2", Strategy: s})
			t.Logf("%s: %s after %d windows: %q", c.name, st.Phase, windows, reasons)
			if st.Phase != c.want {
				t.Fatalf("Start = %s, %v; want %s (alarm verdicts %q)", st.Phase, err, c.want, reasons)
			}
			route, rerr := p.Route(ctx, fn, "live")
			must(t, rerr)
			wantRoute := provider.To("live", "2")
			if c.want == canary.PhaseRolledBack {
				wantRoute = provider.To("live", "1")
			}
			if !route.SameTraffic(wantRoute) {
				t.Errorf("route %+v, want %+v", route.Weights, wantRoute.Weights)
			}
		})
	}
}
