package canary

import (
	"context"
	"log/slog"
	"time"
)

// ProgressEvent reports one step of a rollout to the caller's sink
// (RunnerOptions.OnEvent), for a CI log, a chat message or a UI. The runner
// emits one per transition of the machine and one per analysed window.
type ProgressEvent struct {
	Time      time.Time `json:"time"`
	RolloutID string    `json:"rolloutID"`
	Function  string    `json:"function"`
	Alias     string    `json:"alias"`
	Stable    string    `json:"stable"`
	Candidate string    `json:"candidate"`
	// Phase is the rollout's phase after the event; From the phase before
	// (equal when the event changed no phase, e.g. a passed window).
	Phase Phase `json:"phase"`
	From  Phase `json:"from"`
	// Step indexes the strategy's steps (with the implied final 100% step);
	// Weight is the candidate's confirmed share of the alias in basis
	// points.
	Step   int `json:"step"`
	Weight int `json:"weight"`
	// Results holds the checks' results of the window just analysed; nil
	// for other events.
	Results []CheckResult `json:"results,omitempty"`
	// Reason says what happened, in words.
	Reason string `json:"reason,omitempty"`
}

// LogValue renders the event for log/slog.
func (e ProgressEvent) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("rollout", e.RolloutID),
		slog.String("function", e.Function),
		slog.String("alias", e.Alias),
		slog.String("phase", e.Phase.String()),
		slog.Int("step", e.Step),
		slog.Int("weight", e.Weight),
	}
	if e.From != e.Phase {
		attrs = append(attrs, slog.String("from", e.From.String()))
	}
	for _, r := range e.Results {
		if r.Err != nil {
			attrs = append(attrs, slog.String("check."+r.Name, "error: "+r.Err.Error()))
			continue
		}
		attrs = append(attrs, slog.String("check."+r.Name, r.Measurement.Verdict.String()+": "+r.Measurement.Reason))
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", e.Reason))
	}
	return slog.GroupValue(attrs...)
}

// eventReporter sends progress events to the caller's sink and logger.
type eventReporter struct {
	sink   func(ProgressEvent)
	logger *slog.Logger
}

// base returns an event about st with its identity filled in.
func eventsBase(st State) ProgressEvent {
	return ProgressEvent{RolloutID: st.ID, Function: st.Function, Alias: st.Alias, Stable: st.Stable,
		Candidate: st.Candidate, Phase: st.Phase, From: st.Phase, Step: st.Step, Weight: st.Route.Share(st.Candidate)}
}

// transitions reports the transitions next has beyond prev: one event per
// new history entry.
func (r eventReporter) transitions(ctx context.Context, prev, next State) {
	if r.sink == nil && r.logger == nil {
		return
	}
	for _, t := range next.History[min(len(prev.History), len(next.History)):] {
		e := eventsBase(next)
		e.Time, e.From, e.Phase, e.Step, e.Reason = t.At, t.From, t.To, t.Step, t.Reason
		r.report(ctx, e)
	}
}

// window reports the results of a measured window of st.
func (r eventReporter) window(ctx context.Context, now time.Time, st State, ev Event) {
	if r.sink == nil && r.logger == nil {
		return
	}
	e := eventsBase(st)
	e.Time = now
	e.Results = ev.Results
	if e.Results == nil {
		e.Results = []CheckResult{}
	}
	e.Reason = "window " + ev.Start.UTC().Format(time.RFC3339) + " – " + ev.End.UTC().Format(time.RFC3339)
	if ev.Err != nil {
		e.Reason += ": metrics source failed: " + ev.Err.Error()
	}
	r.report(ctx, e)
}

// report emits e: to the sink, and to the logger at Info, or at Warn when
// the rollout turns to a rollback or stops.
func (r eventReporter) report(ctx context.Context, e ProgressEvent) {
	if r.sink != nil {
		r.sink(e)
	}
	if r.logger == nil {
		return
	}
	level := slog.LevelInfo
	if e.From != e.Phase && (e.Phase == PhaseRollingBack || e.Phase == PhaseRolledBack || e.Phase == PhaseFailed) {
		level = slog.LevelWarn
	}
	r.logger.LogAttrs(ctx, level, "canary: "+eventsMessage(e), slog.Any("rollout", e))
}

func eventsMessage(e ProgressEvent) string {
	switch {
	case e.Results != nil:
		return "window analysed"
	case e.From != e.Phase:
		return e.From.String() + " → " + e.Phase.String()
	}
	return e.Phase.String()
}
