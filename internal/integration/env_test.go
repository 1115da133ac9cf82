package integration_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// The helpers below are those of provider/awslambda's own tests (env_test.go),
// which this package cannot import.

// newClock returns the tests' virtual clock.
func newClock() *providertest.Clock {
	return providertest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
}

// env is an emulator with one function "checkout" and an adapter pointed
// at it by endpoint only (the production code path).
type env struct {
	clock *providertest.Clock
	srv   *lambdatest.Server
	p     *awslambda.Provider
}

const fn = "checkout"

const role = "arn:aws:iam::123456789012:role/checkout"

// noRetry makes the SDK clients single-attempt, as New configures them, so
// tests see every throttle and fault.
func noRetry(o *lambda.Options)       { o.Retryer = aws.NopRetryer{} }
func noRetryCW(o *cloudwatch.Options) { o.Retryer = aws.NopRetryer{} }

func newEnv(t *testing.T, opts lambdatest.Options, popts awslambda.Options) *env {
	t.Helper()
	c := newClock()
	opts.Now = c.Now
	srv := lambdatest.NewServer(opts)
	t.Cleanup(srv.Close)
	if err := srv.CreateFunction(fn, lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap", Role: role}); err != nil {
		t.Fatal(err)
	}
	popts.Now = c.Now
	popts.Sleep = c.Sleep
	p := awslambda.NewFromClients(srv.LambdaClient(noRetry), srv.CloudWatchClient(noRetryCW), popts)
	srv.ResetRequests()
	return &env{clock: c, srv: srv, p: p}
}

// ops returns the operations since the last call and resets the log.
func (e *env) ops() []string {
	ops := e.srv.Ops()
	e.srv.ResetRequests()
	return ops
}

func opsEqual(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: API calls = %v, want %v", what, got, want)
	}
}

// publishN publishes n versions "1".."n".
func (e *env) publishN(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		if _, err := e.p.Publish(context.Background(), fn, zipIn(fmt.Sprint("code ", i))); err != nil {
			t.Fatal(err)
		}
	}
	e.ops()
}

func zipIn(body string) provider.PublishInput {
	return provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(body)}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	healthy = lambdatest.Behavior{ErrorRate: 0.01, P50: 20 * time.Millisecond, P90: 40 * time.Millisecond, P99: 80 * time.Millisecond}
	faulty  = lambdatest.Behavior{ErrorRate: 0.2, P50: 50 * time.Millisecond, P90: 150 * time.Millisecond, P99: 300 * time.Millisecond}
)
