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
// Apply does not trust the plan's view of the routes: right before deleting
// a version it reads the function's routes and usage again, and skips (and
// reports) a version that became referenced since the plan was made. The
// provider contract adds a second guard: DeleteVersion refuses a version a
// route references at that instant (provider.ErrInUse, Lambda's 409 naming
// the aliases), which Apply reports as a skip, never as a failure to retry.
// Apply also re-checks the plan itself (Plan.Validate): a hand-edited plan
// that deletes a routed, newest or pinned version is refused.
//
// # The reference check and its cost
//
// Reading routes and usage before every delete would triple the calls. Apply
// instead keeps one read per function for ApplyOptions.RecheckInterval
// (DefaultRecheckInterval, 5 s) and reads again after any ErrInUse refusal.
// That is enough because the read is not the last line of defence for
// routes: DeleteVersion itself refuses a routed version at the moment of the
// delete. The read saves calls on deletes that would be refused and guards
// the usage that a platform's DeleteVersion may not check (the contract
// promises routes only), with at most 5 s of staleness. A negative
// RecheckInterval reads before every delete (3 calls per deleted version).
//
// Versions are deleted function after function. The read of the next
// function is sent beside the last 2·Concurrency deletes of the current
// one, so the deletes never stop to wait for it. A function is then read
// once, plus once more every 5 s its deletes take: 99 deletions take 10 s
// at 10 calls per second (3 reads, 6 calls) and 2 s at 50 per second (1
// read, 2 calls).
//
// # The rate budget
//
// Every call — listing versions (one call per ListPageSize = 50 versions,
// Lambda's page size), Routes, Usage, DeleteVersion, the reads that confirm
// an ambiguous delete, and every retry — takes a token of one rate limiter
// (golang.org/x/time/rate). Pass the same *rate.Limiter to the Planner, to
// every Apply of the same account and region, and to other tools, and the
// whole fleet shares one budget.
//
// Lambda allows 15 control-plane requests per second per account and
// region, across every API but Invoke, GetFunction and GetPolicy, and
// deploys share that budget. DefaultRate is 10 calls per second with a
// burst of 1, which leaves 5 per second to deploys. Worked numbers for 100
// functions of 100 versions with KeepLast 10 (9,000 deletions, 90 per
// function):
//
//	plan:  100 × (2 listing calls + 1 Routes + 1 Usage)    =    400 calls →  40 s at 10/s
//	apply: 9,000 deletes + 100 × 2 reads of 2 calls      ≈  9,400 calls → 940 s at 10/s (15 min 40 s)
//	       the same at 50/s (a raised limit): 1 read each ≈  9,200 calls → 184 s
//
// Concurrency needs to cover only the call latency: rate × latency calls are
// in flight, so at 10 calls per second and 100 ms per call one would do;
// DefaultConcurrency (4) covers calls of up to 400 ms. At a raised limit,
// raise it too: 50 calls per second at 100 ms needs 5; 8 leaves room. More
// concurrency does not make a run faster than its rate: a sequential loop at
// 100 ms per call does 10 calls per second at best and cannot use a raised
// limit, while Apply keeps the budget busy. Measured in virtual time on the
// memory provider behind a 50-per-second account limit with 100 ms calls
// (TestScaleWithinTenPercentOfIdeal): 9,900 deletions over 100 functions
// take 202.4 s with Concurrency 8 against an ideal of 198 s (1.02×; the
// extra 2% is the 200 reference reads), and 990 s one after the other
// (5.0×).
//
// # Time
//
// The budget, the retry waits and the recheck interval use
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
