package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/canary/blobstore"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/retention"
	"github.com/slipway-dev/slipway/semver"
)

// stages are the workflow's stages from the settings.
func (s *settings) stages() release.Stages {
	return release.Stages{Staging: s.staging, Production: s.production}
}

// releaseReason is the journal's reason for a publish or a release.
func (s *settings) releaseReason() string {
	if s.reason != "" {
		return s.reason
	}
	return s.releaseCommit
}

// simulate gives the candidate the simulated error rate, when one was
// asked for, as soon as it is published.
func (st *state) simulate(e release.Event) {
	if e.Kind == release.EventPublished && st.mem != nil && st.s.set["simulate-error-rate"] {
		st.mem.SetBehavior(st.s.function, e.Candidate, memory.Behavior{ErrorRate: st.s.simulateErrorRate})
	}
}

// newFunctionConfig is the configuration of a memory function's first
// version, before flags.
func newFunctionConfig() provider.Config {
	return provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", MemoryMB: 128, Timeout: 10 * time.Second}
}

// publishRequest is the settings' publish request with the configuration
// of the version production serves (else staging's, else the newest
// version's) and the configuration flags given applied over it: a version
// is published with the function's whole configuration (on Lambda an
// empty environment would remove the variables), so a release that does
// not mention a setting keeps it.
func (st *state) publishRequest(ctx context.Context) (release.PublishRequest, error) {
	s := st.s
	req := s.publish
	base, found := provider.Config{}, false
	for _, alias := range []string{s.production, s.staging} {
		r, err := st.p.Route(ctx, s.function, alias)
		if errors.Is(err, provider.ErrNotFound) {
			continue
		}
		if err != nil {
			return req, err
		}
		v, err := st.p.Version(ctx, s.function, r.Primary())
		if err != nil {
			return req, err
		}
		base, found = v.Config, true
		break
	}
	if !found {
		for v, err := range st.p.Versions(ctx, s.function) {
			if errors.Is(err, provider.ErrNotFound) {
				break
			}
			if err != nil {
				return req, err
			}
			base, found = v.Config, true // the last one yielded is the newest
		}
	}
	if !found && st.mem != nil {
		base = newFunctionConfig()
	}
	req.Config = s.configOver(base)
	return req, nil
}

// publish publishes the artifact and points the staging alias at it: a
// release whose target stage is the staging alias, switched all at once.
func (st *state) publish(ctx context.Context, out io.Writer) error {
	return st.releaseTo(ctx, out, "publish", release.Stages{Production: st.s.staging}, canary.AllAtOnce())
}

// release publishes, stages and promotes in one step.
func (st *state) release(ctx context.Context, out io.Writer) error {
	return st.releaseTo(ctx, out, "release", st.s.stages(), st.s.strategy)
}

// releaseTo runs Workflow.Release over stages with strategy; verb names
// the subcommand in its messages.
func (st *state) releaseTo(ctx context.Context, out io.Writer, verb string, stages release.Stages, strategy canary.Strategy) error {
	s := st.s
	w, err := st.workflow(out, stages, st.simulate)
	if err != nil {
		return err
	}
	var res release.Result
	runIn(st.clock, func() {
		var req release.PublishRequest
		if req, err = st.publishRequest(ctx); err != nil {
			return
		}
		if err = st.guardSemver(ctx); err != nil {
			return
		}
		if verb == "release" {
			var id string
			if id, err = st.existingVersion(ctx, req); err != nil {
				return
			}
			var done func()
			if done, err = st.claimCanary(ctx, id); err != nil {
				return
			}
			defer done()
		}
		res, err = w.Release(ctx, release.Request{
			Function: s.function, Publish: req, ID: s.releaseID(),
			Actor: s.actor, Reason: s.releaseReason(), Strategy: &strategy,
			Contract: s.replayContract(req),
		})
	})
	if errors.Is(err, semver.ErrNoRelease) {
		fmt.Fprintf(out, "slipway: %s %s: no release needed: %v\n", verb, s.function, err)
		md := fmt.Sprintf("## ℹ️ %s: no release needed\n\n> %s\n\n", s.function, err)
		return errors.Join(st.appendFile(s.summaryFile, md), st.appendFile(s.outputFile, "outcome=no release\n"))
	}
	return st.report(out, res, err)
}

// replayContract is the contract to replay, its events validated against
// the candidate's schema even when the schemas are not compared (--semver).
func (s *settings) replayContract(req release.PublishRequest) *release.Contract {
	if s.contract == nil {
		return nil
	}
	c := *s.contract
	if c.Schema == nil && req.Schema == nil && s.schema != nil {
		c.Schema = s.schema.Candidate
	}
	return &c
}

