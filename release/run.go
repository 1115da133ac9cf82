package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/retention"
)

// finishTimeout bounds the journal entry, notification and reads that end a
// run whose context has ended.
const finishTimeout = 30 * time.Second

// run is one Release, Promote or Resume call: what it knows so far, the
// entries it journaled and the verdicts it saw, for its Result.
type run struct {
	w                 *Workflow
	id, fn, alias     string
	derived           bool // id was derived (releaseID), not given
	actor, reason     string
	candidate, stable string
	semver            string
	started           time.Time
	plan              canary.Plan
	judged            bool // the canary has checks (its bakes judge windows)
	pub               *Published
	rollout           *canary.State
	pruned            *retention.Report
	prunePlan         *retention.FunctionPlan
	routesBefore      []provider.Route
	step              Step // the step a run's outcome is reported under
	drift             []Drift
	safety            *ConfigReport
	// steps.go
	replayRep *ReplayReport
	lockDown  *LockDownReport
	remap     *RemapReport
	revert    *RevertResult
	synth     *syntheticMetrics

	mu         sync.Mutex // guards the fields below: hooks may run on other goroutines
	routes     map[string]provider.Route
	why        string // the canary's latest reason
	phase      canary.Phase
	entries    []journal.Entry
	verdicts   []CheckVerdict
	journalErr error
	cancel     context.CancelCauseFunc
}

// newRun starts a run. An empty id is derived from what (the version or
// the kind of run, when known) and the time, so that runs of one function
// in one second differ when they release different versions.
func (w *Workflow) newRun(id, what, fn, alias, actor, reason string) (*run, error) {
	now := w.clock.Now()
	id, derived, err := releaseID(id, fn, what, now)
	if err != nil {
		return nil, err
	}
	if actor == "" {
		actor = w.opts.Actor
	}
	return &run{w: w, id: id, derived: derived, fn: fn, alias: alias, actor: actor, reason: reason, started: now, step: StepCanary,
		routes: map[string]provider.Route{}}, nil
}

// claimID makes a derived release ID unique for the function: when a
// journal entry of fn or a saved rollout of any stage already bears it
// (another run in the same second, for the same version), it appends "-2",
// "-3"… up to maxIDSuffix. A caller's own ID is kept as given: reusing one
// is how a caller names the same release again. Nothing is written.
func (r *run) claimID(ctx context.Context) error {
	if !r.derived {
		return nil
	}
	base := r.id
	taken, err := releaseIDs(ctx, r.w.journal, r.fn, base)
	if err != nil {
		return fmt.Errorf("release %s: read the journal: %w", base, err)
	}
	aliases := []string{r.alias}
	for _, a := range []string{r.w.stages.Development, r.w.stages.Staging, r.w.stages.Production} {
		if a != "" && a != r.alias {
			aliases = append(aliases, a)
		}
	}
	for n := 1; n <= maxIDSuffix; n++ {
		id := base
		if n > 1 {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		used, err := taken(id)
		if err != nil {
			return fmt.Errorf("release %s: read the journal: %w", base, err)
		}
		for _, a := range aliases {
			if used {
				break
			}
			_, _, err := r.w.store.Load(ctx, rolloutID(id, a))
			switch {
			case err == nil, errors.Is(err, canary.ErrDamaged):
				used = true
			case !errors.Is(err, provider.ErrNotFound):
				return fmt.Errorf("release %s: read the rollout store: %w", base, err)
			}
		}
		if !used {
			r.id = id
			return nil
		}
	}
	return fmt.Errorf("release: %d runs of %s are named %s already: %w", maxIDSuffix, r.fn, base, provider.ErrConflict)
}

// begin reads the function's routes as they are before the run.
func (r *run) begin(ctx context.Context) error {
	rs, err := r.w.p.Routes(ctx, r.fn)
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return fmt.Errorf("release %s: read routes of %s: %w", r.id, r.fn, err)
	}
	r.routesBefore = rs
	for _, rt := range rs {
		r.remember(rt)
		if rt.Alias == r.alias && r.stable == "" {
			r.stable = rt.Primary()
		}
	}
	return nil
}

