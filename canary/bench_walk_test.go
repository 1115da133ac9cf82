package canary_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

// walkPresets are the walks BenchmarkWalkPresets and TestWalkAllocations
// take: the CodeDeploy-style presets and the default Canary(10%, 10m) a
// release uses.
var walkPresets = []string{"Canary10Percent5Minutes", "Canary10Percent30Minutes", "Linear10PercentEvery1Minute",
	"Linear10PercentEvery10Minutes", "AllAtOnce", "Canary(10%, 10m)"}

// walker walks a whole rollout of a preset through the pure machine, one
// check judging every minute (none for AllAtOnce, which has no bake),
// answering every action at once as a runner would: route writes succeed
// with a new revision, waits elapse, windows pass.
type walker struct {
	name    string
	s0      canary.State
	results []canary.CheckResult
	revs    []string
}

func newWalker(tb testing.TB, name string) *walker {
	w := &walker{name: name, results: []canary.CheckResult{{Name: "errors", Measurement: canary.Measurement{Verdict: canary.Pass, Reason: "0.1% errors"}}}}
	var st canary.Strategy
	if name == "Canary(10%, 10m)" {
		st = canary.Canary(1000, 10*time.Minute)
	} else {
		var err error
		if st, err = canary.Preset(name); err != nil {
			tb.Fatal(err)
		}
	}
	st.Interval = time.Minute
	if name != "AllAtOnce" { // no bake: nothing to judge
		st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: canary.CheckFunc(
			func(context.Context, canary.MetricWindow) (canary.Measurement, error) {
				return w.results[0].Measurement, nil
			})}}
	}
	route := provider.To("live", "1")
	route.Revision = "r0"
	var err error
	w.s0, err = canary.NewState(canary.Spec{ID: "r", Function: "fn", Route: route, Candidate: "2", Strategy: st}, provider.Capabilities{})
	if err != nil {
		tb.Fatal(err)
	}
	w.revs = make([]string, 64)
	for i := range w.revs {
		w.revs[i] = "r" + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	return w
}

// walk takes the rollout from its initial state to Done, calling step
// with every input before Next is given it, and returns the transitions
// (Next calls) taken.
func (w *walker) walk(tb testing.TB, step func(s canary.State, ev canary.Event, now time.Time)) int {
	n := 0
	ev, now, rev := canary.Event{Kind: canary.EventStart}, mT0, 0
	s := w.s0
	for {
		if step != nil {
			step(s, ev, now)
		}
		var acts []canary.Action
		s, acts = canary.Next(s, ev, now)
		n++
		if len(acts) == 0 {
			tb.Fatalf("%s: no Done action; phase %s", w.name, s.Phase)
			return n
		}
		switch a := acts[0]; a.Kind {
		case canary.ActionSetRoute:
			r := a.Route
			r.Revision = w.revs[rev%len(w.revs)]
			rev++
			ev = canary.Event{Kind: canary.EventRouteSet, Route: r}
		case canary.ActionWait:
			now = a.Until
			ev = canary.Event{Kind: canary.EventTick}
		case canary.ActionMeasure:
			ev = canary.Event{Kind: canary.EventMeasured, Start: a.Window.Start, End: a.Window.End, Results: w.results}
		case canary.ActionDone:
			if s.Phase != canary.PhaseSucceeded {
				tb.Fatalf("%s: %s: %s", w.name, s.Phase, a.Reason)
			}
			return n
		default:
			tb.Fatalf("%s: unexpected action %s", w.name, a.Kind)
			return n
		}
	}
}

// presetWalk returns a function walking a whole rollout of the named
// preset (walker) and returning the transitions taken.
func presetWalk(tb testing.TB, name string) func() int {
	w := newWalker(tb, name)
	return func() int { return w.walk(tb, nil) }
}

// BenchmarkWalkPresets walks whole rollouts of each preset (presetWalk). It
// reports what a rollout costs the machine per transition:
// allocs/transition and B/transition (heap allocations during the walk,
// divided by the Next calls), ns/transition, and the transitions of one
// walk.
func BenchmarkWalkPresets(b *testing.B) {
	for _, name := range walkPresets {
		b.Run(name, func(b *testing.B) {
			walk := presetWalk(b, name)
			transitions := walk()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			total := 0
			for b.Loop() {
				total += walk()
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(total), "allocs/transition")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(total), "B/transition")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/transition")
			b.ReportMetric(float64(transitions), "transitions/walk")
		})
	}
}

// TestWalkAllocations guards what BenchmarkWalkPresets measures: a walk of
// each preset averages at most 2 heap allocations per transition (issue
// 12's goal), and no more per walk than it does now. A call of Next that
// changes phase allocates its history with its action and its route's
// weights, and its reason; one that judges a window, the checks' copy with
// its action; a tick, its action. Allocation counts are deterministic, not
// timing.
func TestWalkAllocations(t *testing.T) {
	const limit = 2.0
	perWalkNow := map[string]float64{ // transitions: 13, 63, 29, 191, 2, 23
		"Canary10Percent5Minutes":       18,
		"Canary10Percent30Minutes":      68,
		"Linear10PercentEvery1Minute":   58,
		"Linear10PercentEvery10Minutes": 220,
		"AllAtOnce":                     4,
		"Canary(10%, 10m)":              28,
	}
	for _, name := range walkPresets {
		t.Run(name, func(t *testing.T) {
			walk := presetWalk(t, name)
			transitions := walk()
			perWalk := testing.AllocsPerRun(20, func() { walk() })
			if got := perWalk / float64(transitions); got > limit {
				t.Errorf("a walk of %s allocates %.3f times per transition (%.0f in %d transitions), want at most %.2f",
					name, got, perWalk, transitions, limit)
			}
			if perWalk > perWalkNow[name] {
				t.Errorf("a walk of %s allocates %.0f times, up from %.0f", name, perWalk, perWalkNow[name])
			}
		})
	}
}
