package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// The AWS Lambda tests run on the harness of provider/awslambda's own
// tests (awslambdatest.New).

const (
	fn   = awslambdatest.Function
	role = awslambdatest.Role
)

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

// liveCanary is an emulator and an adapter on clk (emulator and CloudWatch
// data two minutes late) with versions 1 and 2 of fn published, alias
// "live" on version 1 receiving 10 requests a second, version 1 healthy
// and version 2 behaving as candidate.
func liveCanary(t *testing.T, clk *canary.VirtualClock, candidate lambdatest.Behavior) (*lambdatest.Server, *awslambda.Provider) {
	t.Helper()
	srv := lambdatest.NewServer(lambdatest.Options{Now: clk.Now, SettlePolls: -1, MetricsDelay: 2 * time.Minute})
	t.Cleanup(srv.Close)
	must(t, srv.CreateFunction(fn, lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap", Role: role}))
	p := awslambda.NewFromClients(srv.LambdaClient(awslambdatest.NoRetry), srv.CloudWatchClient(awslambdatest.NoRetryCW),
		awslambda.Options{Now: clk.Now, Sleep: clk.Sleep, MetricsDelay: 2 * time.Minute})
	ctx := context.Background()
	for _, code := range []string{"v1", "v2"} {
		_, err := p.Publish(ctx, fn, awslambdatest.Zip(code))
		must(t, err)
	}
	_, err := p.SetRoute(ctx, fn, provider.To("live", "1"))
	must(t, err)
	must(t, srv.SetLoad(fn, "live", 10))
	must(t, srv.SetBehavior(fn, "1", healthy))
	must(t, srv.SetBehavior(fn, "2", candidate))
	return srv, p
}