func (r *run) remember(rt provider.Route) {
	r.mu.Lock()
	r.routes[rt.Alias] = rt.Clone()
	r.mu.Unlock()
}

// known returns the route of alias last seen with revision rev.
func (r *run) known(alias, rev string) (provider.Route, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, ok := r.routes[alias]
	return rt.Clone(), ok && rev != "" && rt.Revision == rev
}

// checkDrift reports the routes of the function that are not as the
// journal left them (changed by hand, by another pipeline): each is an
// event and, when the journal had recorded the route, a journaled decision.
// The release goes on from the routes as they are; the summary lists them.
func (r *run) checkDrift(ctx context.Context) error {
	drift, err := Verify(ctx, r.w.p, r.w.journal, r.fn)
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return fmt.Errorf("release %s: verify routes against the journal: %w", r.id, err)
	}
	r.drift = drift
	for _, d := range drift {
		r.emit(Event{Kind: EventDrift, Alias: d.Alias, Message: d.String()})
		if d.Kind == DriftUnknown {
			continue
		}
		if err := r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: d.Alias, Outcome: "out of band", Reason: d.String()}); err != nil {
			return err
		}
	}
	return nil
}

// compareStages reports the configuration drift and safety findings
// between the staged candidate and production, for the summary and the
// log. A stage that does not exist yet is nothing to compare.
func (r *run) compareStages(ctx context.Context) {
	rep, err := Compare(ctx, r.w.p, r.fn, r.w.stages.Staging, r.w.stages.Production)
	if err != nil {
		return
	}
	r.safety = &rep
	for _, d := range rep.Differences {
		r.emit(Event{Kind: EventStepStarted, Step: StepStage, Alias: r.w.stages.Staging, Message: "differs from production: " + d.String()})
	}
	for _, f := range rep.Findings {
		r.emit(Event{Kind: EventStepStarted, Step: StepStage, Alias: r.w.stages.Staging, Message: "safety: " + f.String()})
	}
}

// record appends e to the journal with the run's identity filled in, and
// keeps it for the summary.
func (r *run) record(ctx context.Context, e journal.Entry) error {
	e.Time = r.w.clock.Now()
	e.Release, e.Function = r.id, r.fn
	if e.Actor == "" {
		e.Actor = r.actor
	}
	if e.Reason == "" {
		e.Reason = r.reason
	}
	if e.Candidate == "" {
		e.Candidate = r.candidate
	}
	if e.Stable == "" && e.Kind != journal.EntryPromote {
		e.Stable = r.stable
	}
	if e.Semver == "" && e.Candidate == r.candidate {
		e.Semver = r.semver
	}
	if err := r.w.journal.Append(ctx, e); err != nil {
		return fmt.Errorf("release %s: journal: %w", r.id, err)
	}
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.mu.Unlock()
	return nil
}

// emit reports e with the run's identity filled in.
func (r *run) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = r.w.clock.Now()
	}
	e.Release, e.Function = r.id, r.fn
	if e.Alias == "" {
		e.Alias = r.alias
	}
	if e.Candidate == "" {
		e.Candidate, e.Semver = r.candidate, r.semver
	}
	if e.Stable == "" {
		e.Stable = r.stable
	}
	if r.w.opts.OnEvent != nil {
		r.w.opts.OnEvent(e)
	}
	if l := r.w.opts.Logger; l != nil {
		l.Info("release: "+string(e.Kind), "release", e.Release, "function", e.Function, "alias", e.Alias,
			"step", string(e.Step), "candidate", e.Candidate, "weight", e.Weight, "message", e.Message)
	}
}

// admitRelease checks the deploy policy before a run that will move
// production traffic changes anything.
func (r *run) admitRelease(context.Context) error {
	if r.w.opts.Policy == nil || r.alias != r.w.stages.Production {
		return nil
	}
	return r.w.opts.Policy.Check(r.w.clock.Now())
}

