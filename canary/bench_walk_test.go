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

// presetWalk returns a function walking a whole rollout of the named
// preset through the pure machine, one check judging every minute (none
// for AllAtOnce, which has no bake), answering every action at once as a
// runner would: route writes succeed with a new revision, waits elapse,
// windows pass. The function returns the transitions (Next calls) taken.
func presetWalk(tb testing.TB, name string) func() int {
	results := []canary.CheckResult{{Name: "errors", Measurement: canary.Measurement{Verdict: canary.Pass, Reason: "0.1% errors"}}}
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
				return results[0].Measurement, nil
			})}}
	}
	route := provider.To("live", "1")
	route.Revision = "r0"
	s0, err := canary.NewState(canary.Spec{ID: "r", Function: "fn", Route: route, Candidate: "2", Strategy: st}, provider.Capabilities{})
	if err != nil {
		tb.Fatal(err)
	}
	revs := make([]string, 64)
	for i := range revs {
		revs[i] = "r" + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	return func() int {
		n := 0
		s, acts := canary.Next(s0, canary.Event{Kind: canary.EventStart}, mT0)
		n++
		now, rev := mT0, 0
		for len(acts) > 0 {
			a := acts[0]
			var ev canary.Event
			switch a.Kind {
			case canary.ActionSetRoute:
				r := a.Route
				r.Revision = revs[rev%len(revs)]
				rev++
				ev = canary.Event{Kind: canary.EventRouteSet, Route: r}
			case canary.ActionWait:
				now = a.Until
				ev = canary.Event{Kind: canary.EventTick}
			case canary.ActionMeasure:
				ev = canary.Event{Kind: canary.EventMeasured, Start: a.Window.Start, End: a.Window.End, Results: results}
			case canary.ActionDone:
				if s.Phase != canary.PhaseSucceeded {
					tb.Fatalf("%s: %s: %s", name, s.Phase, a.Reason)
				}
				return n
			default:
				tb.Fatalf("%s: unexpected action %s", name, a.Kind)
			}
			s, acts = canary.Next(s, ev, now)
			n++
		}
		tb.Fatalf("%s: no Done action; phase %s", name, s.Phase)
		return n
	}
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
// 12's goal), or, for the presets not yet there, no more than they do now
// (each reason and history entry costs one allocation per phase change, and
// these walks change phase on most transitions). Allocation counts are
// deterministic, not timing.
func TestWalkAllocations(t *testing.T) {
	const goal = 2.0
	ceiling := map[string]float64{
		"Linear10PercentEvery1Minute": 2.69, // 78 per walk of 29 transitions
		"AllAtOnce":                   3.0,  // 6 per walk of 2
	}
	for _, name := range walkPresets {
		t.Run(name, func(t *testing.T) {
			walk := presetWalk(t, name)
			transitions := walk()
			perWalk := testing.AllocsPerRun(20, func() { walk() })
			got := perWalk / float64(transitions)
			limit := goal
			if c, ok := ceiling[name]; ok {
				limit = c
			}
			if got > limit {
				t.Errorf("a walk of %s allocates %.3f times per transition (%.0f in %d transitions), want at most %.2f",
					name, got, perWalk, transitions, limit)
			}
		})
	}
}
