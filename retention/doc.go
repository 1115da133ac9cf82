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
// event-source mappings), then of its routes, begins after it asked; when
// the routes answer, the delete takes its token of the rate budget and is
// sent. Routes are read last because they move at deploy speed; usage is
// read fresh as well, because a platform's DeleteVersion may not refuse a
// version in use that way (the contract promises routes only), and a stale
// usage read would then delete it. The token is taken after the check, not
// before: deletes that held their tokens while waiting would reach the
// platform in a burst when the check answered.
//
// A read first waits for its own token, and the deletes of the function
// that ask until it has it join it; those that ask later wait for the next
// read, which starts waiting as soon as the current one answers. None is
// ever answered by a read that began before it asked. So a check costs two
// calls (Usage, Routes; one where the provider cannot tell usage) shared by
// the deletes that joined it, and then each of them waits for its token
// behind the other versions in progress: a delete is sent at most about
// Concurrency × (requests per delete) ÷ rate, plus the read's own calls,
// after the read that cleared it began. Report.MaxCheckAge is what it was.
// The route can still move in that window; the platform's refusal covers
// it.
//
// Concurrency therefore trades calls for freshness. Measured in virtual time
// on the memory provider with 100 ms per call, 10 functions of 100 versions,
// 990 deletions at 10 calls per second (DefaultRate; the scenario of
// TestScaleWithinTenPercentOfIdeal):
//
//	Concurrency              reads per deletion  time ÷ (deletions ÷ rate)  MaxCheckAge
//	 4                              1.01                 2.02×                 0.7 s
//	 8                              0.52                 1.52×                 1.1 s
//	16                              0.26                 1.27×                 2.0 s
//	32 (DefaultApplyConcurrency)    0.14                 1.14×                 3.5 s
//	64                              0.08                 1.09×                 6.7 s
//	 4, RecheckInterval 5 s         0.06                 1.06×                 5.2 s
//
// In every row the budget is busy: the time is within 0.2% of (deletions +
// reads) ÷ rate. A positive RecheckInterval is the opt-in to staleness: one
// read serves every delete of the function for that long (and is discarded
// on an in-use refusal), whenever it began, and a route that moves in
// between is left to the platform's refusal — and a usage that appears in
// between to nothing, where the platform does not refuse it.
//
// # The rate budget
//
// Every call — listing versions (one call per ListPageSize = 50 versions,
// Lambda's page size), Routes, Usage, DeleteVersion, the reads that confirm
// an ambiguous delete, and every retry — takes tokens of one rate limiter
// (golang.org/x/time/rate): one per request it sends to the platform. A
// Usage or DeleteVersion call sends as many as the provider says
// (Capabilities.UsageRequests and DeleteRequests); the tokens of one call
// are consecutive slots of the limiter, so that requests reach the
// platform at the budget's pace even when a call sends several. Pass the
// same *rate.Limiter to the Planner, to every Apply of the same account and
// region, and to other tools, and the whole fleet shares one budget.
//
// Lambda allows 15 control-plane requests per second per account and
// region, across every API but Invoke, GetFunction and GetPolicy, and
// deploys share that budget. provider/awslambda's Usage sends two of them
// (ListProvisionedConcurrencyConfigs, ListEventSourceMappings), Routes one
// (ListAliases), and DeleteVersion two (ListAliases, to refuse a routed
// version, and DeleteFunction; the check that the version is not the
// newest is a GetFunction of the next version number, outside that quota,
// and only where that number was deleted a listing of the versions, which
// is not counted). DefaultRate is 10 requests per second with a burst of 1,
// which leaves 5 per second to deploys. Worked numbers for 100 Lambda
// functions of 100 versions with KeepLast 10 (9,000 deletions, 90 per
// function):
//
//	plan:  100 × (3 listing pages + 1 ListAliases + 2 for Usage)     ≈    600 requests →    60 s at 10/s
//	       (the budget counts 2 pages: 50 versions a page, while
//	       Lambda's first page holds $LATEST too)
//	apply: 9,000 deletes × 2 + about 1,300 checks × 3 (the default)  ≈ 21,900 requests → 2,190 s (37 min)
//
// The fresh check's deletes wait for reads, so Concurrency must cover more
// than the calls in flight (rate × latency, 1 at 10 per second and 100 ms).
// The calls in flight never exceed Concurrency: the reads of a check are
// sent one after the other, and only while deletes wait for them. A
// sequential loop at 100 ms per call does 10 calls per second at best and
// cannot use a raised limit, while Apply keeps the budget busy.
//
// Measured in virtual time on the memory provider behind a 50-per-second
// account limit that throttles beyond it, with 100 ms calls, 9,900
// deletions over 100 functions (TestScaleWithinTenPercentOfIdeal,
// BenchmarkFleetPrune; ranges over 8 runs, which differ in how goroutines
// meet at a read):
//
//	fresh checks, Concurrency 200:      9,900 deletes + 309–437 reads (0.03–0.04 per deletion);
//	                                    206–210 s = 1.04–1.06× the deletes' ideal of 198 s,
//	                                    MaxCheckAge 4.1–4.4 s, 0 failed, 1 throttled (the first call)
//	  the same with Lambda's costs      (Usage and DeleteVersion 2 requests each):
//	                                    407–410 s = 1.03× the deletes' ideal of 396 s,
//	                                    MaxCheckAge 8.2–8.5 s, 0 failed, 1 throttled
//	fresh checks, Concurrency 100:      222 s = 1.12× the deletes' ideal, MaxCheckAge 2.2 s
//	RecheckInterval 5 s, Concurrency 8: 9,900 deletes + 201 reads;
//	                                    202.4 s = 1.02× the deletes' ideal, 1.00× the calls'
//	sequential loop:                    990 s = 5.0× the ideal
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