// admitShift checks the deploy policy before alias's candidate share goes
// from from to to: an increase outside the policy waits up to MaxHold for
// it to open, else is refused (and the canary rolls back).
func (r *run) admitShift(ctx context.Context, alias string, from, to int) error {
	pol := r.w.opts.Policy
	if pol == nil || alias != r.w.stages.Production {
		return nil // the policy guards production's traffic only
	}
	for {
		now := r.w.clock.Now()
		err := pol.CheckShift(now, from, to)
		if err == nil {
			return nil
		}
		var be *BlockedError
		if !errors.As(err, &be) || be.Until.IsZero() || be.Until.Sub(now) > r.w.opts.MaxHold {
			reason := fmt.Sprintf("%s → %s to %s refused: %v", provider.Percent(from), provider.Percent(to), r.candidate, err)
			if jerr := r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: alias, Outcome: OutcomeBlocked, Reason: reason}); jerr != nil {
				return errors.Join(err, jerr)
			}
			ev := Event{Kind: EventBlocked, Step: StepCanary, Alias: alias, Weight: from, Message: reason}
			if be != nil {
				ev.Until = be.Until
			}
			r.emit(ev)
			return err
		}
		reason := fmt.Sprintf("holding at %s: %s", provider.Percent(from), be.Reason)
		if jerr := r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: alias, Outcome: "held", Reason: reason + " until " + be.Until.UTC().Format(time.RFC3339)}); jerr != nil {
			return jerr
		}
		r.emit(Event{Kind: EventWaiting, Step: StepCanary, Alias: alias, Weight: from, Until: be.Until, Message: reason})
		if err := r.w.clock.Sleep(ctx, be.Until.Sub(now)); err != nil {
			return err
		}
	}
}

// tracked is the provider the canary runner drives: every route write is
// admitted by the deploy policy first and journaled after. As provider/doc.go
// asks of a wrapper, it keeps the optional powers (UsageReporter,
// EventSourceLister, PermissionReader): it forwards them to the provider it
// wraps, and answers provider.ErrUnsupported where that one lacks them.
type tracked struct {
	provider.Provider
	r *run
}

var (
	_ provider.UsageReporter     = (*tracked)(nil)
	_ provider.EventSourceLister = (*tracked)(nil)
	_ provider.PermissionReader  = (*tracked)(nil)
)

// Usage forwards to the wrapped provider's provider.UsageReporter.
func (t *tracked) Usage(ctx context.Context, fn string) ([]provider.Usage, error) {
	u, ok := t.Provider.(provider.UsageReporter)
	if !ok {
		return nil, &provider.Error{Op: "usage", Function: fn, Err: provider.ErrUnsupported}
	}
	return u.Usage(ctx, fn)
}

// EventSources forwards to the wrapped provider's
// provider.EventSourceLister.
func (t *tracked) EventSources(ctx context.Context, fn string) ([]provider.EventSource, error) {
	l, ok := t.Provider.(provider.EventSourceLister)
	if !ok {
		return nil, &provider.Error{Op: "event sources", Function: fn, Err: provider.ErrUnsupported}
	}
	return l.EventSources(ctx, fn)
}

// Permissions forwards to the wrapped provider's provider.PermissionReader.
func (t *tracked) Permissions(ctx context.Context, fn, qualifier string) ([]provider.Permission, error) {
	pr, ok := t.Provider.(provider.PermissionReader)
	if !ok {
		return nil, &provider.Error{Op: "permissions", Function: fn, Err: provider.ErrUnsupported}
	}
	return pr.Permissions(ctx, fn, qualifier)
}

func (t *tracked) Route(ctx context.Context, fn, alias string) (provider.Route, error) {
	rt, err := t.Provider.Route(ctx, fn, alias)
	if err == nil && fn == t.r.fn {
		t.r.remember(rt)
	}
	return rt, err
}

func (t *tracked) SetRoute(ctx context.Context, fn string, want provider.Route) (provider.Route, error) {
	r := t.r
	if fn != r.fn {
		return t.Provider.SetRoute(ctx, fn, want)
	}
	var before *provider.Route
	if rt, ok := r.known(want.Alias, want.Revision); ok {
		before = &rt
	} else if want.Revision != "" {
		if rt, err := t.Provider.Route(ctx, fn, want.Alias); err == nil && rt.Revision == want.Revision {
			before = &rt
		}
	}
	from := 0
	if before != nil {
		from = before.Share(r.candidate)
	}
	if err := r.admitShift(ctx, want.Alias, from, want.Share(r.candidate)); err != nil {
		return provider.Route{}, err
	}
	got, err := t.Provider.SetRoute(ctx, fn, want)
	if err != nil {
		return got, err
	}
	r.remember(got)
	r.routeChanged(ctx, before, got)
	return got, nil
}