// promote moves production to the version staging serves, through the
// canary.
func (st *state) promote(ctx context.Context, out io.Writer) error {
	s := st.s
	w, err := st.workflow(out, s.stages(), nil)
	if err != nil {
		return err
	}
	var res release.Result
	runIn(st.clock, func() {
		if st.mem != nil && s.set["simulate-error-rate"] {
			// The candidate is what staging serves; a missing alias is
			// left to Promote to report.
			if r, rerr := st.p.Route(ctx, s.function, s.staging); rerr == nil {
				st.mem.SetBehavior(s.function, r.Primary(), memory.Behavior{ErrorRate: s.simulateErrorRate})
			}
		}
		var id string
		if id, err = st.stagedVersion(ctx); err != nil {
			return
		}
		var done func()
		if done, err = st.claimCanary(ctx, id); err != nil {
			return
		}
		defer done()
		res, err = w.Promote(ctx, release.PromoteRequest{
			Function: s.function, From: s.staging, To: s.production, ID: s.releaseID(),
			Actor: s.actor, Reason: s.reason, Strategy: &s.strategy,
		})
	})
	return st.report(out, res, err)
}

// rollback puts an alias back on its previous good version.
func (st *state) rollback(ctx context.Context, out io.Writer) error {
	s := st.s
	w, err := st.workflow(out, s.stages(), nil)
	if err != nil {
		return err
	}
	alias := s.alias
	if alias == "" {
		alias = s.production
	}
	var res release.Result
	runIn(st.clock, func() {
		res, err = w.RollbackWith(ctx, release.RollbackRequest{
			Function: s.function, Alias: alias, To: s.to, ID: s.releaseID(),
			Actor: s.actor, Reason: s.reason,
		})
	})
	return st.report(out, res, err)
}

// report prints the result's last line, appends its summary and outputs,
// and returns err.
func (st *state) report(out io.Writer, res release.Result, err error) error {
	s := st.s
	if res.Function == "" {
		return err // refused before the run began
	}
	line := fmt.Sprintf("slipway: %s %s: %s", s.cmd, res.Function, res.Outcome)
	if res.Candidate != "" {
		line += " " + versionText(res.Candidate, res.Semver)
	}
	line += " on " + res.Alias
	if s.cmd == "publish" && res.Published != nil {
		// The run's outcome is the staging alias's; say what was published.
		what := "published"
		if res.Published.Existing {
			what = "already published"
		}
		line = fmt.Sprintf("slipway: publish %s: %s %s; %s %s", res.Function, what,
			versionText(res.Candidate, res.Semver), res.Alias, res.Outcome)
	}
	if res.Stable != "" && res.Stable != res.Candidate {
		line += " (stable " + res.Stable + ")"
	}
	if res.Reason != "" {
		line += ": " + oneLine(st.printer(out).result(res.Reason))
	}
	st.printer(out).line("%s", line)
	st.onRollback(context.Background(), res)
	if rv := res.Revert; rv != nil && rv.Err != "" {
		st.printer(out).line("slipway: onRollback failed (the traffic rollback stands): %s", rv.Err)
	}
	if res.NotifyErr != nil {
		fmt.Fprintf(out, "slipway: notification failed (the outcome stands): %v\n", res.NotifyErr)
	}
	outputs := fmt.Sprintf("outcome=%s\nrelease=%s\nalias=%s\nversion=%s\nsemver=%s\nstable=%s\n",
		res.Outcome, res.Release, res.Alias, res.Candidate, res.Semver, res.Stable)
	md := res.Summary.Markdown() + mermaidCharts(res.Function, windowSeries(res.Summary.Verdicts))
	if ferr := errors.Join(st.appendFile(s.summaryFile, md), st.appendFile(s.outputFile, outputs), st.saveSummary(res.Summary)); ferr != nil {
		return errors.Join(err, ferr)
	}
	// The last line said what happened: the error is not printed again.
	return shown(err)
}

// prune applies the retention policy, or prints its plan.
func (st *state) prune(ctx context.Context, out io.Writer) error {
	s := st.s
	w, err := st.workflow(out, s.stages(), nil)
	if err != nil {
		return err
	}
	var plan retention.Plan
	var rep retention.Report
	runIn(st.clock, func() { plan, rep, err = w.Prune(ctx, s.function, s.dryRun) })
	var text strings.Builder
	if _, werr := plan.WriteTo(&text); werr != nil {
		return werr
	}
	if !s.dryRun && len(rep.Functions) > 0 {
		text.WriteString("\n")
		if _, werr := rep.WriteTo(&text); werr != nil {
			return werr
		}
	}
	fmt.Fprint(out, text.String())
	if err != nil {
		return err
	}
	what, deleted := "pruned", ""
	if s.dryRun {
		what = "prune plan (dry run)"
	} else if len(rep.Functions) == 1 {
		deleted = strings.Join(rep.Functions[0].Deleted, ",")
	}
	_, kept, planned := plan.Counts()
	fmt.Fprintf(out, "slipway: prune %s: %d kept, %d to delete", s.function, kept, planned)
	if !s.dryRun {
		fmt.Fprintf(out, ", deleted [%s]", deleted)
	}
	fmt.Fprintln(out)
	md := fmt.Sprintf("## ℹ️ %s: %s\n\n```\n%s```\n\n", s.function, what, text.String())
	outputs := fmt.Sprintf("outcome=%s\nplanned=%d\ndeleted=%s\n", what, planned, deleted)
	return errors.Join(st.appendFile(s.summaryFile, md), st.appendFile(s.outputFile, outputs))
}

