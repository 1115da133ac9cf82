package temporal

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
)

// Workflow names, signals and the query, as registered by Register.
const (
	ReleaseWorkflowName = "slipway.FleetRelease"
	TargetWorkflowName  = "slipway.FleetTarget"

	// SignalApprove lets a wave waiting for approval start (on a release)
	// or resolves a canary's confirm-promotion gate (on a target).
	SignalApprove = "approve"
	// SignalAbort aborts a release (fleet.EventAbort) or one target's
	// canary (it rolls back).
	SignalAbort = "abort"
	// SignalPause and SignalResume hold and release a release (no target
	// or wave starts) or a target's canary (canary.EventPause).
	SignalPause  = "pause"
	SignalResume = "resume"
	// QueryStatus answers a release's fleet.State or a target's
	// canary.State.
	QueryStatus = "status"
)

// Defaults of WorkflowOptions.
const (
	DefaultActivityTimeout = time.Minute
	DefaultRetryInterval   = time.Second
	DefaultMaxAttempts     = 10
)

// WorkflowOptions tune the workflows. They travel in the workflows'
// inputs, so every run of a release (and of its targets) uses the same.
type WorkflowOptions struct {
	// ActivityTimeout bounds one attempt of an activity (its
	// StartToClose timeout): how long a dead worker holds a call before
	// it is retried elsewhere. 0 means DefaultActivityTimeout.
	ActivityTimeout time.Duration `json:"activityTimeout,omitempty"`
	// RetryInterval is the delay before an activity's first retry
	// (doubling up to a minute); 0 means DefaultRetryInterval.
	RetryInterval time.Duration `json:"retryInterval,omitempty"`
	// MaxAttempts bounds an activity's attempts; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int32 `json:"maxAttempts,omitempty"`
	// ContinueAsNewAfter makes a workflow continue as new once its
	// history holds this many events, at a point where nothing is in
	// flight (a release: between waves; a target: while it waits). 0
	// leaves it to the server's suggestion.
	ContinueAsNewAfter int `json:"continueAsNewAfter,omitempty"`
}

func (o WorkflowOptions) activityContext(ctx workflow.Context) workflow.Context {
	timeout, retry, attempts := o.ActivityTimeout, o.RetryInterval, o.MaxAttempts
	if timeout == 0 {
		timeout = DefaultActivityTimeout
	}
	if retry == 0 {
		retry = DefaultRetryInterval
	}
	if attempts == 0 {
		attempts = DefaultMaxAttempts
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: retry, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: attempts, NonRetryableErrorTypes: []string{errNonRetryable}},
	})
}

func (o WorkflowOptions) continueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	if o.ContinueAsNewAfter > 0 {
		return info.GetCurrentHistoryLength() >= o.ContinueAsNewAfter
	}
	return info.GetContinueAsNewSuggested()
}

// ReleaseInput is the input of the release workflow: a plan (first run)
// or the state a continued run takes over.
type ReleaseInput struct {
	Plan    fleet.Plan      `json:"plan"`
	State   *fleet.State    `json:"state,omitempty"`
	Options WorkflowOptions `json:"options"`
}

// TargetInput is the input of the target workflow.
type TargetInput struct {
	Job      fleet.Job       `json:"job"`
	Strategy canary.Strategy `json:"strategy"`
	// State is the rollout a continued run takes over.
	State   *canary.State   `json:"state,omitempty"`
	Options WorkflowOptions `json:"options"`
}

// signals are a workflow's control channels.
type signals struct {
	approve, abort, pause, resume workflow.ReceiveChannel
}

func newSignals(ctx workflow.Context) signals {
	return signals{approve: workflow.GetSignalChannel(ctx, SignalApprove), abort: workflow.GetSignalChannel(ctx, SignalAbort),
		pause: workflow.GetSignalChannel(ctx, SignalPause), resume: workflow.GetSignalChannel(ctx, SignalResume)}
}

// pending reports whether a signal waits to be received (a workflow must
// not continue as new then: the signal would be lost).
func (s signals) pending() bool {
	for _, c := range []workflow.ReceiveChannel{s.approve, s.abort, s.pause, s.resume} {
		if c.Len() > 0 {
			return true
		}
	}
	return false
}

