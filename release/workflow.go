package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/retention"
)

// Stages names the aliases a release moves through. The zero value means
// DefaultStages. Release uses Staging and Production; Development is for
// the caller's own use (Promote from it, or point it at every build).
type Stages struct {
	Development string `json:"development,omitempty"`
	// Staging is where the candidate is tested before production; empty
	// (with Production set) skips the stage.
	Staging    string `json:"staging,omitempty"`
	Production string `json:"production"`
}

// DefaultStages returns the stages "development", "staging" and
// "production".
func DefaultStages() Stages {
	return Stages{Development: "development", Staging: "staging", Production: "production"}
}

// Outcomes of a release run, as Result.Outcome, Entry.Outcome and
// Summary.Outcome say them.
const (
	OutcomePromoted   = "promoted"
	OutcomeRolledBack = "rolled back"
	OutcomeFailed     = "failed"
	OutcomeBlocked    = "blocked"
	// OutcomeUnchanged: the alias already sent all its traffic to the
	// version (a retried CI step, a rollback already done); nothing moved.
	OutcomeUnchanged = "unchanged"
)

// ErrTestsFailed: the integration tests (Request.Test) failed against the
// staging alias; staging was put back and production was not touched.
var ErrTestsFailed = errors.New("integration tests failed")

// ErrFinished: Resume was asked to continue a release whose outcome is in
// the journal already.
var ErrFinished = errors.New("release already finished")

// Target is what the integration tests run against: the staging alias of
// Function, which now sends all its traffic to Version.
type Target struct {
	Function string `json:"function"`
	Alias    string `json:"alias"`
	Version  string `json:"version"`
	Semver   string `json:"semver,omitempty"`
}

// TestFunc runs the caller's integration tests against t. A non-nil error
// fails the release before production is touched. It runs on the
// workflow's goroutine; under a virtual clock a test that must take time
// waits with the clock's Sleep.
type TestFunc func(ctx context.Context, t Target) error

// Options configure a Workflow. Runner.Provider is required;
// Runner.Metrics is required when a strategy has checks. The zero values
// of the other fields are documented defaults.
type Options struct {
	// Runner configures the canary runner the workflow drives, and the
	// workflow itself where the two share a need: Provider, Metrics, Store
	// (nil means a new canary.MemoryStore; a canary.FileStore lets another
	// process Abort a release or Resume it after a crash), Clock (nil
	// means canary.RealClock()), Hooks (the pre- and post-traffic hooks
	// strategies name), Approve (resolves confirm-promotion gates; nil
	// leaves them to Abort or an operator's canary.Runner.Approve),
	// Checks (the checks of rollouts Resume continues, by CheckSpec name:
	// a stored state does not carry code), Retry (the provider's calls,
	// the workflow's and the runner's), CancelPolicy and OnOutOfBand (by
	// default a canary whose context ends rolls back, and one whose alias
	// was changed by someone else stops without overwriting it),
	// PollInterval, MetricsLag and RollbackTimeout (0 means the runner's
	// defaults). Its OnEvent and Logger, when set, receive the canary's
	// own progress events; the workflow's Events go to Options.OnEvent
	// and Options.Logger.
	Runner canary.RunnerOptions
	// Journal is the audit trail; nil means a new journal.MemoryJournal
	// (nothing survives the process: use a journal.FileJournal in CI).
	Journal journal.Journal
	// Stages names the aliases; the zero value means DefaultStages().
	Stages Stages
	// Strategy is how production traffic moves when a Request or
	// PromoteRequest names none; the zero value means
	// canary.Canary(1000, 10*time.Minute) judged by the default, sequential
	// judgement (canary.DefaultAnalysis) when Runner.Metrics is set, and
	// with no checks (a bake only) when it is not.
	Strategy canary.Strategy
	// Policy (a DeployPolicy) restricts releases to deploy windows and blocks them during
	// freezes. It guards the production stage: it is checked before a
	// Release (or a Promote to production) starts and before every increase
	// of the candidate's share of production; staging and other aliases
	// are not restricted, and a rollback is never blocked. Nil allows
	// every time.
	Policy *DeployPolicy
	// MaxHold is how long a traffic increase that the Policy blocks in the
	// middle of a canary waits for the window to open again, holding the
	// traffic where it is. A block that lasts longer rolls the canary
	// back. Zero means a blocked increase rolls back at once.
	MaxHold time.Duration
	// Retention, when set, prunes the function's old versions after each
	// promotion to production, keeping (besides what the policy keeps) the
	// rollback points the journal knows. Prune tunes the deletions; its
	// Clock defaults to Runner.Clock.
	Retention *retention.Policy
	Prune     retention.ApplyOptions
	// RollbackPoints is how many of the journal's rollback points of each
	// alias (RollbackPoints, most recent first) retention keeps; 0 means 1,
	// the version a Rollback restores. A negative value keeps them all.
	RollbackPoints int
	// Notifier is told of promotions, rollbacks and failures; nil is
	// silent. A failed notification is logged and reported in
	// Result.NotifyErr; it never changes the release.
	Notifier notify.Notifier
	// Actor is who releases when a request names no one (a CI job's
	// identity).
	Actor string
	// URL links notifications to more (the CI run).
	URL string
	// OnEvent receives every progress event, in order, on the workflow's
	// goroutine; it must not block for long. Logger receives one record per
	// event. Both may be nil.
	OnEvent func(Event)
	Logger  *slog.Logger

	// OnRollback, when set, reverts infrastructure after a production
	// canary or a Rollback put the traffic back (RevertHook): its output
	// goes to the journal and the summary, and its failure is reported
	// without blocking or undoing the traffic rollback.
	OnRollback *RevertHook
	// LockDown and Remap, when set, run after every promotion to
	// production: the public and cross-account grants of versions nothing
	// routes to are removed, and event-source mappings pinned to a version
	// are pointed at the stage alias (see Workflow.LockDown and
	// Workflow.Remap; both honour DryRun). Their failures are reported and
	// never undo the promotion.
	LockDown *LockDownOptions
	Remap    *RemapOptions
	// Synthetic, when set, invokes the candidate and the stable version
	// during each analysis window of a production canary, so a quiet
	// function reaches a verdict (SyntheticTraffic). Request.Synthetic
	// overrides it for a Release. A Resume ignores it: the canary goes on
	// with the setting its release journaled when it started.
	Synthetic *SyntheticTraffic
}

