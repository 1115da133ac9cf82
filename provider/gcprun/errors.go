package gcprun

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/slipway-dev/slipway/provider"
)

// Error translation. gRPC status codes (google.rpc.Code, AIP-193) map to
// the contract's sentinels; the client's error stays in the chain, so
// errors.Is(err, provider.ErrConflict) and status.FromError (or
// errors.As(err, new(*apierror.APIError))) both work.
//
//	NOT_FOUND                                 → ErrNotFound
//	ABORTED (stale etag, AIP-154), ALREADY_EXISTS,
//	FAILED_PRECONDITION                       → ErrConflict; ErrInUse for DeleteRevision
//	INVALID_ARGUMENT, OUT_OF_RANGE            → ErrInvalid
//	RESOURCE_EXHAUSTED                        → *provider.ThrottleError (ErrThrottled) with RetryInfo.retry_delay
//	UNAVAILABLE, INTERNAL, UNKNOWN,
//	DEADLINE_EXCEEDED (context still live)    → ErrUnavailable
//
// PERMISSION_DENIED and UNAUTHENTICATED keep the client's error only.
// When the context ended, the context's error is in the chain
// (errors.Is(err, context.Canceled)).

// conflictMeans selects the sentinel for FAILED_PRECONDITION.
type conflictMeans int

const (
	conflictIsConflict conflictMeans = iota
	conflictIsInUse
)

func translate(ctx context.Context, err error, means conflictMeans) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
	}
	switch st.Code() {
	case codes.NotFound:
		return fmt.Errorf("%w: %w", provider.ErrNotFound, err)
	case codes.Aborted, codes.AlreadyExists:
		return fmt.Errorf("%w: %w", provider.ErrConflict, err)
	case codes.FailedPrecondition:
		if means == conflictIsInUse {
			return fmt.Errorf("%w: %w", provider.ErrInUse, err)
		}
		return fmt.Errorf("%w: %w", provider.ErrConflict, err)
	case codes.InvalidArgument, codes.OutOfRange:
		return fmt.Errorf("%w: %w", provider.ErrInvalid, err)
	case codes.ResourceExhausted:
		return &provider.ThrottleError{RetryAfter: retryDelay(st), Err: err}
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.DeadlineExceeded:
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
	}
	return err
}

// retryDelay reads the google.rpc.RetryInfo detail; 0 when absent.
func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			if d := ri.GetRetryDelay().AsDuration(); d > 0 && d <= 24*time.Hour {
				return d
			}
		}
	}
	return 0
}

// isCode reports whether err carries the gRPC code c.
func isCode(err error, c codes.Code) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == c
}
