package release

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// The workflow's wiring of the contract replay, the schema-driven bump,
// synthetic traffic, lock-down and remap after a promotion, and the
// infrastructure revert after a rollback (see Options and Request).

// checkSteps validates the options of these steps in New.
func (o Options) checkSteps() error {
	if o.OnRollback != nil {
		if err := o.OnRollback.Validate(); err != nil {
			return err
		}
	}
	if o.Synthetic != nil {
		if err := o.Synthetic.Validate(); err != nil {
			return err
		}
		if _, ok := o.Runner.Provider.(provider.Invoker); !ok {
			return fmt.Errorf("release options: synthetic traffic needs a provider that can invoke: %w", provider.ErrUnsupported)
		}
	}
	if o.Remap != nil && o.Remap.Alias != "" {
		if err := provider.CheckName("remap.alias", o.Remap.Alias); err != nil {
			return err
		}
	}
	return nil
}

// replay runs req's contract against the candidate through qualifier (the
// staging alias, or the candidate version when there is no staging stage)
// and journals the outcome.
func (r *run) replay(ctx context.Context, c *Contract, schema *InputSchema, qualifier string) error {
	contract := *c
	if contract.Schema == nil && schema != nil {
		contract.Schema = schema.Candidate
	}
	r.emit(Event{Kind: EventStepStarted, Step: StepReplay, Alias: qualifier, Message: fmt.Sprintf("%d recorded events", len(contract.Events))})
	rep, err := Replay(ctx, r.w.p.(provider.Invoker), r.fn, qualifier, contract)
	if len(rep.Results) > 0 {
		r.replayRep = &rep
	}
	outcome := "contract passed"
	if err != nil {
		outcome = "contract failed"
	}
	text := rep.Text()
	if len(rep.Results) == 0 && err != nil {
		text = err.Error()
	}
	alias := qualifier // the staging alias, or the candidate version (no alias)
	if qualifier == r.candidate {
		alias = ""
	}
	if jerr := r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: alias, Outcome: outcome, Reason: text}); jerr != nil {
		return errors.Join(err, jerr)
	}
	if err != nil {
		return fmt.Errorf("release %s: %w", r.id, err)
	}
	r.emit(Event{Kind: EventTestsPassed, Step: StepReplay, Alias: qualifier, Message: text})
	return nil
}

// afterPromotion applies lock-down and remap after a promotion to
// production. Their failures are reported and never undo the promotion.
func (r *run) afterPromotion(ctx context.Context) {
	record := func(ctx context.Context, e journal.Entry) error { return r.record(ctx, e) }
	if o := r.w.opts.LockDown; o != nil {
		r.emit(Event{Kind: EventStepStarted, Step: StepLockDown})
		rep, err := lockDown(ctx, r.w.p, r.fn, *o, record)
		r.lockDown = &rep
		msg := rep.Text()
		if err != nil {
			msg = "lock-down failed: " + err.Error()
			_ = r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Outcome: "lock-down failed", Reason: msg})
		}
		r.emit(Event{Kind: EventLockedDown, Step: StepLockDown, Message: msg})
	}
	if o := r.w.opts.Remap; o != nil {
		opts := *o
		if opts.Alias == "" {
			opts.Alias = r.w.stages.Production
		}
		r.emit(Event{Kind: EventStepStarted, Step: StepRemap})
		rep, err := remap(ctx, r.w.p, r.fn, opts, record)
		r.remap = &rep
		msg := rep.Text()
		if err != nil {
			msg = "remap failed: " + err.Error()
			_ = r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: opts.Alias, Outcome: "remap failed", Reason: msg})
		}
		r.emit(Event{Kind: EventRemapped, Step: StepRemap, Message: msg})
	}
}

