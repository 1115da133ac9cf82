package canary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Defaults of RunnerOptions, used when a field is zero.
const (
	// DefaultPollInterval is how often a waiting runner looks at its Store
	// for an operator's change (Pause, Abort, …).
	DefaultPollInterval = 10 * time.Second
	// DefaultRollbackTimeout bounds the rollback that follows the
	// cancellation of a runner's context.
	DefaultRollbackTimeout = 5 * time.Minute
	// DefaultMetricsLag is how long past a window's end the runner waits
	// for the metrics source to complete the window before it counts the
	// measurement as an error.
	DefaultMetricsLag = 5 * time.Minute
)

// Errors a Runner's Start and Resume wrap (through *RolloutError) to say how
// a rollout ended when it did not succeed, and that an operator control had
// nothing to act on.
var (
	// ErrRolledBack: the rollout ended in PhaseRolledBack: the alias's
	// route is the stable route again.
	ErrRolledBack = errors.New("rolled back")
	// ErrStopped: the rollout ended in PhaseFailed: it stopped without
	// restoring the stable route (an out-of-band change, a cancellation
	// with LeaveOnCancel, or a rollback that could not be written); traffic
	// is as the route shows.
	ErrStopped = errors.New("stopped with traffic left as it is")
	// ErrIgnored: an operator control does not apply to the rollout in its
	// current phase (Approve when no gate waits, any control on a finished
	// rollout); nothing was changed.
	ErrIgnored = errors.New("control ignored")
	// ErrDamaged: a store holds a state for the rollout that does not pass
	// State.Validate (edited by hand, damaged on disk); Load refuses it,
	// with provider.ErrInvalid too. The rollout's ID is taken all the same.
	ErrDamaged = errors.New("damaged rollout state")
)

// RolloutError reports a rollout that did not succeed. Err holds what
// caused it when the runner knows (a *ConflictError, a *HookError, the
// context's error) and may be nil.
type RolloutError struct {
	ID     string
	Phase  Phase  // PhaseRolledBack or PhaseFailed, or the phase a store failure left it in
	Reason string // the state's reason
	// Cause is why a rolled-back rollout started rolling back (a failed
	// check, a hook, a cancellation): the reason of its move to
	// PhaseRollingBack. Empty when it never rolled back.
	Cause string
	Err   error
}

func (e *RolloutError) Error() string {
	msg := fmt.Sprintf("canary: rollout %q ended %s: %s", e.ID, e.Phase, e.Reason)
	if e.Cause != "" {
		msg = fmt.Sprintf("canary: rollout %q ended %s: %s; %s", e.ID, e.Phase, e.Cause, e.Reason)
	}
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

func (e *RolloutError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRolledBack) and errors.Is(err, ErrStopped)
// follow the phase.
func (e *RolloutError) Is(target error) bool {
	return target == ErrRolledBack && e.Phase == PhaseRolledBack || target == ErrStopped && e.Phase == PhaseFailed
}

// ConflictError is a route changed out of band: someone else wrote the
// alias after the rollout last read or wrote it. It matches
// provider.ErrConflict under errors.Is.
type ConflictError struct {
	Function string
	// Expected is the route as the rollout last knew it, with its
	// revision; Found is the route as read after the conflict (zero when it
	// could not be read).
	Expected provider.Route
	Found    provider.Route
	// Err is the provider's error, if the conflict came from a write.
	Err error
}

func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("canary: route %q of %s changed out of band: expected %s (revision %s), found %s (revision %s)",
		e.Expected.Alias, e.Function, describe(e.Expected), e.Expected.Revision, describe(e.Found), e.Found.Revision)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, provider.ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == provider.ErrConflict }

func (e *ConflictError) Unwrap() error { return e.Err }

// RunnerOptions configure a Runner. Provider is required; Metrics is
// required for strategies with checks. Zero values of the other fields are
// documented defaults.
type RunnerOptions struct {
	Provider provider.Provider
	// Metrics is the metrics source of the analysis. Its calls are not
	// retried by the runner: a failed Observe counts against the
	// consecutive-error limit and the window is measured again after the
	// analysis's RetryDelay.
	Metrics provider.Metrics
	// Store persists rollout states; nil means a new MemoryStore (no
	// resuming in another process).
	Store Store
	// Clock is the source of time; nil means RealClock().
	Clock Clock
	// Logger receives a record per progress event; nil is silent.
	Logger *slog.Logger
	// OnEvent receives every progress event, on the runner's goroutine;
	// it must not block for long.
	OnEvent func(ProgressEvent)
	// Hooks holds the code of the hooks strategies name (HookSpec.Name).
	Hooks map[string]HookFunc
	// Approve resolves confirm-promotion gates; nil leaves them to
	// Runner.Approve.
	Approve ApproveFunc
	// Checks holds the checks of rollouts this runner resumes, by
	// CheckSpec name (Start takes them from the strategy; a State does not
	// serialise code).
	Checks map[string]Check
	// CancelPolicy is what a rollout does when the context of Start or
	// Resume ends: roll back (the zero value) or leave traffic as it is.
	CancelPolicy CancelPolicy
	// OnOutOfBand is what a rollout does when its alias was changed by
	// someone else: stop without overwriting it (the zero value) or roll
	// back over it.
	OnOutOfBand ConflictPolicy
	// Retry retries the provider's calls through throttling and transient
	// failures (provider.WithRetry). A nil Retry.Sleep waits on Clock.
	Retry provider.RetryPolicy
	// PollInterval is how often a waiting runner looks for an operator's
	// change in the Store; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// RollbackTimeout bounds the rollback after the context ends; 0 means
	// DefaultRollbackTimeout.
	RollbackTimeout time.Duration
	// MetricsLag is how long after a window's end the runner waits for the
	// metrics source to complete it; 0 means DefaultMetricsLag.
	MetricsLag time.Duration
}