// routeChanged journals a route the run wrote and reports it. A journal
// that cannot record it stops the release: the canary is cancelled (and
// rolls back), and the release's error says why.
func (r *run) routeChanged(ctx context.Context, before *provider.Route, got provider.Route) {
	share := got.Share(r.candidate)
	r.mu.Lock()
	why, phase := r.why, r.phase
	r.mu.Unlock()
	kind := journal.EntryRoute
	switch {
	case share == provider.AllTraffic:
		kind = journal.EntryPromote
	case phase == canary.PhaseRollingBack, share == 0 && before != nil && before.Share(r.candidate) > 0:
		kind = journal.EntryRollback
	}
	e := journal.Entry{Kind: kind, Alias: got.Alias, After: &got, Reason: why, Stable: previousOf(before, r.candidate)}
	if before != nil {
		b := before.Clone()
		e.Before = &b
	}
	if e.Reason == "" {
		e.Reason = r.reason
	}
	if err := r.record(ctx, e); err != nil {
		r.mu.Lock()
		first := r.journalErr == nil
		if first {
			r.journalErr = err
		}
		cancel := r.cancel
		r.mu.Unlock()
		if first && cancel != nil {
			cancel(err)
		}
	}
	r.emit(Event{Kind: EventWeightSet, Step: r.stepOf(got.Alias), Alias: got.Alias, Weight: share, Message: why})
}

// previousOf returns the version with the largest share of before other
// than candidate: the version a route change moves traffic away from.
func previousOf(before *provider.Route, candidate string) string {
	if before == nil {
		return ""
	}
	best, share := "", -1
	for _, w := range before.Weights {
		if w.Version != candidate && w.BasisPoints > share {
			best, share = w.Version, w.BasisPoints
		}
	}
	return best
}

func (r *run) stepOf(alias string) Step {
	if alias == r.w.stages.Staging && alias != r.alias {
		return StepStage
	}
	return StepCanary
}

// progress turns the canary runner's events into the workflow's.
func (r *run) progress(e canary.ProgressEvent) {
	r.mu.Lock()
	r.why, r.phase = e.Reason, e.Phase
	r.mu.Unlock()
	step := r.stepOf(e.Alias)
	if e.Results != nil {
		vs := make([]CheckVerdict, 0, len(e.Results))
		for _, res := range e.Results {
			v := CheckVerdict{Time: e.Time, Step: e.Step + 1, Weight: e.Weight, Check: res.Name,
				Verdict: strings.ToLower(res.Measurement.Verdict.String()), Detail: res.Measurement.Reason}
			if res.Err != nil {
				v.Verdict, v.Detail = "error", res.Err.Error()
			}
			vs = append(vs, v)
		}
		r.mu.Lock()
		r.verdicts = append(r.verdicts, vs...)
		r.mu.Unlock()
		r.emit(Event{Time: e.Time, Kind: EventVerdict, Step: step, Alias: e.Alias, Weight: e.Weight, Verdicts: vs})
	}
	if e.Phase == e.From {
		return
	}
	switch e.Phase {
	case canary.PhaseBaking:
		if e.Step < len(r.plan.Steps) && r.plan.Steps[e.Step].Bake > 0 {
			// A judged bake lasts until its last whole window has ended,
			// up to one interval past Bake (canary.Plan.BakeEnd).
			r.emit(Event{Time: e.Time, Kind: EventWaiting, Step: step, Alias: e.Alias, Weight: e.Weight,
				Until: r.plan.BakeEnd(e.Step, e.Time, r.judged), Message: fmt.Sprintf("step %d of %d bakes", e.Step+1, len(r.plan.Steps))})
		}
	case canary.PhaseAwaitingApproval:
		r.emit(Event{Time: e.Time, Kind: EventWaiting, Step: step, Alias: e.Alias, Weight: e.Weight, Message: "confirm-promotion gate: " + e.Reason})
	case canary.PhasePreTraffic, canary.PhasePostTraffic:
		r.emit(Event{Time: e.Time, Kind: EventStepStarted, Step: step, Alias: e.Alias, Weight: e.Weight, Message: e.Reason})
	case canary.PhaseRollingBack:
		r.emit(Event{Time: e.Time, Kind: EventRollingBack, Step: step, Alias: e.Alias, Weight: e.Weight, Message: e.Reason})
	}
}

