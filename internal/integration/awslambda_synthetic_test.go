package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

// A quiet function on the Lambda emulator — 1 organic request a minute at
// its production alias (lambdatest.SetLoad) — released with a 10% canary
// judged every 5 minutes by an error-rate threshold that needs 50
// requests a window (release's TestReleaseSynthetic_QuietFunctionReachesVerdict
// runs the same release on memory and on this emulator). Without
// synthetic traffic the windows stay inconclusive and the candidate is
// rolled back; with 12 synthetic invocations a minute per version it
// reaches a verdict: promoted when healthy, rolled back when it fails the
// synthetic requests. The emulator counts those invocations in CloudWatch
// as Lambda does (one per invocation, an Errors for each
// X-Amz-Function-Error, under Resource fn:N since they name versions), so
// the test checks the release's tallies against what CloudWatch reports,
// and that the alias series the checks read holds the organic traffic
// only: synthetic and organic are counted apart on the platform too.
func TestReleaseSyntheticQuietFunctionOnLambda(t *testing.T) {
	for _, tt := range []struct {
		name      string
		synthetic bool
		strict    bool // the candidate rejects the synthetic payload
		outcome   string
	}{
		{"without synthetic traffic", false, false, release.OutcomeRolledBack},
		{"with synthetic traffic", true, false, release.OutcomePromoted},
		{"with synthetic traffic, candidate fails it", true, true, release.OutcomeRolledBack},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			vc := canary.NewVirtualClock(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
			srv := lambdatest.NewServer(lambdatest.Options{Now: vc.Now, SettlePolls: -1, MetricsDelay: time.Minute})
			t.Cleanup(srv.Close)
			must(t, srv.CreateFunction(fn, lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap", Role: role}))
			p := awslambda.NewFromClients(srv.LambdaClient(awslambdatest.NoRetry), srv.CloudWatchClient(awslambdatest.NoRetryCW),
				awslambda.Options{Now: vc.Now, Sleep: vc.Sleep, MetricsDelay: time.Minute})
			for _, v := range []string{"1", "2"} {
				strict := v == "2" && tt.strict
				srv.SetHandler(fn, v, func(_ context.Context, b []byte) ([]byte, error) {
					var ev map[string]any
					if err := json.Unmarshal(b, &ev); err != nil {
						return nil, err
					}
					if _, ok := ev["customerId"]; strict && !ok {
						return nil, errors.New("KeyError: customerId")
					}
					return []byte(`{"accepted":true}`), nil
				})
			}
			must(t, srv.SetLoad(fn, "production", 1.0/60))

			s := canary.Canary(1000, 10*time.Minute)
			s.Interval = 5 * time.Minute
			check := canary.Threshold{Metric: canary.ErrorRate, Max: 0.05, MinSamples: 50}
			s.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: check}}
			s.Analysis.InconclusiveLimit = 1
			s.Analysis.OnInconclusive = canary.RollBackOnInconclusive
			j := &journal.MemoryJournal{}
			w, err := release.New(release.Options{
				Runner:  canary.RunnerOptions{Provider: p, Metrics: p, Clock: vc, MetricsLag: 2 * time.Minute, Checks: map[string]canary.Check{"errors": check}},
				Journal: j, Actor: "e2e",
			})
			must(t, err)
			minor := semver.Minor
			pub := func(code string) release.PublishRequest {
				return release.PublishRequest{Level: &minor, Artifact: awslambdatest.Zip(code).Artifact}
			}
			all := canary.AllAtOnce()
			vc.Run(func() {
				_, err = w.Release(ctx, release.Request{Function: fn, ID: "r1", Publish: pub("v1"), Strategy: &all})
			})
			must(t, err)

			req := release.Request{Function: fn, ID: "r2", Publish: pub("v2"), Strategy: &s, Synthetic: quietSynthetic(tt.synthetic)}
			began := vc.Now()
			var res release.Result
			vc.Run(func() { res, err = w.Release(ctx, req) })
			ended := vc.Now()
			t.Logf("%s: %s after %s (%s); tallies %+v", tt.name, res.Outcome, ended.Sub(began), res.Reason, res.Synthetic)
			if !checkQuietOutcome(t, p, fn, "1", res, err, tt.outcome, tt.synthetic) {
				return
			}

			// Let the last minute's datapoints become visible.
			vc.Run(func() { _ = vc.Sleep(ctx, 2*time.Minute) })
			from, to := began.Truncate(time.Minute), vc.Now().Truncate(time.Minute)
			if len(res.Synthetic) != 2 {
				t.Fatalf("tallies %+v", res.Synthetic)
			}
			for _, tl := range res.Synthetic {
				// 12 a minute over each judged 5-minute window: two
				// windows when promoted, one when the first failed.
				windows := int64(2)
				if tt.strict {
					windows = 1
				}
				if tl.Synthetic != 60*windows {
					t.Errorf("version %s: %d synthetic invocations, want %d", tl.Version, tl.Synthetic, 60*windows)
				}
				wantErrs := int64(0)
				if tt.strict && tl.Version == "2" {
					wantErrs = tl.Synthetic
				}
				if tl.SyntheticErrors != wantErrs {
					t.Errorf("version %s: %d synthetic errors, want %d", tl.Version, tl.SyntheticErrors, wantErrs)
				}
				direct := []string{"Resource", fn + ":" + tl.Version}
				if got := cwSum(t, srv, "Invocations", from, to, direct...); got != tl.Synthetic {
					t.Errorf("CloudWatch Invocations of %s:%s = %d, the tally says %d synthetic", fn, tl.Version, got, tl.Synthetic)
				}
				if got := cwSum(t, srv, "Errors", from, to, direct...); got != tl.SyntheticErrors {
					t.Errorf("CloudWatch Errors of %s:%s = %d, the tally says %d", fn, tl.Version, got, tl.SyntheticErrors)
				}
			}
			// The series the checks read holds the organic traffic only:
			// one request a minute.
			minutes := int64(to.Sub(from) / time.Minute)
			if got := cwSum(t, srv, "Invocations", from, to, "Resource", fn+":production"); got > minutes {
				t.Errorf("the production alias's series has %d invocations in %d minutes: synthetic traffic leaked into it", got, minutes)
			}
			// {FunctionName} is everything: organic plus synthetic.
			total := res.Synthetic[0].Synthetic + res.Synthetic[1].Synthetic + cwSum(t, srv, "Invocations", from, to, "Resource", fn+":production")
			if got := cwSum(t, srv, "Invocations", from, to); got != total {
				t.Errorf("CloudWatch Invocations of %s = %d, want %d (synthetic + the alias's)", fn, got, total)
			}
		})
	}
}

// cwSum is the Sum of an AWS/Lambda metric of fn over [from, to), read
// with the CloudWatch SDK client from the emulator; dims are extra
// dimension name/value pairs after FunctionName.
func cwSum(t *testing.T, srv *lambdatest.Server, metric string, from, to time.Time, dims ...string) int64 {
	t.Helper()
	ds := []cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String(fn)}}
	for i := 0; i+1 < len(dims); i += 2 {
		ds = append(ds, cwtypes.Dimension{Name: aws.String(dims[i]), Value: aws.String(dims[i+1])})
	}
	out, err := srv.CloudWatchClient(awslambdatest.NoRetryCW).GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(from), EndTime: aws.Time(to),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("m"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Lambda"), MetricName: aws.String(metric), Dimensions: ds},
			Period: aws.Int32(60), Stat: aws.String("Sum"),
		}}},
	})
	must(t, err)
	sum := 0.0
	for _, r := range out.MetricDataResults {
		for _, v := range r.Values {
			sum += v
		}
	}
	return int64(math.Round(sum))
}
