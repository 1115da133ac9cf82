// Package awslambdatest is test support for code that drives the awslambda
// adapter: an Env connects an adapter to a lambdatest emulator by endpoint
// only (the production code path), on one virtual clock, so the adapter's
// own tests and the integration tests share one harness.
package awslambdatest

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

// Function is the function New creates in the emulator.
const Function = "checkout"

// Role is the execution role of Function.
const Role = "arn:aws:iam::123456789012:role/checkout"

// Start is the time the Env's clock starts at.
var Start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Env is an emulator with one function (Function) and an adapter pointed
// at it. The adapter's Sleep advances Clock, which is also the emulator's
// clock, so waiting for an update to settle takes no real time.
type Env struct {
	Clock    *providertest.Clock
	Server   *lambdatest.Server
	Provider *awslambda.Provider
}

// NoRetry makes a Lambda client single-attempt, as awslambda.New
// configures it, so tests see every throttle and fault.
func NoRetry(o *lambda.Options) { o.Retryer = aws.NopRetryer{} }

// NoRetryCW makes a CloudWatch client single-attempt, as NoRetry.
func NoRetryCW(o *cloudwatch.Options) { o.Retryer = aws.NopRetryer{} }

// New starts an emulator with opts (its Now replaced by the Env's clock),
// creates Function in it, and returns an adapter with popts (Now and Sleep
// replaced by the clock's) on single-attempt clients of the emulator. The
// emulator's request log starts empty; the emulator closes with the test.
func New(t testing.TB, opts lambdatest.Options, popts awslambda.Options) *Env {
	t.Helper()
	c := providertest.NewClock(Start)
	opts.Now = c.Now
	srv := lambdatest.NewServer(opts)
	t.Cleanup(srv.Close)
	if err := srv.CreateFunction(Function, lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap", Role: Role}); err != nil {
		t.Fatal(err)
	}
	popts.Now = c.Now
	popts.Sleep = c.Sleep
	p := awslambda.NewFromClients(srv.LambdaClient(NoRetry), srv.CloudWatchClient(NoRetryCW), popts)
	srv.ResetRequests()
	return &Env{Clock: c, Server: srv, Provider: p}
}

// Ops returns the operations the emulator served since the last call (or
// since New) and resets its request log.
func (e *Env) Ops() []string {
	ops := e.Server.Ops()
	e.Server.ResetRequests()
	return ops
}

// PublishN publishes n versions ("1".."n") of Function, each with its own
// zip, and resets the request log.
func (e *Env) PublishN(t testing.TB, n int) {
	t.Helper()
	for i := range n {
		if _, err := e.Provider.Publish(context.Background(), Function, Zip(fmt.Sprint("code ", i))); err != nil {
			t.Fatal(err)
		}
	}
	e.Ops()
}

// Zip is a publish input whose artifact is the zip bytes body.
func Zip(body string) provider.PublishInput {
	return provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(body)}}
}

// OpsEqual fails the test unless got lists exactly the operations want, in
// order.
func OpsEqual(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: API calls = %v, want %v", what, got, want)
	}
}

// Healthy and Faulty are behaviours for a stable and a failing version:
// 1% and 20% errors, with the faulty version slower at every percentile.
var (
	Healthy = lambdatest.Behavior{ErrorRate: 0.01, P50: 20 * time.Millisecond, P90: 40 * time.Millisecond, P99: 80 * time.Millisecond}
	Faulty  = lambdatest.Behavior{ErrorRate: 0.2, P50: 50 * time.Millisecond, P90: 150 * time.Millisecond, P99: 300 * time.Millisecond}
)