// Validate checks the options. Errors wrap provider.ErrInvalid and name the
// field.
func (o RunnerOptions) Validate() error {
	if o.Provider == nil {
		return runnerInvalid("provider", "is nil")
	}
	if o.CancelPolicy != RollBackOnCancel && o.CancelPolicy != LeaveOnCancel {
		return runnerInvalid("cancelPolicy", fmt.Sprintf("is %d", int(o.CancelPolicy)))
	}
	if o.OnOutOfBand != StopOnConflict && o.OnOutOfBand != RollBackOnConflict {
		return runnerInvalid("onOutOfBand", fmt.Sprintf("is %d", int(o.OnOutOfBand)))
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"pollInterval", o.PollInterval}, {"rollbackTimeout", o.RollbackTimeout}, {"metricsLag", o.MetricsLag}} {
		if d.d < 0 {
			return runnerInvalid(d.field, "is negative")
		}
	}
	for name, h := range o.Hooks {
		if h == nil {
			return runnerInvalid("hooks["+name+"]", "is nil")
		}
	}
	for name, c := range o.Checks {
		if c == nil {
			return runnerInvalid("checks["+name+"]", "is nil")
		}
	}
	return nil
}

func runnerInvalid(field, msg string) error {
	return fmt.Errorf("canary: %w", provider.Invalid("runner options", field, msg))
}

// Runner performs rollouts: it feeds the machine (Next) with the results of
// the actions it performs against a provider, persists every state to a
// Store before acting on it, and reports progress.
//
// Every route write is a compare-and-swap with the revision the rollout
// last saw, so a route changed out of band is detected (a *ConflictError)
// and, by default, not overwritten. A crashed runner is resumed by Resume
// in any process sharing the Store: the outstanding action is worked out
// from the state and, for a route write, from the route itself (see
// State.InFlight). The operator controls (Pause, Continue, Abort,
// PromoteNow, Approve) change the stored state, from any goroutine or
// process sharing the Store; the runner carrying out the rollout sees the
// change within PollInterval, or at its next step.
//
// A Runner is safe for concurrent use; each Start or Resume call drives one
// rollout on the calling goroutine until it ends.
type Runner struct {
	p       provider.Provider
	metrics provider.Metrics
	store   Store
	clock   Clock
	report  eventReporter
	opts    RunnerOptions
}

// NewRunner returns a Runner, or an error wrapping provider.ErrInvalid
// when the options do not validate.
func NewRunner(opts RunnerOptions) (*Runner, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{metrics: opts.Metrics, store: opts.Store, clock: opts.Clock, opts: opts,
		report: eventReporter{sink: opts.OnEvent, logger: opts.Logger}}
	if r.store == nil {
		r.store = &MemoryStore{}
	}
	if r.clock == nil {
		r.clock = RealClock()
	}
	pol := opts.Retry
	if pol.Sleep == nil {
		pol.Sleep = r.clock.Sleep
	}
	if pol.Logger == nil {
		pol.Logger = opts.Logger
	}
	r.p = provider.WithRetry(opts.Provider, pol)
	if r.opts.PollInterval == 0 {
		r.opts.PollInterval = DefaultPollInterval
	}
	if r.opts.RollbackTimeout == 0 {
		r.opts.RollbackTimeout = DefaultRollbackTimeout
	}
	if r.opts.MetricsLag == 0 {
		r.opts.MetricsLag = DefaultMetricsLag
	}
	return r, nil
}

// Rollout is a rollout to start: move the traffic of Function's Alias from
// its current version (the stable one, read from the provider) to
// Candidate, following Strategy.
type Rollout struct {
	// ID names the rollout in the Store; unique per rollout, 1–200
	// characters from [A-Za-z0-9._-], not starting with a dot.
	ID        string   `json:"id"`
	Function  string   `json:"function"`
	Alias     string   `json:"alias"`
	Candidate string   `json:"candidate"`
	Strategy  Strategy `json:"strategy"`
}