// runner returns a canary runner that drives the run's provider: the
// options' runner, with the provider tracked and the progress reported to
// the run (and to the options' own OnEvent, when set).
func (r *run) runner() (*canary.Runner, error) {
	o := r.w.opts.Runner
	o.Provider = &tracked{Provider: o.Provider, r: r}
	o.Store, o.Clock = r.w.store, r.w.clock
	if r.synth != nil {
		o.Metrics = r.synth
	}
	if sink := o.OnEvent; sink != nil {
		o.OnEvent = func(e canary.ProgressEvent) { r.progress(e); sink(e) }
	} else {
		o.OnEvent = r.progress
	}
	return canary.NewRunner(o)
}

// shift moves alias to the candidate with strategy. A missing alias is
// created on the candidate at once (there is no traffic to shift from);
// an alias already on the candidate is left alone (moved is false).
func (r *run) shift(ctx context.Context, alias string, strategy canary.Strategy) (st *canary.State, moved bool, err error) {
	t := &tracked{Provider: r.w.p, r: r}
	cur, err := t.Route(ctx, r.fn, alias)
	switch {
	case errors.Is(err, provider.ErrNotFound):
		r.mu.Lock()
		r.why = fmt.Sprintf("alias %q created on %s", alias, r.candidate)
		r.mu.Unlock()
		if _, err := t.SetRoute(ctx, r.fn, provider.To(alias, r.candidate)); err != nil {
			return nil, false, fmt.Errorf("release %s: create alias %q: %w", r.id, alias, err)
		}
		return nil, true, r.journalFailure()
	case err != nil:
		return nil, false, fmt.Errorf("release %s: read alias %q: %w", r.id, alias, err)
	case cur.Share(r.candidate) == provider.AllTraffic:
		return nil, false, nil
	}
	s, err := r.drive(ctx, func(ctx context.Context, runner *canary.Runner) (canary.State, error) {
		return runner.Start(ctx, canary.Rollout{ID: rolloutID(r.id, alias), Function: r.fn, Alias: alias, Candidate: r.candidate, Strategy: strategy})
	})
	return &s, true, err
}

// drive runs a canary runner call under a context that a journal failure
// cancels (the canary then rolls back), and adds that failure to its error.
func (r *run) drive(ctx context.Context, call func(context.Context, *canary.Runner) (canary.State, error)) (canary.State, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.mu.Lock()
	r.cancel = cancel
	r.mu.Unlock()
	runner, err := r.runner()
	if err != nil {
		return canary.State{}, err
	}
	s, err := call(cctx, runner)
	if jerr := r.journalFailure(); jerr != nil {
		err = errors.Join(err, jerr)
	}
	return s, err
}

// journalLanded journals the route write a stopped process made but did
// not journal (it died between the two): the state awaits a write whose
// traffic the route already has, under a revision the journal does not
// know.
func (r *run) journalLanded(ctx context.Context, st canary.State) error {
	if st.Awaiting != canary.AwaitRoute {
		return nil
	}
	cur, err := r.w.p.Route(ctx, r.fn, st.Want.Alias)
	if err != nil || !cur.SameTraffic(st.Want) {
		return nil // not written: the runner writes it, and it is journaled then
	}
	var before *provider.Route
	last, err := journal.LastRoute(ctx, r.w.journal, r.fn, st.Want.Alias)
	switch {
	case err == nil && last.After != nil && last.After.Revision == cur.Revision:
		return nil // journaled already
	case err == nil:
		before = last.After
	case !errors.Is(err, provider.ErrNotFound):
		return err
	}
	r.mu.Lock()
	r.why = "written before the process stopped; journaled on resume"
	r.phase = st.Phase
	r.mu.Unlock()
	r.routeChanged(ctx, before, cur)
	return r.journalFailure()
}

