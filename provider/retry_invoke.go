package provider

import (
	"context"
	"errors"
)

var (
	_ Invoker            = (*retrying)(nil)
	_ PermissionRemover  = (*retrying)(nil)
	_ EventSourceUpdater = (*retrying)(nil)
)

// Invoke retries only throttling: a throttled invocation did not run, while
// one that failed with ErrUnavailable may have, and an invocation is not
// idempotent in general.
func (r *retrying) Invoke(ctx context.Context, fn string, in InvokeInput) (out InvokeOutput, err error) {
	iv, ok := r.p.(Invoker)
	if !ok {
		return InvokeOutput{}, &Error{Op: "invoke", Function: fn, Err: ErrUnsupported}
	}
	pol := r.pol
	err = pol.Do(ctx, func(ctx context.Context) error {
		out, err = iv.Invoke(ctx, fn, in)
		if err != nil && !errors.Is(err, ErrThrottled) {
			return permanent{err}
		}
		return err
	})
	var p permanent
	if errors.As(err, &p) {
		err = p.err
	}
	return out, err
}

// permanent hides an error from Retryable.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }

// RemovePermission retries; a retry after ErrUnavailable that meets
// ErrNotFound is a success (the first attempt did remove it).
func (r *retrying) RemovePermission(ctx context.Context, fn, qualifier, id string) error {
	pr, ok := r.p.(PermissionRemover)
	if !ok {
		return &Error{Op: "remove permission", Function: fn, Err: ErrUnsupported}
	}
	uncertain := false
	return r.pol.Do(ctx, func(ctx context.Context) error {
		err := pr.RemovePermission(ctx, fn, qualifier, id)
		if uncertain && errors.Is(err, ErrNotFound) {
			return nil
		}
		if errors.Is(err, ErrUnavailable) {
			uncertain = true
		}
		return err
	})
}

// UpdateEventSource retries: repointing a mapping at the same qualifier
// twice is harmless.
func (r *retrying) UpdateEventSource(ctx context.Context, fn, id, qualifier string) (es EventSource, err error) {
	u, ok := r.p.(EventSourceUpdater)
	if !ok {
		return EventSource{}, &Error{Op: "update event source", Function: fn, Err: ErrUnsupported}
	}
	err = r.pol.Do(ctx, func(ctx context.Context) error {
		es, err = u.UpdateEventSource(ctx, fn, id, qualifier)
		return err
	})
	return es, err
}
