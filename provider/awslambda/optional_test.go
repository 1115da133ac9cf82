package awslambda_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

func TestEventSourcesAndUsage(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 3)
	_, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "3"))
	must(t, err)
	var want []provider.EventSource
	for i := range 105 { // more than one page of 100
		q := []string{"", "live", "2"}[i%3]
		src := fmt.Sprintf("arn:aws:sqs:us-east-1:123456789012:queue-%03d", i)
		id, err := e.Server.AddEventSourceMapping(fn, q, src)
		must(t, err)
		want = append(want, provider.EventSource{ID: id, Source: src, Qualifier: q, State: "Enabled"})
	}
	must(t, e.Server.SetProvisionedConcurrency(fn, "1", 5))
	must(t, e.Server.SetProvisionedConcurrency(fn, "live", 10))
	e.Ops()

	got, err := e.Provider.EventSources(ctx, fn)
	must(t, err)
	awslambdatest.OpsEqual(t, "event sources", e.Ops(), "ListEventSourceMappings", "ListEventSourceMappings")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("EventSources (-want +got):\n%s", diff)
	}

	us, err := e.Provider.Usage(ctx, fn)
	must(t, err)
	pinned := map[string]int{}
	for _, u := range us {
		pinned[u.Version]++
	}
	// Version 1 by provisioned concurrency; version 2 by 35 mappings; the
	// alias's provisioned concurrency and mappings are not version usage.
	if !cmp.Equal(pinned, map[string]int{"1": 1, "2": 35}) || us[0] != (provider.Usage{Version: "1", Reason: "provisioned concurrency (5 requested)"}) {
		t.Fatalf("Usage = %v", us)
	}

	if _, err := e.Provider.EventSources(ctx, "nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("EventSources of a missing function = %v", err)
	}
}

func TestPermissions(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 2)
	must(t, e.Server.AddPermission(fn, "1", lambdatest.Permission{Sid: "anyone", Principal: "*"}))
	must(t, e.Server.AddPermission(fn, "1", lambdatest.Permission{Sid: "from-bucket", Principal: "s3.amazonaws.com", SourceArn: "arn:aws:s3:::uploads"}))
	must(t, e.Server.AddPermission(fn, "1", lambdatest.Permission{Sid: "star-with-source", Principal: "*", SourceArn: "arn:aws:sns:us-east-1:123456789012:topic"}))
	must(t, e.Server.AddPermission(fn, "1", lambdatest.Permission{Sid: "star-with-account", Principal: "*", SourceAccount: "123456789012"}))
	must(t, e.Server.AddPermission(fn, "1", lambdatest.Permission{Sid: "url", Principal: "*", Action: "lambda:InvokeFunctionUrl", FunctionURLAuthType: "NONE"}))
	must(t, e.Server.AddPermission(fn, "1", lambdatest.Permission{Sid: "iam-url", Principal: "*", Action: "lambda:InvokeFunctionUrl", FunctionURLAuthType: "AWS_IAM"}))
	must(t, e.Server.AddPermission(fn, "", lambdatest.Permission{Sid: "other-account", Principal: "210987654321"}))
	e.Ops()

	got, err := e.Provider.Permissions(ctx, fn, "1")
	must(t, err)
	want := []provider.Permission{
		{ID: "anyone", Principal: "*", Action: "lambda:InvokeFunction", Public: true},
		{ID: "from-bucket", Principal: "s3.amazonaws.com", Action: "lambda:InvokeFunction"},
		{ID: "star-with-source", Principal: "*", Action: "lambda:InvokeFunction"},
		{ID: "star-with-account", Principal: "*", Action: "lambda:InvokeFunction"},
		{ID: "url", Principal: "*", Action: "lambda:InvokeFunctionUrl", Public: true},
		{ID: "iam-url", Principal: "*", Action: "lambda:InvokeFunctionUrl"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Permissions(1) (-want +got):\n%s", diff)
	}
	awslambdatest.OpsEqual(t, "permissions", e.Ops(), "GetPolicy")

	fnPerms, err := e.Provider.Permissions(ctx, fn, "")
	must(t, err)
	if len(fnPerms) != 1 || fnPerms[0].Principal != "arn:aws:iam::210987654321:root" || fnPerms[0].Public {
		t.Fatalf("Permissions(unqualified) = %+v", fnPerms)
	}

	// No policy: no permissions, told apart from a missing version.
	none, err := e.Provider.Permissions(ctx, fn, "2")
	if err != nil || len(none) != 0 {
		t.Fatalf("Permissions(2) = %v, %v; want none", none, err)
	}
	awslambdatest.OpsEqual(t, "permissions without a policy", e.Ops(), "GetPolicy", "GetPolicy", "GetFunctionConfiguration")
	if _, err := e.Provider.Permissions(ctx, fn, "9"); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("Permissions(9) = %v, want ErrNotFound", err)
	}
	if _, err := e.Provider.Permissions(ctx, "nope", ""); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("Permissions of a missing function = %v, want ErrNotFound", err)
	}
}

// The optional powers survive provider.WithRetry, which forwards them.
func TestOptionalPowersThroughWithRetry(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	p := provider.WithRetry(e.Provider, provider.RetryPolicy{})
	if _, err := p.(provider.EventSourceLister).EventSources(context.Background(), fn); err != nil {
		t.Fatalf("EventSources through WithRetry = %v", err)
	}
	if _, err := p.(provider.PermissionReader).Permissions(context.Background(), fn, ""); err != nil {
		t.Fatalf("Permissions through WithRetry = %v", err)
	}
	if _, err := p.(provider.UsageReporter).Usage(context.Background(), fn); err != nil {
		t.Fatalf("Usage through WithRetry = %v", err)
	}
}

// Capabilities.UsageRequests is what one Usage call sends when each listing
// fits a page, so that a caller budgeting requests (package retention)
// counts them all.
func TestUsageRequestsMatchesCapabilities(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	e.PublishN(t, 2)
	e.Ops()
	if _, err := e.Provider.Usage(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	got := e.Ops()
	awslambdatest.OpsEqual(t, "usage", got, "ListProvisionedConcurrencyConfigs", "ListEventSourceMappings")
	if n := e.Provider.Capabilities().UsageRequests; n != len(got) {
		t.Errorf("Capabilities().UsageRequests = %d, Usage sent %d requests", n, len(got))
	}
}
