// Package memory is a complete in-memory provider.Provider, the embedded
// default of slipway: it keeps versions and routes in memory (optionally in
// a JSON file), enforces the whole contract of package provider, generates
// synthetic metrics from the traffic it routes, and injects faults on
// request. Tests of canary, retention and release run on it, and a CI job
// can rehearse a release against it.
//
// # The platform
//
// Version IDs are "1", "2", … per function, as on Lambda, never reused.
// Publishing to a new function name creates the function; a function exists
// (for every other method) once it has a version. Routes carry an opaque
// revision token that changes on every SetRoute. The limits are those of
// Options.Capabilities, Lambda's by default (DefaultCapabilities: two
// versions per route, 1-basis-point weights, deletable versions). Every
// argument is checked before any state changes; errors are
// *provider.Error values wrapping the provider sentinels.
//
// # Synthetic traffic
//
// The caller sets, with SetLoad, the request rate arriving at a route and,
// with SetBehavior, how each version behaves (error rate, throttle rate,
// latency distribution, cold starts). The provider records every change of
// a route's weights, of a load and of a behavior with the time of its clock
// (Options.Now). Observe integrates those piecewise-constant histories: for
// one version and one period [s, s+P), the expected number of requests is
//
//	λ = Σ over the route's segments [a, b) ⊆ [s, s+P) of rps(a) × weight(a)/10000 × (b − a)
//
// so a period in which the weights changed is split at the change. A 10%
// canary (1000 basis points) on 100 requests per second over ten one-minute
// periods expects 100 × 0.1 × 600 s = 6000 requests; a 1% canary on
// 0.1 requests per second expects 0.06 per minute, so most periods have no
// invocations at all and a check is inconclusive, as in production.
//
// Each period's counts are then drawn: requests ~ Poisson(λ), throttles ~
// Binomial(requests, throttle rate), invocations = requests − throttles,
// errors and cold starts ~ Binomial(invocations, rate). Rates are averaged
// over the period's segments, weighted by their expected invocations. The
// cold-start rate is multiplied by ColdStart.Spike for ColdStart.SpikeFor
// after the version first received traffic. Latency percentiles (p50, p90,
// p99) come from the log-normal fitted to Latency.Median and Latency.P99
// of the behavior in force for most of the period's invocations:
// with up to 1000 invocations they are the nearest-rank percentiles of that
// many drawn latencies (noisy when few), above that the three order
// statistics are drawn from their exact joint law (Beta-distributed levels
// from Gamma spacings), so both sides of a canary follow the same
// nearest-rank law whatever their sizes. As with Lambda's Duration metric,
// latencies exclude initialisation time, which is reported as InitDuration
// (the longest of the period's cold starts).
//
// The draws are seeded from (Options.Seed, function, alias, version, period
// start, period), so the same query always returns the same observation,
// including after a restart from the same Path with the same Seed. A query
// with an Alias observes that route's traffic; without one, the traffic of
// every route. Only periods that ended at or before the clock's now (less
// Options.MetricsLag) are returned, and Through is the end of the last of
// them; periods without traffic are zero points.
//
// *Provider implements provider.Metrics itself: pass the same value as the
// Provider and the Metrics.
//
// # Faults
//
// Inject adds a Fault to chosen operations: an error (a
// *provider.ThrottleError, provider.ErrUnavailable, …) at a rate drawn from
// the seeded generator, a limited number of times, after an added delay, or
// after applying the change (a lost response). Fault.Before hooks let a test
// fail or interleave a chosen call deterministically.
//
// # Invocation and fixes
//
// Invoke runs the Handler set with SetHandler for the version named (or the
// version an alias's weights pick with the seeded generator); a version
// without one answers "null". RemovePermission and UpdateEventSource change
// the lists SetPermissions and SetEventSources set. Handlers are Go funcs:
// they are not persisted, and invocations do not enter the synthetic
// metrics.
//
// # Persistence
//
// With Options.Path the whole state (functions, versions, routes,
// revisions, the histories of routes, loads and behaviors, usage, event
// sources, permissions) is written as versioned JSON after every change,
// atomically; New loads it. A Provider method whose write fails returns the
// error and leaves the state as it was; the Set* methods have no error
// result, so Sync reports (and retries) their writes. Faults are not
// persisted. Only one Provider should own a file at a time.
//
// # Time
//
// Everything reads time from Options.Now, and injected delays wait with
// Options.Sleep, so a rollout of thirty minutes runs in milliseconds on a
// virtual clock. A clock that goes backwards is treated as standing still.
package memory
