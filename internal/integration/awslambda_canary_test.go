package integration_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// The canary package's Runner drives a Canary10Percent5Minutes rollout
// through the adapter, the real SDK clients and the emulator, in virtual
// time: CloudWatch data two minutes late, one-minute analysis windows, an
// error-rate check relative to the stable version. A healthy candidate is
// promoted; a faulty one is rolled back after the first judged window.
func TestCanaryRunnerEndToEnd(t *testing.T) {
	for _, tt := range []struct {
		name      string
		candidate lambdatest.Behavior
	}{{"healthy", healthy}, {"faulty", faulty}} {
		t.Run(tt.name, func(t *testing.T) {
			epoch := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
			clk := canary.NewVirtualClock(epoch)
			srv, p := liveCanary(t, clk, tt.candidate)
			ctx := context.Background()
			srv.ResetRequests()

			s, err := canary.Preset("Canary10Percent5Minutes")
			must(t, err)
			s.Interval = time.Minute
			check := canary.Relative{Metric: canary.ErrorRate, Factor: 2, Slack: 0.005}
			s.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: check}}
			r, err := canary.NewRunner(canary.RunnerOptions{
				Provider: p, Metrics: p, Clock: clk, MetricsLag: 3 * time.Minute,
				Checks: map[string]canary.Check{"errors": check},
			})
			must(t, err)
			st, err := r.Start(ctx, canary.Rollout{ID: "r1", Function: fn, Alias: "live", Candidate: "2", Strategy: s})
			ops := srv.Ops()
			t.Logf("%s: phase %s after %s; API calls %v", tt.name, st.Phase, clk.Now().Sub(epoch), ops)
			route, rerr := p.Route(ctx, fn, "live")
			must(t, rerr)
			switch tt.name {
			case "healthy":
				if err != nil || st.Phase != canary.PhaseSucceeded || !route.SameTraffic(provider.To("live", "2")) {
					t.Fatalf("Start = %s, %v; route %+v; want Succeeded with all traffic on 2", st.Phase, err, route.Weights)
				}
				// One read of the candidate (Start refuses an unpublished
				// one before any route write) and of the alias at the start,
				// two route writes (10%, 100%), and per judged window one
				// GetMetricData; the out-of-band check's GetAlias runs after
				// a window's metrics, overlapping nothing a rollback waits
				// for: five one-minute windows in the 5-minute bake, none
				// repeated while CloudWatch lags.
				w := []string{"GetMetricData", "GetAlias"}
				want := append([]string{"GetFunctionConfiguration", "GetAlias", "UpdateAlias"}, slices.Concat(w, w, w, w, w)...)
				awslambdatest.OpsEqual(t, "healthy rollout", ops, append(want, "UpdateAlias")...)
			case "faulty":
				if !errors.Is(err, canary.ErrRolledBack) || st.Phase != canary.PhaseRolledBack || !route.SameTraffic(provider.To("live", "1")) {
					t.Fatalf("Start = %s, %v; route %+v; want RolledBack with all traffic on 1", st.Phase, err, route.Weights)
				}
				// Judged bad on the first window [0, 1m) once its data is
				// complete at 3m, and rolled back then.
				// The rollback write follows the failing window's metrics
				// read directly: the compare-and-swap on the alias's
				// RevisionId guards it, so no route read comes between.
				awslambdatest.OpsEqual(t, "faulty rollout", ops, "GetFunctionConfiguration", "GetAlias", "UpdateAlias", "GetMetricData", "UpdateAlias")
				if back := clk.Now().Sub(epoch); back != 3*time.Minute {
					t.Fatalf("rolled back after %s, want 3m (one interval plus the 2m CloudWatch delay)", back)
				}
			}
		})
	}
}
