package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// Rollback fire drills: "practice rollbacks regularly — treat them as a
// fire drill". A drill moves a stage alias to the rollback point the
// journal names, verifies that the old version serves, moves the alias back
// and journals how long the rollback and the restore took.
//
// The journal is the drill's persisted state: every step is an entry under
// the drill's ID, written before the next step starts, so a drill whose
// process died is finished by Drill (same ID) or ResumeDrill from another
// process — which puts the alias back as it found it — as Resume finishes a
// canary. A drill never runs during a freeze of Options.Policy, and stops
// and restores at its first failed check.

// ErrDrillFailed: the drill's verification failed (the old version did not
// serve, or a check did not pass); the alias was put back.
var ErrDrillFailed = errors.New("rollback drill failed")

// journal.Journal outcomes of a drill's decision entries.
const (
	drillStarted  = "drill started"
	drillVerified = "drill verified"
	drillFailed   = "drill check failed"
	drillFinished = "drill finished"
)

// DrillRequest asks for one drill.
//
// In the CLI's configuration file:
//
//	drill:
//	  alias: staging
//	  probe: {"ping": true}  # or
//	  checks: [maxErrorRate]  # keys of the top-level checks
//	  window: 2m
type DrillRequest struct {
	Function string `json:"function"`
	// Alias is the stage drilled; empty means the staging stage.
	Alias string `json:"alias,omitempty"`
	// ID names the drill in the journal; empty derives one from the
	// function and the time. Drill with the ID of an unfinished drill
	// resumes it.
	ID     string `json:"id,omitempty"`
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Probe, when set, is invoked against the alias once it is on the
	// rollback point (provider.Invoker): it must succeed and be answered
	// by that version.
	Probe json.RawMessage `json:"probe,omitempty"`
	// Checks, when set, name checks of Options.Checks judged over one
	// window of Window on the rollback point's metrics; each must Pass.
	Checks []string `json:"checks,omitempty"`
	// Window is the length of that window; 0 means one minute. It starts
	// at the metrics source's next whole period and is read
	// Options.MetricsLag after it ends.
	Window time.Duration `json:"window,omitempty"`
}

// DrillResult is what a drill did.
type DrillResult struct {
	ID       string `json:"id"`
	Function string `json:"function"`
	Alias    string `json:"alias"`
	// From is the version the alias served, To the rollback point.
	From string `json:"from"`
	To   string `json:"to"`
	// Outcome is "passed", "failed" or "restored after a restart".
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
	// TimeToRollback runs from the write that moves the alias to the end
	// of the verification; TimeToRestore over the write that moves it
	// back. Zero when not measured (a drill resumed after its process
	// died measures only the restore).
	TimeToRollback time.Duration `json:"timeToRollback"`
	TimeToRestore  time.Duration `json:"timeToRestore"`
	// Resumed is true when this call finished a drill another process
	// began.
	Resumed bool `json:"resumed,omitempty"`
}

