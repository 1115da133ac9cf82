package temporal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/provider"
)

// Activity names, as registered by Register.
const (
	ActivityCheck    = "slipway.fleet.Check"
	ActivityPrepare  = "slipway.fleet.Prepare"
	ActivitySetRoute = "slipway.fleet.SetRoute"
	ActivityMeasure  = "slipway.fleet.Measure"
	ActivityRunHook  = "slipway.fleet.RunHook"
	ActivityRecord   = "slipway.fleet.Record"
	ActivityRevert   = "slipway.fleet.Revert"
	ActivityJudge    = "slipway.fleet.Judge"
)

// errNonRetryable is the ApplicationError type of failures no retry can
// mend (an invalid plan or input).
const errNonRetryable = "slipway.invalid"

// Activities are every provider, metrics, hook and journal call of a fleet
// release, performed by a worker: the workflows only decide. Each is
// idempotent (a retried activity changes nothing twice), so a worker
// killed mid-call and the activity retried elsewhere is safe.
type Activities struct {
	// Ops are the fleet's providers, journal, checks and clock.
	Ops *fleet.Ops
	// Hooks holds the code of the hooks strategies name.
	Hooks map[string]canary.HookFunc
	// MetricsLag is how long past a window's end the metrics source may
	// take to complete it; until then Measure fails and is retried. 0
	// means canary.DefaultMetricsLag.
	MetricsLag time.Duration
}

func nonRetryable(err error) error {
	if errors.Is(err, provider.ErrInvalid) || errors.Is(err, provider.ErrUnsupported) {
		return temporal.NewNonRetryableApplicationError(err.Error(), errNonRetryable, err)
	}
	return err
}

// Check validates the plan against the worker's backends and checks
// before anything is touched (fleet.Ops.Check).
func (a *Activities) Check(ctx context.Context, p fleet.Plan) error {
	return nonRetryable(a.Ops.Check(p))
}

// PrepareInput is the input of Prepare.
type PrepareInput struct {
	Job      fleet.Job       `json:"job"`
	Strategy canary.Strategy `json:"strategy"`
}

// Prepare resolves the target's candidate (publishing it when the plan
// says so), reads the alias's route and returns the rollout's initial
// state (canary.NewState). A route that already splits traffic (another
// rollout may own it) is refused, as canary.Runner.Start refuses it.
func (a *Activities) Prepare(ctx context.Context, in PrepareInput) (canary.State, error) {
	j := in.Job
	cand, err := a.Ops.Candidate(ctx, j)
	if err != nil {
		return canary.State{}, nonRetryable(err)
	}
	pr, err := a.Ops.Provider(j.Target.Provider, j.Limit)
	if err != nil {
		return canary.State{}, nonRetryable(err)
	}
	route, err := pr.Route(ctx, j.Target.Function, j.Alias)
	if err != nil {
		return canary.State{}, nonRetryable(fmt.Errorf("read route: %w", err))
	}
	for _, w := range route.Weights[min(1, len(route.Weights)):] {
		if w.BasisPoints > 0 {
			return canary.State{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("route %q of %s already splits traffic (%v), as another rollout would", j.Alias, j.Target.ID(), route.Weights), errNonRetryable, provider.ErrConflict)
		}
	}
	s := in.Strategy
	s.Analysis.Checks = append([]canary.CheckSpec(nil), s.Analysis.Checks...)
	for i := range s.Analysis.Checks {
		s.Analysis.Checks[i].Check = canary.CheckFunc(func(context.Context, canary.MetricWindow) (canary.Measurement, error) {
			return canary.Measurement{}, nil // validation only: Measure judges with the worker's checks
		})
	}
	sp := canary.Spec{ID: j.RolloutID(), Function: j.Target.Function, Route: route, Candidate: cand, Strategy: s}
	if bg := s.BlueGreen; bg != nil {
		tr, err := pr.Route(ctx, j.Target.Function, bg.TestAlias)
		switch {
		case err == nil:
			sp.TestRevision = tr.Revision
		case !errors.Is(err, provider.ErrNotFound):
			return canary.State{}, err
		}
	}
	st, err := canary.NewState(sp, pr.Capabilities())
	if err != nil {
		return canary.State{}, nonRetryable(err)
	}
	return st, nil
}

// SetRouteInput is the input of SetRoute.
type SetRouteInput struct {
	Job fleet.Job `json:"job"`
	// Want is the route the machine asked for, its Revision the expected
	// one.
	Want provider.Route `json:"want"`
	// Known is the route as the rollout last knew it (for the conflict's
	// report).
	Known provider.Route `json:"known"`
}

