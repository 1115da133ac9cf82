package release

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/retention"
)

// RollbackRequest is a rollback asked for by a person or a CI step.
type RollbackRequest struct {
	Function string `json:"function"`
	// Alias is the alias to roll back; empty means the production stage.
	Alias string `json:"alias,omitempty"`
	// To is the version to restore; empty means the one the journal
	// names (see Rollback).
	To string `json:"to,omitempty"`
	// ID, Actor and Reason are as in Request.
	ID     string `json:"id,omitempty"`
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Rollback puts alias of fn back on its previous good version, read from
// the journal, so it works after a process restart when the journal is a
// FileJournal. See RollbackWith.
func (w *Workflow) Rollback(ctx context.Context, fn, alias string) (Result, error) {
	return w.RollbackWith(ctx, RollbackRequest{Function: fn, Alias: alias})
}

// RollbackWith rolls an alias back at once (all traffic in one write: a
// rollback is never a canary and never blocked by the deploy policy).
//
// The version restored is req.To when set; else, when the journal's last
// change of the alias was a canary step of a release that never finished
// (its process died with traffic split), the version that release was
// moving away from; else the version the alias served before its latest
// promotion (PreviousGood). An alias that already sends all its traffic
// there is left alone (OutcomeUnchanged).
//
// The write is a compare-and-swap on the route as read: a route changed in
// between fails with provider.ErrConflict and nothing is written. A route
// that had been changed out of band since the journal's last entry is
// still rolled back (the person asked for it), and the journal entry says
// so. Errors: provider.ErrInvalid for a bad request, provider.ErrNotFound
// when the journal knows no previous version of the alias or the version
// was deleted since, and the provider's errors.
func (w *Workflow) RollbackWith(ctx context.Context, req RollbackRequest) (Result, error) {
	alias := req.Alias
	if alias == "" {
		alias = w.stages.Production
	}
	if err := provider.CheckName("function", req.Function); err != nil {
		return Result{}, err
	}
	if err := provider.CheckName("alias", alias); err != nil {
		return Result{}, err
	}
	r, err := w.newRun(req.ID, "rollback", req.Function, alias, req.Actor, req.Reason)
	if err != nil {
		return Result{}, err
	}
	r.step = StepRollback
	if err := r.claimID(ctx); err != nil {
		return r.result(), err
	}
	if err := r.begin(ctx); err != nil {
		return r.result(), err
	}
	cur, err := w.p.Route(ctx, req.Function, alias)
	if err != nil {
		return r.finish(ctx, OutcomeFailed, fmt.Sprintf("read alias %q: %v", alias, err), err)
	}
	target, why, err := w.rollbackTarget(ctx, req.Function, alias, req.To)
	if err != nil {
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	if _, err := w.p.Version(ctx, req.Function, target); err != nil {
		err = fmt.Errorf("release: rollback target %s of %s: %w", target, req.Function, err)
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	r.candidate, r.stable = previousOf(&cur, target), target
	if len(cur.Weights) == 1 {
		r.candidate = cur.Primary()
	}
	if r.candidate == target {
		r.candidate = ""
	}
	if r.reason == "" {
		r.reason = "rollback to " + why
	}
	if last, err := journal.LastRoute(ctx, w.journal, req.Function, alias); err == nil && last.After != nil && last.After.Revision != cur.Revision {
		r.reason += fmt.Sprintf("; the alias had changed out of band (journal %s, now %s)", last.After.String(), cur.String())
		if err := r.checkDrift(ctx); err != nil {
			return r.finish(ctx, OutcomeFailed, err.Error(), err)
		}
	}
	r.emit(Event{Kind: EventStepStarted, Step: StepRollback, Message: r.reason})
	if cur.Share(target) == provider.AllTraffic {
		return r.finish(ctx, OutcomeUnchanged, fmt.Sprintf("alias %q already sends all its traffic to %s", alias, target), nil)
	}
	want := provider.To(alias, target)
	want.Revision = cur.Revision
	got, err := w.p.SetRoute(ctx, req.Function, want)
	if err != nil {
		err = fmt.Errorf("release: rollback %s alias %q to %s: %w", req.Function, alias, target, err)
		return r.finish(ctx, OutcomeFailed, err.Error(), err)
	}
	r.remember(got)
	if err := r.record(ctx, journal.Entry{Kind: journal.EntryRollback, Alias: alias, Before: &cur, After: &got}); err != nil {
		return r.finish(ctx, OutcomeRolledBack, r.reason, err)
	}
	r.emit(Event{Kind: EventWeightSet, Step: StepRollback, Weight: got.Share(r.candidate), Message: "rolled back"})
	if alias == w.stages.Production {
		r.revertInfra(ctx, r.reason)
	}
	return r.finish(ctx, OutcomeRolledBack, r.reason, nil)
}

// rollbackTarget returns the version a rollback of alias restores, and
// how it was chosen.
func (w *Workflow) rollbackTarget(ctx context.Context, fn, alias, to string) (string, string, error) {
	if to != "" {
		if err := provider.CheckName("to", to); err != nil {
			return "", "", err
		}
		return to, "version " + to + " as asked", nil
	}
	last, err := journal.LastRoute(ctx, w.journal, fn, alias)
	if err == nil && last.Kind == journal.EntryRoute && last.Stable != "" {
		return last.Stable, fmt.Sprintf("version %s, which unfinished release %s was moving away from", last.Stable, last.Release), nil
	}
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return "", "", err
	}
	target, promo, err := journal.PreviousGood(ctx, w.journal, fn, alias)
	if err != nil {
		return "", "", err
	}
	return target, fmt.Sprintf("version %s, served before release %s promoted %s", target, promo.Release, plainVersion(promo.Candidate, promo.Semver)), nil
}

// Prune plans the retention of fn's old versions with Options.Retention,
// keeping the journal's rollback points (Options.RollbackPoints of each
// alias, see RollbackPoints) as well as the policy's, and applies the plan unless dryRun. An applied plan is
// journaled as a decision. Errors: provider.ErrInvalid when
// Options.Retention is nil, and the planner's and Apply's errors (Apply's
// partial report is returned with them).
func (w *Workflow) Prune(ctx context.Context, fn string, dryRun bool) (retention.Plan, retention.Report, error) {
	if err := provider.CheckName("function", fn); err != nil {
		return retention.Plan{}, retention.Report{}, err
	}
	plan, rep, err := w.prune(ctx, fn, dryRun)
	if dryRun || len(plan.Functions) == 0 {
		return plan, rep, err
	}
	t := rep.Totals()
	msg := fmt.Sprintf("deleted %d of %d planned, skipped %d, failed %d", t.Deleted, t.Planned, t.Skipped, t.Failed)
	if err != nil {
		msg += ": " + err.Error()
	}
	e := journal.Entry{Time: w.clock.Now(), Kind: journal.EntryDecision, Function: fn, Actor: w.opts.Actor, Outcome: "pruned", Reason: msg}
	if jerr := w.journal.Append(ctx, e); jerr != nil {
		err = errors.Join(err, jerr)
	}
	return plan, rep, err
}

func (w *Workflow) prune(ctx context.Context, fn string, dryRun bool) (retention.Plan, retention.Report, error) {
	if w.opts.Retention == nil {
		return retention.Plan{}, retention.Report{}, provider.Invalid("release options", "retention", "is nil: no policy to prune by")
	}
	points, err := rollbackPoints(ctx, w.journal, fn, w.opts.RollbackPoints)
	if err != nil {
		return retention.Plan{}, retention.Report{}, err
	}
	pol := *w.opts.Retention
	merged := make(map[string]retention.RouteHistory, len(pol.RollbackPoints)+1)
	for k, v := range pol.RollbackPoints {
		merged[k] = v
	}
	hist := points
	for alias, vs := range pol.RollbackPoints[fn] {
		// The caller's points come first; the journal's follow.
		hist[alias] = append(slices.Clone(vs), hist[alias]...)
	}
	merged[fn] = hist
	pol.RollbackPoints = merged
	planner := retention.Planner{Retry: w.opts.Runner.Retry, Clock: w.clock, Logger: w.opts.Logger}
	plan, err := planner.Plan(ctx, w.opts.Runner.Provider, []string{fn}, pol, w.clock.Now())
	if err != nil || dryRun {
		return plan, retention.Report{}, err
	}
	rep, err := retention.Apply(ctx, w.opts.Runner.Provider, plan, w.opts.Prune)
	return plan, rep, err
}

// RollbackPoints reads from j, for each alias of fn, the versions the alias
// served before the one it serves now (the primary version of each route
// change it journaled), most recent first and each once: the history
// retention.Policy.RollbackPoints keeps. A version that only ever had a
// canary's share is not a rollback point.
//
// With an IndexedJournal it reads each alias's entries newest first;
// otherwise it reads fn's entries in order.
func RollbackPoints(ctx context.Context, j journal.Journal, fn string) (retention.RouteHistory, error) {
	return rollbackPoints(ctx, j, fn, 0)
}

// rollbackPoints is RollbackPoints keeping the first limit versions of
// each alias (all when limit <= 0). With an IndexedJournal it stops
// reading an alias's entries once it has them, so the workflow's prune
// (which keeps Options.RollbackPoints of them) costs the same at any
// length of history.
func rollbackPoints(ctx context.Context, j journal.Journal, fn string, limit int) (retention.RouteHistory, error) {
	ij, ok := j.(journal.IndexedJournal)
	if !ok {
		out, err := scanRollbackPoints(ctx, j, fn)
		for alias, vs := range out {
			if limit > 0 && len(vs) > limit {
				out[alias] = vs[:limit]
			}
		}
		return out, err
	}
	last, err := ij.LastRoutes(ctx, fn)
	if err != nil {
		return nil, err
	}
	out := retention.RouteHistory{}
	for alias := range last {
		// The versions in the order scanRollbackPoints lists them,
		// reversed: each entry's After, then its Before. The first is the
		// version the alias serves now.
		var hist []string
		seen := map[string]bool{}
	entries:
		for e, err := range ij.Latest(ctx, journal.Filter{Function: fn, Alias: alias}) {
			if err != nil {
				return nil, err
			}
			if !e.Kind.ChangesRoute() || e.After == nil || len(e.After.Weights) == 0 {
				continue
			}
			vs := [2]string{e.After.Primary()}
			n := 1
			if e.Before != nil && len(e.Before.Weights) > 0 {
				vs[1], n = e.Before.Primary(), 2
			}
			for _, v := range vs[:n] {
				if seen[v] {
					continue
				}
				if len(seen) > 0 {
					hist = append(hist, v)
				}
				seen[v] = true
				if limit > 0 && len(hist) == limit {
					break entries
				}
			}
		}
		if len(hist) > 0 {
			out[alias] = hist
		}
	}
	return out, nil
}

// scanRollbackPoints is RollbackPoints over Entries, in order: the
// implementation for a journal without IndexedJournal.
func scanRollbackPoints(ctx context.Context, j journal.Journal, fn string) (retention.RouteHistory, error) {
	seq := map[string][]string{}
	for e, err := range j.Entries(ctx, journal.Filter{Function: fn}) {
		if err != nil {
			return nil, err
		}
		if !e.Kind.ChangesRoute() || e.After == nil || len(e.After.Weights) == 0 {
			continue
		}
		if e.Before != nil && len(e.Before.Weights) > 0 {
			seq[e.Alias] = append(seq[e.Alias], e.Before.Primary())
		}
		seq[e.Alias] = append(seq[e.Alias], e.After.Primary())
	}
	out := retention.RouteHistory{}
	for alias, vs := range seq {
		current := vs[len(vs)-1]
		var hist []string
		seen := map[string]bool{current: true}
		for i := len(vs) - 1; i >= 0; i-- {
			if v := vs[i]; !seen[v] {
				seen[v] = true
				hist = append(hist, v)
			}
		}
		if len(hist) > 0 {
			out[alias] = hist
		}
	}
	return out, nil
}