// Start validates the rollout, reads the alias's current route as the
// stable route, saves the initial state (which fails with
// provider.ErrConflict when the ID is taken) and drives the rollout until
// it ends. Nothing is changed when validation fails: a missing field, a
// candidate the route already names (including candidate == stable), a
// strategy the provider's Capabilities cannot express, a hook without a
// HookFunc, checks without Metrics, an interval that is not a multiple of
// the metrics resolution, checks that can never be decided in the
// strategy's windows (Strategy.ValidateWindows; errors wrap
// provider.ErrInvalid or provider.ErrUnsupported), a candidate that is not
// a published version (the provider's error from Version, wrapping
// provider.ErrNotFound or provider.ErrInvalid), or a route that already
// splits traffic, as another rollout's would (provider.ErrConflict).
//
// It returns the final state, and nil only when the rollout succeeded.
// Otherwise the error is a *RolloutError that matches ErrRolledBack or
// ErrStopped and wraps the cause (a *ConflictError for an out-of-band
// change, a *HookError, the context's error), or a store or provider error
// that stopped the runner before the rollout ended (resume it).
//
// When ctx ends, the rollout rolls back (or stops, with LeaveOnCancel)
// under a new context bounded by RollbackTimeout, and the error wraps
// ctx.Err().
func (r *Runner) Start(ctx context.Context, ro Rollout) (State, error) {
	st, checks, err := r.prepare(ctx, ro)
	if err != nil {
		return State{}, err
	}
	rev, err := r.store.Save(ctx, ro.ID, st, "")
	if err != nil {
		return State{}, fmt.Errorf("canary: start %q: %w", ro.ID, err)
	}
	d := &drive{r: r, checks: checks, st: st, rev: rev}
	return d.run(ctx, &Event{Kind: EventStart})
}

// prepare validates ro and builds its initial state.
func (r *Runner) prepare(ctx context.Context, ro Rollout) (State, map[string]Check, error) {
	if err := storeCheckID(ro.ID); err != nil {
		return State{}, nil, fmt.Errorf("canary: %w", err)
	}
	for _, f := range []struct{ field, v string }{{"function", ro.Function}, {"alias", ro.Alias}, {"candidate", ro.Candidate}} {
		if f.v == "" {
			return State{}, nil, rolloutInvalid(f.field, "is empty")
		}
	}
	caps := r.p.Capabilities()
	if err := ro.Strategy.Validate(caps); err != nil {
		return State{}, nil, err
	}
	if err := hookCheckNames(ro.Strategy, r.opts.Hooks); err != nil {
		return State{}, nil, err
	}
	checks := make(map[string]Check, len(ro.Strategy.Analysis.Checks))
	for _, c := range ro.Strategy.Analysis.Checks {
		checks[c.Name] = c.Check
	}
	if len(checks) > 0 {
		if r.metrics == nil {
			return State{}, nil, runnerInvalid("metrics", "is nil, and the strategy has checks")
		}
		iv, res := ro.Strategy.Plan().Interval, r.metrics.Resolution()
		if res > 0 && iv%res != 0 {
			return State{}, nil, rolloutInvalid("strategy.interval", fmt.Sprintf("is %s, not a multiple of the metrics resolution %s", iv, res))
		}
		if err := ro.Strategy.ValidateMetrics(res); err != nil {
			return State{}, nil, err
		}
	}
	// The candidate must be a published version: a route write to a
	// version that does not exist would fail half-way through the rollout
	// (or, on some platforms, route traffic to nothing).
	if _, err := r.p.Version(ctx, ro.Function, ro.Candidate); err != nil {
		return State{}, nil, fmt.Errorf("canary: start %q: candidate %q of %s is not a published version: %w", ro.ID, ro.Candidate, ro.Function, err)
	}
	route, err := r.p.Route(ctx, ro.Function, ro.Alias)
	if err != nil {
		return State{}, nil, fmt.Errorf("canary: start %q: read route: %w", ro.ID, err)
	}
	for _, w := range route.Weights[min(1, len(route.Weights)):] {
		if w.BasisPoints > 0 {
			return State{}, nil, fmt.Errorf("canary: start %q: route %q of %s already splits traffic (%s), as another rollout would: %w",
				ro.ID, ro.Alias, ro.Function, describe(route), provider.ErrConflict)
		}
	}
	sp := Spec{ID: ro.ID, Function: ro.Function, Route: route, Candidate: ro.Candidate, Strategy: ro.Strategy,
		OnConflict: r.opts.OnOutOfBand, OnCancel: r.opts.CancelPolicy}
	if bg := ro.Strategy.BlueGreen; bg != nil {
		tr, err := r.p.Route(ctx, ro.Function, bg.TestAlias)
		switch {
		case err == nil:
			sp.TestRevision = tr.Revision
		case !errors.Is(err, provider.ErrNotFound):
			return State{}, nil, fmt.Errorf("canary: start %q: read test route: %w", ro.ID, err)
		}
	}
	st, err := NewState(sp, caps)
	if err != nil {
		return State{}, nil, err
	}
	return st, checks, nil
}