// RouteResult is SetRoute's outcome, turned by the workflow into
// canary.EventRouteSet (Failed false) or canary.EventRouteFailed.
type RouteResult struct {
	Route    provider.Route `json:"route"`
	Failed   bool           `json:"failed,omitempty"`
	Conflict bool           `json:"conflict,omitempty"`
	Err      string         `json:"err,omitempty"`
}

// SetRoute writes the route with compare-and-swap. On its first attempt
// it writes; on a retry (the worker died, the response was lost) it first
// reads the route, as canary.State.InFlight says: already the requested
// traffic means the earlier attempt landed (no second write); still the
// expected revision means it did not (write now); anything else is an
// out-of-band change. A conflict is reported with the route read back.
// Throttling and unavailability fail the attempt, for Temporal to retry.
func (a *Activities) SetRoute(ctx context.Context, in SetRouteInput) (RouteResult, error) {
	j, want := in.Job, in.Want
	pr, err := a.Ops.Provider(j.Target.Provider, j.Limit)
	if err != nil {
		return RouteResult{}, nonRetryable(err)
	}
	fn := j.Target.Function
	if activity.GetInfo(ctx).Attempt > 1 {
		cur, err := pr.Route(ctx, fn, want.Alias)
		switch {
		case errors.Is(err, provider.ErrNotFound) && want.Revision == "":
		case err != nil:
			return RouteResult{}, err
		case cur.SameTraffic(want):
			return RouteResult{Route: cur}, nil
		case cur.Revision != want.Revision:
			ce := &canary.ConflictError{Function: fn, Expected: in.Known, Found: cur}
			return RouteResult{Route: cur, Failed: true, Conflict: true, Err: ce.Error()}, nil
		}
	}
	got, err := pr.SetRoute(ctx, fn, want)
	if err == nil {
		return RouteResult{Route: got}, nil
	}
	if !errors.Is(err, provider.ErrConflict) {
		if errors.Is(err, provider.ErrInvalid) || errors.Is(err, provider.ErrUnsupported) || errors.Is(err, provider.ErrNotFound) {
			return RouteResult{Failed: true, Err: err.Error()}, nil
		}
		return RouteResult{}, err
	}
	cur, rerr := pr.Route(ctx, fn, want.Alias)
	if rerr != nil && !errors.Is(rerr, provider.ErrNotFound) {
		return RouteResult{}, rerr
	}
	ce := &canary.ConflictError{Function: fn, Expected: in.Known, Found: cur, Err: err}
	return RouteResult{Route: cur, Failed: true, Conflict: true, Err: ce.Error()}, nil
}

// MeasureInput is the input of Measure.
type MeasureInput struct {
	Job fleet.Job `json:"job"`
	// Window is the action's window; Checks the checks to judge it with.
	Window canary.MetricWindow `json:"window"`
	Checks []string            `json:"checks"`
	// Route is the alias's route as the rollout last wrote it: a route
	// found otherwise changed out of band, and the rollout is aborted.
	Route provider.Route `json:"route"`
	// Stable is the rollout's alias (the test alias of blue/green is
	// observed across routes).
	Alias string `json:"alias"`
}

// Result is one check's result, its error as text.
type Result struct {
	Name        string             `json:"name"`
	Measurement canary.Measurement `json:"measurement"`
	Err         string             `json:"err,omitempty"`
}

// MeasureResult is Measure's outcome: the window's results (Err: the
// metrics source failed), or Abort with the reason when the route changed
// out of band.
type MeasureResult struct {
	Results []Result `json:"results,omitempty"`
	Err     string   `json:"err,omitempty"`
	Abort   string   `json:"abort,omitempty"`
}

