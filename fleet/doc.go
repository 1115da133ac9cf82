// Package fleet releases one change to many functions across regions and
// provider accounts in waves: one canary region first, then waves that
// grow, a bake and a verdict between waves, and a stop of the whole
// release at the first bad wave, as AWS's Builders' Library describes its
// own deployments ("Automating safe, hands-off deployments"). Functions
// released together (an API and the worker behind it) form a group and
// share one verdict: one failing target sends its whole group back to
// the previous versions the journal records.
//
// It sits above the other packages: each target is a canary rollout
// (package canary, on a provider.Provider), outcomes and reverts are
// journaled (journal.Journal, whose PreviousGood answers the version a
// revert restores), and deploy windows are release.DeployPolicy values read in
// each region's time zone. Nothing imports fleet but commands, examples
// and the Temporal module (github.com/slipway-dev/slipway/temporal).
//
// It has three layers:
//
//   - Plan is plain data: Targets (function, region, provider account,
//     group, candidate), Waves (by target, region or share, with a bake,
//     a bound on targets in flight and an optional approval gate), the
//     canary Strategy, per-region time zones and policies, per-account
//     bounds (targets in flight, API calls per second) and the failure
//     Scope. Plan.Validate checks it before anything is touched; LoadPlan
//     reads one from a JSON file.
//   - Next is the decision logic, a pure function (State, Event, now) →
//     (State, []Action), as canary.Next is for one rollout: which target
//     starts when (bounds, windows), when a wave bakes, is judged and
//     passes, what a failure sends back. The in-process Executor and the
//     Temporal workflows run the same Next.
//   - Ops (publish a candidate, journal an outcome, revert a target, judge
//     it after the bake) and Executor, which runs a plan in this process
//     with a canary.Runner per account, bounded by Next and by a
//     golang.org/x/time/rate limiter per account.
//
// # Waves
//
// With 60 targets and the waves {canary: regions [eu-west-1]},
// {half: percent 50}, {rest}, where eu-west-1 holds 4 targets: the
// canary wave takes those 4; half takes targets in plan order until the
// waves so far hold ⌈50% × 60⌉ = 30, so 26 more; rest takes the other 30.
// A group joins the wave of its first member, whole. The verdict of a
// wave: every target's canary succeeded, and after the wave's bake every
// target's route still sends all traffic to its candidate and passes the
// plan's bake checks.
//
// # Failure
//
// A target fails when its canary rolls back or stops, its verdict fails,
// or its region's policy has no opening within a year. Its group's targets
// that succeeded are reverted (compare-and-swap on the route as read,
// journaled as a rollback), those in flight are aborted (their canaries
// roll back), and no target starts any more. With ScopeRelease every
// target of the release goes back, in every wave done so far. Rollbacks
// never wait for deploy windows.
package fleet
