// Package awslambda adapts AWS Lambda to slipway's provider contract: a
// Provider publishes Lambda versions, points aliases at them with weighted
// routing, deletes old versions, and reads per-version CloudWatch metrics
// for the canary package's checks. It depends on package provider and
// aws-sdk-go-v2 only.
//
//	cfg, err := config.LoadDefaultConfig(ctx) // credentials, region, endpoint
//	p := awslambda.New(cfg, awslambda.Options{Logger: logger})
//	prov := provider.WithRetry(p, provider.RetryPolicy{})
//	metrics := provider.WithRetryMetrics(p, provider.RetryPolicy{})
//
// # Mapping
//
//	provider                Lambda
//	Publish                 UpdateFunctionCode → wait LastUpdateStatus → UpdateFunctionConfiguration
//	                        (when the configuration differs) → wait → PublishVersion(CodeSha256, RevisionId)
//	Version, Versions       GetFunctionConfiguration?Qualifier=N, ListVersionsByFunction (50 a page, $LATEST skipped)
//	Route, Routes           GetAlias, ListAliases
//	SetRoute                CreateAlias (Revision "") / UpdateAlias (RevisionId = Revision)
//	Route.Weights           [FunctionVersion, remainder] + RoutingConfig.AdditionalVersionWeights{N: bp/10000}
//	DeleteVersion           DeleteFunction?Qualifier=N
//	Observe                 CloudWatch GetMetricData, namespace AWS/Lambda
//	EventSources            ListEventSourceMappings
//	Permissions             GetPolicy?Qualifier=
//	Usage                   ListProvisionedConcurrencyConfigs + version-pinned event sources
//	Invoke                  Invoke?Qualifier= (RequestResponse; payload ≤ 6 MiB, checked first)
//	RemovePermission        RemovePermission?Qualifier=
//	UpdateEventSource       GetEventSourceMapping (same function?) → UpdateEventSourceMapping(FunctionName fn:qualifier)
//
// Capabilities: a route names at most two versions (a primary and one
// additional version), weights in whole basis points (Lambda's weight is a
// double in [0, 1]; bp/10000 converts both ways without drift, see
// WeightOf), versions are deletable, every alias may split. A route never
// points at $LATEST.
//
// # Labels
//
// Lambda versions have no tags, so Publish stores PublishInput.Labels
// (slipway's semantic version and commit) in the version's Description,
// which Lambda keeps immutable with the version; see EncodeDescription for
// the format and the 256-character limit.
//
// # Retries
//
// New gives the SDK clients a single attempt per call, so throttling
// reaches the caller as *provider.ThrottleError carrying Lambda's
// Retry-After, and provider.WithRetry (with RetryPolicy's jittered backoff
// and context deadline) is the one retry layer. The SDK's standard retryer
// would otherwise retry throttles and 5xx up to three times on its own,
// ignoring Retry-After, under an outer WithRetry's attempts. Clients passed
// to NewFromClients keep their own retryer.
//
// # Metrics
//
// Observe reads Invocations, Errors, Throttles (Sum) and Duration p50, p90
// and p99 per executed version behind an alias (dimensions FunctionName,
// Resource = function:alias, ExecutedVersion). Cold starts are not
// published in AWS/Lambda — only as Init Duration in the REPORT lines of
// CloudWatch Logs — so ColdStarts is -1 (unknown). See Provider.Observe.
//
// # Credentials
//
// New takes an aws.Config, normally from config.LoadDefaultConfig (the
// standard chain: environment, shared profiles, SSO, web identity, IMDS);
// the endpoint can be overridden with the config's BaseEndpoint or
// AWS_ENDPOINT_URL_LAMBDA. The adapter logs function, alias and version
// names only, never credentials, request signatures or code.
//
// # Testing
//
// Package provider/awslambda/lambdatest is an in-process emulator of the
// Lambda and CloudWatch APIs this package calls; point NewFromClients at
// its LambdaClient and CloudWatchClient. The adapter passes
// provider/providertest against it.
package awslambda