// Drill runs a rollback fire drill on req.Alias of req.Function:
//
//  1. refuse during a freeze of Options.Policy (*BlockedError) and when
//     the journal names no rollback point other than what the alias serves;
//  2. journal the start with the route as found;
//  3. move the alias to the rollback point (one write, journaled as a
//     rollback) and verify it: the probe, then one window of the checks;
//  4. move the alias back to the route it found (journaled), even when
//     the verification failed;
//  5. journal both times.
//
// The error wraps ErrDrillFailed when the verification failed (the alias
// is back), and is the provider's when a write failed; a drill that could
// not put the alias back says so, and Drill or ResumeDrill with its ID
// puts it back later. A route changed by someone else during the drill is
// not overwritten (provider.ErrConflict).
func (w *Workflow) Drill(ctx context.Context, req DrillRequest) (DrillResult, error) {
	if req.Alias == "" {
		req.Alias = w.stages.Staging
	}
	if err := provider.CheckName("function", req.Function); err != nil {
		return DrillResult{}, err
	}
	if err := provider.CheckName("alias", req.Alias); err != nil {
		return DrillResult{}, err
	}
	if len(req.Probe) == 0 && len(req.Checks) == 0 {
		return DrillResult{}, provider.Invalid("drill request", "probe", "and checks are both empty: nothing would verify the rollback")
	}
	if len(req.Probe) > 0 && !json.Valid(req.Probe) {
		return DrillResult{}, provider.Invalid("drill request", "probe", "is not JSON")
	}
	if _, ok := w.opts.Runner.Provider.(provider.Invoker); len(req.Probe) > 0 && !ok {
		return DrillResult{}, fmt.Errorf("release: drill: a probe needs a provider that can invoke: %w", provider.ErrUnsupported)
	}
	for _, name := range req.Checks {
		if _, ok := w.opts.Runner.Checks[name]; !ok {
			return DrillResult{}, provider.Invalid("drill request", "checks", fmt.Sprintf("names %q, which Options.Checks lacks", name))
		}
	}
	if len(req.Checks) > 0 && w.opts.Runner.Metrics == nil {
		return DrillResult{}, provider.Invalid("release options", "metrics", "is nil, and the drill has checks")
	}
	if req.Window < 0 {
		return DrillResult{}, provider.Invalid("drill request", "window", "is negative")
	}
	if len(req.Checks) > 0 && req.Window > 0 {
		if res := w.opts.Runner.Metrics.Resolution(); res > 0 && req.Window%res != 0 {
			return DrillResult{}, provider.Invalid("drill request", "window", fmt.Sprintf("%s is not a multiple of the metrics resolution %s", req.Window, res))
		}
	}
	if req.ID != "" {
		if st, ok, err := w.drillState(ctx, req.Function, req.ID); err != nil {
			return DrillResult{}, err
		} else if ok {
			return w.resumeDrill(ctx, st)
		}
	}
	now := w.clock.Now()
	if w.opts.Policy != nil {
		if f, frozen := w.opts.Policy.frozen(now); frozen {
			return DrillResult{}, &BlockedError{Reason: fmt.Sprintf("freeze %q: no drill during a freeze", f.Name), Freeze: f.Name, Until: f.End}
		}
	}
	id, _, err := releaseID(req.ID, req.Function, "drill", now)
	if err != nil {
		return DrillResult{}, err
	}
	res := DrillResult{ID: id, Function: req.Function, Alias: req.Alias}
	cur, err := w.p.Route(ctx, req.Function, req.Alias)
	if err != nil {
		return res, fmt.Errorf("release: drill %s: read alias %q: %w", id, req.Alias, err)
	}
	target, why, err := w.rollbackTarget(ctx, req.Function, req.Alias, "")
	if err != nil {
		return res, fmt.Errorf("release: drill %s: %w", id, err)
	}
	res.From, res.To = cur.Primary(), target
	if cur.Share(target) == provider.AllTraffic {
		return res, provider.Invalid("drill request", "alias", fmt.Sprintf("%q already serves its rollback point %s: nothing to drill", req.Alias, target))
	}
	if _, err := w.p.Version(ctx, req.Function, target); err != nil {
		return res, fmt.Errorf("release: drill %s: rollback point %s: %w", id, target, err)
	}
	d := &drill{w: w, req: req, res: res, actor: req.Actor}
	if d.actor == "" {
		d.actor = w.opts.Actor
	}
	found := cur.Clone()
	reason := fmt.Sprintf("fire drill of %q: roll back to %s, verify, restore %s", req.Alias, why, cur.Traffic())
	if req.Reason != "" {
		reason = req.Reason + "; " + reason
	}
	if err := d.record(ctx, journal.Entry{Kind: journal.EntryDecision, Outcome: drillStarted, Before: &found, Stable: target, Candidate: res.From, Reason: reason}); err != nil {
		return res, err
	}
	return d.run(ctx, cur)
}

// drill is one drill in progress.
type drill struct {
	w     *Workflow
	req   DrillRequest
	res   DrillResult
	actor string
}

func (d *drill) record(ctx context.Context, e journal.Entry) error {
	e.Time, e.Release, e.Function, e.Alias = d.w.clock.Now(), d.res.ID, d.res.Function, d.res.Alias
	if e.Actor == "" {
		e.Actor = d.actor
	}
	if err := d.w.journal.Append(ctx, e); err != nil {
		return fmt.Errorf("release: drill %s: journal: %w", d.res.ID, err)
	}
	return nil
}