// add adds the channels to sel; on gets the signal's index (0 approve, 1
// abort, 2 pause, 3 resume) and its reason.
func (s signals) add(ctx workflow.Context, sel workflow.Selector, on func(kind int, reason string)) {
	for i, c := range []workflow.ReceiveChannel{s.approve, s.abort, s.pause, s.resume} {
		sel.AddReceive(c, func(c workflow.ReceiveChannel, _ bool) {
			var reason string
			c.Receive(ctx, &reason)
			on(i, reason)
		})
	}
}

// TargetWorkflow releases one target: it prepares the rollout (an
// activity), then runs canary.Next — the canary machine itself, pure, as
// workflow code — performing each action as an activity (SetRoute,
// Measure, RunHook) or a timer (Wait), with signals for approve, abort,
// pause and resume and the query status. It journals the outcome and
// returns the final state. While it waits it continues as new when its
// history is long (WorkflowOptions.ContinueAsNewAfter), carrying the
// state.
func TargetWorkflow(ctx workflow.Context, in TargetInput) (canary.State, error) {
	actx := in.Options.activityContext(ctx)
	var st canary.State
	ev := canary.Event{Kind: canary.EventStart}
	if in.State != nil {
		st, ev = *in.State, canary.Event{Kind: canary.EventTick}
	} else if err := workflow.ExecuteActivity(actx, ActivityPrepare, PrepareInput{Job: in.Job, Strategy: in.Strategy}).Get(ctx, &st); err != nil {
		return canary.State{}, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (canary.State, error) { return st, nil }); err != nil {
		return st, err
	}
	sig := newSignals(ctx)
	progressed := false // this run did something: continuing as new is not a loop
	for {
		next, acts := canary.Next(st, ev, workflow.Now(ctx))
		st = next
		if st.Done() {
			break
		}
		var act canary.Action
		for _, a := range acts {
			if a.Kind != canary.ActionDone {
				act = a
				break
			}
		}
		if act.Kind == 0 {
			if a, ok := st.InFlight(); ok {
				act = a
			}
		}
		wasTick := ev.Kind == canary.EventTick
		switch act.Kind {
		case 0:
			if !wasTick {
				ev = canary.Event{Kind: canary.EventTick}
				continue
			}
			ev = waitTarget(ctx, sig, time.Time{})
		case canary.ActionWait:
			if progressed && in.Options.continueAsNew(ctx) && !sig.pending() {
				next := in
				next.State = &st
				return st, workflow.NewContinueAsNewError(ctx, TargetWorkflowName, next)
			}
			ev = waitTarget(ctx, sig, act.Until)
		case canary.ActionSetRoute:
			known := st.Route
			if act.Route.Alias != st.Alias {
				known = st.TestRoute
			}
			known = known.Clone()
			known.Alias, known.Revision = act.Route.Alias, act.Route.Revision
			var rr RouteResult
			err := workflow.ExecuteActivity(actx, ActivitySetRoute, SetRouteInput{Job: in.Job, Want: act.Route, Known: known}).Get(ctx, &rr)
			switch {
			case err != nil:
				ev = canary.Event{Kind: canary.EventRouteFailed, Err: err}
			case rr.Failed:
				ev = canary.Event{Kind: canary.EventRouteFailed, Err: errors.New(rr.Err), Conflict: rr.Conflict, Route: rr.Route}
			default:
				ev = canary.Event{Kind: canary.EventRouteSet, Route: rr.Route}
			}
		case canary.ActionMeasure:
			names := act.Checks
			if names == nil {
				for _, c := range st.Checks {
					names = append(names, c.Name)
				}
			}
			var mr MeasureResult
			err := workflow.ExecuteActivity(actx, ActivityMeasure, MeasureInput{Job: in.Job, Window: act.Window, Checks: names, Route: st.Route, Alias: st.Alias}).Get(ctx, &mr)
			ev = canary.Event{Kind: canary.EventMeasured, Start: act.Window.Start, End: act.Window.End}
			switch {
			case err != nil:
				ev.Err = err
			case mr.Abort != "":
				ev = canary.Event{Kind: canary.EventAbort, Reason: mr.Abort}
			case mr.Err != "":
				ev.Err = errors.New(mr.Err)
			default:
				for _, r := range mr.Results {
					cr := canary.CheckResult{Name: r.Name, Measurement: r.Measurement}
					if r.Err != "" {
						cr.Err = errors.New(r.Err)
					}
					ev.Results = append(ev.Results, cr)
				}
			}
		case canary.ActionRunHook:
			hi := canary.HookInput{Name: act.Hook, Stage: canary.StagePostTraffic, RolloutID: st.ID, Function: st.Function, Alias: st.Alias,
				Stable: st.Stable, Candidate: st.Candidate, Deadline: act.Until}
			if st.Phase == canary.PhasePreTraffic {
				hi.Stage = canary.StagePreTraffic
			}
			hctx := workflow.WithStartToCloseTimeout(actx, max(act.Until.Sub(workflow.Now(ctx)), time.Second))
			var failure string
			err := workflow.ExecuteActivity(hctx, ActivityRunHook, HookInput{Job: in.Job, Hook: hi}).Get(ctx, &failure)
			ev = canary.Event{Kind: canary.EventHookDone, Hook: act.Hook}
			switch {
			case err != nil:
				ev.Err = err
			case failure != "":
				ev.Err = errors.New(failure)
			}
		default:
			return st, fmt.Errorf("temporal: target %s: action %s", in.Job.Target.ID(), act.Kind)
		}
		progressed = true
	}
	if err := workflow.ExecuteActivity(actx, ActivityRecord, RecordInput{Job: in.Job, State: st}).Get(ctx, nil); err != nil {
		return st, err
	}
	return st, nil
}