// Resume continues the rollout id from its stored state, in this process
// or another: it works out the outstanding action (for a route write, from
// the route itself: written already, still to write, or changed out of
// band) and drives the rollout until it ends. Checks come from
// RunnerOptions.Checks, hooks from RunnerOptions.Hooks; a missing one is an
// error wrapping provider.ErrInvalid before anything is done. A rollout
// that has already ended is returned as it is, with the error Start would
// have returned. Results and errors are as for Start.
func (r *Runner) Resume(ctx context.Context, id string) (State, error) {
	st, rev, err := r.store.Load(ctx, id)
	if err != nil {
		return State{}, fmt.Errorf("canary: resume: %w", err)
	}
	checks := make(map[string]Check, len(st.Checks))
	for i, c := range st.Checks {
		chk := r.opts.Checks[c.Name]
		if chk == nil && c.Name == DefaultCheckName {
			chk = Sequential{}
		}
		if chk == nil && !st.Done() {
			return st, rolloutInvalid(fmt.Sprintf("checks[%d]", i), fmt.Sprintf("%q has no Check in RunnerOptions.Checks", c.Name))
		}
		checks[c.Name] = chk
	}
	if !st.Done() {
		for _, h := range []*HookSpec{st.Plan.PreTraffic, st.Plan.PostTraffic} {
			if h != nil && r.opts.Hooks[h.Name] == nil {
				return st, rolloutInvalid("hooks", fmt.Sprintf("%q has no HookFunc in RunnerOptions.Hooks", h.Name))
			}
		}
		if len(checks) > 0 && r.metrics == nil {
			return st, runnerInvalid("metrics", "is nil, and the rollout has checks")
		}
	}
	d := &drive{r: r, checks: checks, st: st, rev: rev}
	var first *Event
	if st.Phase == PhasePending && st.Started.IsZero() {
		// Saved by Start, which stopped before the machine started it.
		first = &Event{Kind: EventStart}
	}
	return d.run(ctx, first)
}

// Pause pauses the rollout id: traffic stays where it is until Continue,
// Abort or PromoteNow. It returns the stored state after the change.
func (r *Runner) Pause(ctx context.Context, id string) (State, error) {
	return r.control(ctx, id, EventPause)
}

// Continue resumes a paused rollout (a bake restarts from the beginning of
// its step).
func (r *Runner) Continue(ctx context.Context, id string) (State, error) {
	return r.control(ctx, id, EventResume)
}

// Abort rolls the rollout back now.
func (r *Runner) Abort(ctx context.Context, id string) (State, error) {
	return r.control(ctx, id, EventAbort)
}

// PromoteNow skips the remaining steps, the analysis and the approval
// gate; hooks still run.
func (r *Runner) PromoteNow(ctx context.Context, id string) (State, error) {
	return r.control(ctx, id, EventPromoteNow)
}

// Approve resolves the rollout's confirm-promotion gate in favour of the
// candidate.
func (r *Runner) Approve(ctx context.Context, id string) (State, error) {
	return r.control(ctx, id, EventApproved)
}

// control applies an operator event to the stored state with
// compare-and-swap, retrying when the runner saved in between. It does not
// perform the resulting actions: the runner driving the rollout (or the
// next Resume) does. ErrIgnored when the event changes nothing.
func (r *Runner) control(ctx context.Context, id string, kind EventKind) (State, error) {
	for {
		st, rev, err := r.store.Load(ctx, id)
		if err != nil {
			return State{}, fmt.Errorf("canary: %s: %w", kind, err)
		}
		next, _ := Next(st, Event{Kind: kind, Reason: "operator"}, r.clock.Now())
		if reflect.DeepEqual(next, st) {
			return st, fmt.Errorf("canary: %s rollout %q in phase %s: %w", kind, id, st.Phase, ErrIgnored)
		}
		_, err = r.store.Save(ctx, id, next, rev)
		if err == nil {
			r.report.transitions(ctx, st, next)
			return next, nil
		}
		if !errors.Is(err, provider.ErrConflict) {
			return st, fmt.Errorf("canary: %s: %w", kind, err)
		}
	}
}

// drive is one Start or Resume call: the state it owns and the checks.
type drive struct {
	r      *Runner
	checks map[string]Check
	st     State
	rev    string
	// asked is the approval deadline ApproveFunc was last asked about.
	asked time.Time
	// rtt is the shortest round trip measured on this drive's calls to the
	// metrics source (or, before its first, to the provider's routes); 0
	// when none was measured.
	rtt, metricsRTT time.Duration
	// early is a window's metrics read sent ahead of the window's end
	// (see readAhead), for measure to use; lagging is set once such a read
	// came back incomplete (the source publishes late, or the read arrived
	// early): reading ahead stops, as it would only add reads.
	early   *earlyRead
	lagging bool
	// cause is what made the rollout fail, for the returned error.
	cause error
}