// Workflow releases functions on one provider: Release (publish, stage,
// test, canary, promote or roll back, prune), Promote between stages,
// Rollback from the journal, Resume after a crash, Abort from elsewhere.
// It is safe for concurrent use by releases of different functions;
// releases of one function must be serialised by the caller (one CI job
// per function at a time), as Publish explains.
type Workflow struct {
	opts    Options
	p       provider.Provider // opts.Provider with retries
	journal journal.Journal
	store   canary.Store
	clock   canary.Clock
	stages  Stages
}

// New returns a Workflow. It fails with an error wrapping
// provider.ErrInvalid, naming the field, when the options cannot work: no
// provider, a default strategy the provider cannot run, an invalid deploy
// policy or retention policy, stages without a production alias or with
// two stages on one alias, a negative MaxHold.
func New(opts Options) (*Workflow, error) {
	if opts.Runner.Provider == nil {
		return nil, provider.Invalid("release options", "runner.provider", "is nil")
	}
	if opts.RollbackPoints == 0 {
		opts.RollbackPoints = 1
	}
	if opts.MaxHold < 0 {
		return nil, provider.Invalid("release options", "maxHold", "is negative")
	}
	w := &Workflow{opts: opts, journal: opts.Journal, store: opts.Runner.Store, clock: opts.Runner.Clock, stages: opts.Stages}
	if w.journal == nil {
		w.journal = &journal.MemoryJournal{}
	}
	if w.store == nil {
		w.store = &canary.MemoryStore{}
	}
	if w.clock == nil {
		w.clock = canary.RealClock()
	}
	if w.stages == (Stages{}) {
		w.stages = DefaultStages()
	}
	if err := w.stages.validate(); err != nil {
		return nil, err
	}
	if len(w.opts.Strategy.Steps) == 0 && w.opts.Strategy.BlueGreen == nil {
		w.opts.Strategy = canary.Canary(1000, 10*time.Minute)
		if w.opts.Runner.Metrics != nil {
			w.opts.Strategy.Analysis = canary.DefaultAnalysis()
		}
	}
	if err := w.checkStrategy(w.opts.Strategy); err != nil {
		return nil, err
	}
	if opts.Policy != nil {
		if err := opts.Policy.Validate(); err != nil {
			return nil, err
		}
	}
	if opts.Retention != nil {
		if err := opts.Retention.Validate(); err != nil {
			return nil, err
		}
	}
	if err := opts.checkSteps(); err != nil {
		return nil, err
	}
	if w.opts.Runner.Retry.Sleep == nil {
		w.opts.Runner.Retry.Sleep = w.clock.Sleep
	}
	if w.opts.Prune.Clock == nil {
		w.opts.Prune.Clock = w.clock
	}
	w.p = provider.WithRetry(opts.Runner.Provider, w.opts.Runner.Retry)
	return w, nil
}

