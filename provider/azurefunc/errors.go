package azurefunc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/slipway-dev/slipway/provider"
)

// Error translation. ARM answers errors as {"error":{"code","message"}}
// with an HTTP status; azcore turns them into *azcore.ResponseError
// (ErrorCode, StatusCode, RawResponse), which stays in the chain:
//
//	404 (ResourceNotFound, …)            → ErrNotFound
//	409 (Conflict: a swap in progress…)  → ErrConflict (ErrInUse where a caller asks)
//	412                                  → ErrConflict
//	400 (BadRequest, InvalidRequestContent, MissingApiVersionParameter, …)
//	                                     → ErrInvalid
//	429 (TooManyRequests)                → *provider.ThrottleError with Retry-After
//	5xx, transport failures              → ErrUnavailable
//
// Other statuses (401, 403) keep the SDK error only. Context cancellation
// is returned as is.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
	}
	switch s := re.StatusCode; {
	case s == http.StatusNotFound:
		return fmt.Errorf("%w: %w", provider.ErrNotFound, err)
	case s == http.StatusConflict, s == http.StatusPreconditionFailed:
		return fmt.Errorf("%w: %w", provider.ErrConflict, err)
	case s == http.StatusBadRequest:
		return fmt.Errorf("%w: %w", provider.ErrInvalid, err)
	case s == http.StatusTooManyRequests:
		return &provider.ThrottleError{RetryAfter: retryAfter(re.RawResponse), Err: err}
	case s >= 500:
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
	default:
		return err
	}
}

// isNotFound reports whether err is a 404 from ARM.
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// retryAfter reads a throttle's hint: retry-after-ms or x-ms-retry-after-ms
// (milliseconds), else Retry-After in seconds or as an HTTP date — the
// headers azcore's own retry policy reads, in its order. 0 when absent.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	for _, h := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := resp.Header.Get(h); v != "" {
			if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs > 0 && secs <= 24*3600 {
			return time.Duration(secs * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
