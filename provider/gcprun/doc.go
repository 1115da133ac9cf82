// Package gcprun adapts Cloud Run functions (Cloud Functions 2nd gen, which
// runs each function as a Cloud Run service) to slipway's provider
// contract: a Provider builds and deploys revisions, splits the service's
// traffic between them and pins traffic tags, deletes old revisions, and
// reads per-revision Cloud Monitoring metrics for the canary package's
// checks. It depends on package provider and the Google Cloud Go clients
// only (cloud.google.com/go/functions/apiv2, run/apiv2, monitoring/apiv3/v2
// and their gRPC stack).
//
//	p, err := gcprun.New(ctx, gcprun.Options{Project: "my-project", Location: "us-central1"})
//	defer p.Close()
//	prov := provider.WithRetry(p, provider.RetryPolicy{})
//	metrics := provider.WithRetryMetrics(p, provider.RetryPolicy{})
//
// # Mapping
//
//	provider             Cloud Run functions
//	function             Cloud Functions function projects/P/locations/L/functions/F and its
//	                     Cloud Run service (Function.service_config.service)
//	Version              a revision of the service (ID "F-00007-xiz"); Publish's record of it
//	                     (code SHA-256, configuration, description, labels) is kept in the
//	                     service annotation slipway.dev/versions (with Options.Services also in
//	                     the revision's own annotation slipway.dev/version)
//	Publish              [CreateFunction |] GenerateUploadUrl + HTTP PUT of the zip → UpdateFunction
//	                     (long-running operation, all_traffic_on_latest_revision false)
//	Publish (Services)   UpdateService(template, annotations) of a container image, CreateService
//	                     for a new service; the revision is named after image and configuration
//	Version, Versions    GetRevision, ListRevisions (100 a page)
//	Route "live"         the service's traffic split: the untagged traffic targets, whole percents
//	Route "<tag>"        a traffic tag pinning one revision (its own URL https://TAG---SERVICE…)
//	Route.Revision       per-route token: write counter (annotation slipway.dev/routes) + digest
//	SetRoute             UpdateService(traffic, annotations) with the service etag, then wait
//	                     for the operation and for reconciling=false with traffic_statuses = traffic
//	DeleteVersion        DeleteRevision (refused while serving, tagged or latest: ErrInUse)
//	Observe              Cloud Monitoring ListTimeSeries of run.googleapis.com/request_count and
//	                     request_latencies by revision_name
//	EventSources         Function.event_trigger (Eventarc)
//	Permissions          Run GetIamPolicy: members of roles/run.invoker (and roles that include it)
//	Usage                none: nothing but the traffic list pins a revision
//	Invoke               HTTP POST to the service's URL (the split route) or a tag's URL
//	                     (Options.InvokeClient; an untagged revision is ErrUnsupported)
//
// With Options.Services a function name is a Cloud Run service managed
// directly with the Cloud Run Admin API (no Cloud Functions resource), and
// Publish deploys container images (Artifact.Image) instead of building
// source; everything else is the same.
//
// Capabilities: any number of revisions in the split route, weights in
// whole percents (Granularity 100 basis points), deletable revisions, and
// only the split route may split (a tag reaches exactly one revision). A
// strategy that needs a finer weight (say 0.5%) is refused by
// Capabilities.CheckRoute before any call.
//
// A new function's traffic list sends 100% to the latest revision and
// follows each deploy, as Cloud Run does by default; while every untagged
// target is LATEST the split route does not exist (Route answers
// ErrNotFound), so no route ever moves on its own. SetRoute with an empty
// revision creates it by naming revisions; from then on a deploy gives the
// new revision no traffic (Cloud Run's "lifecycle of traffic splits";
// Publish never sends all_traffic_on_latest_revision=true to an existing
// function).
//
// # Concurrency
//
// Every write of the service carries the etag read just before; Cloud Run
// refuses a stale one with ABORTED (AIP-154). SetRoute re-reads and retries
// when the etag changed because of another route or a record, and fails
// with ErrConflict when the route itself changed. Publish takes a lease
// (annotation slipway.dev/publish-lease, written with the etag) before it
// deploys, so two publishes of one function do not both deploy, and a
// second publish of the same code finds the first one's revision.
//
// # Retries
//
// New clears the generated clients' default call options (their timeouts
// and real-time retries of UNAVAILABLE), so RESOURCE_EXHAUSTED reaches the
// caller as *provider.ThrottleError with the google.rpc.RetryInfo delay and
// provider.WithRetry is the one retry layer.
//
// # Credentials
//
// New builds its clients with the standard Google auth chain (Application
// Default Credentials). The endpoint is replaced only through client
// options (option.WithEndpoint), so tests run the production code path.
// The adapter logs function, route and revision names only.
//
// # Testing
//
// Package provider/gcprun/runtest is an in-process gRPC emulator of the
// Functions v2, Cloud Run v2 Services and Revisions, long-running
// Operations and Monitoring ListTimeSeries services this package calls,
// with the upload URL served over HTTP; pass its ClientOptions to New. The
// adapter passes provider/providertest against it.
package gcprun
