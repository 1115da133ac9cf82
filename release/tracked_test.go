package release

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// The provider the canary runner drives keeps the optional powers of the
// one it wraps (provider/doc.go: a wrapper implements them all): the
// answers are the wrapped provider's, and ErrUnsupported where it lacks
// the power.
func TestTrackedForwardsOptionalPowers(t *testing.T) {
	ctx := context.Background()
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, mem, fn, artifact("v1")); err != nil {
		t.Fatal(err)
	}
	usage := []provider.Usage{{Version: "1", Reason: "provisioned concurrency"}}
	sources := []provider.EventSource{{ID: "m1", Source: "arn:aws:sqs:eu-west-1:1:q", Qualifier: "1", State: "Enabled"}}
	perms := []provider.Permission{{ID: "s1", Principal: "*", Action: "lambda:InvokeFunction", Public: true}}
	mem.SetUsage(fn, usage)
	mem.SetEventSources(fn, sources)
	mem.SetPermissions(fn, "1", perms)

	f := newFixture(t, nil)
	r := &run{w: f.w, fn: fn}
	var p provider.Provider = &tracked{Provider: mem, r: r}

	u, ok := p.(provider.UsageReporter)
	if !ok {
		t.Fatal("tracked is not a provider.UsageReporter")
	}
	gotU, err := u.Usage(ctx, fn)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(usage, gotU); diff != "" {
		t.Errorf("Usage (-wrapped +tracked):\n%s", diff)
	}
	l, ok := p.(provider.EventSourceLister)
	if !ok {
		t.Fatal("tracked is not a provider.EventSourceLister")
	}
	gotES, err := l.EventSources(ctx, fn)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sources, gotES); diff != "" {
		t.Errorf("EventSources (-wrapped +tracked):\n%s", diff)
	}
	pr, ok := p.(provider.PermissionReader)
	if !ok {
		t.Fatal("tracked is not a provider.PermissionReader")
	}
	gotP, err := pr.Permissions(ctx, fn, "1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(perms, gotP); diff != "" {
		t.Errorf("Permissions (-wrapped +tracked):\n%s", diff)
	}
	// The wrapped provider's errors come through unchanged.
	if _, err := u.Usage(ctx, "nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Usage of an unknown function = %v, want ErrNotFound", err)
	}

	// A provider without the powers: the wrapper says so.
	bare := &tracked{Provider: struct{ provider.Provider }{mem}, r: r}
	for name, call := range map[string]func() error{
		"Usage":        func() error { _, err := bare.Usage(ctx, fn); return err },
		"EventSources": func() error { _, err := bare.EventSources(ctx, fn); return err },
		"Permissions":  func() error { _, err := bare.Permissions(ctx, fn, "1"); return err },
	} {
		if err := call(); !errors.Is(err, provider.ErrUnsupported) {
			t.Errorf("%s over a provider without it = %v, want ErrUnsupported", name, err)
		}
	}
}

// The runner a release drives gets the options' runner settings and a
// tracked provider, and the caller's own Runner.OnEvent sees the canary's
// progress besides the workflow.
func TestRunnerOptionsReachTheCanary(t *testing.T) {
	var progress int
	f := newFixture(t, func(o *Options) {
		o.Runner.OnEvent = func(e canary.ProgressEvent) { progress++ }
	})
	if _, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2")}); err != nil {
		t.Fatal(err)
	}
	if progress == 0 {
		t.Error("Runner.OnEvent saw no progress of the canary")
	}
}