// status prints the function's aliases, versions, drift and journal.
func (st *state) status(ctx context.Context, out io.Writer) error {
	if st.s.watch {
		return st.watchStatus(ctx, out)
	}
	return st.statusOnce(ctx, out, true)
}

// statusOnce prints the status once; files says whether to write the step
// summary and outputs.
func (st *state) statusOnce(ctx context.Context, out io.Writer, files bool) error {
	s := st.s
	var (
		unfinished []unfinishedCanary
		leases     []blobstore.LeaseInfo
		routes     []provider.Route
		versions   []provider.Version
		drift      []release.Drift
		entries    []journal.Entry
		err        error
	)
	runIn(st.clock, func() {
		if routes, err = st.p.Routes(ctx, s.function); err != nil {
			return
		}
		for v, verr := range st.p.Versions(ctx, s.function) {
			if verr != nil {
				err = verr
				return
			}
			versions = append(versions, v)
		}
		if drift, err = release.Verify(ctx, st.p, st.journal, s.function); err != nil {
			return
		}
		for e, jerr := range st.journal.Entries(ctx, journal.Filter{Function: s.function}) {
			if jerr != nil {
				err = jerr
				return
			}
			entries = append(entries, e)
		}
		unfinished, leases, err = st.unfinishedCanaries(ctx)
	})
	if err != nil {
		return fmt.Errorf("status of %s: %w", s.function, err)
	}
	total := len(entries)
	entries = entries[max(0, len(entries)-s.entries):]

	fmt.Fprintf(out, "== %s\n\naliases:\n", s.function)
	for _, r := range routes {
		fmt.Fprintf(out, "  %-12s %s\n", r.Alias, r.Traffic())
	}
	st.printUnfinished(out, unfinished, leases)
	fmt.Fprintln(out, "\nversions:")
	for _, v := range versions {
		var serves []string
		for _, r := range routes {
			if sh := r.Share(v.ID); sh > 0 {
				serves = append(serves, fmt.Sprintf("%s %s", r.Alias, provider.Percent(sh)))
			}
		}
		sv := v.Labels[provider.LabelSemver]
		if sv == "" {
			sv = "-"
		} else {
			sv = "v" + sv
		}
		commit := v.Labels[provider.LabelCommit]
		if commit == "" {
			commit = "-"
		}
		fmt.Fprintf(out, "  %-4s %-10s %-12s %s  %s\n", v.ID, sv, commit, v.Created.UTC().Format("2006-01-02 15:04:05"), strings.Join(serves, ", "))
	}
	fmt.Fprintln(out, "\ndrift:")
	if len(drift) == 0 {
		fmt.Fprintln(out, "  none: every route is as the journal left it")
	}
	for _, d := range drift {
		fmt.Fprintf(out, "  %s\n", d.String())
	}
	fmt.Fprintf(out, "\njournal (last %d of %d entries):\n", len(entries), total)
	for _, e := range entries {
		after, what := "", ""
		if e.After != nil {
			after = e.After.Traffic()
		}
		if e.Candidate != "" {
			what = versionText(e.Candidate, e.Semver)
		}
		fmt.Fprintf(out, "  %s %-8s %-11s %-14s %-16s %-11s %-10s %s\n", e.Time.UTC().Format("2006-01-02 15:04:05"),
			e.Kind, e.Alias, what, after, e.Outcome, e.Actor, oneLine(e.Reason))
	}
	sum := release.Summary{Function: s.function, Outcome: "status", RoutesAfter: routes, Versions: versions, Drift: drift, Entries: entries}
	outputs := fmt.Sprintf("drift=%d\nunfinished=%d\n", len(drift), len(unfinished))
	if files {
		if err := errors.Join(st.appendFile(s.summaryFile, sum.Markdown()+unfinishedMarkdown(s, unfinished)), st.appendFile(s.outputFile, outputs)); err != nil {
			return err
		}
	}
	if len(unfinished) > 0 && s.failOnUnfinished {
		return fmt.Errorf("%w: %d canary(ies) of %s unfinished: slipway resume continues, slipway abort rolls back", errUnfinished, len(unfinished), s.function)
	}
	if len(drift) > 0 && s.failOnDrift {
		return fmt.Errorf("%w: %d route(s) of %s changed behind the journal's back", errDrift, len(drift), s.function)
	}
	return nil
}

// appendFile appends text to the file at path, creating it; an empty path
// is nothing to do.
func (st *state) appendFile(path, text string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}

// versionText is "7 (v1.1.0)" or "7".
func versionText(id, sv string) string {
	if sv == "" {
		return id
	}
	return id + " (v" + sv + ")"
}

// oneLine joins the lines of s.
func oneLine(s string) string {
	return strings.Join(slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return strings.TrimSpace(l) == "" }), " / ")
}