// waitTarget waits for a signal, or until until when it is not zero (a
// Tick), and returns the canary event.
func waitTarget(ctx workflow.Context, sig signals, until time.Time) canary.Event {
	var ev canary.Event
	sel := workflow.NewSelector(ctx)
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	if !until.IsZero() {
		d := until.Sub(workflow.Now(ctx))
		if d <= 0 {
			return canary.Event{Kind: canary.EventTick}
		}
		sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) { ev = canary.Event{Kind: canary.EventTick} })
	}
	sig.add(ctx, sel, func(kind int, reason string) {
		ev = canary.Event{Kind: []canary.EventKind{canary.EventApproved, canary.EventAbort, canary.EventPause, canary.EventResume}[kind], Reason: note("signal", reason)}
	})
	sel.Select(ctx)
	return ev
}

func note(s, n string) string {
	if n == "" {
		return s
	}
	return s + ": " + n
}

// ReleaseWorkflow runs a fleet release: fleet.Next decides, and every
// decision is performed as a child workflow per target (TargetWorkflow,
// its ID WorkflowID(plan), a dot and the index), an activity (Revert,
// Judge) or a timer; signals approve, abort, pause and resume become
// fleet events, and the query status answers the fleet.State. When
// nothing is in flight (between waves) and the history is long it
// continues as new with the state. It returns the final state; the
// release's verdict is fleet.Result of it.
func ReleaseWorkflow(ctx workflow.Context, in ReleaseInput) (fleet.State, error) {
	actx := in.Options.activityContext(ctx)
	var st fleet.State
	ev := fleet.Event{Kind: fleet.EventStart}
	if in.State != nil {
		st, ev = *in.State, fleet.Event{Kind: fleet.EventTick}
	} else {
		if err := workflow.ExecuteActivity(actx, ActivityCheck, in.Plan).Get(ctx, nil); err != nil {
			return fleet.State{}, err
		}
		var err error
		if st, err = fleet.NewState(in.Plan); err != nil {
			return fleet.State{}, temporal.NewNonRetryableApplicationError(err.Error(), errNonRetryable, err)
		}
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (fleet.State, error) { return st, nil }); err != nil {
		return st, err
	}
	r := &releaseRun{in: in, actx: actx, evs: workflow.NewChannel(ctx), children: map[int]workflow.ChildWorkflowFuture{}, waits: map[int64]bool{},
		prefix: WorkflowID(st.Plan)}
	if in.State != nil {
		for _, a := range fleet.Pending(st) {
			r.perform(ctx, st, a)
		}
	}
	sig := newSignals(ctx)
	for {
		next, acts := fleet.Next(st, ev, workflow.Now(ctx))
		st = next
		if st.Phase.Terminal() {
			return st, nil
		}
		if r.progressed && r.inflight == 0 && in.Options.continueAsNew(ctx) && !sig.pending() {
			in.State = &st
			return st, workflow.NewContinueAsNewError(ctx, ReleaseWorkflowName, in)
		}
		for _, a := range acts {
			r.perform(ctx, st, a)
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(r.evs, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &ev)
			r.inflight--
			r.progressed = true
		})
		sig.add(ctx, sel, func(kind int, reason string) {
			ev = fleet.Event{Kind: []fleet.EventKind{fleet.EventApprove, fleet.EventAbort, fleet.EventPause, fleet.EventResume}[kind], Reason: note("signal", reason)}
		})
		sel.Select(ctx)
	}
}

