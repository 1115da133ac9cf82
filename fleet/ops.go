package fleet

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// Backend is what serves one provider account: its provider and its
// metrics source (nil when no check needs one).
type Backend struct {
	Provider provider.Provider
	Metrics  provider.Metrics
}

// Job is what Ops need to know of one target of a release: a plan cut
// down to that target, so a Temporal child workflow carries its target,
// not the whole fleet.
type Job struct {
	// Release is the plan's ID; Index the target's index in the plan.
	Release    string                 `json:"release"`
	Index      int                    `json:"index"`
	Target     Target                 `json:"target"`
	Alias      string                 `json:"alias"`
	Publish    *provider.PublishInput `json:"publish,omitempty"`
	Limit      Limit                  `json:"limit,omitzero"`
	BakeChecks []string               `json:"bakeChecks,omitempty"`
	Actor      string                 `json:"actor,omitempty"`
}

// Job returns target i's job.
func (p Plan) Job(i int) Job {
	t := p.Targets[i]
	return Job{Release: p.ID, Index: i, Target: t, Alias: p.alias(), Publish: p.Publish, Limit: p.Accounts[t.Provider],
		BakeChecks: p.BakeChecks, Actor: p.Actor}
}

// RolloutID is the job's canary rollout ID (Plan.RolloutID).
func (j Job) RolloutID() string { return fmt.Sprintf("%s.%d", j.Release, j.Index) }

// DefaultMetricsLag bounds how long Judge waits, past the bake's end, for
// the metrics source to complete the bake's window.
const DefaultMetricsLag = 5 * time.Minute

// Ops are the I/O of a fleet release besides the canaries themselves:
// publishing a target's candidate, recording a target's outcome in the
// journal, reverting a target to its previous version, and judging a
// target after its wave's bake. The in-process executor calls them
// directly; the Temporal worker (module slipway/temporal) calls them as
// activities. Every method is idempotent, so an activity retried after a
// lost response changes nothing twice. Provider calls go through the
// account's rate limit (Plan.Accounts) waited on Clock.
//
// Ops is safe for concurrent use once built by NewOps.
type Ops struct {
	backends map[string]Backend
	journal  journal.Journal
	checks   map[string]canary.Check
	clock    canary.Clock
	actor    string

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	limited  map[string]provider.Provider
}

// OpsOptions configure Ops.
type OpsOptions struct {
	// Backends holds a Backend per provider account (Target.Provider).
	// Required.
	Backends map[string]Backend
	// Journal records every target's outcome and revert, and answers the
	// previous version a revert restores. Required.
	Journal journal.Journal
	// Checks holds the code of the checks plans name (the strategy's and
	// the bake checks), by name.
	Checks map[string]canary.Check
	// Clock is the time source; nil means the wall clock.
	Clock canary.Clock
	// Actor is recorded in the journal when a plan names none.
	Actor string
}

// NewOps returns Ops, or an error wrapping provider.ErrInvalid.
func NewOps(o OpsOptions) (*Ops, error) {
	if len(o.Backends) == 0 {
		return nil, fmt.Errorf("fleet: %w", provider.Invalid("options", "backends", "is empty"))
	}
	for name, b := range o.Backends {
		if b.Provider == nil {
			return nil, fmt.Errorf("fleet: %w", provider.Invalid("options", "backends["+name+"].provider", "is nil"))
		}
	}
	if o.Journal == nil {
		return nil, fmt.Errorf("fleet: %w", provider.Invalid("options", "journal", "is nil"))
	}
	if o.Clock == nil {
		o.Clock = canary.RealClock()
	}
	return &Ops{backends: o.Backends, journal: o.Journal, checks: o.Checks, clock: o.Clock, actor: o.Actor,
		limiters: map[string]*rate.Limiter{}, limited: map[string]provider.Provider{}}, nil
}