// run drives the rollout until it ends. first, when set, is fed to the
// machine before anything else.
func (d *drive) run(ctx context.Context, first *Event) (State, error) {
	var cancelled error // the context's error once it ended
	var acts []Action
	ticked := false // the last event was a Tick that asked for nothing
	pending := first
	for {
		if pending != nil {
			ev := *pending
			pending = nil
			a, err := d.apply(ctx, ev)
			if err != nil && (cancelled != nil || ctx.Err() == nil) {
				return d.st, d.stopped(err)
			}
			acts = a
			ticked = ev.Kind == EventTick && len(acts) == 0
		}
		if d.st.Done() {
			return d.st, d.result(cancelled)
		}
		if cancelled == nil && ctx.Err() != nil {
			cancelled = ctx.Err()
			var cancel context.CancelFunc
			ctx, cancel = withClockTimeout(context.WithoutCancel(ctx), d.r.clock, d.r.opts.RollbackTimeout)
			defer cancel()
			ev, err := d.cancelEvent(ctx, cancelled)
			if err != nil {
				return d.st, d.stopped(err)
			}
			pending, acts = &ev, nil
			continue
		}

		var act Action
		for _, a := range acts {
			if a.Kind != ActionDone {
				act = a
				break
			}
		}
		acts = nil
		var ev Event
		var ok bool
		switch {
		case act.Kind != 0:
			ev, ok = d.perform(ctx, act)
		default:
			if a, inFlight := d.st.InFlight(); inFlight {
				if a.Kind == ActionSetRoute {
					ev, ok = d.resolveRoute(ctx, a.Route, true)
				} else {
					ev, ok = d.perform(ctx, a)
				}
			} else if !ticked {
				ev, ok = Event{Kind: EventTick}, true
			} else {
				d.idle(ctx)
			}
		}
		switch {
		case !ok:
			// The state may have been reloaded: look at it afresh.
			ticked = false
		case cancelled != nil || ctx.Err() == nil:
			pending = &ev
		}
	}
}

// apply feeds ev to the machine and saves the result with compare-and-swap.
// When someone else saved in between (an operator control), it reloads the
// stored state and feeds ev to that instead: the machine ignores a result
// the new state no longer awaits.
func (d *drive) apply(ctx context.Context, ev Event) ([]Action, error) {
	if ev.Kind == EventMeasured {
		d.r.report.window(ctx, d.r.clock.Now(), d.st, ev)
	}
	for {
		next, acts := Next(d.st, ev, d.r.clock.Now())
		if reflect.DeepEqual(next, d.st) {
			return acts, nil
		}
		rev, err := d.r.store.Save(ctx, d.st.ID, next, d.rev)
		if err == nil {
			d.r.report.transitions(ctx, d.st, next)
			d.st, d.rev = next, rev
			return acts, nil
		}
		if !errors.Is(err, provider.ErrConflict) {
			return nil, err
		}
		if err := d.reload(ctx); err != nil {
			return nil, err
		}
		if d.st.Done() {
			return nil, nil
		}
	}
}

// reload replaces the drive's state with the stored one.
func (d *drive) reload(ctx context.Context) error {
	st, rev, err := d.r.store.Load(ctx, d.st.ID)
	if err != nil {
		return err
	}
	d.r.report.transitions(ctx, d.st, st)
	d.st, d.rev = st, rev
	return nil
}

// changed reports whether the stored state has a new revision (an
// operator's change), reloading it if so. Store errors are logged and
// treated as no change: the next save reports a lasting failure.
func (d *drive) changed(ctx context.Context) bool {
	var rev string
	var err error
	if rs, ok := d.r.store.(interface {
		Revision(context.Context, string) (string, error)
	}); ok {
		rev, err = rs.Revision(ctx, d.st.ID)
	} else {
		_, rev, err = d.r.store.Load(ctx, d.st.ID)
	}
	if err == nil && rev == d.rev {
		return false
	}
	if err == nil {
		err = d.reload(ctx)
	}
	if err != nil {
		if ctx.Err() == nil && d.r.opts.Logger != nil {
			d.r.opts.Logger.WarnContext(ctx, "canary: polling the store failed", "rollout", d.st.ID, "err", err)
		}
		return false
	}
	return true
}

// idle waits for an operator's change (the rollout is paused) or for ctx to
// end.
func (d *drive) idle(ctx context.Context) {
	for {
		if d.r.clock.Sleep(ctx, d.r.opts.PollInterval) != nil || d.changed(ctx) {
			return
		}
	}
}

