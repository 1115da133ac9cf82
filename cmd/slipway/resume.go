package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/canary/blobstore"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
)

// finding is what resume and abort act on: the release whose production
// canary is unfinished, and production's route as it is.
type finding struct {
	// id is the unfinished release; empty when there is none, and note
	// then says why.
	id    string
	state canary.State // id's production rollout, as saved
	note  string
	// route is the production route now; nil when the alias does not
	// exist.
	route *provider.Route
}

// split reports whether production sends traffic to more than one version.
func (f finding) split() bool {
	if f.route == nil {
		return false
	}
	n := 0
	for _, w := range f.route.Weights {
		if w.BasisPoints > 0 {
			n++
		}
	}
	return n > 1
}

// finalOutcomes are the outcomes a release's run journals when it ends
// (release.Workflow's finish).
var finalOutcomes = []string{release.OutcomePromoted, release.OutcomeRolledBack, release.OutcomeFailed, release.OutcomeBlocked, release.OutcomeUnchanged}

// findUnfinished finds the release whose production canary a killed job
// left unfinished: -release when given, else the function's one.
//
// The rollout store (rollouts/<release>.<production>.json) is where it is
// looked for, not the journal: a job killed after its canary saved its
// state but before its first route write was journaled (or between the
// write and the journal entry) left no trace in the journal, and a
// rollout's state is what Resume continues from. A saved rollout is
// unfinished when either
//
//   - its canary has not ended and it still owns the production route:
//     the route's revision is the one the rollout last wrote or read
//     (or the route already has the traffic of the write it was waiting
//     for, which Resume journals). A rollout whose route has changed since
//     (a rollback, a later release) was superseded: resuming it would only
//     find the change out of band. A job killed mid-canary and then rolled
//     back by hand leaves such a state behind for good, which is why the
//     state alone does not decide;
//   - or its canary ended but the release's outcome is not in the journal
//     (the job died between the two) and the journal's last change of the
//     production route is the release's: Resume then only finishes the
//     release (journal, notification, retention).
//
// Two unfinished releases are an error asking for -release (the route's
// compare-and-swap makes that all but impossible). The journal is read for
// the outcomes, the state store for the rollouts, the provider for the
// route; nothing is written.
func (st *state) findUnfinished(ctx context.Context) (finding, error) {
	s := st.s
	var f finding
	cur, err := st.p.Route(ctx, s.function, s.production)
	switch {
	case err == nil:
		f.route = &cur
	case !errors.Is(err, provider.ErrNotFound):
		return f, fmt.Errorf("read alias %q of %s: %w", s.production, s.function, err)
	}
	outcomes, lastRoute, err := st.journalOutcomes(ctx)
	if err != nil {
		return f, err
	}
	ids := []string{s.release}
	if s.release == "" {
		if ids, err = st.productionRollouts(ctx); err != nil {
			return f, err
		}
	}
	var found []string
	notes := map[string]string{}
	for _, id := range ids {
		ro, err := st.loadRollout(ctx, id)
		if errors.Is(err, provider.ErrNotFound) && s.release != "" {
			return f, fmt.Errorf("release %s has no canary of %s on %q in %s", id, s.function, s.production, s.stateURL)
		}
		if err != nil {
			return f, err
		}
		if ro.Function != s.function || ro.Alias != s.production {
			if s.release != "" {
				return f, fmt.Errorf("release %s is a canary of %s on %q, not of %s on %q", id, ro.Function, ro.Alias, s.function, s.production)
			}
			continue
		}
		why, ok := unfinishedWhy(ro, f.route, outcomes[id], lastRoute == id)
		notes[id] = why
		if ok {
			found = append(found, id)
			f.state = ro
		}
	}
	switch len(found) {
	case 0:
		f.note = fmt.Sprintf("no saved canary of %s on %q is unfinished", s.function, s.production)
		if s.release != "" {
			f.note = "release " + s.release + ": " + notes[s.release]
		}
		return f, nil
	case 1:
		f.id = found[0]
		f.note = notes[f.id]
		return f, nil
	}
	return finding{}, fmt.Errorf("releases %s all have an unfinished canary of %s on %q: name one with -release",
		strings.Join(found, ", "), s.function, s.production)
}

// unfinishedWhy applies findUnfinished's rule to one rollout: cur is the
// production route (nil when missing), outcome the release's journaled
// outcome ("" when none), last whether the journal's last change of the
// route is the release's. It says why, either way.
func unfinishedWhy(ro canary.State, cur *provider.Route, outcome string, last bool) (string, bool) {
	if !ro.Done() {
		switch {
		case cur == nil:
			return fmt.Sprintf("its canary stopped in phase %s, and alias %q no longer exists", ro.Phase, ro.Alias), false
		case cur.Revision == ro.Route.Revision:
			return fmt.Sprintf("its canary stopped in phase %s at step %d of %d (%s)", ro.Phase, ro.Step+1, len(ro.Plan.Steps), cur.Traffic()), true
		case ro.Awaiting == canary.AwaitRoute && cur.SameTraffic(ro.Want):
			return fmt.Sprintf("its canary stopped in phase %s right after writing %s", ro.Phase, cur.Traffic()), true
		}
		return fmt.Sprintf("its canary stopped in phase %s, but %q has changed since (now %s): superseded", ro.Phase, ro.Alias, cur.Traffic()), false
	}
	switch {
	case outcome != "":
		return fmt.Sprintf("its canary ended (%s) and the release's outcome is journaled (%s)", ro.Phase, outcome), false
	case last:
		return fmt.Sprintf("its canary ended (%s) but the release's outcome was never journaled", ro.Phase), true
	}
	return fmt.Sprintf("its canary ended (%s), and %q has changed since", ro.Phase, ro.Alias), false
}

