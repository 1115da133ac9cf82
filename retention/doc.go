// Package retention prunes old versions of functions by policy, for one
// function or a fleet, without ever deleting one that is still in use.
//
// # How it fits
//
// retention depends on package provider only (and on the leaf package
// semver, to read version labels): it works the same on AWS Lambda, Cloud
// Run, Azure Functions and the in-memory provider. It knows nothing of the
// release journal: the caller (slipway's release package, after a
// successful release) passes the journal's route history as
// Policy.RollbackPoints, so the versions a route may be rolled back to are
// kept.
//
// Work is done in two steps. Planner.Plan reads every function (versions,
// routes, usage) and returns a Plan: every version with its decision and the
// reasons for it. The plan is the dry run: print it (Plan.String,
// Plan.WriteTo) or store it as JSON. Apply then executes a plan and returns a
// Report of what was deleted, skipped and failed, per function.
//
// # The safety rules
//
// Whatever the policy says, the plan keeps:
//   - every version that a route references, as primary or weighted target;
//   - the newest version of each function;
//   - pinned versions (Policy.Pinned);
//   - the rollback points of each route (Policy.RollbackPoints, the first
//     Policy.KeepRollbackPoints distinct versions of each alias);
//   - the versions a provider.UsageReporter reports as in use (provisioned
//     concurrency, event-source mappings pinned to a version). Where the
//     provider cannot tell (ErrUnsupported), the plan says "usage not
//     checked" in the function's notes and goes on.
//
// A policy without any rule of its own (KeepLast, KeepWithin, KeepLabels)
// would delete everything else; Policy.Validate rejects it unless
// AllowDeleteAllUnreferenced is set. Invalid policies, plans and options are
// rejected with an error wrapping provider.ErrInvalid before any call.
//
// Apply does not trust the plan's view of the routes: right before every
// delete call it checks the function's usage and routes again, and skips
// (and reports) a version that became referenced since the plan was made.
// The provider contract adds a second guard: DeleteVersion refuses a version
// a route references at that instant (provider.ErrInUse, Lambda's 409
// naming the aliases), which Apply reports as a skip, never as a failure to
// retry. Apply also re-checks the plan itself (Plan.Validate): a hand-edited
// plan that deletes a routed, newest or pinned version is refused.
//
// # The reference check and its cost
//
// By default (ApplyOptions.RecheckInterval 0) the check is fresh for every
// delete call, retries included. A delete asks for a check; a read of the
// function's usage (provider.UsageReporter: provisioned concurrency,
// event-source mappings), then of its routes, begins after it asked; as
// soon as the routes answer, the delete takes its token of the rate budget
// and is sent. Routes are read last because they move at deploy speed; usage
// is read fresh as well, because a platform's DeleteVersion may not refuse a
// version in use that way (the contract promises routes only), and a stale
// usage read would then delete it. The token is taken after the check, not
// before: a delete that held its token while waiting would reach the
// platform in a burst with the check's calls.
//
// Deletes of one function that ask while a read of it is in flight share
// the next read, which begins when the current one answers; none is ever
// answered by a read that began before it asked. So a check costs two calls
// (Usage, Routes; one where the provider cannot tell usage), shared by the
// k deletes that asked for it, and a delete is sent at most the read's own
// latency plus k ÷ rate (its wait for a token) after its routes were read;
// k is at most Concurrency. The route can still move in that window; the
// platform's refusal covers it.
//
// Calls per deleted version are therefore 1 + 2/k. Measured in virtual time
// on the memory provider with 100 ms per call, 10 functions of 100 versions,
// 990 deletions (TestScaleWithinTenPercentOfIdeal's scenario at 10 calls per
// second):
//
//	Concurrency  reads per deletion  time ÷ (deletions ÷ rate)
//	 4 (default)       1.02                 2.02×
//	 8                 0.53                 1.53×
//	16                 0.28                 1.29×
//	 4, RecheckInterval 5 s   0.06           1.06×
//
// In every row the budget is busy: the time is within 0.1% of (deletions +
// reads) ÷ rate. More concurrency shares each read among more deletes and
// widens the window by as much; a positive RecheckInterval is the opt-in to
// staleness: one read serves every delete of the function for that long
// (and is discarded on an in-use refusal), and a route that moves in between
// is left to the platform's refusal — and a usage that appears in between
// to nothing, where the platform does not refuse it.
//
// # The rate budget
//
// Every call — listing versions (one call per ListPageSize = 50 versions,
// Lambda's page size), Routes, Usage, DeleteVersion, the reads that confirm
// an ambiguous delete, and every retry — takes a token of one rate limiter
// (golang.org/x/time/rate). Pass the same *rate.Limiter to the Planner, to
// every Apply of the same account and region, and to other tools, and the
// whole fleet shares one budget. A Usage call takes one token although
// provider/awslambda answers it with two requests
// (ListProvisionedConcurrencyConfigs and ListEventSourceMappings).
//
// Lambda allows 15 control-plane requests per second per account and
// region, across every API but Invoke, GetFunction and GetPolicy, and
// deploys share that budget: ListAliases (Routes) counts, so the reference
// reads take tokens like the deletes. DefaultRate is 10 calls per second
// with a burst of 1, which leaves 5 per second to deploys. Worked numbers
// for 100 functions of 100 versions with KeepLast 10 (9,000 deletions, 90
// per function), with the measured reads per deletion above:
//
//	plan:  100 × (2 listing calls + 1 Routes + 1 Usage)       =    400 calls →   40 s at 10/s
//	apply: 9,000 deletes + about 9,150 reads (Concurrency 4)  ≈ 18,150 calls → 1,815 s (30 min)
//	       Concurrency 16: 9,000 + about 2,550 reads            ≈ 11,550 calls → 1,155 s (19 min)
//	       RecheckInterval 5 s: 9,000 + about 550 reads         ≈  9,550 calls →   955 s (16 min)
//
// The fresh check's deletes wait for reads, so Concurrency must cover more
// than the calls in flight (rate × latency, 1 at 10 per second and 100 ms):
// at 10 per second the default 4 keeps the budget busy, at the price of a
// read per two deletions. The calls in flight never exceed Concurrency: the
// reads of a check are sent one after the other, and only while a delete
// waits for them. A sequential loop at 100 ms per call does 10 calls per
// second at best and cannot use a raised limit, while Apply keeps the budget
// busy.
//
// Measured in virtual time on the memory provider behind a 50-per-second
// account limit that throttles beyond it, with 100 ms calls, 9,900
// deletions over 100 functions (TestScaleWithinTenPercentOfIdeal,
// BenchmarkFleetPrune):
//
//	fresh checks, Concurrency 100:    9,900 deletes + 597 reads (0.06 per deletion);
//	                                  222.4 s = 1.12× the deletes' ideal of 198 s,
//	                                            1.06× the calls' ideal of 209.9 s
//	RecheckInterval 5 s, Concurrency 8: 9,900 deletes + 201 reads;
//	                                  202.4 s = 1.02× the deletes' ideal, 1.00× the calls'
//	sequential loop:                  990 s = 5.0× the ideal
//
// With fresh checks, Concurrency 100 lets about 33 deletes share a read, so
// a delete is sent up to about 0.76 s after its Routes call was sent (0.1 s
// of latency, then up to 33 tokens at 50 per second). The target of 10%
// over the deletes' own ideal is met with a shared read only; with fresh
// checks it would take more concurrency, and so a wider window.
//
// # Time
//
// The budget, the retry waits and a positive recheck interval use
// ApplyOptions.Clock and Planner.Clock (nil: the wall clock), so a
// simulation runs a 15-minute prune in virtual time; under testing/synctest
// the wall clock is virtual already.
//
// Throttled calls (provider.ErrThrottled) and transient failures
// (provider.ErrUnavailable) are retried under ApplyOptions.Retry, never
// sooner than the platform's retry-after hint (provider.RetryAfter).
//
// # Partial failure and cancellation
//
// One version's or one function's failure does not stop the others: the
// Report lists every planned deletion as deleted, skipped (with the reason),
// failed (with the error) or canceled. When the context ends, Apply sends no
// new delete, lets the deletes already sent finish (for at most
// ApplyOptions.Grace), and reports exactly what was done. A delete that
// failed ambiguously (ErrUnavailable: it may have taken effect) is settled
// by reading the version back.
package retention
