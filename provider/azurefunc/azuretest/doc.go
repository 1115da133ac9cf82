// Package azuretest is an in-process emulator of the Azure Resource
// Manager calls of App Service (function apps, deployment slots, site
// config, app settings, slot swap, deployment records) and of Azure
// Monitor's Metrics - List, as slipway's provider/azurefunc makes them,
// for tests — slipway's own and yours.
//
// A Server is an httptest TLS server. The Azure SDK's own clients talk to
// it through ClientOptions (its URL as the resource manager endpoint, its
// TLS client as the transport) with the Credential it gives (azcore's fake
// token credential), so code tested against it takes the production path:
// request building, the bearer-token policy, pollers, paging and error
// decoding.
//
//	srv := azuretest.NewServer(azuretest.Options{Now: clock.Now})
//	t.Cleanup(srv.Close)
//	if err := srv.CreateSite("checkout", map[string]string{"FUNCTIONS_EXTENSION_VERSION": "~4"}); err != nil {
//		t.Fatal(err)
//	}
//	p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(),
//		azurefunc.Options{Packages: srv.Packages()}, srv.ClientOptions())
//
// Seed state with CreateSite and PutSettings; store run-from-package
// blobs with Packages (served at URL()/packages/…). Drive traffic with
// SetLoad (requests a second at the production host), SetSlotLoad (at a
// slot's own host) and SetBehavior (a
// package's error rate and response time, by its SHA-256); production's
// ramp-up rules split the load between slots and Metrics - List answers
// per slot. Inject throttling with Options.Throttle, slow swaps with
// Options.SwapPolls and Options.SwapDuration, lagging metrics with
// Options.MetricsDelay, 5xx answers with Options.Fault, and assert call sequences
// with Ops and MetricsQueries.
//
// # Documented behaviour it enforces
//
// Sources: the App Service REST reference (learn.microsoft.com/rest/api/appservice/web-apps),
// the RampUpRule API reference, the ARM throttling page, Azure Monitor's
// Metrics - List reference and "Supported metrics for Microsoft.Web/sites";
// see docs/platforms/azure-functions.md in the slipway repository. Rules
// the references do not state are marked as the emulator's choice.
//   - Every request needs api-version (400 MissingApiVersionParameter);
//     errors are {"error":{"code","message"}} with x-ms-error-code.
//   - Missing apps, slots and deployments: 404 ResourceNotFound.
//   - Update Application Settings replaces the settings whole.
//   - Update Configuration (PATCH) merges top-level properties, each
//     replaced whole (experiments.rampUpRules as a list); Create Or Update
//     Configuration (PUT) replaces the config, resetting what it omits
//     (docs/platforms/azure-functions.md §4; the reference does not spell this out).
//   - Ramp-up rules: a name unique in the list, actionHostName the host
//     name of another slot of the app, percentages within 0..100 and
//     adding up to at most 100 (the bounds are the emulator's reading of
//     "percentage"), min ≤ max. Only production's rules route traffic.
//   - Swap Slot (slots/{slot}/slotsswap) and Swap Slot With Production
//     (slotsswap): targetSlot and preserveVnet required; 202 with Location
//     and Retry-After; polls answer 202 until done (SwapPolls polls, or
//     SwapDuration of emulator time whether polled or not), then 200; a
//     second swap meanwhile is 409 Conflict. The swap exchanges the slots' app settings
//     (and with them the package each runs); site config stays.
//   - Create Or Update Slot needs location; an app has at most MaxSlots
//     slots (plan limits; 409 beyond).
//   - Lists page with nextLink ($skipToken), PageSize items a page (the
//     emulator's choice).
//   - Throttling: 429 TooManyRequests with Retry-After in seconds.
//   - Metrics: Requests, Http5xx, FunctionExecutionCount (Total) and
//     HttpResponseTime (Average); time grains PT1M…P1D only; points
//     ascending, one per grain, without a value when the grain is not yet
//     complete (MetricsDelay) or, for the average, served nothing.
//
// What it does not emulate: slot-sticky settings (slotConfigNames), swap
// with preview (applySlotConfig/resetSlotConfig), auto swap, automatic
// ramp-up (changeStep, changeIntervalInMinutes), the x-ms-routing-name
// cookie, warm-up, restarts, Kudu/zip deploy, authentication, and the
// subscription's real request limits.
//
// The server is safe for concurrent use; one mutex serialises the state.
//
// InvokeTransport answers HTTP requests to the apps' and slots' host names
// in process: a slot runs the Handler set with SetHandler for the version
// its SLIPWAY_VERSION names, and production sends a ramp-up rule's share
// of requests to its slot (deterministically). Every request served also
// counts in the metrics of the slot that answered it, beside the modeled
// load (Requests, FunctionExecutionCount, Http5xx for a 5xx answer,
// HttpResponseTime with its time on the emulator clock; traffic.go, call).
package azuretest