// Check validates p against the backends and checks: every target's
// account has a Backend, the strategy's checks and the bake checks have
// code (and a metrics source), and the strategy fits every account's
// capabilities. Errors wrap provider.ErrInvalid or provider.ErrUnsupported.
func (o *Ops) Check(p Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s, err := p.StrategyWith(o.checks)
	if err != nil {
		return err
	}
	for i, name := range p.BakeChecks {
		if o.checks[name] == nil {
			return invalid(fmt.Sprintf("bakeChecks[%d]", i), fmt.Sprintf("%q has no code among the executor's checks", name))
		}
	}
	for i, t := range p.Targets {
		b, ok := o.backends[t.Provider]
		if !ok {
			return invalid(fmt.Sprintf("targets[%d].provider", i), fmt.Sprintf("%q has no backend", t.Provider))
		}
		if (len(s.Analysis.Checks) > 0 || len(p.BakeChecks) > 0) && b.Metrics == nil {
			return invalid(fmt.Sprintf("targets[%d].provider", i), fmt.Sprintf("%q has no metrics source and the plan has checks", t.Provider))
		}
		if err := s.Validate(b.Provider.Capabilities()); err != nil {
			return fmt.Errorf("fleet: targets[%d] (%s): %w", i, t.ID(), err)
		}
	}
	return nil
}

