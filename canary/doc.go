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
//     error, which is not a verdict. Sequential (the default judgement,
//     DefaultAnalysis), Threshold, Relative and the fixed-horizon
//     statistical Judge (Kayenta's classifier) are built in, and Alarms
//     turns the platform's alarms (through a provider.AlarmReader) into a
//     check relative to the rollout; CheckFunc adapts a function. Analysis
//     turns the verdicts of many windows into a decision.
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
// Windows are aligned to multiples of the interval (so metric queries cover
// whole periods), and a step judges the same number of whole windows
// whenever it starts: Plan.Windows, floor((Bake−WarmUp)/Interval), here 5.
// A step that starts between boundaries bakes until its last window has
// ended (Plan.BakeEnd), less than one interval past its Bake; the partial
// first period is not judged (a window without candidate requests would be
// inconclusive and pause a quiet rollout). The same rollout started at
// 12:00:17:
//
//	12:00:17  SetRoute, RouteSet                   Pending → Shifting → Baking
//	12:02     Measure [12:01,12:02) … every minute …
//	12:06     Measure [12:05,12:06) → Pass         Baking → Shifting
//	12:06     SetRoute 100% candidate; RouteSet    Shifting → Succeeded
//
// It is judged on five windows, as at 12:00, not on the four that end by
// 12:05:17, and promoted at 12:06 (TestBakeWindows).
//
// Had the check failed at 12:03 (with the default FailureLimit 0) the
// machine would have asked for the stable route at once: traffic is back
// on the stable version within one analysis interval of the first window
// that shows the fault, plus one API round trip. The runner sends a
// window's metrics read half a measured round trip before the window ends,
// so that it reaches the source as the window closes (a source publishes a
// period only once it is complete), and writes the rollback as soon as the
// answer is back, without reading the route first (the write's
// compare-and-swap detects an out-of-band change): 2 s after the window's
// end with 2 s per call (TestRunnerRollbackLatency). A source that answers
// such a read incomplete (it publishes late) is read at the window's end
// for the rest of the rollout.
//
// # Judgement over a whole rollout
//
// A rollout looks at its metrics once per interval, many times over. A
// fixed-horizon test at α = 5% per window (Judge, Kayenta's classifier)
// spends the whole error budget at every look: with the default
// FailureLimit 0 a healthy candidate is rolled back in 19% of rollouts of
// Canary10Percent5Minutes, 30% of Linear10PercentEvery1Minute and 96% of
// Linear10PercentEvery10Minutes (Judge{Metric: ErrorRate}, 1,000 seeded
// rollouts each, TestSimulationKayentaContrast). The default judgement is
// therefore sequential: Sequential accumulates anytime-valid evidence
// (package stats: a mixture test martingale per metric, after Lindon,
// Sanden and Shirikian, KDD 2022, and Lindon and Malek, NeurIPS 2022) over
// the whole rollout, carried in the rollout's state, and fails only when
// the evidence over everything seen so far reaches 1/α — so a healthy
// candidate is rolled back with probability at most α in total, however
// many windows the rollout has. DefaultAnalysis is that check;
// JudgedPreset(name) is Preset(name) with it, and examples/quickstart and
// examples/ci use it. Judge remains for Kayenta-compatible fixed-horizon
// judgements.
//
// A candidate is promoted only on evidence: when the next step would send
// it all traffic (or end the rollout), every decisive check must have
// passed at least one window, whatever InconclusiveLimit allows; otherwise
// the rollout pauses (or rolls back, with RollBackOnInconclusive).
//
// TestSimulation (1,000 seeded rollouts per preset and behaviour on the
// memory provider in virtual time, each started at a seed-dependent second
// of the minute as real rollouts are; 100 requests a second, stable version
// at 1% errors and a p99 of 200ms; Monte-Carlo standard errors in brackets;
// "windows" counts analysis windows until the rollback, "exposed" the
// candidate's requests until then, mean / max):
//
//	preset                         healthy rolled back  15% errors: at window 1, exposed  p99 +30% (median same): caught, within 5 windows, windows median/99th, exposed
//	Canary10Percent5Minutes        0.5% (0.2%)          100%, 891 / 1260                  86.7% (1.1%), 86.7%, 5 / 5,  3200 / 3648
//	Canary10Percent10Minutes       0.5% (0.2%)          100%, 891 / 1260                  91.4% (0.9%), 86.7%, 5 / 10, 3305 / 6605
//	Canary10Percent15Minutes       0.5% (0.2%)          100%, 891 / 1260                  98.9% (0.3%), 86.7%, 5 / 11, 3595 / 9517
//	Canary10Percent30Minutes       0.5% (0.2%)          100%, 891 / 1260                  100%,         86.7%, 5 / 16, 3674 / 14094
//	Linear10PercentEvery1Minute    0.2% (0.1%)          100%, 891 / 1260                  96.5% (0.6%), 95.7%, 5 / 5,  9313 / 13254
//	Linear10PercentEvery2Minutes   0.0% (0.1%)          100%, 891 / 1260                  100%,         93.5%, 5 / 11, 6604 / 26012
//	Linear10PercentEvery3Minutes   0.0% (0.1%)          100%, 891 / 1260                  100%,         90.4%, 5 / 12, 5424 / 30942
//	Linear10PercentEvery10Minutes  0.5% (0.2%)          100%, 891 / 1260                  100%,         86.7%, 5 / 16, 3772 / 18159
//
// (The Monte-Carlo error of a rate p over 1,000 rollouts is √(p(1−p)/1000):
// 0.1–0.2% for the healthy rows; at the bound α = 5% it would be 0.7%.) A
// clear error regression is rolled back at the first window, which ends at
// the second interval boundary after the canary gets traffic (1m29s
// median, 1m59s at worst here; the exposure counts the unjudged partial
// first minute too). A +30% tail-latency regression is caught within 5
// windows in at least 80% of seeds on every preset (86.7% on
// Canary10Percent5Minutes, which has just 5), and within 16 windows in at
// least 99% of seeds on every preset with that many canary windows;
// TestSimulation asserts both. It takes about five windows because one
// period gives at most a factor 1/p0 ≈ 2.4 of evidence
// (stats.QuantileExceedance: "was the candidate's p99 higher?" has a null
// probability p0 ≈ 0.41 at 600 against 5,400 requests), a period counts
// only when the candidate's p99 is more than LatencyMargin (5%) above the
// stable one's (96.8% of periods here), and the latency test must reach
// 1/(0.9·α) = 22.2 in Sequential's weighted mixture. The seeds that are
// not caught within 5 windows had a period where the candidate's p99 of
// 600 requests happened to be lower: a period costs far more evidence
// when it goes the wrong way than it gives when it goes the right one. Add
// a Threshold on p99 when a tail-latency budget must hold from the first
// window. AllAtOnce has no stable share to compare with and no analysis.
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
