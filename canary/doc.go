// Package canary shifts a route's traffic from a stable version to a
// candidate in steps, judging each step with pluggable metric checks, and
// rolls back automatically when the candidate is worse.
//
// It sits between package provider, whose Route it writes and whose
// Metrics it reads, and package release, which composes it with
// publishing and pruning. It has three layers:
//
//   - Strategy says how traffic moves: steps of {Weight, Bake} in basis
//     points (Canary, Linear, AllAtOnce, BlueGreenStrategy, Custom, and
//     the CodeDeploy-named presets of Preset), an analysis interval, a
//     warm-up, hooks and an optional approval gate. Strategy.Validate
//     checks it against a platform's provider.Capabilities before anything
//     is touched.
//   - Check judges one MetricWindow of metrics: Pass, Fail or Inconclusive, or an
//     error, which is not a verdict. Threshold, Relative and the statistical
//     Judge are built in, and Alarms turns the platform's alarms (through a
//     provider.AlarmReader) into a check relative to the rollout;
//     CheckFunc adapts a function. Analysis turns the
//     verdicts of many windows into a decision.
//   - Next is the rollout machine, a pure function
//     (State, Event, now) → (State, []Action) with no I/O and no clock. The
//     runner performs the actions (SetRoute, Measure, RunHook, Wait), feeds
//     their results back as events, and persists the State after every
//     transition, so a crashed process resumes where it stopped.
//
// # The machine
//
// A rollout starts from NewState, which validates a Spec (the alias's
// current route, the candidate, the strategy) and returns a State in
// PhasePending. EventStart leads through PhasePreTraffic (when a
// pre-traffic hook is set), then for every step PhaseShifting (a SetRoute
// with the route's last revision as the compare-and-swap token) and
// PhaseBaking (windows measured and judged until the bake ends), through
// PhaseAwaitingApproval before the first step that sends all traffic to the
// candidate (when an approval gate is set), to PhasePostTraffic and
// PhaseSucceeded. A failed judgement, a failed hook, a rejection, an abort
// or a cancellation leads to PhaseRollingBack, which writes
// State.StableRoute back exactly, and PhaseRolledBack. PhaseFailed is the
// end without a rollback: the route changed out of band (and the
// ConflictPolicy says not to overwrite it), the caller cancelled with
// LeaveOnCancel, or the rollback could not be written. Allowed is the
// table of every transition.
//
// Worked example, Canary10Percent5Minutes with one check, an interval of
// one minute, started at 12:00:
//
//	12:00  SetRoute 90% stable / 10% candidate     Pending → Shifting
//	12:00  RouteSet                                Shifting → Baking
//	12:01  Measure [12:00,12:01) … every minute …
//	12:05  Measure [12:04,12:05) → Pass            Baking → Shifting
//	12:05  SetRoute 100% candidate; RouteSet       Shifting → Succeeded
//
// Had the check failed at 12:03 (with the default FailureLimit 0) the
// machine would have asked for the stable route at once: traffic is back
// on the stable version within one analysis interval of the first window
// that shows the fault.
//
// # Analysis limits compared
//
// The limits follow Argo Rollouts: a check fails the rollout when its
// failures exceed FailureLimit (failures > limit; the default 0 fails at
// the first failure), inconclusive verdicts beyond InconclusiveLimit pause
// the rollout (or roll it back, by OnInconclusive), and more than
// ConsecutiveErrorLimit (default 4) measurement errors in a row fail it, so
// a flaky metrics source neither promotes nor rolls back on its first
// hiccup. Flagger's analysis.threshold counts the other way: it rolls back
// when failed checks reach the threshold (failures ≥ threshold). Flagger's
// threshold N is FailureLimit N−1 here; Flagger's common threshold: 5
// tolerates four failed checks, as FailureLimit: 4 does. A check can be
// Critical (its first failure fails the rollout, as a Kayenta critical
// metric does) or NonCritical (reported, never decisive).
package canary
