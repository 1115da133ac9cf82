// Package lambdatest is an in-process emulator of the parts of AWS Lambda
// and Amazon CloudWatch that slipway's provider/awslambda adapter uses, for
// tests — slipway's own and yours.
//
// A Server is an httptest.Server that speaks the Lambda control-plane
// REST-JSON API (/2015-03-31/functions/…, /2015-03-31/event-source-mappings,
// /2019-09-30/…/provisioned-concurrency) and CloudWatch GetMetricData in the
// Smithy RPC v2 CBOR protocol that aws-sdk-go-v2's cloudwatch client uses.
// The real SDK clients talk to it — serialisation, signing, retries and
// error decoding included — so code tested against it takes the production
// path, pointed elsewhere by BaseEndpoint only.
//
// # Using it in your tests
//
//	srv := lambdatest.NewServer(lambdatest.Options{Now: clock.Now})
//	t.Cleanup(srv.Close)
//	if err := srv.CreateFunction("checkout", lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap"}); err != nil {
//		t.Fatal(err)
//	}
//	lc := srv.LambdaClient()     // *lambda.Client: BaseEndpoint, static credentials, region, test retryer
//	cw := srv.CloudWatchClient() // *cloudwatch.Client, likewise
//
// Seed state with CreateFunction, PutObject (S3 code sources),
// AddPermission, AddEventSourceMapping, SetProvisionedConcurrency and
// SetReplicated (a version CloudFront replicated for Lambda@Edge). Drive
// traffic with SetLoad (invocations per second arriving at an alias) and
// SetBehavior (a version's error rate, throttle rate and latency
// percentiles); the alias's routing history, recorded from every
// CreateAlias/UpdateAlias on the emulator clock, splits the load, and
// GetMetricData answers from that model by Resource and ExecutedVersion,
// adding the invocations the emulator ran (Invoke; traffic.go, call):
// each counts in Invocations, in Errors when it ended with
// X-Amz-Function-Error, and in Duration with its time on the emulator
// clock, under the dimension sets its qualifier makes (an alias: Resource
// fn:alias and ExecutedVersion; a version: Resource fn:N only).
// Inject throttling (Options.Throttle), failures (Options.Fault) and
// failed updates (Options.FailUpdate), slow
// down update settling (Options.SettlePolls, Options.SettleDelay), and
// assert call sequences with Requests and Ops.
//
// # Documented behaviour it enforces
//
// Each rule names its source (docs/platforms/aws-lambda.md in the slipway repository, which
// cites the AWS API reference, the SDK model and developer-guide pages;
// rules marked unverified there are marked so here):
//   - RevisionId preconditions on UpdateFunctionCode,
//     UpdateFunctionConfiguration, PublishVersion and UpdateAlias → 412
//     PreconditionFailedException; the function's and each alias's tokens
//     are separate and every mutation issues a new one.
//   - PublishVersion with a CodeSha256 other than $LATEST's → 400
//     InvalidParameterValueException; with nothing changed since the newest
//     version → that version (201), no new number; version numbers are never
//     reused after a deletion.
//   - After an update LastUpdateStatus is InProgress until it settles;
//     PublishVersion and further updates meanwhile → 409
//     ResourceConflictException. An update made to fail settles as Failed
//     with LastUpdateStatusReason(Code), and $LATEST keeps its previous
//     code and configuration.
//   - Weighted aliases: at most one additional version, not $LATEST, not the
//     primary, existing, same role and dead-letter config; weights within
//     0.0–1.0 and numeric keys (ValidationException otherwise); alias names
//     not all digits.
//   - Model constraints answered with 400 ValidationException, as the API
//     reference states them: alias Name (in the body and in the path of
//     GetAlias, UpdateAlias, DeleteAlias) 1–128 characters of
//     [a-zA-Z0-9-_], not all digits; Description at most 256 characters on
//     CreateAlias, UpdateAlias, PublishVersion and
//     UpdateFunctionConfiguration; FunctionVersion (and the ListAliases
//     filter) $LATEST or digits, at most 1024 characters, as are the keys
//     of AdditionalVersionWeights.
//   - DeleteFunction?Qualifier=N refused with 409 while an alias references
//     N (the alias names are in the message), and with 400
//     InvalidParameterValueException ("… because it is a replicated
//     function") while CloudFront holds Lambda@Edge replicas of N, as is
//     DeleteFunction of the whole function (CloudFront developer guide,
//     "Delete Lambda@Edge functions and replicas").
//   - GetFunction answers the configuration a qualifier names and the
//     code's location, 404 for a missing version; it does not count as a
//     poll of an update in progress.
//   - ListVersionsByFunction pages at most 50 versions whatever MaxItems says,
//     $LATEST first, with its qualified FunctionArn (…:function:name:$LATEST); ListEventSourceMappings at most 100; NextMarker absent on
//     the last page; markers are opaque.
//   - Errors carry X-Amzn-ErrorType and a JSON body with Type and message;
//     throttling is 429 TooManyRequestsException with Retry-After and Reason.
//   - Invoke runs the Handler set for a version (SetHandler) with the
//     documented payload limits, X-Amz-Function-Error and
//     X-Amz-Executed-Version (invoke.go); AddPermission and RemovePermission
//     keep the resource policy GetPolicy answers, with its RevisionId and
//     documented errors (permissions.go); GetEventSourceMapping and
//     UpdateEventSourceMapping repoint a mapping (esm.go).
//
// What it does not emulate: asynchronous invocation's queue and retries
// (an Event invocation runs at once and counts as it ran), throttling of
// invocations by concurrency (the Throttles metric comes from the modeled
// load only), layers, code
// signing, function URLs, Pending state after CreateFunction, metric math, sub-minute
// metric periods, and the account's real quotas.
//
// The server is safe for concurrent use; one mutex serialises the state.
package lambdatest