// Provider returns the account's provider behind its rate limit l (the
// first limit asked for an account is kept).
func (o *Ops) Provider(account string, l Limit) (provider.Provider, error) {
	b, ok := o.backends[account]
	if !ok {
		return nil, fmt.Errorf("fleet: account %q has no backend: %w", account, provider.ErrInvalid)
	}
	if l.Rate <= 0 {
		return b.Provider, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if lp, ok := o.limited[account]; ok {
		return lp, nil
	}
	lim := rate.NewLimiter(rate.Limit(l.Rate), max(l.Burst, 1))
	o.limiters[account] = lim
	lp := &limitedProvider{Provider: b.Provider, lim: lim, clock: o.clock}
	o.limited[account] = lp
	return lp, nil
}

// Clock returns the Ops' clock.
func (o *Ops) Clock() canary.Clock { return o.clock }

// CheckCode returns the check named name (nil when there is none).
func (o *Ops) CheckCode(name string) canary.Check { return o.checks[name] }

// Metrics returns the account's metrics source.
func (o *Ops) Metrics(account string) provider.Metrics { return o.backends[account].Metrics }

// Candidate returns target i's candidate: Target.Candidate, or the version
// Plan.Publish publishes to the function (idempotent).
func (o *Ops) Candidate(ctx context.Context, j Job) (string, error) {
	t := j.Target
	if t.Candidate != "" {
		return t.Candidate, nil
	}
	if j.Publish == nil {
		return "", invalid(fmt.Sprintf("targets[%d].candidate", j.Index), "is empty and the plan has nothing to publish")
	}
	pr, err := o.Provider(t.Provider, j.Limit)
	if err != nil {
		return "", err
	}
	v, err := pr.Publish(ctx, t.Function, *j.Publish)
	if err != nil {
		return "", fmt.Errorf("fleet: publish %s: %w", t.ID(), err)
	}
	return v.ID, nil
}

func (o *Ops) actorOf(j Job) string {
	if j.Actor != "" {
		return j.Actor
	}
	return o.actor
}

// Record journals the end of target i's canary (st, terminal) under the
// target's ID: a promotion (Before the stable route, After the route on
// the candidate, with Stable and Candidate, so journal.PreviousGood
// answers the stable version) or a decision with the outcome. An entry of
// the same rollout and kind already journaled is not written again.
func (o *Ops) Record(ctx context.Context, j Job, st canary.State) error {
	e := journal.Entry{Time: o.clock.Now(), Release: j.RolloutID(), Function: j.Target.ID(), Alias: j.Alias, Actor: o.actorOf(j),
		Candidate: st.Candidate, Stable: st.Stable, Reason: st.Reason}
	switch st.Phase {
	case canary.PhaseSucceeded:
		before, after := st.StableRoute.Clone(), st.Route.Clone()
		e.Kind, e.Before, e.After, e.Outcome = journal.EntryPromote, &before, &after, release.OutcomePromoted
	case canary.PhaseRolledBack:
		e.Kind, e.Outcome = journal.EntryDecision, release.OutcomeRolledBack
	default:
		e.Kind, e.Outcome = journal.EntryDecision, release.OutcomeFailed
	}
	return o.appendOnce(ctx, e)
}

// appendOnce appends e unless the target's newest entry is of the same
// rollout and kind (a retried activity).
func (o *Ops) appendOnce(ctx context.Context, e journal.Entry) error {
	last, err := newest(ctx, o.journal, e.Function)
	if err != nil {
		return fmt.Errorf("fleet: journal: %w", err)
	}
	if last.Release == e.Release && last.Kind == e.Kind && last.Outcome == e.Outcome {
		return nil
	}
	if err := o.journal.Append(ctx, e); err != nil {
		return fmt.Errorf("fleet: journal: %w", err)
	}
	return nil
}

// newest returns the newest entry of fn (zero when none).
func newest(ctx context.Context, j journal.Journal, fn string) (journal.Entry, error) {
	var seq iter.Seq2[journal.Entry, error]
	if ij, ok := j.(journal.IndexedJournal); ok {
		seq = ij.Latest(ctx, journal.Filter{Function: fn})
		for e, err := range seq {
			return e, err
		}
		return journal.Entry{}, nil
	}
	var last journal.Entry
	for e, err := range j.Entries(ctx, journal.Filter{Function: fn}) {
		if err != nil {
			return journal.Entry{}, err
		}
		last = e
	}
	return last, nil
}

// Revert sends target i, which its canary promoted to candidate, back to
// the version its journal's latest promotion replaced
// (journal.PreviousGood), with compare-and-swap on the route as read, and
// journals an EntryRollback. It returns the version restored. A route
// already on that version is left alone (a retried revert); a route no
// longer all on candidate changed out of band and is not overwritten
// (provider.ErrConflict).
func (o *Ops) Revert(ctx context.Context, j Job, candidate, reason string) (string, error) {
	t, alias := j.Target, j.Alias
	prev, promo, err := journal.PreviousGood(ctx, o.journal, t.ID(), alias)
	if err != nil {
		return "", fmt.Errorf("fleet: revert %s: %w", t.ID(), err)
	}
	if promo.Candidate != candidate {
		return "", fmt.Errorf("fleet: revert %s: the journal's latest promotion is of version %s, not %s: %w", t.ID(), promo.Candidate, candidate, provider.ErrConflict)
	}
	pr, err := o.Provider(t.Provider, j.Limit)
	if err != nil {
		return "", err
	}
	cur, err := pr.Route(ctx, t.Function, alias)
	if err != nil {
		return "", fmt.Errorf("fleet: revert %s: %w", t.ID(), err)
	}
	want := provider.To(alias, prev)
	if cur.SameTraffic(want) {
		return prev, nil
	}
	if cur.Share(candidate) != provider.AllTraffic {
		return "", fmt.Errorf("fleet: revert %s: route %q changed out of band (%v), not overwritten: %w", t.ID(), alias, cur.Weights, provider.ErrConflict)
	}
	want.Revision = cur.Revision
	after, err := pr.SetRoute(ctx, t.Function, want)
	if err != nil {
		return "", fmt.Errorf("fleet: revert %s: %w", t.ID(), err)
	}
	e := journal.Entry{Time: o.clock.Now(), Release: j.RolloutID(), Kind: journal.EntryRollback, Function: t.ID(), Alias: alias,
		Actor: o.actorOf(j), Reason: reason, Before: &cur, After: &after, Candidate: candidate, Stable: prev, Outcome: release.OutcomeRolledBack}
	if err := o.journal.Append(ctx, e); err != nil {
		return prev, fmt.Errorf("fleet: revert %s: journal: %w", t.ID(), err)
	}
	return prev, nil
}

// Judge is target i's wave verdict over its bake [start, end): its route
// must still send all traffic to candidate, and each of the plan's bake
// checks must pass on the candidate's metrics over the whole metrics
// periods of the bake (an Inconclusive verdict, no traffic, fails: no
// evidence, no pass). err is for a failure to judge (the provider), not a
// verdict.
func (o *Ops) Judge(ctx context.Context, j Job, candidate string, start, end time.Time) (bool, string, error) {
	t, alias := j.Target, j.Alias
	pr, err := o.Provider(t.Provider, j.Limit)
	if err != nil {
		return false, "", err
	}
	cur, err := pr.Route(ctx, t.Function, alias)
	if err != nil {
		return false, "", fmt.Errorf("fleet: judge %s: %w", t.ID(), err)
	}
	if cur.Share(candidate) != provider.AllTraffic {
		return false, fmt.Sprintf("route %q no longer sends all traffic to %s (%v): changed out of band", alias, candidate, cur.Weights), nil
	}
	if len(j.BakeChecks) == 0 {
		return true, "route on the candidate after the bake", nil
	}
	m := o.backends[t.Provider].Metrics
	res := m.Resolution()
	if res <= 0 {
		res = time.Minute
	}
	qs, qe := provider.AlignDown(start, res), provider.AlignDown(end, res)
	if !qs.Equal(start) {
		qs = qs.Add(res)
	}
	if !qe.After(qs) {
		return false, fmt.Sprintf("the bake [%s, %s) holds no whole %s metrics period to judge", start.Format(time.RFC3339), end.Format(time.RFC3339), res), nil
	}
	q := provider.Query{Function: t.Function, Alias: alias, Versions: []string{candidate}, Start: qs, End: qe, Period: res}
	var obs provider.Observation
	for {
		obs, err = m.Observe(ctx, q)
		if err != nil {
			return false, "", fmt.Errorf("fleet: judge %s: %w", t.ID(), err)
		}
		if !obs.Through.Before(qe) {
			break
		}
		if !o.clock.Now().Before(qe.Add(DefaultMetricsLag)) {
			return false, "", fmt.Errorf("fleet: judge %s: metrics complete only through %s", t.ID(), obs.Through.Format(time.RFC3339))
		}
		if err := o.clock.Sleep(ctx, res); err != nil {
			return false, "", err
		}
	}
	w := canary.MetricWindow{Function: t.Function, Alias: alias, Candidate: candidate, Weight: provider.AllTraffic, Start: qs, End: qe, Metrics: obs}
	for _, name := range j.BakeChecks {
		c := o.checks[name]
		if c == nil {
			return false, "", fmt.Errorf("fleet: judge %s: no check named %q: %w", t.ID(), name, provider.ErrInvalid)
		}
		meas, err := c.Judge(ctx, w)
		if err != nil {
			return false, "", fmt.Errorf("fleet: judge %s: check %q: %w", t.ID(), name, err)
		}
		if meas.Verdict != canary.Pass {
			return false, fmt.Sprintf("check %q: %s: %s", name, meas.Verdict, meas.Reason), nil
		}
	}
	return true, fmt.Sprintf("%d bake checks passed", len(j.BakeChecks)), nil
}

// limitedProvider waits for the account's rate limiter, on the clock,
// before each call of the provider.
type limitedProvider struct {
	provider.Provider
	lim   *rate.Limiter
	clock canary.Clock
}

func (l *limitedProvider) wait(ctx context.Context) error {
	now := l.clock.Now()
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("fleet: rate limit burst below 1")
	}
	return l.clock.Sleep(ctx, r.DelayFrom(now))
}

func (l *limitedProvider) Publish(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	if err := l.wait(ctx); err != nil {
		return provider.Version{}, err
	}
	return l.Provider.Publish(ctx, fn, in)
}

func (l *limitedProvider) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	if err := l.wait(ctx); err != nil {
		return provider.Version{}, err
	}
	return l.Provider.Version(ctx, fn, id)
}

func (l *limitedProvider) Route(ctx context.Context, fn, alias string) (provider.Route, error) {
	if err := l.wait(ctx); err != nil {
		return provider.Route{}, err
	}
	return l.Provider.Route(ctx, fn, alias)
}

func (l *limitedProvider) Routes(ctx context.Context, fn string) ([]provider.Route, error) {
	if err := l.wait(ctx); err != nil {
		return nil, err
	}
	return l.Provider.Routes(ctx, fn)
}

func (l *limitedProvider) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	if err := l.wait(ctx); err != nil {
		return provider.Route{}, err
	}
	return l.Provider.SetRoute(ctx, fn, r)
}

func (l *limitedProvider) DeleteVersion(ctx context.Context, fn, id string) error {
	if err := l.wait(ctx); err != nil {
		return err
	}
	return l.Provider.DeleteVersion(ctx, fn, id)
}
