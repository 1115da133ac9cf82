package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// Errors Run wraps (through *ReleaseError) when a release did not succeed.
var (
	// ErrFailed: a target failed; the release stopped and sent back the
	// failing groups (or, with ScopeRelease, every target).
	ErrFailed = errors.New("fleet release failed")
	// ErrAborted: an operator (or the end of Run's context) aborted it.
	ErrAborted = errors.New("fleet release aborted")
)

// ReleaseError reports a fleet release that ended without succeeding.
type ReleaseError struct {
	ID     string
	Phase  Phase
	Reason string
}

func (e *ReleaseError) Error() string {
	return fmt.Sprintf("fleet: release %q ended %s: %s", e.ID, e.Phase, e.Reason)
}

// Is makes errors.Is follow the phase: ErrFailed or ErrAborted.
func (e *ReleaseError) Is(target error) bool {
	return target == ErrFailed && e.Phase == PhaseFailed || target == ErrAborted && e.Phase == PhaseAborted
}

// Result returns the error a release in state s ended with: nil when it
// succeeded, a *ReleaseError otherwise.
func Result(s State) error {
	if s.Phase == PhaseSucceeded {
		return nil
	}
	return &ReleaseError{ID: s.Plan.ID, Phase: s.Phase, Reason: s.Reason}
}

// Options configure an Executor, the in-process way to run a plan.
type Options struct {
	// Backends, Journal, Checks, Clock and Actor are as in OpsOptions.
	Backends map[string]Backend
	Journal  journal.Journal
	Checks   map[string]canary.Check
	Clock    canary.Clock
	Actor    string
	// Store keeps the targets' canary states (canary.Runner's store); nil
	// means a new canary.MemoryStore. A target whose rollout ID is taken
	// in the store is resumed from it (a re-run after a crash).
	Store canary.Store
	// Hooks holds the code of the hooks the strategy names.
	Hooks map[string]canary.HookFunc
	// Retry is the canary runners' retry of provider calls.
	Retry provider.RetryPolicy
	// PollInterval is the canary runners' (0: canary's default).
	PollInterval time.Duration
	// Logger receives a record per target transition; nil is silent.
	Logger *slog.Logger
	// OnChange receives the release's state after every transition, under
	// the executor's lock: it must not block or call the Executor.
	OnChange func(State)
}

// Executor runs fleet releases in this process: a canary.Runner per
// target (the existing runner and stores), the decisions of Next, and the
// calls of Ops. Goroutines are started per target, per revert, per
// verdict and per wait; with a clock that implements Go(func()) (as
// canary.VirtualClock does) they are started through it, so a whole
// release runs in virtual time. Run must then be called by a goroutine
// that is not one of the clock's participants.
type Executor struct {
	opts Options
	ops  *Ops
}

// NewExecutor returns an Executor, or an error wrapping
// provider.ErrInvalid.
func NewExecutor(o Options) (*Executor, error) {
	if o.Clock == nil {
		o.Clock = canary.RealClock()
	}
	if o.Store == nil {
		o.Store = &canary.MemoryStore{}
	}
	ops, err := NewOps(OpsOptions{Backends: o.Backends, Journal: o.Journal, Checks: o.Checks, Clock: o.Clock, Actor: o.Actor})
	if err != nil {
		return nil, err
	}
	return &Executor{opts: o, ops: ops}, nil
}

// Ops returns the executor's Ops.
func (e *Executor) Ops() *Ops { return e.ops }