// perform carries out one action and returns the event that reports its
// result; ok is false when there is nothing to report (the state was
// reloaded during a wait, or ctx ended).
func (d *drive) perform(ctx context.Context, a Action) (Event, bool) {
	switch a.Kind {
	case ActionSetRoute:
		return d.setRoute(ctx, a.Route), true
	case ActionMeasure:
		return d.measure(ctx, a), true
	case ActionRunHook:
		return d.runHook(ctx, a), true
	case ActionWait:
		return d.wait(ctx, a.Until)
	}
	panic(fmt.Sprintf("canary: runner cannot perform action %s", a.Kind))
}

// setRoute writes want (its Revision is the expected one). On a conflict it
// reads the route, so the machine sees both.
func (d *drive) setRoute(ctx context.Context, want provider.Route) Event {
	sent := d.r.clock.Now()
	got, err := d.r.p.SetRoute(ctx, d.st.Function, want)
	if d.metricsRTT == 0 {
		d.noteRTT(d.r.clock.Now().Sub(sent))
	}
	if err == nil {
		return Event{Kind: EventRouteSet, Route: got}
	}
	if !errors.Is(err, provider.ErrConflict) {
		return Event{Kind: EventRouteFailed, Err: err}
	}
	cur, rerr := d.r.p.Route(ctx, d.st.Function, want.Alias)
	if rerr != nil && !errors.Is(rerr, provider.ErrNotFound) {
		return Event{Kind: EventRouteFailed, Err: fmt.Errorf("%w; reading it back: %w", err, rerr)}
	}
	ce := &ConflictError{Function: d.st.Function, Expected: d.known(want), Found: cur, Err: err}
	d.cause = ce
	// Even when someone else wrote the very traffic this write asked for
	// (a second rollout of the same candidate), it is their route, not
	// ours: the machine never adopts a conflicting route as a write's
	// result, and handles it by the rollout's OnConflict policy.
	return Event{Kind: EventRouteFailed, Err: ce, Conflict: true, Route: cur}
}

// known returns the route the rollout last knew for want's alias, with the
// revision want expects.
func (d *drive) known(want provider.Route) provider.Route {
	k := d.st.Route
	if want.Alias != d.st.Alias {
		k = d.st.TestRoute
	}
	k = k.Clone()
	k.Alias, k.Revision = want.Alias, want.Revision
	return k
}

// resolveRoute works out an outstanding route write after a crash, a
// reload or a cancellation, from the route itself: written already (report
// RouteSet), not written (write it when write is set, else report nothing),
// or changed by someone else (report a conflict).
func (d *drive) resolveRoute(ctx context.Context, want provider.Route, write bool) (Event, bool) {
	cur, err := d.r.p.Route(ctx, d.st.Function, want.Alias)
	switch {
	case errors.Is(err, provider.ErrNotFound) && want.Revision == "":
		if !write {
			return Event{}, false
		}
		return d.setRoute(ctx, want), true
	case err != nil:
		return Event{Kind: EventRouteFailed, Err: fmt.Errorf("reading route %q: %w", want.Alias, err)}, true
	case cur.SameTraffic(want):
		return Event{Kind: EventRouteSet, Route: cur}, true
	case cur.Revision == want.Revision:
		if !write {
			return Event{}, false
		}
		return d.setRoute(ctx, want), true
	}
	ce := &ConflictError{Function: d.st.Function, Expected: d.known(want), Found: cur}
	d.cause = ce
	return Event{Kind: EventRouteFailed, Err: ce, Conflict: true, Route: cur}, true
}

// cancelEvent prepares for a Cancelled event: a route write that landed
// before the cancellation is recorded first, so the state knows the
// traffic it leaves or rolls back.
func (d *drive) cancelEvent(ctx context.Context, cause error) (Event, error) {
	cancelled := Event{Kind: EventCancelled, Reason: cause.Error()}
	if d.st.Awaiting != AwaitRoute {
		return cancelled, nil
	}
	ev, ok := d.resolveRoute(ctx, d.st.Want, false)
	if !ok || ev.Kind != EventRouteSet {
		return cancelled, nil
	}
	if _, err := d.apply(ctx, ev); err != nil {
		return Event{}, err
	}
	return cancelled, nil
}