// journalOutcomes returns the final outcome of each release of the
// function's production alias, and the release of the journal's last
// change of that route.
func (st *state) journalOutcomes(ctx context.Context) (map[string]string, string, error) {
	s := st.s
	outcomes, last := map[string]string{}, ""
	for e, err := range st.journal.Entries(ctx, journal.Filter{Function: s.function, Alias: s.production}) {
		if err != nil {
			return nil, "", fmt.Errorf("journal: %w", err)
		}
		switch {
		case e.Kind == journal.EntryDecision && slices.Contains(finalOutcomes, e.Outcome):
			outcomes[e.Release] = e.Outcome
		case e.After != nil:
			last = e.Release
		}
	}
	return outcomes, last, nil
}

// productionRollouts lists the releases with a saved rollout of the
// production alias ("<release>.<production>" in the store).
func (st *state) productionRollouts(ctx context.Context) ([]string, error) {
	all, err := st.store.IDs(ctx)
	if err != nil {
		return nil, err
	}
	suffix := "." + st.s.production
	var ids []string
	for _, id := range all {
		if r, ok := strings.CutSuffix(id, suffix); ok && validReleaseID(r) {
			ids = append(ids, r)
		}
	}
	return ids, nil
}

// loadRollout loads release id's production rollout; an error wrapping
// provider.ErrNotFound when there is none.
func (st *state) loadRollout(ctx context.Context, id string) (canary.State, error) {
	ro, _, err := st.store.Load(ctx, id+"."+st.s.production)
	return ro, err
}

// orphanError is production split with no saved canary to drive it.
func (st *state) orphanError(f finding) error {
	return fmt.Errorf("%q of %s is split (%s) and no saved canary owns it (%s): the state of the job that split it is lost; abort or rollback puts it back on the version it was moving away from",
		st.s.production, st.s.function, f.route.Traffic(), f.note)
}

// nothing reports that there is nothing to resume or abort, in the log,
// the step summary and the outputs.
func (st *state) nothing(out io.Writer, f finding) error {
	s := st.s
	fmt.Fprintf(out, "slipway: %s %s: nothing to %s: %s\n", s.cmd, s.function, s.cmd, f.note)
	md := fmt.Sprintf("## ℹ️ %s: nothing to %s\n\n> %s\n\n", s.function, s.cmd, f.note)
	outputs := fmt.Sprintf("outcome=nothing to %s\nrelease=%s\n", s.cmd, s.release)
	return errors.Join(st.appendFile(s.summaryFile, md), st.appendFile(s.outputFile, outputs))
}

// resume continues the unfinished production canary of the function (or
// of -release) with release.Workflow.Resume, to its promotion or rollback,
// and finishes the release as promote would have: journal, notification,
// retention, summary and outputs. Its checks are the error-rate flags'.
// With nothing unfinished it says so and changes nothing; a split
// production route that no saved canary owns is an error.
func (st *state) resume(ctx context.Context, out io.Writer) error {
	s := st.s
	w, err := st.workflow(out, s.stages(), nil)
	if err != nil {
		return err
	}
	var f finding
	var res release.Result
	runIn(st.clock, func() {
		if err = st.requireFunction(ctx); err != nil {
			return
		}
		// Read first: with nothing unfinished, nothing is written.
		if f, err = st.findUnfinished(ctx); err != nil || f.id == "" {
			return
		}
		var done func()
		if done, err = st.drive(ctx, s.release); err != nil {
			return
		}
		defer done()
		// Under the lease: the canary may have ended meanwhile.
		if f, err = st.findUnfinished(ctx); err != nil || f.id == "" {
			return
		}
		st.printer(out).line("slipway: resume %s: release %s: %s", s.function, f.id, f.note)
		st.simulateResumed(f.state)
		res, err = w.Resume(ctx, f.id)
	})
	switch {
	case err != nil && res.Function == "":
		return err
	case f.id == "" && f.split():
		return st.orphanError(f)
	case f.id == "":
		return st.nothing(out, f)
	}
	return st.report(out, res, err)
}

