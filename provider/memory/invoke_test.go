package memory

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

func TestInvokeHandlersPerVersion(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{Seed: 7})
	mustPublish(t, p, "fn", "a")
	mustPublish(t, p, "fn", "b")
	mustSetRoute(t, p, "fn", provider.Split("live", "1", "2", 2500))
	p.SetHandler("fn", "1", func(_ context.Context, b []byte) ([]byte, error) { return append([]byte("v1:"), b...), nil })
	p.SetHandler("fn", "2", func(context.Context, []byte) ([]byte, error) {
		return nil, &FunctionError{Type: "Schema", Message: "missing field"}
	})

	got, err := p.Invoke(ctx, "fn", provider.InvokeInput{Qualifier: "1", Payload: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(provider.InvokeOutput{Status: 200, Body: []byte("v1:x"), ExecutedVersion: "1"}, got); diff != "" {
		t.Errorf("version 1 (-want +got):\n%s", diff)
	}
	got, err = p.Invoke(ctx, "fn", provider.InvokeInput{Qualifier: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(provider.InvokeOutput{Status: 200, FunctionError: "Unhandled", ExecutedVersion: "2",
		Body: []byte(`{"errorType":"Schema","errorMessage":"missing field"}`)}, got); diff != "" {
		t.Errorf("version 2 (-want +got):\n%s", diff)
	}
	// The alias splits by weight: about a quarter to version 2.
	n2 := 0
	for range 2000 {
		got, err := p.Invoke(ctx, "fn", provider.InvokeInput{Qualifier: "live"})
		if err != nil {
			t.Fatal(err)
		}
		if got.ExecutedVersion == "2" {
			n2++
		}
	}
	if n2 < 400 || n2 > 600 {
		t.Errorf("version 2 ran %d of 2000 invocations of a 25%% split", n2)
	}
	// No handler: "null".
	p.SetHandler("fn", "1", nil)
	got, _ = p.Invoke(ctx, "fn", provider.InvokeInput{Qualifier: "1"})
	if string(got.Body) != "null" || got.Failed() {
		t.Errorf("without a handler: %+v", got)
	}
	for _, tc := range []struct {
		fn, q string
		want  error
	}{{"fn", "", provider.ErrInvalid}, {"fn", "9", provider.ErrNotFound}, {"fn", "staging", provider.ErrNotFound}, {"nope", "1", provider.ErrNotFound}} {
		if _, err := p.Invoke(ctx, tc.fn, provider.InvokeInput{Qualifier: tc.q}); !errors.Is(err, tc.want) {
			t.Errorf("Invoke(%q, %q) = %v, want %v", tc.fn, tc.q, err, tc.want)
		}
	}
	p.Inject(Fault{Ops: []string{OpInvoke}, Err: &provider.ThrottleError{}, Count: 1})
	if _, err := p.Invoke(ctx, "fn", provider.InvokeInput{Qualifier: "1"}); !errors.Is(err, provider.ErrThrottled) {
		t.Errorf("injected throttle: %v", err)
	}
	// The retrying wrapper forwards Invoke and retries the throttle.
	p.Inject(Fault{Ops: []string{OpInvoke}, Err: &provider.ThrottleError{}, Count: 1})
	rp := provider.WithRetry(p, provider.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }})
	if _, err := rp.(provider.Invoker).Invoke(ctx, "fn", provider.InvokeInput{Qualifier: "1"}); err != nil {
		t.Errorf("retried invoke: %v", err)
	}
}

func TestRemovePermissionAndUpdateEventSource(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	mustSetRoute(t, p, "fn", provider.To("live", "1"))
	p.SetPermissions("fn", "1", []provider.Permission{{ID: "public", Principal: "*", Public: true}, {ID: "s3", Principal: "s3.amazonaws.com"}})
	p.SetEventSources("fn", []provider.EventSource{{ID: "m1", Source: "arn:aws:sqs:::q", Qualifier: "1", State: "Enabled"}})

	if err := p.RemovePermission(ctx, "fn", "1", "public"); err != nil {
		t.Fatal(err)
	}
	ps, _ := p.Permissions(ctx, "fn", "1")
	if diff := cmp.Diff([]provider.Permission{{ID: "s3", Principal: "s3.amazonaws.com"}}, ps); diff != "" {
		t.Errorf("permissions (-want +got):\n%s", diff)
	}
	if err := p.RemovePermission(ctx, "fn", "1", "public"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("second removal: %v", err)
	}
	if err := p.RemovePermission(ctx, "fn", "7", "s3"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("missing qualifier: %v", err)
	}
	es, err := p.UpdateEventSource(ctx, "fn", "m1", "live")
	if err != nil {
		t.Fatal(err)
	}
	if es.Qualifier != "live" {
		t.Errorf("UpdateEventSource = %+v", es)
	}
	list, _ := p.EventSources(ctx, "fn")
	if list[0].Qualifier != "live" {
		t.Errorf("EventSources = %+v", list)
	}
	if _, err := p.UpdateEventSource(ctx, "fn", "m2", "live"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("missing mapping: %v", err)
	}
	if _, err := p.UpdateEventSource(ctx, "fn", "m1", "staging"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("missing alias: %v", err)
	}
}