// revertInfra runs Options.OnRollback after the traffic rolled back: its
// failure is reported (journal, event, Result.Revert) and never blocks or
// undoes the rollback. It runs on a context that survives the run's end
// (a cancelled release still reverts), bounded by the hook's timeout.
func (r *run) revertInfra(ctx context.Context, reason string) {
	h := r.w.opts.OnRollback
	if h == nil {
		return
	}
	r.emit(Event{Kind: EventStepStarted, Step: StepRevert, Message: "reverting infrastructure"})
	rc := RevertContext{Release: r.id, Function: r.fn, Alias: r.alias, Candidate: r.candidate, Stable: r.stable, Semver: r.semver, Reason: reason}
	res, err := h.Run(context.WithoutCancel(ctx), rc)
	r.revert = &res
	outcome := "infrastructure reverted"
	if err != nil {
		outcome = "infrastructure revert failed"
		if l := r.w.opts.Logger; l != nil {
			l.Warn("release: infrastructure revert failed", "release", r.id, "err", err)
		}
	}
	fctx, cancel := finishContext(ctx)
	defer cancel()
	_ = r.record(fctx, journal.Entry{Kind: journal.EntryDecision, Outcome: outcome, Reason: res.revertText()})
	r.emit(Event{Kind: EventReverted, Step: StepRevert, Message: res.revertText()})
}

// fillSteps copies the steps' reports into a result and its summary.
func (r *run) fillSteps(res *Result) {
	res.Replay, res.LockDown, res.Remap, res.Revert = r.replayRep, r.lockDown, r.remap, r.revert
	if r.synth != nil {
		res.Synthetic = r.synth.tallies()
	}
	if r.pub != nil && r.pub.Bump != nil {
		res.Summary.Bump = r.pub.Bump.Reason
	}
	res.Summary.Replay, res.Summary.LockDown, res.Summary.Remap, res.Summary.Revert = r.replayRep, r.lockDown, r.remap, r.revert
	res.Summary.Synthetic = res.Synthetic
}

// steps renders the reports of the steps that ran.
func (s Summary) steps(b *bytes.Buffer) {
	var rows [][2]string
	if s.Bump != "" {
		rows = append(rows, [2]string{"Version bump", md(s.Bump)})
	}
	if s.Replay != nil {
		mark := "✅ "
		if len(s.Replay.Failed()) > 0 {
			mark = "❌ "
		}
		rows = append(rows, [2]string{"Contract replay", mark + md(s.Replay.Text())})
	}
	if s.LockDown != nil {
		rows = append(rows, [2]string{"Lock-down", md(s.LockDown.Text())})
	}
	if s.Remap != nil {
		rows = append(rows, [2]string{"Remap", md(s.Remap.Text())})
	}
	if s.Revert != nil {
		mark := "✅ reverted"
		if s.Revert.Err != "" {
			mark = "❌ failed: " + md(s.Revert.Err)
		}
		rows = append(rows, [2]string{"Infrastructure revert", fmt.Sprintf("%s in %s", mark, s.Revert.Duration)})
	}
	if len(rows) > 0 {
		b.WriteString("| Step | |\n|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(b, "| %s | %s |\n", r[0], r[1])
		}
		b.WriteString("\n")
	}
	if s.Revert != nil && s.Revert.Output != "" {
		fmt.Fprintf(b, "<details><summary>Infrastructure revert output</summary>\n\n```\n%s\n```\n</details>\n\n", strings.ReplaceAll(s.Revert.Output, "```", "'''"))
	}
	if len(s.Synthetic) > 0 {
		b.WriteString("### Synthetic traffic\n\n| Version | Organic | Organic errors | Synthetic | Synthetic errors |\n|---|---:|---:|---:|---:|\n")
		for _, t := range s.Synthetic {
			fmt.Fprintf(b, "| %s | %d | %d | %d | %d |\n", md(t.Version), t.Organic, t.OrganicErrors, t.Synthetic, t.SyntheticErrors)
		}
		b.WriteString("\n")
	}
}