func (s Stages) validate() error {
	if s.Production == "" {
		return provider.Invalid("release options", "stages.production", "is empty")
	}
	seen := map[string]string{}
	for _, st := range []struct{ field, alias string }{
		{"stages.development", s.Development}, {"stages.staging", s.Staging}, {"stages.production", s.Production},
	} {
		if st.alias == "" {
			continue
		}
		if err := provider.CheckName(st.field, st.alias); err != nil {
			return err
		}
		if other, ok := seen[st.alias]; ok {
			return provider.Invalid("release options", st.field, fmt.Sprintf("is %q, as %s is", st.alias, other))
		}
		seen[st.alias] = st.field
	}
	return nil
}

// checkStrategy validates s for the provider and checks that the hooks it
// names exist and that a metrics source judges its checks, so a release
// fails before it publishes anything.
func (w *Workflow) checkStrategy(s canary.Strategy) error {
	if err := s.Validate(w.opts.Runner.Provider.Capabilities()); err != nil {
		return err
	}
	for _, h := range []*canary.HookSpec{s.PreTraffic, s.PostTraffic} {
		if h == nil {
			continue
		}
		if _, ok := w.opts.Runner.Hooks[h.Name]; !ok {
			return provider.Invalid("release options", "hooks", fmt.Sprintf("has no hook %q, which the strategy names", h.Name))
		}
	}
	if len(s.Analysis.Checks) > 0 && w.opts.Runner.Metrics == nil {
		return provider.Invalid("release options", "metrics", "is nil, and the strategy has checks")
	}
	return nil
}

// Request is one release of a function: what to publish and how to roll
// it out.
type Request struct {
	Function string         `json:"function"`
	Publish  PublishRequest `json:"publish"`
	// ID names the release in the journal and the rollout store (1–150
	// characters from [A-Za-z0-9._-]); empty means the function's name,
	// the version and the start time, such as
	// "checkout-v1.2.0-20260304T100000Z", with "-2", "-3"… appended when
	// another run of the function in the journal or the rollout store has
	// that name already (two runs in one second). A CI job passes its run
	// ID.
	ID string `json:"id,omitempty"`
	// Actor is who releases; empty means Options.Actor. Reason is why (a
	// commit subject), recorded in the journal.
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Strategy is how production traffic moves; nil means
	// Options.Strategy.
	Strategy *canary.Strategy `json:"strategy,omitempty"`
	// Test runs against the staging alias before production is touched;
	// nil runs no tests.
	Test TestFunc `json:"-"`
	// Contract, when set, is replayed against the candidate before any
	// production traffic: on the staging alias (before Test), or on the
	// candidate version when there is no staging stage. A candidate that
	// fails it stops the release (ErrContractBroken) and staging is put
	// back. Its events are validated against Contract.Schema, or else
	// Publish.Schema.Candidate.
	Contract *Contract `json:"contract,omitempty"`
	// Synthetic overrides Options.Synthetic for this release.
	Synthetic *SyntheticTraffic `json:"synthetic,omitempty"`
}

