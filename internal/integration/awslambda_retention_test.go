package integration_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/retention"
)

// Pruning a Lambda function through the SDK: the plan keeps the routed and
// newest version and the one with provisioned concurrency; Apply deletes
// the others except a version CloudFront replicated for Lambda@Edge, whose
// refusal (400, not retryable) is reported as that version's failure after
// one call while the run goes on. Every delete is preceded by a fresh
// reference check (provisioned concurrency, event-source mappings, aliases).
func TestRetentionPrunesThroughTheSDK(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 6)
	if _, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "5")); err != nil {
		t.Fatal(err)
	}
	must(t, e.Server.SetProvisionedConcurrency(fn, "3", 2))
	must(t, e.Server.SetReplicated(fn, "2", true))

	unlimited := rate.NewLimiter(rate.Inf, 0)
	pl, err := retention.Planner{Limiter: unlimited, Clock: e.Clock}.Plan(ctx, e.Provider, []string{fn}, retention.Policy{KeepLast: 1}, e.Clock.Now())
	must(t, err)
	if got, want := pl.Functions[0].Deletions(), []string{"1", "2", "4"}; !slices.Equal(got, want) {
		t.Fatalf("plan deletes %v, want %v:\n%s", got, want, pl)
	}
	e.Ops()

	rep, err := retention.Apply(ctx, e.Provider, pl, retention.ApplyOptions{Limiter: unlimited, Clock: e.Clock, Concurrency: 1,
		Retry: provider.RetryPolicy{MaxAttempts: 5}})
	if err == nil || !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Apply error %v, want the replica's refusal (ErrInvalid)", err)
	}
	fr := rep.Functions[0]
	if !slices.Equal(fr.Deleted, []string{"1", "4"}) || len(fr.Skipped) != 0 || len(fr.Failed) != 1 || fr.Failed[0].Version != "2" {
		t.Fatalf("report:\n%s", rep)
	}
	if f := fr.Failed[0]; f.InDoubt || !strings.Contains(f.Err.Error(), "because it is a replicated function") {
		t.Errorf("failure of version 2: in doubt %v, %v", f.InDoubt, f.Err)
	}
	ops := e.Ops()
	// A fresh check (provisioned concurrency, event-source mappings,
	// aliases), then the delete: GetFunction of the next version (outside
	// the control-plane quota), ListAliases, DeleteFunction.
	check := []string{"ListProvisionedConcurrencyConfigs", "ListEventSourceMappings", "ListAliases", "GetFunction", "ListAliases", "DeleteFunction"}
	if want := slices.Concat(check, check, check); !slices.Equal(ops, want) {
		t.Errorf("API calls %v, want a fresh check before each of the three deletes, and no retry of the refused one:\n%v", ops, want)
	}
	var left []string
	for v, err := range e.Provider.Versions(ctx, fn) {
		must(t, err)
		left = append(left, v.ID)
	}
	if want := []string{"2", "3", "5", "6"}; !slices.Equal(left, want) {
		t.Errorf("versions left %v, want %v", left, want)
	}
}
