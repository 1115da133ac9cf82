package provider_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// bare implements Provider only (every method fails); the wrapper must
// answer ErrUnsupported for the powers it lacks.
type bare struct{ provider.Provider }

func TestWithRetry_NewPowersUnsupported(t *testing.T) {
	p := provider.WithRetry(bare{}, provider.RetryPolicy{})
	ctx := context.Background()
	if _, err := p.(provider.Invoker).Invoke(ctx, "fn", provider.InvokeInput{Qualifier: "1"}); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("Invoke: %v", err)
	}
	if err := p.(provider.PermissionRemover).RemovePermission(ctx, "fn", "1", "s"); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("RemovePermission: %v", err)
	}
	if _, err := p.(provider.EventSourceUpdater).UpdateEventSource(ctx, "fn", "m", "live"); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("UpdateEventSource: %v", err)
	}
}

// invoker fails with each error in turn, then succeeds.
type invoker struct {
	bare
	errs  []error
	calls int
}

func (i *invoker) Invoke(context.Context, string, provider.InvokeInput) (provider.InvokeOutput, error) {
	i.calls++
	if len(i.errs) > 0 {
		err := i.errs[0]
		i.errs = i.errs[1:]
		return provider.InvokeOutput{}, err
	}
	return provider.InvokeOutput{Status: 200}, nil
}

func TestWithRetry_InvokeRetriesThrottlingOnly(t *testing.T) {
	noSleep := provider.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }}
	iv := &invoker{errs: []error{&provider.ThrottleError{}, &provider.ThrottleError{}}}
	out, err := provider.WithRetry(iv, noSleep).(provider.Invoker).Invoke(context.Background(), "fn", provider.InvokeInput{Qualifier: "1"})
	if err != nil || out.Status != 200 || iv.calls != 3 {
		t.Errorf("throttled twice: %+v %v after %d calls", out, err, iv.calls)
	}
	iv = &invoker{errs: []error{provider.ErrUnavailable}}
	_, err = provider.WithRetry(iv, noSleep).(provider.Invoker).Invoke(context.Background(), "fn", provider.InvokeInput{Qualifier: "1"})
	if !errors.Is(err, provider.ErrUnavailable) || iv.calls != 1 {
		t.Errorf("an invocation that may have run was retried: %v after %d calls", err, iv.calls)
	}
}