func (r *run) journalFailure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.journalErr
}

// stageAndTest points the staging alias at the candidate and runs the
// integration tests against it; when they fail, staging is put back.
func (r *run) stageAndTest(ctx context.Context, test TestFunc, contract *Contract, schema *InputSchema) error {
	staging := r.w.stages.Staging
	r.emit(Event{Kind: EventStepStarted, Step: StepStage, Alias: staging})
	before, hadBefore := r.routeOf(staging)
	_, moved, err := r.shift(ctx, staging, canary.AllAtOnce())
	if err != nil {
		return fmt.Errorf("release %s: stage %q: %w", r.id, staging, err)
	}
	if !moved {
		r.emit(Event{Kind: EventStepStarted, Step: StepStage, Alias: staging, Message: "already on the candidate"})
	}
	if contract != nil {
		if cerr := r.replay(ctx, contract, schema, staging); cerr != nil {
			if moved && hadBefore {
				if rerr := r.restore(ctx, staging, before, cerr.Error()); rerr != nil {
					return errors.Join(cerr, rerr)
				}
			}
			return cerr
		}
	}
	if test == nil {
		return nil
	}
	r.emit(Event{Kind: EventStepStarted, Step: StepTest, Alias: staging})
	terr := test(ctx, Target{Function: r.fn, Alias: staging, Version: r.candidate, Semver: r.semver})
	if terr == nil {
		r.emit(Event{Kind: EventTestsPassed, Step: StepTest, Alias: staging})
		return nil
	}
	err = fmt.Errorf("release %s: %w against %q: %w", r.id, ErrTestsFailed, staging, terr)
	if moved && hadBefore {
		if rerr := r.restore(ctx, staging, before, err.Error()); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

func (r *run) routeOf(alias string) (provider.Route, bool) {
	for _, rt := range r.routesBefore {
		if rt.Alias == alias {
			return rt, true
		}
	}
	return provider.Route{}, false
}

// restore writes prev's traffic back to alias over its current revision
// and journals it as a rollback. It is never blocked by the deploy policy.
func (r *run) restore(ctx context.Context, alias string, prev provider.Route, reason string) error {
	cur, err := r.w.p.Route(ctx, r.fn, alias)
	if err != nil {
		return fmt.Errorf("release %s: put %q back: %w", r.id, alias, err)
	}
	want := prev.Clone()
	want.Alias, want.Revision = alias, cur.Revision
	got, err := r.w.p.SetRoute(ctx, r.fn, want)
	if err != nil {
		return fmt.Errorf("release %s: put %q back: %w", r.id, alias, err)
	}
	r.remember(got)
	if err := r.record(ctx, journal.Entry{Kind: journal.EntryRollback, Alias: alias, Before: &cur, After: &got, Stable: prev.Primary(), Reason: reason}); err != nil {
		return err
	}
	r.emit(Event{Kind: EventWeightSet, Step: r.stepOf(alias), Alias: alias, Weight: got.Share(r.candidate), Message: "put back"})
	return nil
}

// canary moves production to the candidate and ends the run.
func (r *run) canary(ctx context.Context, strategy canary.Strategy) (Result, error) {
	r.plan, r.judged = strategy.Plan(), len(strategy.Analysis.Checks) > 0
	r.emit(Event{Kind: EventStepStarted, Step: StepCanary, Message: strategyText(strategy)})
	st, moved, err := r.shift(ctx, r.alias, strategy)
	if st == nil {
		switch {
		case err != nil:
			return r.finish(ctx, r.failOutcome(err), err.Error(), err)
		case !moved:
			return r.finish(ctx, OutcomeUnchanged, fmt.Sprintf("alias %q already sends all its traffic to %s", r.alias, r.candidate), nil)
		}
		return r.promoted(ctx, fmt.Sprintf("alias %q created on %s", r.alias, r.candidate))
	}
	return r.canaryDone(ctx, *st, err)
}

// canaryDone ends a run after its production rollout ended.
func (r *run) canaryDone(ctx context.Context, st canary.State, err error) (Result, error) {
	r.rollout = &st
	r.journalSynthetic(ctx)
	if st.Stable != "" {
		r.stable = st.Stable
	}
	if err == nil && st.Phase == canary.PhaseSucceeded {
		return r.promoted(ctx, st.Reason)
	}
	var ce *canary.ConflictError
	if errors.As(err, &ce) {
		fctx, cancel := finishContext(ctx)
		defer cancel()
		if jerr := r.record(fctx, journal.Entry{Kind: journal.EntryDecision, Alias: r.alias, Outcome: "out of band", Reason: ce.Error()}); jerr != nil {
			err = errors.Join(err, jerr)
		}
	}
	reason := st.Reason
	for i := len(st.History) - 1; i >= 0; i-- {
		if h := st.History[i]; h.To == canary.PhaseRollingBack && h.From != canary.PhaseRollingBack {
			// Why it rolled back, rather than "stable route in place".
			reason = h.Reason
			break
		}
	}
	if reason == "" && err != nil {
		reason = err.Error()
	}
	if st.Phase == canary.PhaseRolledBack {
		r.revertInfra(ctx, reason)
		return r.finish(ctx, OutcomeRolledBack, reason, err)
	}
	return r.finish(ctx, OutcomeFailed, reason, err)
}

// promoted prunes (for the production stage) and ends a promoted run.
func (r *run) promoted(ctx context.Context, reason string) (Result, error) {
	if r.alias == r.w.stages.Production && r.w.opts.Retention != nil {
		r.prune(ctx)
	}
	if r.alias == r.w.stages.Production {
		r.afterPromotion(ctx)
	}
	return r.finish(ctx, OutcomePromoted, reason, nil)
}

// prune applies the retention policy after a promotion. Its failures are
// reported (journal, event, Result.Pruned) and never undo the promotion.
func (r *run) prune(ctx context.Context) {
	r.emit(Event{Kind: EventStepStarted, Step: StepPrune})
	plan, rep, err := r.w.prune(ctx, r.fn, false)
	if len(plan.Functions) == 1 {
		r.prunePlan = &plan.Functions[0]
	}
	msg := ""
	if err == nil {
		r.pruned = &rep
		t := rep.Totals()
		msg = fmt.Sprintf("deleted %d of %d planned, skipped %d, failed %d", t.Deleted, t.Planned, t.Skipped, t.Failed)
		if len(rep.Functions) == 1 && len(rep.Functions[0].Deleted) > 0 {
			msg += ": " + strings.Join(rep.Functions[0].Deleted, ", ")
		}
	} else {
		msg = "retention failed: " + err.Error()
	}
	if jerr := r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: r.alias, Outcome: "pruned", Reason: msg}); jerr != nil {
		msg += "; " + jerr.Error()
	}
	r.emit(Event{Kind: EventPruned, Step: StepPrune, Message: msg})
}

