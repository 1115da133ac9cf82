package provider

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Providers return errors that wrap one of them (with %w),
// and adapters keep the platform's own error in the chain as well.
var (
	// ErrNotFound: the function, version or route does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-swap failed (stale revision token, route
	// already exists) or the platform refused because of a concurrent
	// update. Nothing was changed.
	ErrConflict = errors.New("conflict")
	// ErrInUse: the version is referenced by a route (or is the newest
	// version, or is otherwise in use) and cannot be deleted.
	ErrInUse = errors.New("in use")
	// ErrThrottled: the platform rate-limited the call. Nothing was changed;
	// the call may be retried, after RetryAfter(err) when it reports a hint.
	ErrThrottled = errors.New("throttled")
	// ErrInvalid: the input is malformed. It was rejected before any state
	// changed; the message names the field.
	ErrInvalid = errors.New("invalid argument")
	// ErrUnsupported: the request is well-formed but beyond the platform's
	// Capabilities.
	ErrUnsupported = errors.New("unsupported")
	// ErrUnavailable: the platform failed transiently (a 5xx, a timeout).
	// The call may or may not have taken effect; it is safe to retry reads,
	// and writes guarded by a revision token.
	ErrUnavailable = errors.New("unavailable")
)

// Error records a failed operation on one function. Providers return it (or
// wrap it) so callers can read the operation and the function; Err wraps a
// sentinel and, for adapters, the platform's error.
type Error struct {
	Op       string // "publish", "set route", "delete version", …
	Function string
	Err      error
}

func (e *Error) Error() string {
	if e.Function == "" {
		return e.Op + ": " + e.Err.Error()
	}
	return e.Op + " " + e.Function + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ThrottleError is a throttling refusal that carries the platform's
// retry-after hint. It matches ErrThrottled under errors.Is.
type ThrottleError struct {
	// RetryAfter is how long the platform asked the caller to wait; 0 when
	// it gave no hint.
	RetryAfter time.Duration
	// Err is the platform's error, if any.
	Err error
}

func (e *ThrottleError) Error() string {
	msg := "throttled"
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

func (e *ThrottleError) Unwrap() error { return e.Err }

// RetryAfter returns the retry-after hint carried by err, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var te *ThrottleError
	if errors.As(err, &te) && te.RetryAfter > 0 {
		return te.RetryAfter, true
	}
	return 0, false
}

// Retryable reports whether err is worth retrying: throttling or a
// transient platform failure. Context errors are not retryable.
func Retryable(err error) bool {
	return errors.Is(err, ErrThrottled) || errors.Is(err, ErrUnavailable)
}

// InvalidError is an ErrInvalid failure naming the argument at fault.
type InvalidError struct {
	What  string // the object, e.g. `route "prod"`; may be empty
	Field string // e.g. "weights[1].basisPoints"
	Msg   string
}

func (e *InvalidError) Error() string {
	s := "invalid argument: "
	if e.What != "" {
		s += e.What + ": "
	}
	return s + e.Field + " " + e.Msg
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(what, field, msg string) error {
	return &InvalidError{What: what, Field: field, Msg: msg}
}

// Invalid returns an error wrapping ErrInvalid that names field; what names
// the object (it may be empty).
func Invalid(what, field, msg string) error { return invalid(what, field, msg) }