// releaseRun is one run of ReleaseWorkflow: the work in flight.
type releaseRun struct {
	in       ReleaseInput
	actx     workflow.Context
	evs      workflow.Channel
	inflight int
	// progressed: an action of this run ended (continuing as new before
	// that would loop).
	progressed bool
	children   map[int]workflow.ChildWorkflowFuture
	waits      map[int64]bool
	prefix     string
}

// perform starts one action in a coroutine that sends its event.
func (r *releaseRun) perform(ctx workflow.Context, st fleet.State, a fleet.Action) {
	plan := st.Plan
	send := func(f func(ctx workflow.Context) fleet.Event) {
		r.inflight++
		workflow.Go(ctx, func(ctx workflow.Context) {
			r.evs.Send(ctx, f(ctx))
		})
	}
	k := a.Target
	switch a.Kind {
	case fleet.ActionStart:
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: fmt.Sprintf("%s.%d", r.prefix, k)})
		child := workflow.ExecuteChildWorkflow(cctx, TargetWorkflowName,
			TargetInput{Job: plan.Job(k), Strategy: plan.Strategy, Options: r.in.Options})
		r.children[k] = child
		send(func(ctx workflow.Context) fleet.Event {
			var cs canary.State
			if err := child.Get(ctx, &cs); err != nil {
				return fleet.Event{Kind: fleet.EventTargetDone, Target: k, Outcome: fleet.TargetFailed, Reason: err.Error()}
			}
			return fleet.TargetEvent(k, cs)
		})
	case fleet.ActionAbort:
		if child, ok := r.children[k]; ok {
			child.SignalChildWorkflow(ctx, SignalAbort, a.Reason)
		}
	case fleet.ActionRevert:
		t := st.Targets[k]
		reason := st.Reason
		send(func(ctx workflow.Context) fleet.Event {
			var rr RevertResult
			ev := fleet.Event{Kind: fleet.EventReverted, Target: k}
			err := workflow.ExecuteActivity(r.actx, ActivityRevert, RevertInput{Job: plan.Job(k), Candidate: t.Candidate, Reason: reason}).Get(ctx, &rr)
			switch {
			case err != nil:
				ev.Err = err.Error()
			case rr.Err != "":
				ev.Err = rr.Err
			default:
				ev.Reason = "previous version " + rr.Version + " from the journal"
			}
			return ev
		})
	case fleet.ActionJudge:
		t := st.Targets[k]
		send(func(ctx workflow.Context) fleet.Event {
			var jr JudgeResult
			err := workflow.ExecuteActivity(r.actx, ActivityJudge, JudgeInput{Job: plan.Job(k), Candidate: t.Candidate, Start: a.Start, End: a.End}).Get(ctx, &jr)
			if err != nil {
				return fleet.Event{Kind: fleet.EventJudged, Target: k, Reason: "could not judge: " + err.Error()}
			}
			return fleet.Event{Kind: fleet.EventJudged, Target: k, Pass: jr.Pass, Reason: jr.Reason}
		})
	case fleet.ActionWait:
		key := a.Until.UnixNano()
		if r.waits[key] {
			return
		}
		r.waits[key] = true
		send(func(ctx workflow.Context) fleet.Event {
			if d := a.Until.Sub(workflow.Now(ctx)); d > 0 {
				_ = workflow.Sleep(ctx, d)
			}
			delete(r.waits, key)
			return fleet.Event{Kind: fleet.EventTick}
		})
	}
}
