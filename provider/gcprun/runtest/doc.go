// Package runtest is an in-process emulator of the Google Cloud services
// the gcprun adapter calls, for tests of the adapter and of users' own
// tooling: the Cloud Functions v2 FunctionService (Get/Create/Update
// function, GenerateUploadUrl, with the signed upload URL served over
// HTTP), the Cloud Run Admin API v2 Services and Revisions, the
// google.longrunning Operations service their long-running operations are
// polled with, and the Cloud Monitoring v3 MetricService's ListTimeSeries
// for run.googleapis.com/request_count and request_latencies. It speaks
// real gRPC on a loopback port, so the generated clients run their
// production code path with only the endpoint replaced:
//
//	srv := runtest.NewServer(runtest.Options{Now: clock.Now})
//	defer srv.Close()
//	p, err := gcprun.New(ctx, gcprun.Options{Project: srv.Project(), Location: srv.Location()}, srv.ClientOptions()...)
//
// # Rules
//
// It enforces the platform's documented rules, each checked by a raw gRPC
// test in this package and listed with its source in
// docs/platforms/gcp-cloud-run.md: traffic percents are integers summing
// to 100 and name existing revisions of the service, tags are unique DNS
// labels; a stale etag is ABORTED (AIP-154); a revision that serves
// traffic, is tagged or is the latest cannot be deleted
// (FAILED_PRECONDITION); updates are long-running operations that finish
// after Options.Polls reads while the service reports reconciling with
// the old traffic_statuses; Cloud Functions keeps a traffic split across
// deploys unless all_traffic_on_latest_revision is set; page tokens are
// opaque and bound to their collection; quota errors are
// RESOURCE_EXHAUSTED with a google.rpc.RetryInfo delay (Options.Throttle).
//
// # Traffic and metrics
//
// Requests come from a synthetic model keyed by revision, as in
// provider/memory: SetLoad sets a service's request rate, the split in
// force (traffic_statuses after each reconciliation, on the emulator's
// clock) shares it between revisions, and SetBehavior sets a revision's
// error rate, 429 rate and latency percentiles. Counts are integrals of
// these piecewise-constant functions, so metrics are deterministic.
//
// # Invocation
//
// InvokeTransport answers HTTP requests to the service URL (the split picks
// a revision, deterministically by percent) and to each tag's URL (its
// revision only), running the Handler set with SetHandler. Every request
// that reaches a revision also counts in its metrics beside the modeled
// load — request_count by the status it was answered with,
// request_latencies with its time on the emulator clock — whichever URL
// it came through, as Cloud Monitoring counts "requests reaching the
// revision" (traffic.go, call).
//
// Everything is safe for concurrent use. Time is Options.Now: a virtual
// clock makes rollouts of minutes take none.
package runtest
