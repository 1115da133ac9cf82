package provider

import "context"

// The interfaces below are optional powers a Provider may have, found by type
// assertion as io/fs finds ReadFileFS. A wrapper (such as the one returned by
// WithRetry) implements all of them and answers ErrUnsupported where the
// provider it wraps does not, so callers must treat an error wrapping
// ErrUnsupported as "this platform cannot tell" (reported as not checked),
// never as "nothing found".

// UsageReporter reports versions that are in use for reasons other than a
// route: provisioned concurrency, event-source mappings or triggers pinned to
// a version, and the like. Retention never deletes them.
type UsageReporter interface {
	Usage(ctx context.Context, fn string) ([]Usage, error)
}

// Usage says that a version is in use and why.
type Usage struct {
	Version string `json:"version"`
	Reason  string `json:"reason"` // e.g. "provisioned concurrency", "event source arn:aws:sqs:…"
}

// EventSourceLister lists the event sources (queues, streams, triggers) that
// invoke a function.
type EventSourceLister interface {
	EventSources(ctx context.Context, fn string) ([]EventSource, error)
}

// EventSource is one event-source mapping or trigger.
type EventSource struct {
	ID     string `json:"id"`
	Source string `json:"source"` // e.g. the queue or stream ARN
	// Qualifier is what the mapping invokes: "" for the unqualified
	// function, an alias name, or a version ID. A version ID means the
	// mapping is pinned to a version and does not follow releases.
	Qualifier string `json:"qualifier,omitempty"`
	State     string `json:"state,omitempty"`
}

// PermissionReader reads the resource-based invoke permissions of a function
// or of one qualifier (version or alias).
type PermissionReader interface {
	Permissions(ctx context.Context, fn, qualifier string) ([]Permission, error)
}

// Permission is one statement of a resource policy.
type Permission struct {
	ID        string `json:"id"`
	Principal string `json:"principal"`
	Action    string `json:"action"`
	// Public is true when anyone may invoke (principal "*" with no source
	// condition, or an unauthenticated function URL).
	Public bool `json:"public"`
}