// Result is what a release run did.
type Result struct {
	Release  string `json:"release"`
	Function string `json:"function"`
	Alias    string `json:"alias"`
	// Outcome is one of the Outcome constants.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// Published is the publish step's result (Release only).
	Published *Published `json:"published,omitempty"`
	// Candidate and Stable are version IDs; Semver is the candidate's.
	Candidate string `json:"candidate,omitempty"`
	Stable    string `json:"stable,omitempty"`
	Semver    string `json:"semver,omitempty"`
	// Rollout is the canary rollout's final state; nil when none ran.
	Rollout *canary.State `json:"rollout,omitempty"`
	// Pruned is what retention did after a promotion; nil when it did not
	// run.
	Pruned *retention.Report `json:"pruned,omitempty"`
	// Summary is the run for people (Summary.Markdown).
	Summary Summary `json:"summary"`
	// Replay, Synthetic, LockDown, Remap and Revert are the reports of
	// those steps; nil when they did not run.
	Replay    *ReplayReport    `json:"replay,omitempty"`
	Synthetic []SyntheticTally `json:"synthetic,omitempty"`
	LockDown  *LockDownReport  `json:"lockDown,omitempty"`
	Remap     *RemapReport     `json:"remap,omitempty"`
	Revert    *RevertResult    `json:"revert,omitempty"`
	// NotifyErr is a notification that failed (the release is unaffected).
	NotifyErr error `json:"-"`
}