func (d *drill) run(ctx context.Context, found provider.Route) (DrillResult, error) {
	fn, alias, target := d.res.Function, d.res.Alias, d.res.To
	t0 := d.w.clock.Now()
	want := provider.To(alias, target)
	want.Revision = found.Revision
	moved, err := d.w.p.SetRoute(ctx, fn, want)
	if err != nil {
		d.res.Outcome, d.res.Detail = OutcomeFailed, "roll back: "+err.Error()
		return d.res, fmt.Errorf("release: drill %s: roll back %q to %s: %w", d.res.ID, alias, target, err)
	}
	if err := d.record(ctx, journal.Entry{Kind: journal.EntryRollback, Before: &found, After: &moved, Stable: target, Candidate: d.res.From,
		Reason: "fire drill: roll back to " + target}); err != nil {
		return d.res, err
	}
	detail, verr := d.verify(ctx)
	d.res.TimeToRollback = d.w.clock.Now().Sub(t0)
	outcome := drillVerified
	if verr != nil {
		outcome, detail = drillFailed, verr.Error()
	}
	if err := d.record(ctx, journal.Entry{Kind: journal.EntryDecision, Outcome: outcome, Stable: target, Reason: detail}); err != nil {
		return d.res, err
	}
	if err := d.restore(ctx, found, moved); err != nil {
		return d.res, err
	}
	d.res.Outcome, d.res.Detail = "passed", detail
	if verr != nil {
		d.res.Outcome = OutcomeFailed
	}
	if err := d.finish(ctx); err != nil {
		return d.res, err
	}
	if verr != nil {
		return d.res, fmt.Errorf("release: drill %s: %w: %w", d.res.ID, ErrDrillFailed, verr)
	}
	return d.res, nil
}

// restore writes found's traffic back over cur (the route as the drill
// left it), and journals it as a route change that is no release's step.
func (d *drill) restore(ctx context.Context, found, cur provider.Route) error {
	t0 := d.w.clock.Now()
	back := found.Clone()
	back.Revision = cur.Revision
	got, err := d.w.p.SetRoute(ctx, d.res.Function, back)
	if err != nil {
		return fmt.Errorf("release: drill %s: put %q back on %s (run the drill again with this ID to restore it): %w",
			d.res.ID, d.res.Alias, found.Traffic(), err)
	}
	d.res.TimeToRestore = d.w.clock.Now().Sub(t0)
	return d.record(ctx, journal.Entry{Kind: journal.EntryRoute, Before: &cur, After: &got, Candidate: found.Primary(),
		Reason: "fire drill: restore " + found.Traffic()})
}

func (d *drill) finish(ctx context.Context) error {
	text := fmt.Sprintf("fire drill of %q %s: rolled back from %s to %s in %s, restored in %s",
		d.res.Alias, d.res.Outcome, d.res.From, d.res.To, d.res.TimeToRollback, d.res.TimeToRestore)
	if d.res.Resumed {
		text = fmt.Sprintf("fire drill of %q %s: restored %s in %s after the process that began it stopped",
			d.res.Alias, d.res.Outcome, d.res.From, d.res.TimeToRestore)
	}
	if d.res.Detail != "" {
		text += " (" + d.res.Detail + ")"
	}
	return d.record(ctx, journal.Entry{Kind: journal.EntryDecision, Outcome: drillFinished, Stable: d.res.To, Candidate: d.res.From, Reason: text})
}

// verify checks that the rollback point serves: the probe first, then one
// window of the checks. It returns what it saw.
func (d *drill) verify(ctx context.Context) (string, error) {
	var seen []string
	if len(d.req.Probe) > 0 {
		inv, ok := d.w.p.(provider.Invoker)
		if !ok {
			return "", fmt.Errorf("probe: %w", provider.ErrUnsupported)
		}
		out, err := inv.Invoke(ctx, d.res.Function, provider.InvokeInput{Qualifier: d.res.Alias, Payload: d.req.Probe})
		switch {
		case err != nil:
			return "", fmt.Errorf("probe: %w", err)
		case out.Failed():
			return "", fmt.Errorf("probe: function error %s: %s", out.FunctionError, clip(out.Body))
		case out.ExecutedVersion != "" && out.ExecutedVersion != d.res.To:
			return "", fmt.Errorf("probe answered by version %s, not the rollback point %s", out.ExecutedVersion, d.res.To)
		}
		seen = append(seen, "probe answered by version "+d.res.To)
	}
	if len(d.req.Checks) > 0 {
		win := d.req.Window
		if win == 0 {
			win = time.Minute
		}
		// The window starts at the next whole period of the metrics
		// source, so it holds only the rollback point's traffic.
		now := d.w.clock.Now()
		start, period := now, win
		if res := d.w.opts.Runner.Metrics.Resolution(); res > 0 {
			if start = now.Truncate(res); start.Before(now) {
				start = start.Add(res)
			}
			if win%res == 0 {
				period = res
			}
		}
		if err := d.w.clock.Sleep(ctx, start.Add(win).Add(d.w.opts.Runner.MetricsLag).Sub(now)); err != nil {
			return "", err
		}
		q := provider.Query{Function: d.res.Function, Alias: d.res.Alias, Versions: []string{d.res.To}, Start: start, End: start.Add(win), Period: period}
		obs, err := d.w.opts.Runner.Metrics.Observe(ctx, q)
		if err != nil {
			return "", fmt.Errorf("metrics: %w", err)
		}
		cw := canary.MetricWindow{Function: d.res.Function, Alias: d.res.Alias, Candidate: d.res.To, Weight: provider.AllTraffic,
			Start: q.Start, End: q.End, Metrics: obs}
		for _, name := range d.req.Checks {
			m, err := d.w.opts.Runner.Checks[name].Judge(ctx, cw)
			if err != nil {
				return "", fmt.Errorf("check %s: %w", name, err)
			}
			if m.Verdict != canary.Pass {
				return "", fmt.Errorf("check %s: %s: %s", name, m.Verdict, m.Reason)
			}
			seen = append(seen, fmt.Sprintf("check %s passed: %s", name, m.Reason))
		}
	}
	return strings.Join(seen, "; "), nil
}