func (r *run) failOutcome(err error) string {
	if errors.Is(err, ErrBlocked) {
		return OutcomeBlocked
	}
	return OutcomeFailed
}

// finishContext keeps the values of ctx but not its end, bounded by
// finishTimeout, for the work that records how a run ended.
func finishContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
}

// finish records the run's outcome (journal, event, notification) and
// returns its result with err.
func (r *run) finish(ctx context.Context, outcome, reason string, err error) (Result, error) {
	ctx, cancel := finishContext(ctx)
	defer cancel()
	if jerr := r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: r.alias, Outcome: outcome, Reason: reason}); jerr != nil {
		err = errors.Join(err, jerr)
	}
	ev := Event{Kind: EventFailed, Step: r.step, Message: reason}
	kind := notify.Failed
	switch outcome {
	case OutcomePromoted:
		ev.Kind, kind = EventPromoted, notify.Promoted
	case OutcomeUnchanged:
		ev.Kind, kind = EventPromoted, ""
	case OutcomeRolledBack:
		ev.Kind, kind = EventRolledBack, notify.RolledBack
	case OutcomeBlocked:
		ev.Kind = EventBlocked
		var be *BlockedError
		if errors.As(err, &be) {
			ev.Until = be.Until
		}
	}
	r.emit(ev)
	res := r.result()
	res.Outcome, res.Reason = outcome, reason
	if kind != "" && r.w.opts.Notifier != nil {
		n := notify.Notification{Kind: kind, Time: r.w.clock.Now(), Function: r.fn, Alias: r.alias, Release: r.id,
			Candidate: r.candidate, Stable: r.stable, Semver: r.semver, Actor: r.actor, Reason: reason, URL: r.w.opts.URL}
		if nerr := r.w.opts.Notifier.Notify(ctx, n); nerr != nil {
			res.NotifyErr = nerr
			if l := r.w.opts.Logger; l != nil {
				l.Warn("release: notification failed", "release", r.id, "err", nerr)
			}
		}
	}
	res.Summary = r.summary(ctx, outcome, reason)
	r.fillSteps(&res)
	return res, err
}

