// Package temporal runs fleet releases (package fleet) as Temporal
// workflows, so that a release of hundreds of functions survives the
// restart of any process and runs on an existing distributed engine.
//
// It is its own Go module (github.com/slipway-dev/slipway/temporal), so
// users of the library never download the Temporal SDK, and its tests'
// in-process server never lengthens the library's CI.
//
//   - ReleaseWorkflow is the parent, one per fleet release: it runs
//     fleet.Next, the same decisions the in-process fleet.Executor makes,
//     and performs them: a child workflow per target, the Revert and Judge
//     activities, timers for bakes and deploy windows.
//   - TargetWorkflow is the child, one per target: it runs canary.Next —
//     the canary machine itself, which is pure and therefore workflow code
//     — and performs its actions as activities (SetRoute, Measure,
//     RunHook) and timers (Wait). The machine is not re-implemented here.
//   - Activities are every provider, metrics, hook and journal call, each
//     idempotent: SetRoute retried after a dead worker reads the route
//     first and never writes twice.
//
// Signals approve, abort, pause and resume act on a release (or one
// target); the query status answers its state. Both workflows continue
// as new with their state when their history grows long, at a point where
// nothing is in flight.
//
// A worker and a starter:
//
//	ops, _ := fleet.NewOps(fleet.OpsOptions{Backends: backends, Journal: journal, Checks: checks})
//	w := worker.New(c, "slipway", worker.Options{})
//	temporal.Register(w, &temporal.Activities{Ops: ops})
//	go w.Run(worker.InterruptCh())
//
//	run, _ := temporal.Start(ctx, c, "slipway", plan, temporal.WorkflowOptions{})
//	st, err := temporal.Wait(ctx, run)
package temporal