// measure fetches the window's metrics and judges it. When the verdict
// keeps the rollout going, it then reads the alias's route: when its
// traffic is no longer what the rollout last wrote, someone changed it out
// of band, the window judged traffic the rollout does not control, and
// measure reports an Abort instead (the rollback then meets the changed
// revision and ends as OnOutOfBand says: stopped without overwriting, by
// default). When the verdict rolls back, the read is skipped: the rollback
// write is a compare-and-swap on the revision the rollout last wrote, which
// detects the same change, and skipping it puts traffic back on the stable
// version one API round trip sooner. With the window's metrics read sent
// ahead so that it reaches the source as the window closes (readAhead),
// the rollback write takes effect one round trip after the window's end:
// half for the read's answer, half for the write's request
// (TestRunnerRollbackLatency; TestRunnerReadAheadCalls shows it adds no
// read to a prompt source and one per rollout to a lagging one).
func (d *drive) measure(ctx context.Context, a Action) Event {
	w := a.Window
	ev := Event{Kind: EventMeasured, Start: w.Start, End: w.End}
	obs, err := d.observe(ctx, w)
	if err != nil {
		ev.Err = err
		return ev
	}
	w.Metrics = obs
	names := a.Checks
	if names == nil {
		for _, c := range d.st.Checks {
			names = append(names, c.Name)
		}
	}
	for _, name := range names {
		c := d.checks[name]
		if c == nil {
			ev.Results = append(ev.Results, CheckResult{Name: name, Err: fmt.Errorf("canary: no Check named %q", name)})
			continue
		}
		cw := w
		cw.Carry = d.carry(name)
		m, err := c.Judge(ctx, cw)
		ev.Results = append(ev.Results, CheckResult{Name: name, Measurement: m, Err: err})
	}
	if w.Alias != d.st.Alias {
		return ev
	}
	if next, _ := Next(d.st, ev, d.r.clock.Now()); next.Phase == PhaseRollingBack || next.Phase.Terminal() {
		return ev
	}
	cur, err := d.r.p.Route(ctx, d.st.Function, d.st.Alias)
	if err == nil && !cur.SameTraffic(d.st.Route) {
		ce := &ConflictError{Function: d.st.Function, Expected: d.st.Route.Clone(), Found: cur}
		d.cause = ce
		return Event{Kind: EventAbort, Reason: ce.Error()}
	}
	return ev
}

// carry returns the state check name carries over the rollout.
func (d *drive) carry(name string) Carry {
	for _, c := range d.st.Checks {
		if c.Name == name {
			return c.Carry
		}
	}
	return ""
}

// query is the metrics query of window w. The window of a blue/green test
// alias is queried across routes, so the stable version is measured on the
// traffic it serves.
func (d *drive) query(w MetricWindow) provider.Query {
	q := provider.Query{Function: w.Function, Alias: w.Alias, Versions: []string{w.Candidate}, Start: w.Start, End: w.End}
	if w.Stable != "" && w.Stable != w.Candidate {
		q.Versions = append(q.Versions, w.Stable)
	}
	if w.Alias != d.st.Alias {
		q.Alias = ""
	}
	res := d.r.metrics.Resolution()
	q.Period = w.End.Sub(w.Start)
	if res > 0 && q.Period%res == 0 {
		q.Period = res
	}
	return q
}

// observe queries the window, waiting up to MetricsLag past its end for the
// source to complete it. A complete answer to the same query read ahead of
// the window's end (readAhead) is used without another call.
func (d *drive) observe(ctx context.Context, w MetricWindow) (provider.Observation, error) {
	q := d.query(w)
	if e := d.early; e != nil {
		d.early = nil
		if reflect.DeepEqual(e.q, q) {
			return e.obs, nil
		}
	}
	res := d.r.metrics.Resolution()
	for {
		sent := d.r.clock.Now()
		obs, err := d.r.metrics.Observe(ctx, q)
		if err != nil {
			return obs, err
		}
		d.noteMetricsRTT(d.r.clock.Now().Sub(sent))
		if !obs.Through.Before(w.End) {
			return obs, nil
		}
		now := d.r.clock.Now()
		if !now.Before(w.End.Add(d.r.opts.MetricsLag)) {
			return obs, fmt.Errorf("canary: metrics of %s are complete only through %s, %s after the window ended at %s",
				w.Function, obs.Through.Format(time.RFC3339), d.r.opts.MetricsLag, w.End.Format(time.RFC3339))
		}
		if err := d.r.clock.Sleep(ctx, max(res, time.Second)); err != nil {
			return obs, err
		}
	}
}

// earlyRead is a window's metrics, read ahead of the window's end.
type earlyRead struct {
	q   provider.Query
	obs provider.Observation
}

// noteRTT records a measured round trip of a route call.
func (d *drive) noteRTT(rtt time.Duration) {
	if rtt > 0 && (d.rtt == 0 || rtt < d.rtt) {
		d.rtt = rtt
	}
}

// noteMetricsRTT records a measured round trip of a metrics read; from the
// first one on, only metrics reads are used.
func (d *drive) noteMetricsRTT(rtt time.Duration) {
	if rtt <= 0 {
		return
	}
	if d.metricsRTT == 0 || rtt < d.metricsRTT {
		d.metricsRTT = rtt
	}
	d.rtt = d.metricsRTT
}

