package provider

import (
	"context"
	"fmt"
)

// More optional powers (see optional.go): invoking a version or a route, and
// the two fixes the release package's lock-down and remap steps apply.

// Invoker invokes a function synchronously, as a caller would, for contract
// replay, synthetic traffic and rollback drills.
//
// Invoke runs one request against in.Qualifier (a version ID or a route's
// alias; never the unpublished code) with in.Payload as the request body
// and waits for the answer. A function that ran and failed is not an error
// of Invoke: it is reported in InvokeOutput.FunctionError with the
// function's error document as Body. Errors are for requests that did not
// run the function: ErrInvalid for an empty qualifier or a payload the
// platform refuses (too large, not JSON), ErrNotFound when the function or
// the qualifier does not exist, ErrThrottled when the platform refused to
// run it now. A throttled invocation did not run and may be retried; an
// ErrUnavailable one may or may not have run.
type Invoker interface {
	Invoke(ctx context.Context, fn string, in InvokeInput) (InvokeOutput, error)
}

// InvokeInput is one synchronous invocation.
type InvokeInput struct {
	// Qualifier names a version ID or an alias. A route that splits traffic
	// picks one of its versions as it does for any caller; to reach one
	// version, name it.
	Qualifier string `json:"qualifier"`
	// Payload is the request body (JSON on Lambda). Nil sends an empty body.
	Payload []byte `json:"payload,omitempty"`
}

// Validate checks the input: a qualifier is required.
func (in InvokeInput) Validate() error {
	return CheckName("qualifier", in.Qualifier)
}

// CheckPayload refuses with ErrInvalid a payload over max bytes, the limit
// of a platform that takes (as in "… takes at most max"), before any call.
func (in InvokeInput) CheckPayload(max int, takes string) error {
	if len(in.Payload) > max {
		return invalid("", "payload", fmt.Sprintf("is %d bytes; %s takes at most %d", len(in.Payload), takes, max))
	}
	return nil
}

// InvokeOutput is what an invocation returned.
type InvokeOutput struct {
	// Status is the platform's status for the request (Lambda: 200 for a
	// synchronous invocation that ran, whatever the function did).
	Status int `json:"status"`
	// FunctionError is empty when the function succeeded; otherwise the
	// platform's classification (Lambda's X-Amz-Function-Error, "Unhandled"
	// or "Handled"), with the error document in Body.
	FunctionError string `json:"functionError,omitempty"`
	// Body is the function's response, or its error document.
	Body []byte `json:"body,omitempty"`
	// ExecutedVersion is the version that ran (for an alias, the one the
	// route picked); empty when the platform does not say.
	ExecutedVersion string `json:"executedVersion,omitempty"`
}

// Failed reports whether the function ran and failed.
func (o InvokeOutput) Failed() bool { return o.FunctionError != "" }

// PermissionRemover removes one statement of a resource-based invoke policy
// (Lambda's RemovePermission), from the unqualified function (qualifier "")
// or from one version or alias. Errors: ErrNotFound when the function, the
// qualifier or the statement does not exist; ErrConflict when the policy
// changed concurrently.
type PermissionRemover interface {
	RemovePermission(ctx context.Context, fn, qualifier, id string) error
}

// EventSourceUpdater repoints an event-source mapping of fn (EventSource.ID)
// at another qualifier of the same function: an alias, a version, or ""
// for the unqualified function (Lambda's UpdateEventSourceMapping with a
// qualified FunctionName). It returns the mapping as it is afterwards.
// Errors: ErrNotFound when the function, the qualifier or the mapping does
// not exist (or the mapping belongs to another function); ErrConflict when
// the mapping is busy (being created, updated or deleted).
type EventSourceUpdater interface {
	UpdateEventSource(ctx context.Context, fn, id, qualifier string) (EventSource, error)
}