// checkRequestSteps validates a request's contract and synthetic traffic
// before anything is published.
func (w *Workflow) checkRequestSteps(req Request) error {
	if req.Contract != nil {
		if err := req.Contract.Validate(); err != nil {
			return err
		}
		if _, ok := w.opts.Runner.Provider.(provider.Invoker); !ok {
			return fmt.Errorf("release request: a contract replay needs a provider that can invoke: %w", provider.ErrUnsupported)
		}
	}
	return w.checkSynthetic("release request", req.Synthetic)
}

// checkSynthetic validates a request's synthetic traffic (what a Release or
// Promote request sets, nil when it sets none) before anything is touched.
func (w *Workflow) checkSynthetic(what string, syn *SyntheticTraffic) error {
	if syn != nil {
		if err := syn.Validate(); err != nil {
			return err
		}
		if _, ok := w.opts.Runner.Provider.(provider.Invoker); !ok {
			return fmt.Errorf("%s: synthetic traffic needs a provider that can invoke: %w", what, provider.ErrUnsupported)
		}
	}
	if (syn != nil || w.opts.Synthetic != nil) && w.opts.Runner.Metrics == nil {
		return provider.Invalid("release options", "metrics", "is nil, and synthetic traffic is set")
	}
	return nil
}

// startSynthetic journals the synthetic traffic the run's canary starts
// with (the request's, else Options.Synthetic; none when neither is set)
// and puts it between the runner and the metrics source.
func (r *run) startSynthetic(ctx context.Context, req *SyntheticTraffic) error {
	syn := cmp.Or(req, r.w.opts.Synthetic)
	if syn == nil {
		return nil
	}
	if err := r.journalSyntheticSet(ctx, *syn); err != nil {
		return err
	}
	r.synth = newSyntheticMetrics(r.w.opts.Runner.Metrics, r.w.p.(provider.Invoker), r.fn, *syn, r.w.clock.Now)
	return nil
}

// journalSynthetic records the synthetic traffic's tallies once the canary
// ended.
func (r *run) journalSynthetic(ctx context.Context) {
	if r.synth == nil {
		return
	}
	ts := r.synth.tallies()
	if len(ts) == 0 {
		return
	}
	fctx, cancel := finishContext(ctx)
	defer cancel()
	_ = r.record(fctx, journal.Entry{Kind: journal.EntryDecision, Alias: r.alias, Outcome: "synthetic traffic", Reason: syntheticText(ts)})
}

// The canary runner's provider forwards the invoke and fix powers too, as
// every wrapper must (a hook or a check may invoke the candidate).
var (
	_ provider.Invoker            = (*tracked)(nil)
	_ provider.PermissionRemover  = (*tracked)(nil)
	_ provider.EventSourceUpdater = (*tracked)(nil)
)

// Invoke forwards to the wrapped provider's provider.Invoker.
func (t *tracked) Invoke(ctx context.Context, fn string, in provider.InvokeInput) (provider.InvokeOutput, error) {
	iv, ok := t.Provider.(provider.Invoker)
	if !ok {
		return provider.InvokeOutput{}, &provider.Error{Op: "invoke", Function: fn, Err: provider.ErrUnsupported}
	}
	return iv.Invoke(ctx, fn, in)
}

// RemovePermission forwards to the wrapped provider's
// provider.PermissionRemover.
func (t *tracked) RemovePermission(ctx context.Context, fn, qualifier, id string) error {
	pr, ok := t.Provider.(provider.PermissionRemover)
	if !ok {
		return &provider.Error{Op: "remove permission", Function: fn, Err: provider.ErrUnsupported}
	}
	return pr.RemovePermission(ctx, fn, qualifier, id)
}

// UpdateEventSource forwards to the wrapped provider's
// provider.EventSourceUpdater.
func (t *tracked) UpdateEventSource(ctx context.Context, fn, id, qualifier string) (provider.EventSource, error) {
	u, ok := t.Provider.(provider.EventSourceUpdater)
	if !ok {
		return provider.EventSource{}, &provider.Error{Op: "update event source", Function: fn, Err: provider.ErrUnsupported}
	}
	return u.UpdateEventSource(ctx, fn, id, qualifier)
}