// readAhead returns the metrics query of the window the machine will ask to
// measure when the wait until `until` ends, and when to send it: half a
// measured round trip before until, so that it reaches the source as the
// window closes and its answer is back half a round trip after — rather
// than a whole one after, as a read sent at the window's end would be. A
// source publishes a period only once it is complete (provider.Observation),
// so the read cannot usefully reach it any sooner. ok is false when there
// is no such window, no round trip was measured yet, or the source lags.
func (d *drive) readAhead(until time.Time) (q provider.Query, send time.Time, ok bool) {
	if d.lagging || d.rtt <= 0 {
		return q, send, false
	}
	_, acts := Next(d.st, Event{Kind: EventTick}, until)
	for _, a := range acts {
		if a.Kind == ActionMeasure && a.Window.End.Equal(until) {
			return d.query(a.Window), until.Add(-d.rtt / 2), true
		}
	}
	return q, send, false
}

// readEarly sends the read readAhead planned and keeps a complete answer
// for measure. A read that failed is dropped (measure reads again, and
// reports the error if it persists). An incomplete answer — a source that
// publishes late, or a read that arrived before the window closed — stops
// reading ahead for the rest of the drive: reading ahead costs at most
// this one read more than reading at the window's end, once per drive.
func (d *drive) readEarly(ctx context.Context, q provider.Query) {
	sent := d.r.clock.Now()
	obs, err := d.r.metrics.Observe(ctx, q)
	if err != nil {
		return
	}
	d.noteMetricsRTT(d.r.clock.Now().Sub(sent))
	if obs.Through.Before(q.End) {
		d.lagging = true
		return
	}
	d.early = &earlyRead{q: q, obs: obs}
}

// runHook runs the hook the action names.
func (d *drive) runHook(ctx context.Context, a Action) Event {
	in := HookInput{Name: a.Hook, Stage: StagePostTraffic, RolloutID: d.st.ID, Function: d.st.Function, Alias: d.st.Alias,
		Stable: d.st.Stable, Candidate: d.st.Candidate, Deadline: a.Until}
	if d.st.effective() == PhasePreTraffic {
		in.Stage = StagePreTraffic
	}
	err := hookRun(ctx, d.r.clock, d.r.opts.Hooks[a.Hook], in)
	if err != nil && ctx.Err() == nil {
		d.cause = err
	}
	return Event{Kind: EventHookDone, Hook: a.Hook, Err: err}
}

// wait sleeps until until, looking at the store every PollInterval. It
// asks ApproveFunc first when an approval gate waits. ok is false when the
// state was reloaded (the caller re-evaluates it) or ctx ended.
func (d *drive) wait(ctx context.Context, until time.Time) (Event, bool) {
	if d.st.Phase == PhaseAwaitingApproval && d.r.opts.Approve != nil && !d.asked.Equal(d.st.Deadline) {
		d.asked = d.st.Deadline
		a := Approval{RolloutID: d.st.ID, Function: d.st.Function, Alias: d.st.Alias, Stable: d.st.Stable,
			Candidate: d.st.Candidate, Weight: d.st.Route.Share(d.st.Candidate), Deadline: d.st.Deadline}
		ok, err := hookApprove(ctx, d.r.clock, d.r.opts.Approve, a)
		switch {
		case err == nil && ok:
			return Event{Kind: EventApproved, Reason: "ApproveFunc"}, true
		case err == nil:
			return Event{Kind: EventRejected, Reason: "ApproveFunc"}, true
		case ctx.Err() != nil:
			return Event{}, false
		case d.r.opts.Logger != nil:
			d.r.opts.Logger.WarnContext(ctx, "canary: approval failed; waiting for Runner.Approve", "rollout", d.st.ID, "err", err)
		}
		if d.changed(ctx) {
			return Event{}, false
		}
	}
	q, send, early := d.readAhead(until)
	for {
		now := d.r.clock.Now()
		left := until.Sub(now)
		if left <= 0 {
			return Event{Kind: EventTick}, true
		}
		step := min(left, d.r.opts.PollInterval)
		if early {
			if !now.Before(send) {
				early = false
				d.readEarly(ctx, q)
				continue
			}
			step = min(step, send.Sub(now))
		}
		if d.r.clock.Sleep(ctx, step) != nil {
			return Event{}, false
		}
		if d.changed(ctx) {
			return Event{}, false
		}
	}
}

// stopped is the error of a runner that could not go on (a store failure):
// the rollout is left as last saved, for Resume.
func (d *drive) stopped(err error) error {
	return fmt.Errorf("canary: rollout %q stopped in phase %s, resume it: %w", d.st.ID, d.st.Phase, err)
}

// result is the error Start and Resume return for an ended rollout.
func (d *drive) result(cancelled error) error {
	if d.st.Phase == PhaseSucceeded {
		return nil
	}
	re := &RolloutError{ID: d.st.ID, Phase: d.st.Phase, Reason: d.st.Reason, Err: errors.Join(cancelled, d.cause)}
	for _, h := range slices.Backward(d.st.History) {
		if h.To == PhaseRollingBack {
			re.Cause = h.Reason
			break
		}
	}
	return re
}