// simulateResumed applies -load and -simulate-error-rate, when given, to
// the memory provider before a rollout is driven on (the values the killed
// job set are kept in the state otherwise).
func (st *state) simulateResumed(ro canary.State) {
	s := st.s
	if st.mem == nil {
		return
	}
	if s.set["load"] {
		st.mem.SetLoad(s.function, s.production, s.load)
		st.mem.SetLoad(s.function, s.staging, s.load/10)
	}
	if s.set["simulate-error-rate"] {
		st.mem.SetBehavior(s.function, ro.Candidate, memory.Behavior{ErrorRate: s.simulateErrorRate})
	}
}

// abort rolls the unfinished production canary of the function (or of
// -release) back, so that production serves the stable version when it
// exits:
//
//  1. release.Workflow.AbortWith journals the request (a decision "abort
//     requested", with the actor and -reason) and records the abort in the
//     rollout store, which is all a process still driving the canary
//     needs: it rolls back at its next look at the store;
//  2. unless -request-only, it drives the rollback itself
//     (release.Workflow.Resume of the aborted rollout): in CI the process
//     that started the canary is normally gone (killed with the job), and
//     Abort alone would leave production split until someone resumes it.
//     The rollback is journaled and notified as the release's outcome.
//
// A rolled-back canary is what abort asked for: exit 0. A split production
// route that no saved canary owns (the killed job's state was lost) is put
// back on its primary version with release.Workflow.RollbackWith: a canary
// writes the stable version as the primary (Lambda's FunctionVersion) and
// the candidate as the additional one, and the journal may have been lost
// with the state, so it is not asked. With nothing unfinished it says so
// and changes nothing.
//
// Two processes must not drive one rollout: -request-only is for a canary
// whose process is alive and shares this state directory.
func (st *state) abort(ctx context.Context, out io.Writer) error {
	s := st.s
	w, err := st.workflow(out, s.stages(), nil)
	if err != nil {
		return err
	}
	reason := s.reason
	if reason == "" {
		reason = "aborted with slipway abort"
	}
	var (
		f        finding
		res      release.Result
		ro       canary.State
		rollback bool
	)
	fmt.Fprintf(out, "slipway: abort %s: reason: %s\n", s.function, reason)
	runIn(st.clock, func() {
		if err = st.requireFunction(ctx); err != nil {
			return
		}
		if f, err = st.findUnfinished(ctx); err != nil || (f.id == "" && !f.split()) || (f.id != "" && f.state.Done()) {
			return
		}
		if !s.requestOnly {
			done, derr := st.drive(ctx, s.release)
			switch {
			case errors.Is(derr, blobstore.ErrBusy):
				// A live process drives the canary: record the abort for
				// it to act on (it rolls back at its next look at the
				// store) rather than drive it too.
				fmt.Fprintf(out, "slipway: abort %s: %v; recording the abort for it\n", s.function, derr)
				s.requestOnly = true
			case derr != nil:
				err = derr
				return
			default:
				defer done()
			}
		}
		if f, err = st.findUnfinished(ctx); err != nil {
			return
		}
		switch {
		case f.id == "" && f.split() && !s.requestOnly:
			// A canary splits a route as stable (primary) and candidate;
			// the journal may have lost the split with the state.
			rollback = true
			fmt.Fprintf(out, "slipway: abort %s: no saved canary owns %q (%s): putting it back on its primary version %s\n",
				s.function, s.production, f.route.Traffic(), f.route.Primary())
			res, err = w.RollbackWith(ctx, release.RollbackRequest{Function: s.function, Alias: s.production, To: f.route.Primary(),
				ID: s.releaseID(), Actor: s.actor, Reason: reason})
			return
		case f.id == "" || f.state.Done():
			return
		}
		fmt.Fprintf(out, "slipway: abort %s: release %s: %s\n", s.function, f.id, f.note)
		if ro, err = w.AbortWith(ctx, release.AbortRequest{ID: f.id, Actor: s.actor, Reason: reason}); err != nil || s.requestOnly {
			return
		}
		res, err = w.Resume(ctx, f.id)
	})
	switch {
	case rollback:
		return st.report(out, res, err)
	case err != nil && res.Function == "":
		return err
	case f.id == "" && f.split():
		return st.orphanError(f)
	case f.id == "":
		return st.nothing(out, f)
	case f.state.Done():
		f.note += "; resume records it, rollback moves production back"
		return st.nothing(out, f)
	case s.requestOnly:
		fmt.Fprintf(out, "slipway: abort %s: abort of release %s recorded (now %s: %s); the process driving it rolls back\n", s.function, f.id, ro.Phase, ro.Reason)
		md := fmt.Sprintf("## ⏹️ %s: abort requested\n\n> release %s, now %s\n\n", s.function, f.id, ro.Phase)
		outputs := fmt.Sprintf("outcome=abort requested\nrelease=%s\n", f.id)
		return errors.Join(st.appendFile(s.summaryFile, md), st.appendFile(s.outputFile, outputs))
	}
	if res.Outcome == release.OutcomeRolledBack && errors.Is(err, canary.ErrRolledBack) {
		err = nil // what abort asked for
	}
	return st.report(out, res, err)
}
