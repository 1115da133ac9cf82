package canary_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

// replayInput is one input of Next: a state, an event and the time.
type replayInput struct {
	s   canary.State
	ev  canary.Event
	now time.Time
}

// replayInputs returns every input of a walk of each preset (walker), and
// for each state of the walk the operator's controls, a tick an hour later
// and an unexpected measurement: inputs whose calls change phase, roll
// back, pause, fail and ignore the event, besides the walk's own.
func replayInputs(t *testing.T) []replayInput {
	var in []replayInput
	for _, name := range walkPresets {
		newWalker(t, name).walk(t, func(s canary.State, ev canary.Event, now time.Time) {
			in = append(in, replayInput{s, ev, now}, replayInput{s, canary.Event{Kind: canary.EventTick}, now.Add(time.Hour)})
			for _, k := range []canary.EventKind{canary.EventPause, canary.EventAbort, canary.EventPromoteNow, canary.EventCancelled, canary.EventMeasured} {
				in = append(in, replayInput{s, canary.Event{Kind: k, Reason: "replay"}, now})
			}
		})
	}
	return in
}

// cloneActions returns a deep copy of acts.
func cloneActions(acts []canary.Action) []canary.Action {
	acts = slices.Clone(acts)
	for i := range acts {
		acts[i].Route = acts[i].Route.Clone()
		acts[i].Checks = slices.Clone(acts[i].Checks)
	}
	return acts
}

// scribble does to a result of Next what a caller may: appends to each of
// its slices and to the actions, overwrites the actions, whose storage is
// the caller's, and continues the rollout from it with two different
// events (so that a second call of Next on the same state writing where
// the first call's result lives would show).
func scribble(s canary.State, acts []canary.Action, now time.Time) {
	_ = append(s.History, canary.Transition{Reason: "appended"})
	_ = append(s.Checks, canary.CheckState{Name: "appended"})
	_ = append(s.Plan.Steps, canary.Step{Weight: 1})
	for _, r := range []provider.Route{s.Route, s.Want, s.StableRoute, s.TestRoute} {
		_ = append(r.Weights, provider.Weight{Version: "appended", BasisPoints: 1})
	}
	_ = append(acts, canary.Action{Kind: canary.ActionWait})
	for i := range acts {
		_ = append(acts[i].Route.Weights, provider.Weight{Version: "appended"})
		_ = append(acts[i].Checks, "appended")
		for j := range acts[i].Route.Weights {
			acts[i].Route.Weights[j] = provider.Weight{Version: "overwritten", BasisPoints: -1}
		}
		for j := range acts[i].Checks {
			acts[i].Checks[j] = "overwritten"
		}
		acts[i] = canary.Action{Kind: canary.ActionWait, Reason: "overwritten"}
	}
	for _, ev := range []canary.Event{{Kind: canary.EventPause, Reason: "first"}, {Kind: canary.EventAbort, Reason: "second"}, {Kind: canary.EventTick}} {
		next, more := canary.Next(s, ev, now.Add(time.Minute))
		_ = append(next.History, canary.Transition{Reason: "appended"})
		_ = append(more, canary.Action{})
	}
}

// TestNextReplaysAreIndependent shows that Next is pure in the sense a
// runner relies on when it replays a persisted state: calling Next twice on
// the same input gives equal results, and neither result, nor the input,
// changes when the caller appends to, overwrites the actions of or
// continues the other (its history and actions live in storage of their
// own). It also shows that a returned history has no room to append into:
// two copies of one state each appending an entry keep their own.
func TestNextReplaysAreIndependent(t *testing.T) {
	for _, in := range replayInputs(t) {
		before := in.s.Clone()
		first, firstActs := canary.Next(in.s, in.ev, in.now)
		second, secondActs := canary.Next(in.s, in.ev, in.now)
		if diff := cmp.Diff(first, second); diff != "" {
			t.Fatalf("%s in %s: two calls gave different states (-first +second):\n%s", in.ev.Kind, in.s.Phase, diff)
		}
		if diff := cmp.Diff(firstActs, secondActs); diff != "" {
			t.Fatalf("%s in %s: two calls gave different actions (-first +second):\n%s", in.ev.Kind, in.s.Phase, diff)
		}
		wantSecond, wantActs := second.Clone(), cloneActions(secondActs)
		scribble(first, firstActs, in.now)
		if diff := cmp.Diff(wantSecond, second); diff != "" {
			t.Fatalf("%s in %s: using one result changed the other state (-before +after):\n%s", in.ev.Kind, in.s.Phase, diff)
		}
		if diff := cmp.Diff(wantActs, secondActs); diff != "" {
			t.Fatalf("%s in %s: using one result changed the other's actions (-before +after):\n%s", in.ev.Kind, in.s.Phase, diff)
		}
		if diff := cmp.Diff(before, in.s); diff != "" {
			t.Fatalf("%s in %s: Next or its result's use changed the input (-before +after):\n%s", in.ev.Kind, in.s.Phase, diff)
		}
		n := len(second.History)
		a := append(second.History, canary.Transition{Reason: "a"})
		b := append(second.History, canary.Transition{Reason: "b"})
		if a[n].Reason != "a" || b[n].Reason != "b" {
			t.Fatalf("%s in %s: two appends to one returned history share an entry: %q, %q", in.ev.Kind, in.s.Phase, a[n].Reason, b[n].Reason)
		}
	}
}

// TestNextConcurrentReplays calls Next on the same inputs from several
// goroutines at once: under -race, any write of Next into memory its input
// shares (an entry appended in place into spare room of the input's
// history, say) is a reported race; without it, the results must still
// equal a lone call's.
func TestNextConcurrentReplays(t *testing.T) {
	in := replayInputs(t)
	want := make([]canary.State, len(in))
	for i, x := range in {
		want[i], _ = canary.Next(x.s, x.ev, x.now)
	}
	const workers = 4
	got := make([][]canary.State, workers)
	var wg sync.WaitGroup
	for w := range workers {
		got[w] = make([]canary.State, len(in))
		wg.Go(func() {
			for i, x := range in {
				got[w][i], _ = canary.Next(x.s, x.ev, x.now)
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for i := range in {
			if diff := cmp.Diff(want[i], got[w][i]); diff != "" {
				t.Fatalf("worker %d, %s in %s (-alone +concurrent):\n%s", w, in[i].ev.Kind, in[i].s.Phase, diff)
			}
		}
	}
}