// Release runs the whole workflow for one function:
//
//  1. check the DeployPolicy (a block returns a *BlockedError at once);
//  2. publish the artifact as the next semantic version (Publish), and
//     report routes changed behind the journal's back (Verify: an event,
//     a journaled decision and Summary.Drift; the release goes on from the
//     routes as they are);
//  3. point the staging alias at it and run req.Test against it (a
//     failure puts staging back and returns an error wrapping
//     ErrTestsFailed), then compare staging's configuration with
//     production's (Compare: Summary.Safety, with an event per difference
//     and finding);
//  4. move production traffic to it with the canary runner, judged by the
//     strategy's checks, holding at or rolling back from a closed deploy
//     window (Options.MaxHold);
//  5. on promotion, prune old versions (Options.Retention);
//  6. notify the outcome.
//
// Every route change and decision is journaled as it happens, and each step
// is reported to Options.OnEvent. The result is returned in every case;
// the error is nil only when production sends all its traffic to the new
// version. A canary that rolled back returns a *canary.RolloutError
// (matching canary.ErrRolledBack); one that stopped without rolling back
// (an out-of-band change, a failed rollback) matches canary.ErrStopped.
// When ctx ends during the canary, the canary rolls back (see
// Options.Runner.CancelPolicy) and the error wraps ctx.Err().
//
// Errors before anything changed: provider.ErrInvalid for a bad request
// (checked before any call), *BlockedError, the Publish errors
// (semver.ErrNoRelease when the commits call for no release).
func (w *Workflow) Release(ctx context.Context, req Request) (Result, error) {
	strategy := w.opts.Strategy
	if req.Strategy != nil {
		strategy = *req.Strategy
	}
	if err := provider.CheckName("function", req.Function); err != nil {
		return Result{}, err
	}
	if err := req.Publish.Validate(); err != nil {
		return Result{}, err
	}
	if err := w.checkStrategy(strategy); err != nil {
		return Result{}, err
	}
	if err := w.checkRequestSteps(req); err != nil {
		return Result{}, err
	}
	r, err := w.newRun(req.ID, "", req.Function, w.stages.Production, req.Actor, req.Reason)
	if err != nil {
		return Result{}, err
	}
	if err := r.begin(ctx); err != nil {
		return r.result(), err
	}
	if err := r.admitRelease(ctx); err != nil {
		return r.finish(ctx, OutcomeBlocked, err.Error(), err)
	}

	pub, err := Publish(ctx, w.p, req.Function, req.Publish)
	if err != nil {
		return r.finish(ctx, OutcomeFailed, "publish: "+err.Error(), err)
	}
	r.pub = &pub
	r.candidate, r.semver = pub.Version.ID, pub.Semver.String()
	if req.ID == "" {
		// Name the release after its version now that it is known.
		if r.id, _, err = releaseID("", req.Function, "v"+r.semver, r.started); err != nil {
			return r.finish(ctx, OutcomeFailed, err.Error(), err)
		}
		if err := r.claimID(ctx); err != nil {
			return r.finish(ctx, OutcomeFailed, err.Error(), err)
		}
	}
	outcome, msg := "published", ""
	if pub.Existing {
		outcome, msg = "existing", "already published: same artifact and configuration"
	}
	pubEntry := journal.Entry{Kind: journal.EntryPublish, Outcome: outcome}
	if pub.Bump != nil {
		pubEntry.Reason = "version bump " + pub.Bump.Reason
	}
	if err := r.record(ctx, pubEntry); err != nil {
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	r.emit(Event{Kind: EventPublished, Step: StepPublish, Message: msg})
	if err := r.checkDrift(ctx); err != nil {
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}

	if w.stages.Staging != "" {
		if err := r.stageAndTest(ctx, req.Test, req.Contract, req.Publish.Schema); err != nil {
			return r.finish(ctx, r.failOutcome(err), err.Error(), err)
		}
		r.compareStages(ctx)
	} else if req.Contract != nil {
		if err := r.replay(ctx, req.Contract, req.Publish.Schema, r.candidate); err != nil {
			return r.finish(ctx, OutcomeFailed, err.Error(), err)
		}
	}
	if err := r.startSynthetic(ctx, req.Synthetic); err != nil {
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	return r.canary(ctx, strategy)
}

// PromoteRequest moves the version an alias serves to another alias.
type PromoteRequest struct {
	Function string `json:"function"`
	// From is the alias whose version is promoted (it must send all its
	// traffic to one version); To the alias that receives it. Empty From
	// means the staging stage, empty To the production stage.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// ID, Actor, Reason and Strategy are as in Request. A Strategy of
	// canary.AllAtOnce() switches at once.
	ID       string           `json:"id,omitempty"`
	Actor    string           `json:"actor,omitempty"`
	Reason   string           `json:"reason,omitempty"`
	Strategy *canary.Strategy `json:"strategy,omitempty"`
	// Synthetic overrides Options.Synthetic for this promotion's canary,
	// as Request.Synthetic does for a release.
	Synthetic *SyntheticTraffic `json:"synthetic,omitempty"`
}

// Promote moves the version From serves to To through the canary runner
// (never by editing To's route directly), with the DeployPolicy,
// journal, events, notification and, when To is the production stage,
// retention as in Release. The result and errors are as for Release. An
// alias that already sends all its traffic to the version is left alone
// (OutcomeUnchanged, nil error).
func (w *Workflow) Promote(ctx context.Context, req PromoteRequest) (Result, error) {
	from, to := req.From, req.To
	if from == "" {
		from = w.stages.Staging
	}
	if to == "" {
		to = w.stages.Production
	}
	strategy := w.opts.Strategy
	if req.Strategy != nil {
		strategy = *req.Strategy
	}
	if err := provider.CheckName("function", req.Function); err != nil {
		return Result{}, err
	}
	if err := provider.CheckName("from", from); err != nil {
		return Result{}, err
	}
	if err := provider.CheckName("to", to); err != nil {
		return Result{}, err
	}
	if from == to {
		return Result{}, provider.Invalid("promote request", "to", fmt.Sprintf("is %q, as from is", to))
	}
	if err := w.checkStrategy(strategy); err != nil {
		return Result{}, err
	}
	if err := w.checkSynthetic("promote request", req.Synthetic); err != nil {
		return Result{}, err
	}
	r, err := w.newRun(req.ID, "promote", req.Function, to, req.Actor, req.Reason)
	if err != nil {
		return Result{}, err
	}
	if err := r.claimID(ctx); err != nil {
		return r.result(), err
	}
	if err := r.begin(ctx); err != nil {
		return r.result(), err
	}
	src, err := w.p.Route(ctx, req.Function, from)
	if err != nil {
		return r.finish(ctx, OutcomeFailed, fmt.Sprintf("read alias %q: %v", from, err), err)
	}
	if len(src.Weights) != 1 {
		err := fmt.Errorf("release: alias %q of %s splits its traffic (%s): promote a version that has all of it: %w",
			from, req.Function, src.String(), provider.ErrConflict)
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	r.candidate = src.Primary()
	r.semver = w.semverOf(ctx, req.Function, r.candidate)
	if r.reason == "" {
		r.reason = fmt.Sprintf("promote %s from %q", plainVersion(r.candidate, r.semver), from)
	}
	if err := r.admitRelease(ctx); err != nil {
		return r.finish(ctx, OutcomeBlocked, err.Error(), err)
	}
	if err := r.checkDrift(ctx); err != nil {
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	if err := r.startSynthetic(ctx, req.Synthetic); err != nil {
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	return r.canary(ctx, strategy)
}

// Resume continues a release whose process stopped during its canary (a
// crash, a killed CI job: not a cancellation, which ends the canary),
// from the rollout state in Options.Runner.Store: the canary goes on where it
// was, then the release ends as Release would (journal, notification,
// retention). id is the release's ID (Result.Release). Checks and hooks come
// from Options. A release whose canary already ended is finished without
// moving traffic. A release whose outcome (promoted, rolled back or
// unchanged) is in the journal already is not finished again: Resume
// returns that outcome with an error wrapping ErrFinished, and writes,
// notifies and prunes nothing. A release that failed (its process lost the
// rollout store, say) can be resumed.
func (w *Workflow) Resume(ctx context.Context, id string) (Result, error) {
	st, _, err := w.store.Load(ctx, rolloutID(id, w.stages.Production))
	if err != nil {
		return Result{}, fmt.Errorf("release: resume %q: %w", id, err)
	}
	var mine []journal.Entry
	for e, err := range w.journal.Entries(ctx, journal.Filter{Function: st.Function, Alias: st.Alias}) {
		if err != nil {
			return Result{}, fmt.Errorf("release: resume %q: read the journal: %w", id, err)
		}
		if e.Release == id {
			mine = append(mine, e)
		}
		if e.Release == id && e.Kind == journal.EntryDecision &&
			(e.Outcome == OutcomePromoted || e.Outcome == OutcomeRolledBack || e.Outcome == OutcomeUnchanged) {
			return Result{Release: id, Function: st.Function, Alias: st.Alias, Outcome: e.Outcome, Reason: e.Reason,
					Candidate: st.Candidate, Stable: st.Stable, Semver: e.Semver},
				fmt.Errorf("release: resume %q: %w: %s at %s", id, ErrFinished, e.Outcome, e.Time.Format(time.RFC3339))
		}
	}
	r, err := w.newRun(id, "", st.Function, st.Alias, "", "")
	if err != nil {
		return Result{}, err
	}
	r.candidate, r.stable = st.Candidate, st.Stable
	r.semver = w.semverOf(ctx, st.Function, st.Candidate)
	r.reason = "resumed"
	if err := r.begin(ctx); err != nil {
		return r.result(), err
	}
	r.plan, r.judged = st.Plan, len(st.Checks) > 0
	// The canary goes on with the synthetic traffic the release journaled
	// when it started (SyntheticTraffic), whatever Options.Synthetic says
	// now; the periods the dead process judged are not invoked again.
	syn, err := syntheticOf(id, mine)
	if err != nil {
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	if syn != nil {
		if _, ok := w.opts.Runner.Provider.(provider.Invoker); !ok || w.opts.Runner.Metrics == nil {
			err := fmt.Errorf("release: resume %q: the release runs synthetic traffic, which needs a provider that can invoke and a metrics source: %w", id, provider.ErrUnsupported)
			return r.finish(ctx, OutcomeFailed, err.Error(), err)
		}
		r.synth = newSyntheticMetrics(w.opts.Runner.Metrics, w.p.(provider.Invoker), st.Function, *syn, w.clock.Now)
	}
	r.emit(Event{Kind: EventStepStarted, Step: StepCanary, Message: fmt.Sprintf("resuming from %s, step %d", st.Phase, st.Step+1)})
	if err := r.journalLanded(ctx, st); err != nil {
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	st, err = r.drive(ctx, func(ctx context.Context, runner *canary.Runner) (canary.State, error) {
		return runner.Resume(ctx, rolloutID(id, w.stages.Production))
	})
	return r.canaryDone(ctx, st, err)
}

// AbortRequest asks the canary of release ID to roll back, saying who asks
// and why (recorded in the journal).
type AbortRequest struct {
	ID     string `json:"id"`
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// OutcomeAbortRequested is the outcome of the journal decision AbortWith
// records.
const OutcomeAbortRequested = "abort requested"

// AbortWith is Abort that first records the request in the journal — a
// decision "abort requested" of the release, with the actor (empty means
// Options.Actor), the reason, the candidate and the stable version — so
// that the journal says who stopped the release and why, as it does for
// every other change. Nothing is journaled when the release has no saved
// canary or its canary has ended (an error wrapping canary.ErrIgnored).
func (w *Workflow) AbortWith(ctx context.Context, req AbortRequest) (canary.State, error) {
	if req.ID == "" {
		return canary.State{}, provider.Invalid("abort request", "id", "is empty")
	}
	st, _, err := w.store.Load(ctx, rolloutID(req.ID, w.stages.Production))
	if err != nil {
		return canary.State{}, fmt.Errorf("release: abort %q: %w", req.ID, err)
	}
	if st.Done() {
		return st, fmt.Errorf("release: abort %q: the canary ended %s: %w", req.ID, st.Phase, canary.ErrIgnored)
	}
	actor := req.Actor
	if actor == "" {
		actor = w.opts.Actor
	}
	e := journal.Entry{Time: w.clock.Now(), Release: req.ID, Kind: journal.EntryDecision, Function: st.Function, Alias: st.Alias,
		Actor: actor, Reason: req.Reason, Candidate: st.Candidate, Stable: st.Stable, Outcome: OutcomeAbortRequested,
		Semver: w.semverOf(ctx, st.Function, st.Candidate)}
	if err := w.journal.Append(ctx, e); err != nil {
		return st, fmt.Errorf("release: abort %q: journal the request: %w", req.ID, err)
	}
	return w.Abort(ctx, req.ID)
}

// Abort asks the running canary of release id (in this process or another
// sharing Options.Runner.Store) to roll back. It returns the rollout's state as
// saved; the release's own Release or Resume call reports the outcome.
// AbortWith also journals who asked and why.
func (w *Workflow) Abort(ctx context.Context, id string) (canary.State, error) {
	runner, err := canary.NewRunner(canary.RunnerOptions{Provider: w.opts.Runner.Provider, Store: w.store, Clock: w.clock})
	if err != nil {
		return canary.State{}, err
	}
	return runner.Abort(ctx, rolloutID(id, w.stages.Production))
}

// semverOf returns the semantic version label of version id of fn, or ""
// when the version cannot be read or has none: it only annotates.
func (w *Workflow) semverOf(ctx context.Context, fn, id string) string {
	v, err := w.p.Version(ctx, fn, id)
	if err != nil {
		return ""
	}
	return v.Labels[provider.LabelSemver]
}

// rolloutID is the canary rollout ID of release id's shift of alias.
func rolloutID(id, alias string) string { return id + "." + alias }

// releaseID returns id or, when empty, one made of fn, what (a version,
// "promote", "rollback"; may be empty) and t, such as
// "checkout-v1.2.0-20260304T100000Z"; derived reports which. A derived ID
// is at most 142 characters (64 + 60 + 16 + two dashes), leaving room for
// the suffix that run.claimID adds when another run of the function took it.
func releaseID(id, fn, what string, t time.Time) (_ string, derived bool, _ error) {
	if id == "" {
		derived = true
		id = sanitizeID(fn, 64) + "-"
		if what != "" {
			id += sanitizeID(what, 60) + "-"
		}
		id += t.UTC().Format("20060102T150405Z")
	}
	if len(id) > 150 || id == "" || id[0] == '.' || strings.ContainsFunc(id, func(c rune) bool { return !idChar(c) }) {
		return "", false, provider.Invalid("release request", "id", fmt.Sprintf("%q is not 1–150 characters from [A-Za-z0-9._-] not starting with a dot", id))
	}
	return id, derived, nil
}

// maxIDSuffix bounds the runs of one function that may share a derived
// release ID (all started in one second, for one version): claimID appends
// "-2" to "-99".
const maxIDSuffix = 99

func idChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// sanitizeID replaces characters a rollout ID cannot hold, and trims s to
// at most n bytes so that a derived release ID stays within its limit.
func sanitizeID(fn string, n int) string {
	s := strings.Map(func(c rune) rune {
		if idChar(c) {
			return c
		}
		return '_'
	}, fn)
	s = strings.TrimLeft(s, ".")
	if len(s) > n {
		s = s[:n]
	}
	return s
}