// result is the run's Result so far.
func (r *run) result() Result {
	return Result{Release: r.id, Function: r.fn, Alias: r.alias, Published: r.pub, Candidate: r.candidate,
		Stable: r.stable, Semver: r.semver, Rollout: r.rollout, Pruned: r.pruned}
}

// summary builds the run's Summary, reading the routes and versions as
// they are now (a failed read leaves its section out).
func (r *run) summary(ctx context.Context, outcome, reason string) Summary {
	s := Summary{Function: r.fn, Alias: r.alias, Release: r.id, Outcome: outcome, Reason: reason,
		Candidate: r.candidate, Stable: r.stable, Semver: r.semver, Actor: r.actor,
		Started: r.started, Finished: r.w.clock.Now(), RoutesBefore: r.routesBefore}
	if rs, err := r.w.p.Routes(ctx, r.fn); err == nil {
		s.RoutesAfter = rs
	}
	for v, err := range r.w.p.Versions(ctx, r.fn) {
		if err != nil {
			s.Versions = nil
			break
		}
		s.Versions = append(s.Versions, v)
	}
	r.mu.Lock()
	s.Entries = append([]journal.Entry(nil), r.entries...)
	s.Verdicts = append([]CheckVerdict(nil), r.verdicts...)
	r.mu.Unlock()
	s.Pruned = prunedOf(r.prunePlan, r.pruned)
	s.Drift, s.Safety = r.drift, r.safety
	return s
}

// prunedOf lists what a retention run deleted or failed to delete, with
// each version's semantic version and the plan's reason.
func prunedOf(fp *retention.FunctionPlan, rep *retention.Report) []Pruned {
	if fp == nil || rep == nil || len(rep.Functions) != 1 {
		return nil
	}
	why := map[string]retention.Decision{}
	for _, d := range fp.Versions {
		why[d.Version] = d
	}
	pruned := func(id string) Pruned {
		p := Pruned{Version: id, Semver: why[id].Semver}
		if rs := why[id].Reasons; len(rs) > 0 {
			p.Reason = rs[0].Detail
		}
		return p
	}
	var out []Pruned
	fr := rep.Functions[0]
	for _, id := range fr.Deleted {
		out = append(out, pruned(id))
	}
	for _, f := range fr.Failed {
		p := pruned(f.Version)
		if f.Err != nil {
			p.Err = f.Err.Error()
		}
		out = append(out, p)
	}
	return out
}

// strategyText describes a strategy's schedule in a few words.
func strategyText(s canary.Strategy) string {
	p := s.Plan()
	if s.BlueGreen != nil {
		return fmt.Sprintf("blue/green via %q", p.TestAlias)
	}
	parts := make([]string, 0, len(p.Steps))
	for _, st := range p.Steps {
		t := provider.Percent(st.Weight)
		if st.Bake > 0 {
			t += " for " + st.Bake.String()
		}
		parts = append(parts, t)
	}
	text := strings.Join(parts, ", then ")
	if n := len(s.Analysis.Checks); n > 0 {
		text += fmt.Sprintf("; %d check(s) every %s", n, p.Interval)
	}
	return text
}
