package temporal

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/fleet"
)

// Register registers the release and target workflows and the activities
// of a on a worker:
//
//	w := worker.New(c, "slipway", worker.Options{})
//	temporal.Register(w, &temporal.Activities{Ops: ops})
//	err := w.Run(worker.InterruptCh())
//
// r is a worker.Worker, or a testsuite.TestWorkflowEnvironment, or a
// worker.WorkflowReplayer (which takes the workflows only; pass a nil a).
func Register(r Registry, a *Activities) {
	r.RegisterWorkflowWithOptions(ReleaseWorkflow, workflow.RegisterOptions{Name: ReleaseWorkflowName})
	r.RegisterWorkflowWithOptions(TargetWorkflow, workflow.RegisterOptions{Name: TargetWorkflowName})
	ar, ok := r.(ActivityRegistry)
	if !ok || a == nil {
		return
	}
	for name, f := range map[string]any{
		ActivityCheck: a.Check, ActivityPrepare: a.Prepare, ActivitySetRoute: a.SetRoute, ActivityMeasure: a.Measure,
		ActivityRunHook: a.RunHook, ActivityRecord: a.Record, ActivityRevert: a.Revert, ActivityJudge: a.Judge,
	} {
		ar.RegisterActivityWithOptions(f, activity.RegisterOptions{Name: name})
	}
}

// Registry is where workflows are registered.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// ActivityRegistry is where activities are registered.
type ActivityRegistry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

var (
	_ Registry         = worker.Worker(nil)
	_ ActivityRegistry = worker.Worker(nil)
	_ Registry         = worker.WorkflowReplayer(nil)
)

// WorkflowID is the release workflow's ID for a plan: "slipway-fleet-"
// and the plan's ID. Its targets' workflows are that ID, a dot and the
// target's index.
func WorkflowID(p fleet.Plan) string { return "slipway-fleet-" + p.ID }

// Start validates the plan (fleet.Plan.Validate; the worker checks it
// against its backends before the first target) and starts its release
// on the task queue:
//
//	run, err := temporal.Start(ctx, c, "slipway", plan, temporal.WorkflowOptions{})
//	st, err := temporal.Wait(ctx, run)
func Start(ctx context.Context, c client.Client, taskQueue string, p fleet.Plan, o WorkflowOptions) (client.WorkflowRun, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: WorkflowID(p), TaskQueue: taskQueue}, ReleaseWorkflowName,
		ReleaseInput{Plan: p, Options: o})
	if err != nil {
		return nil, fmt.Errorf("temporal: start release %q: %w", p.ID, err)
	}
	return run, nil
}

// Wait waits for the release to end and returns its final state, with
// fleet.Result's verdict (nil when it succeeded).
func Wait(ctx context.Context, run client.WorkflowRun) (fleet.State, error) {
	var st fleet.State
	if err := run.Get(ctx, &st); err != nil {
		return st, fmt.Errorf("temporal: release %s: %w", run.GetID(), err)
	}
	return st, fleet.Result(st)
}

// Status queries a running release's state.
func Status(ctx context.Context, c client.Client, p fleet.Plan) (fleet.State, error) {
	v, err := c.QueryWorkflow(ctx, WorkflowID(p), "", QueryStatus)
	if err != nil {
		return fleet.State{}, err
	}
	var st fleet.State
	err = v.Get(&st)
	return st, err
}