// run is one Run call.
type run struct {
	e        *Executor
	plan     Plan
	strategy canary.Strategy
	runners  map[string]*canary.Runner
	ctx      context.Context // ends when the release ends
	outer    context.Context // the caller's

	mu      sync.Mutex
	st      State
	cancels map[int]context.CancelFunc
	waits   map[int64]bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// Run validates p (Plan.Validate, then Ops.Check: backends, checks,
// capabilities) before anything is touched, then runs the release to its
// end and returns its final state, with nil when it succeeded and a
// *ReleaseError otherwise (or the validation error, with a zero State).
//
// When ctx ends the release is aborted: canaries in flight roll back (the
// canary runner's cancellation), and with ScopeRelease every target moved
// goes back; Run returns when that is done.
func (e *Executor) Run(ctx context.Context, p Plan) (State, error) {
	if err := e.ops.Check(p); err != nil {
		return State{}, err
	}
	st, err := NewState(p)
	if err != nil {
		return State{}, err
	}
	strategy, err := p.StrategyWith(e.opts.Checks)
	if err != nil {
		return State{}, err
	}
	r := &run{e: e, plan: p, strategy: strategy, runners: map[string]*canary.Runner{}, outer: ctx, st: st,
		cancels: map[int]context.CancelFunc{}, waits: map[int64]bool{}, done: make(chan struct{})}
	for _, t := range p.Targets {
		if r.runners[t.Provider] != nil {
			continue
		}
		pr, err := e.ops.Provider(t.Provider, p.Accounts[t.Provider])
		if err != nil {
			return State{}, err
		}
		rn, err := canary.NewRunner(canary.RunnerOptions{Provider: pr, Metrics: e.ops.Metrics(t.Provider), Store: e.opts.Store,
			Clock: e.opts.Clock, Logger: e.opts.Logger, Hooks: e.opts.Hooks, Checks: e.opts.Checks, Retry: e.opts.Retry,
			PollInterval: e.opts.PollInterval})
		if err != nil {
			return State{}, err
		}
		r.runners[t.Provider] = rn
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	r.ctx = rctx
	// Events are posted by the release's own goroutines only: on a
	// virtual clock a goroutine that is not a participant must not start
	// participants one by one (the first could run ahead in time before
	// the next exists).
	r.spawn(func() { r.post(Event{Kind: EventStart}) })
	select {
	case <-r.done:
	case <-ctx.Done():
		r.spawn(func() { r.post(Event{Kind: EventAbort, Reason: ctx.Err().Error()}) })
		<-r.done
	}
	cancel()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st, Result(r.st)
}

// post feeds ev to the machine and starts the actions.
func (r *run) post(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st.Phase.Terminal() {
		return
	}
	before := r.st
	next, acts := Next(r.st, ev, r.e.opts.Clock.Now())
	r.st = next
	if r.e.opts.Logger != nil {
		r.log(before, next)
	}
	if r.e.opts.OnChange != nil && (len(acts) > 0 || ev.Kind != EventTick) {
		r.e.opts.OnChange(next)
	}
	for _, a := range acts {
		r.perform(a)
	}
}

func (r *run) log(before, after State) {
	l := r.e.opts.Logger
	if before.Phase != after.Phase || before.Wave != after.Wave {
		l.Info("fleet: release", "id", r.plan.ID, "phase", after.Phase.String(), "wave", r.plan.Waves[after.Wave].Name, "reason", after.Reason)
	}
	for i := range after.Targets {
		if before.Targets[i].Phase != after.Targets[i].Phase {
			l.Info("fleet: target", "id", after.Targets[i].ID, "phase", after.Targets[i].Phase.String(), "reason", after.Targets[i].Reason)
		}
	}
}

// spawn starts f as a goroutine of the release (a participant of a
// virtual clock).
func (r *run) spawn(f func()) {
	r.wg.Add(1)
	g := func() {
		defer r.wg.Done()
		f()
	}
	if c, ok := r.e.opts.Clock.(interface{ Go(func()) }); ok {
		c.Go(g)
		return
	}
	go g()
}

// perform starts one action; called with r.mu held.
func (r *run) perform(a Action) {
	switch a.Kind {
	case ActionStart:
		tctx, cancel := context.WithCancel(r.outer)
		r.cancels[a.Target] = cancel
		r.spawn(func() {
			defer cancel()
			r.post(r.target(tctx, a.Target))
		})
	case ActionAbort:
		if cancel := r.cancels[a.Target]; cancel != nil {
			cancel()
		}
	case ActionRevert:
		t := r.st.Targets[a.Target]
		reason := r.st.Reason
		r.spawn(func() {
			ev := Event{Kind: EventReverted, Target: a.Target}
			prev, err := r.e.ops.Revert(r.ctx, r.plan.Job(a.Target), t.Candidate, reason)
			if err != nil {
				ev.Err = err.Error()
			} else {
				ev.Reason = "previous version " + prev + " from the journal"
			}
			r.post(ev)
		})
	case ActionJudge:
		t := r.st.Targets[a.Target]
		r.spawn(func() {
			ev := Event{Kind: EventJudged, Target: a.Target}
			pass, reason, err := r.e.ops.Judge(r.ctx, r.plan.Job(a.Target), t.Candidate, a.Start, a.End)
			if err != nil {
				reason = "could not judge: " + err.Error()
			}
			ev.Pass, ev.Reason = pass && err == nil, reason
			r.post(ev)
		})
	case ActionWait:
		key := a.Until.UnixNano()
		if r.waits[key] {
			return
		}
		r.waits[key] = true
		r.spawn(func() {
			if r.e.opts.Clock.Sleep(r.ctx, a.Until.Sub(r.e.opts.Clock.Now())) != nil {
				return
			}
			r.mu.Lock()
			delete(r.waits, key)
			r.mu.Unlock()
			r.post(Event{Kind: EventTick})
		})
	case ActionDone:
		close(r.done)
	}
}

// target runs target k's canary and journals its outcome; it returns the
// event reporting it.
func (r *run) target(ctx context.Context, k int) Event {
	t := r.plan.Targets[k]
	fail := func(err error) Event {
		return Event{Kind: EventTargetDone, Target: k, Outcome: TargetFailed, Reason: err.Error()}
	}
	job := r.plan.Job(k)
	cand, err := r.e.ops.Candidate(ctx, job)
	if err != nil {
		return fail(err)
	}
	rn := r.runners[t.Provider]
	id := r.plan.RolloutID(k)
	st, err := rn.Start(ctx, canary.Rollout{ID: id, Function: t.Function, Alias: r.plan.alias(), Candidate: cand, Strategy: r.strategy})
	if st.ID == "" && errors.Is(err, provider.ErrConflict) {
		if _, _, lerr := r.e.opts.Store.Load(ctx, id); lerr == nil {
			st, err = rn.Resume(ctx, id)
		}
	}
	if st.ID == "" && ctx.Err() != nil {
		// Aborted before its canary started: nothing was changed.
		return Event{Kind: EventTargetDone, Target: k, Outcome: TargetRolledBack, Candidate: cand,
			Reason: "aborted before its canary started, nothing changed: " + ctx.Err().Error()}
	}
	if st.ID == "" || !st.Done() {
		if err == nil {
			err = errors.New("canary ended without a state")
		}
		return fail(err)
	}
	if rerr := r.e.ops.Record(context.WithoutCancel(ctx), job, st); rerr != nil {
		return fail(fmt.Errorf("%s; journal: %w", st.Reason, rerr))
	}
	return TargetEvent(k, st)
}

// TargetEvent is the EventTargetDone reporting target k's ended canary st.
func TargetEvent(k int, st canary.State) Event {
	ev := Event{Kind: EventTargetDone, Target: k, Stable: st.Stable, Candidate: st.Candidate, Reason: st.Reason}
	switch st.Phase {
	case canary.PhaseSucceeded:
		ev.Outcome = TargetSucceeded
	case canary.PhaseRolledBack:
		ev.Outcome = TargetRolledBack
		// Why it rolled back, rather than that it did.
		for i := len(st.History) - 1; i >= 0; i-- {
			if h := st.History[i]; h.To == canary.PhaseRollingBack {
				ev.Reason = h.Reason + "; rolled back"
				break
			}
		}
	default:
		ev.Outcome = TargetFailed
	}
	return ev
}
