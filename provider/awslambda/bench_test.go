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

// BenchmarkCanaryStep is one canary step through the SDK against the
// emulator: UpdateAlias with the alias's token, then GetMetricData for two
// versions over five one-minute periods (two HTTP round trips).
func BenchmarkCanaryStep(b *testing.B) {
	c := providertest.NewClock(awslambdatest.Start)
	srv := lambdatest.NewServer(lambdatest.Options{Now: c.Now, SettlePolls: -1})
	defer srv.Close()
	if err := srv.CreateFunction(fn, lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap", Role: role}); err != nil {
		b.Fatal(err)
	}
	p := awslambda.NewFromClients(srv.LambdaClient(awslambdatest.NoRetry), srv.CloudWatchClient(awslambdatest.NoRetryCW), awslambda.Options{Now: c.Now, Sleep: c.Sleep, MetricsDelay: time.Minute})
	ctx := context.Background()
	for i := range 2 {
		if _, err := p.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte{byte(i)}}}); err != nil {
			b.Fatal(err)
		}
	}
	r, err := p.SetRoute(ctx, fn, provider.To("live", "1"))
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.SetLoad(fn, "live", 10); err != nil {
		b.Fatal(err)
	}
	c.Advance(10 * time.Minute)
	end := provider.AlignDown(c.Now().Add(-time.Minute), time.Minute)
	q := provider.Query{Function: fn, Alias: "live", Versions: []string{"1", "2"}, Start: end.Add(-5 * time.Minute), End: end, Period: time.Minute}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		want := provider.Split("live", "1", "2", 100+i%9000)
		want.Revision = r.Revision
		if r, err = p.SetRoute(ctx, fn, want); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Observe(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWeightRoundTrip(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		n += awslambda.BasisPointsOf(awslambda.WeightOf(i % 10001))
	}
	if n < 0 {
		b.Fatal(n)
	}
}
