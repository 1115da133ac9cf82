// Package azurefunc adapts Azure Functions to slipway's provider contract:
// a Provider records immutable versions of a function app, deploys them to
// deployment slots, splits production traffic with a ramp-up rule,
// promotes by slot swap, and reads per-slot Azure Monitor metrics for the
// canary package's checks. It depends on package provider and the Azure
// SDK only (azcore, armappservice/v6, armmonitor).
//
//	cred, err := azidentity.NewDefaultAzureCredential(nil)
//	p, err := azurefunc.New(subscriptionID, "my-rg", cred, azurefunc.Options{Packages: store, Logger: logger}, nil)
//	prov := provider.WithRetry(p, provider.RetryPolicy{})
//	metrics := provider.WithRetryMetrics(p, provider.RetryPolicy{})
//
// A function is a function app (Microsoft.Web/sites) of the resource
// group, created outside slipway.
//
// # Versions
//
// Azure has no immutable function version, so the adapter models one: a
// package plus a configuration snapshot, recorded as an App Service
// deployment record of the app (Web Apps - Create Deployment,
// …/sites/{app}/deployments/{id}: deployer "slipway", the record as JSON in
// details, the description as message), listed with ListDeployments and
// redeployable at any time. The ID is the first 12 hex digits of the
// SHA-256 of the code hash and the configuration, so Publish is idempotent
// across processes. A zip is stored once per SHA-256 through a
// PackageStore you provide (Azure Blob Storage with a read SAS, or any
// URL the app can read); a URI artifact is used as given.
//
// A version reaches a slot by run-from-package: the slot's app settings
// are written whole (read-modify-write) with WEBSITE_RUN_FROM_PACKAGE = the
// package URL, the version's Environment and Runtime
// (FUNCTIONS_WORKER_RUNTIME), and SLIPWAY_VERSION = its ID; settings the
// previous version set are removed and every other setting stays. Zip
// deploy to the scm endpoint is not used: it changes a slot's files in
// place, so a slot's content could not be named by an immutable URL.
//
// # Mapping
//
//	provider                Azure Functions (App Service ARM, api-version 2025-05-01)
//	Publish                 ListDeployments → PackageStore.Put (zip) → CreateDeployment
//	Version, Versions       GetDeployment, ListDeployments (nextLink pages)
//	Route "production"      GetConfiguration (rampUpRules) + ListApplicationSettings
//	                        (+ ListApplicationSettingsSlot of the ramp-up slot while a rule exists)
//	Route <slot>            ListApplicationSettingsSlot
//	SetRoute "production"   rule: UpdateConfiguration (PATCH experiments.rampUpRules, the list whole);
//	                        promotion: BeginSwapSlot (slotsswap, 202 + Location, polled);
//	                        deploy: UpdateApplicationSettings[Slot] (+ BeginCreateOrUpdateSlot)
//	SetRoute <slot>         BeginCreateOrUpdateSlot (when new) + UpdateApplicationSettingsSlot
//	DeleteVersion           DeleteDeployment (+ PackageStore.Delete when nothing runs the package)
//	Observe                 Azure Monitor Metrics - List per slot resource: Requests (or
//	                        FunctionExecutionCount), Http5xx (Total)
//	Invoke                  HTTP POST to https://<slot host> + Options.InvokePath (the app's host for
//	                        production, APP-SLOT.azurewebsites.net for a slot; Options.InvokeClient)
//
// # Routes
//
// The production route is the production slot's version, plus — while the
// adapter's ramp-up rule exists — the ramp-up slot's version
// (Options.RampUpSlot, "canary") with the rule's reroutePercentage. A
// promotion swaps the ramp-up slot into production (the previous version
// then waits in the ramp-up slot: going back is another swap); a rollback
// clears the rule. Every other route is the slot of that name and the one
// version it runs. Capabilities: two versions per route, only production
// splits, one basis point granularity (reroutePercentage is a double; the
// portal shows whole percents), versions deletable.
//
// # Concurrency
//
// Site config and app settings take no ETag, so a route's Revision is a
// digest of the routing read; SetRoute re-reads and compares before each
// write and serialises the adapter's own writes per app. The window that
// remains is one round trip; see SetRoute.
//
// # Metrics
//
// Each slot is its own Azure Monitor resource, so a version's series is
// the metrics of the slot that runs it. Azure gives no latency percentiles
// for sites (HttpResponseTime is an average) and no cold-start count:
// percentiles are zero and ColdStarts is -1. See Observe.
//
// # Retries and throttling
//
// New makes the SDK clients try each call once: 429 reaches the caller as
// *provider.ThrottleError with the Retry-After hint, and
// provider.WithRetry is the one retry layer. Long-running operations
// (swap, slot creation) are polled through the SDK's pollers with the
// caller's context, waiting Retry-After (or Options.PollInterval) on
// Options.Sleep between polls.
//
// # Testing
//
// Package provider/azurefunc/azuretest is an in-process HTTPS emulator of
// the ARM calls this package makes, with a package host and a traffic
// model for metrics; point New at it with its ClientOptions and
// Credential. The adapter passes provider/providertest (RunWith and, for
// Observe, RunSource) against it.
package azurefunc
