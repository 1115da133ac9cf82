package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

// On Cloud Run a request to a revision through its tag URL is a request
// "reaching the revision" like any other: invoking the candidate by
// version through the adapter (its staging tag) shows up in the series
// the adapter's Observe reads for that revision behind the production
// route. This is why gcprun's Capabilities say InvokesObserved and why
// synthetic traffic on Cloud Run subtracts its own requests from the
// revision's series (docs/release-steps.md, "Synthetic traffic and the
// platform's own metrics"; TestReleaseSyntheticQuietFunctionOnCloudRun),
// unlike on Lambda, where an invocation by version lands under
// Resource=fn:N only (TestReleaseSyntheticQuietFunctionOnLambda).
func TestGCPTagRequestsCountInTheRevisionSeries(t *testing.T) {
	ctx := context.Background()
	clk, _, p := gcpEmulated(t, false)
	w, err := release.New(release.Options{Runner: canary.RunnerOptions{Provider: p, Metrics: p, Clock: clk}, Actor: "test",
		Stages: release.Stages{Staging: "staging", Production: "production"}})
	must(t, err)
	var res release.Result
	for _, sv := range []string{"1.0.0", "1.1.0"} {
		v := semver.MustParse(sv)
		all := canary.AllAtOnce()
		clk.Run(func() {
			res, err = w.Release(ctx, release.Request{Function: fn, Strategy: &all,
				Publish: release.PublishRequest{Artifact: gcpZip("checkout " + sv), Config: gcpConfig(), Semver: &v}})
		})
		must(t, err)
	}
	start := clk.Now().Truncate(time.Minute).Add(time.Minute)
	clk.Run(func() { _ = clk.Sleep(ctx, start.Sub(clk.Now())) })
	for range 12 {
		clk.Run(func() {
			_, err = p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: res.Candidate, Payload: []byte("{}")})
		})
		must(t, err)
	}
	clk.Run(func() { _ = clk.Sleep(ctx, 4*time.Minute) })
	var obs provider.Observation
	clk.Run(func() {
		obs, err = p.Observe(ctx, provider.Query{Function: fn, Alias: "production", Versions: []string{res.Candidate},
			Start: start, End: start.Add(time.Minute), Period: time.Minute})
	})
	must(t, err)
	s, ok := obs.Of(res.Candidate)
	if !ok || len(s.Points) != 1 || s.Points[0].Invocations != 12 {
		t.Fatalf("candidate %s behind production: %+v, want one point of 12 invocations (the tag requests)", res.Candidate, s)
	}
}