// Measure reads the alias's route (changed out of band: Abort), fetches
// the window's metrics for the candidate and the stable version, and
// judges them with the worker's checks. Metrics not yet complete for the
// window fail the attempt (Temporal retries) until MetricsLag past its
// end, then are reported as the source's error.
func (a *Activities) Measure(ctx context.Context, in MeasureInput) (MeasureResult, error) {
	j, w := in.Job, in.Window
	pr, err := a.Ops.Provider(j.Target.Provider, j.Limit)
	if err != nil {
		return MeasureResult{}, nonRetryable(err)
	}
	if w.Alias == in.Alias {
		cur, err := pr.Route(ctx, j.Target.Function, in.Alias)
		if err == nil && !cur.SameTraffic(in.Route) {
			ce := &canary.ConflictError{Function: j.Target.Function, Expected: in.Route, Found: cur}
			return MeasureResult{Abort: ce.Error()}, nil
		}
	}
	m := a.Ops.Metrics(j.Target.Provider)
	if m == nil {
		return MeasureResult{Err: "no metrics source for account " + j.Target.Provider}, nil
	}
	q := provider.Query{Function: w.Function, Alias: w.Alias, Versions: []string{w.Candidate}, Start: w.Start, End: w.End}
	if w.Stable != "" && w.Stable != w.Candidate {
		q.Versions = append(q.Versions, w.Stable)
	}
	if w.Alias != in.Alias {
		q.Alias = ""
	}
	res := m.Resolution()
	q.Period = w.End.Sub(w.Start)
	if res > 0 && q.Period%res == 0 {
		q.Period = res
	}
	obs, err := m.Observe(ctx, q)
	if err != nil {
		return MeasureResult{Err: err.Error()}, nil
	}
	if obs.Through.Before(w.End) {
		lag := a.MetricsLag
		if lag == 0 {
			lag = canary.DefaultMetricsLag
		}
		if a.Ops.Clock().Now().Sub(w.End) < lag && activity.GetInfo(ctx).Attempt < 100 {
			return MeasureResult{}, fmt.Errorf("metrics of %s complete through %s only, window ends %s", w.Function, obs.Through, w.End)
		}
		return MeasureResult{Err: fmt.Sprintf("metrics of %s complete only through %s, %s after the window ended", w.Function, obs.Through, lag)}, nil
	}
	w.Metrics = obs
	out := MeasureResult{}
	for _, name := range in.Checks {
		c := a.Ops.CheckCode(name)
		if c == nil {
			out.Results = append(out.Results, Result{Name: name, Err: "no check named " + name + " on this worker"})
			continue
		}
		meas, err := c.Judge(ctx, w)
		r := Result{Name: name, Measurement: meas}
		if err != nil {
			r.Err = err.Error()
		}
		out.Results = append(out.Results, r)
	}
	return out, nil
}

// HookInput is the input of RunHook.
type HookInput struct {
	Job  fleet.Job        `json:"job"`
	Hook canary.HookInput `json:"hook"`
}

// RunHook runs a hook and returns its failure as text ("" when it passed).
func (a *Activities) RunHook(ctx context.Context, in HookInput) (string, error) {
	h := a.Hooks[in.Hook.Name]
	if h == nil {
		return "no hook named " + in.Hook.Name + " on this worker", nil
	}
	if err := h(ctx, in.Hook); err != nil {
		return err.Error(), nil
	}
	return "", nil
}

// RecordInput is the input of Record.
type RecordInput struct {
	Job   fleet.Job    `json:"job"`
	State canary.State `json:"state"`
}

// Record journals the end of a target's canary (fleet.Ops.Record).
func (a *Activities) Record(ctx context.Context, in RecordInput) error {
	return a.Ops.Record(ctx, in.Job, in.State)
}

// RevertInput is the input of Revert.
type RevertInput struct {
	Job       fleet.Job `json:"job"`
	Candidate string    `json:"candidate"`
	Reason    string    `json:"reason"`
}

// RevertResult is Revert's outcome: the version restored, or Err.
type RevertResult struct {
	Version string `json:"version,omitempty"`
	Err     string `json:"err,omitempty"`
}

// Revert sends a target back to its previous version from the journal
// (fleet.Ops.Revert). A conflict, a missing promotion or an invalid input
// is a result; other failures are retried.
func (a *Activities) Revert(ctx context.Context, in RevertInput) (RevertResult, error) {
	v, err := a.Ops.Revert(ctx, in.Job, in.Candidate, in.Reason)
	switch {
	case err == nil:
		return RevertResult{Version: v}, nil
	case errors.Is(err, provider.ErrConflict) || errors.Is(err, provider.ErrNotFound) || errors.Is(err, provider.ErrInvalid):
		return RevertResult{Err: err.Error()}, nil
	}
	return RevertResult{}, err
}

// JudgeInput is the input of Judge.
type JudgeInput struct {
	Job       fleet.Job `json:"job"`
	Candidate string    `json:"candidate"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
}

// JudgeResult is Judge's verdict.
type JudgeResult struct {
	Pass   bool   `json:"pass"`
	Reason string `json:"reason"`
}

// Judge is a target's wave verdict (fleet.Ops.Judge).
func (a *Activities) Judge(ctx context.Context, in JudgeInput) (JudgeResult, error) {
	pass, reason, err := a.Ops.Judge(ctx, in.Job, in.Candidate, in.Start, in.End)
	if err != nil {
		return JudgeResult{}, err
	}
	return JudgeResult{Pass: pass, Reason: reason}, nil
}