// drillState is what the journal says of an unfinished drill.
type drillState struct {
	id, fn, alias string
	actor         string
	found         provider.Route // the route the drill found
	from, to      string
}

// drillState reads drill id of fn from the journal: ok is false when the
// journal has no such drill; ErrFinished when it finished.
func (w *Workflow) drillState(ctx context.Context, fn, id string) (drillState, bool, error) {
	var st drillState
	started := false
	for e, err := range w.journal.Entries(ctx, journal.Filter{Function: fn}) {
		if err != nil {
			return st, false, err
		}
		if e.Release != id {
			continue
		}
		switch {
		case e.Kind == journal.EntryDecision && e.Outcome == drillStarted && e.Before != nil:
			started = true
			st = drillState{id: id, fn: fn, alias: e.Alias, actor: e.Actor, found: e.Before.Clone(), from: e.Candidate, to: e.Stable}
		case e.Kind == journal.EntryDecision && e.Outcome == drillFinished:
			return st, false, fmt.Errorf("release: drill %s: %w", id, ErrFinished)
		}
	}
	return st, started, nil
}

// UnfinishedDrills returns the IDs of fn's drills that the journal shows
// started and not finished — left by a process that stopped — oldest
// first. Each is finished by ResumeDrill (or Drill with its ID).
func (w *Workflow) UnfinishedDrills(ctx context.Context, fn string) ([]string, error) {
	if err := provider.CheckName("function", fn); err != nil {
		return nil, err
	}
	var open []string
	for e, err := range w.journal.Entries(ctx, journal.Filter{Function: fn}) {
		if err != nil {
			return nil, fmt.Errorf("release: unfinished drills of %s: %w", fn, err)
		}
		if e.Kind != journal.EntryDecision {
			continue
		}
		switch e.Outcome {
		case drillStarted:
			if !slices.Contains(open, e.Release) {
				open = append(open, e.Release)
			}
		case drillFinished:
			open = slices.DeleteFunc(open, func(id string) bool { return id == e.Release })
		}
	}
	return open, nil
}

// ResumeDrill finishes drill id of fn after the process running it
// stopped: the alias is put back on the route the drill found (unless it
// already is) and the drill's end is journaled. ErrNotFound when the
// journal has no such drill, ErrFinished when it finished.
func (w *Workflow) ResumeDrill(ctx context.Context, fn, id string) (DrillResult, error) {
	st, ok, err := w.drillState(ctx, fn, id)
	if err != nil {
		return DrillResult{}, err
	}
	if !ok {
		return DrillResult{}, fmt.Errorf("release: drill %s of %s: %w", id, fn, provider.ErrNotFound)
	}
	return w.resumeDrill(ctx, st)
}

func (w *Workflow) resumeDrill(ctx context.Context, st drillState) (DrillResult, error) {
	d := &drill{w: w, actor: st.actor, res: DrillResult{ID: st.id, Function: st.fn, Alias: st.alias, From: st.from, To: st.to, Resumed: true}}
	cur, err := w.p.Route(ctx, st.fn, st.alias)
	if err != nil {
		return d.res, fmt.Errorf("release: drill %s: read alias %q: %w", st.id, st.alias, err)
	}
	switch {
	case cur.SameTraffic(st.found):
		d.res.Detail = "the alias was already back"
	case cur.SameTraffic(provider.To(st.alias, st.to)):
		if err := d.restore(ctx, st.found, cur); err != nil {
			return d.res, err
		}
		d.res.Detail = "put back from the rollback point"
	default:
		return d.res, fmt.Errorf("release: drill %s: alias %q now serves %s, neither what the drill found (%s) nor its rollback point: changed by someone else, left alone: %w",
			st.id, st.alias, cur.Traffic(), st.found.Traffic(), provider.ErrConflict)
	}
	d.res.Outcome = "restored after a restart"
	return d.res, d.finish(ctx)
}
