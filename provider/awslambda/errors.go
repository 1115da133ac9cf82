package awslambda

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/slipway-dev/slipway/provider"
)

// Error translation. The Lambda and CloudWatch error codes (the
// X-Amzn-ErrorType header, or __type for CloudWatch's RPC v2 CBOR) map to
// the contract's sentinels; the SDK's error stays in the chain, so both
// errors.Is(err, provider.ErrConflict) and
// errors.As(err, new(*types.PreconditionFailedException)) hold.
//
//	ResourceNotFoundException                       → ErrNotFound
//	PreconditionFailedException (412, stale RevisionId) → ErrConflict
//	ResourceConflictException (409)                 → ErrConflict; ErrInUse for DeleteVersion
//	InvalidParameterValueException, ValidationException,
//	InvalidRequestContentException, RequestTooLargeException,
//	CloudWatch InvalidParameterValue/Combination, MissingParameter,
//	InvalidNextToken                                → ErrInvalid
//	TooManyRequestsException (429), CloudWatch Throttling
//	                                                → *provider.ThrottleError (ErrThrottled) with Retry-After
//	CodeStorageExceededException                    → ErrUnsupported (the account's code storage quota)
//	ServiceException, other 5xx, ResourceNotReadyException,
//	transport failures (no response)                → ErrUnavailable
//
// Errors the contract has no sentinel for (AccessDeniedException, KMS and
// code-signing refusals, expired credentials) keep the SDK error only.
// Context cancellation is returned as is (errors.Is(err, context.Canceled)).

// conflictMeans selects the sentinel for ResourceConflictException.
type conflictMeans int

const (
	conflictIsConflict conflictMeans = iota
	conflictIsInUse
)

// translate maps an SDK error to the contract's vocabulary.
func translate(err error, conflict conflictMeans) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() < 500 {
			return err
		}
		// No response, or a 5xx without a decodable error.
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
	}
	switch code := api.ErrorCode(); code {
	case "ResourceNotFoundException":
		return fmt.Errorf("%w: %w", provider.ErrNotFound, err)
	case "PreconditionFailedException":
		return fmt.Errorf("%w: %w", provider.ErrConflict, err)
	case "ResourceConflictException":
		if conflict == conflictIsInUse {
			return fmt.Errorf("%w: %w", provider.ErrInUse, err)
		}
		return fmt.Errorf("%w: %w", provider.ErrConflict, err)
	case "InvalidParameterValueException", "ValidationException", "InvalidRequestContentException",
		"RequestTooLargeException", "InvalidParameterValue", "InvalidParameterCombination",
		"MissingParameter", "InvalidNextToken":
		return fmt.Errorf("%w: %w", provider.ErrInvalid, err)
	case "TooManyRequestsException", "Throttling", "ThrottlingException", "RequestLimitExceeded":
		return &provider.ThrottleError{RetryAfter: retryAfter(err), Err: err}
	case "CodeStorageExceededException":
		return fmt.Errorf("%w: code storage quota exceeded: %w", provider.ErrUnsupported, err)
	case "ServiceException", "ResourceNotReadyException", "InternalServiceError", "InternalServiceFault":
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
	default:
		if api.ErrorFault() == smithy.FaultServer {
			return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
		}
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
			return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
		}
		return err
	}
}

// retryAfter reads the throttle's hint: Lambda binds the Retry-After header
// to TooManyRequestsException.RetryAfterSeconds (SDK schemas.go); for
// other services the raw header is read. Seconds, possibly fractional;
// 0 when absent or unparsable.
func retryAfter(err error) time.Duration {
	raw := ""
	var tm *types.TooManyRequestsException
	if errors.As(err, &tm) && tm.RetryAfterSeconds != nil {
		raw = *tm.RetryAfterSeconds
	}
	if raw == "" {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.Response != nil {
			raw = re.Response.Header.Get("Retry-After")
		}
	}
	secs, perr := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if perr != nil || !(secs > 0) || secs > 24*3600 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}
