// Package provider is the platform contract of slipway: one small interface
// that makes AWS Lambda, Cloud Run functions and Azure Functions look alike to
// the canary, retention and release packages.
//
// A Provider publishes immutable versions of a function, reads them, points
// routes (aliases, stages) at them with weighted traffic, and deletes old
// ones. Metrics, a separate interface, reads per-version traffic so a check
// can compare a candidate with the stable version over the same window.
// Functions are named per call, so one value serves a fleet.
//
// # The vocabulary on each platform
//
//	concept          AWS Lambda                      Cloud Run functions (gen2)          Azure Functions
//	function         function                        Cloud Run service                   function app (site)
//	Version          published version "1","2",…     revision "svc-00042-abc"            package URL/hash + settings snapshot
//	                 (PublishVersion)                (one per deploy)                    recorded by the adapter (no native version)
//	Route            alias                           the service's traffic split, or a   production slot with a ramp-up rule,
//	                                                 tag pinning one revision            or a named slot
//	Route.Weights    FunctionVersion + one entry of  traffic targets, integer percents   production + reroutePercentage to one slot
//	                 RoutingConfig.AdditionalVersion-
//	                 Weights (weight in [0,1))
//	Route.Revision   alias RevisionId (412 stale)    service etag (ABORTED when stale)   derived by the adapter from the config it read
//	DeleteVersion    DeleteFunction?Qualifier=N      DeleteRevision                      delete the old package blob
//	                 (409 while an alias uses it)    (refused while serving)
//	Metrics          CloudWatch AWS/Lambda by        Cloud Monitoring request_count,     Azure Monitor Requests, Http5xx,
//	                 Resource=fn:alias,              request_latencies by revision_name   HttpResponseTime per slot
//	                 ExecutedVersion
//
// Capabilities states where the platforms differ, so a caller can validate a
// plan before making any call: Lambda routes split across at most two
// versions with 1-basis-point granularity; Cloud Run splits only the
// service's own traffic, in whole percents (Granularity 100), while tags pin
// one revision; Azure splits only production, with one ramp-up slot.
//
// # Traffic in basis points
//
// A Route's weights are integer basis points (1/100 of a percent) that sum to
// 10000, so 1% is 100 and a 5% canary is 500. Integer arithmetic means a
// route read back compares equal to the route written: Lambda's float weight
// 0.05 is converted to 500 and back without drift, and a Cloud Run percent p
// is p·100.
//
// # Errors
//
// Every error wraps one of ErrNotFound, ErrConflict, ErrInUse, ErrThrottled,
// ErrInvalid, ErrUnsupported or ErrUnavailable, usually inside an *Error that
// names the operation and the function; adapters keep the platform's error in
// the chain. Throttling errors that carry a retry-after hint are
// *ThrottleError (see RetryAfter). Invalid input is always rejected with
// ErrInvalid before any state changes, and the message names the field.
//
// # Retries
//
// WithRetry and WithRetryMetrics wrap an implementation so every caller gets
// the same jittered, context-bounded retries of throttling and transient
// failures; RetryPolicy.Do retries any call.
//
// # Optional powers
//
// What only some platforms can answer is a separate interface found by type
// assertion: UsageReporter (provisioned concurrency, pinned triggers),
// EventSourceLister and PermissionReader (safety checks of the release
// package), Invoker (contract replay, synthetic traffic, drills),
// PermissionRemover and EventSourceUpdater (lock-down and remap). A wrapper implements them all and answers ErrUnsupported for what
// the wrapped provider lacks; callers report that as "not checked".
//
// # Implementations
//
// provider/memory is a complete in-memory provider with synthetic metrics and
// fault injection, the embedded default. provider/awslambda adapts AWS Lambda
// and CloudWatch through aws-sdk-go-v2, and ships an in-process emulator of
// both APIs in provider/awslambda/lambdatest.
//
// # Testing
//
// Package provider/providertest is the conformance suite: providertest.Run
// checks any implementation against this contract, as testing/fstest checks
// an fs.FS.
package provider
