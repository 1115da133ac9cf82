package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

func targets(spec ...string) []fleet.Target {
	var out []fleet.Target
	for i, s := range spec {
		region, group, _ := strings.Cut(s, ":")
		out = append(out, fleet.Target{Function: fmt.Sprintf("f%d", i), Region: region, Provider: "p", Group: group, Candidate: "2"})
	}
	return out
}

func basePlan(ts []fleet.Target, waves ...fleet.Wave) fleet.Plan {
	return fleet.Plan{ID: "r", Strategy: canary.Canary(1000, time.Minute), Targets: ts, Waves: waves}
}

// TestResolve: waves by target, region and share; groups join the wave of
// their first member whole; the last wave takes the rest.
func TestResolve(t *testing.T) {
	ten := targets("eu", "eu", "us:a", "us:a", "us", "us", "ap:b", "ap", "ap:b", "ap")
	tests := []struct {
		name  string
		plan  fleet.Plan
		waves [][]int
	}{
		{"region, percent, rest", basePlan(ten, fleet.Wave{Name: "one", Regions: []string{"eu"}},
			fleet.Wave{Name: "half", Percent: 50}, fleet.Wave{Name: "rest"}),
			[][]int{{0, 1}, {2, 3, 4}, {5, 6, 7, 8, 9}}},
		{"a group pulls its members in", basePlan(ten, fleet.Wave{Name: "one", Targets: []string{"p/ap/f6"}},
			fleet.Wave{Name: "rest"}),
			[][]int{{6, 8}, {0, 1, 2, 3, 4, 5, 7, 9}}},
		{"percent rounds up: 25% of 10 is 3, the group makes 4", basePlan(ten, fleet.Wave{Name: "q", Percent: 25},
			fleet.Wave{Name: "rest", Percent: 100}),
			[][]int{{0, 1, 2, 3}, {4, 5, 6, 7, 8, 9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.plan.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.waves, got); diff != "" {
				t.Errorf("waves (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidate: every invalid plan is refused with ErrInvalid naming the
// field.
func TestValidate(t *testing.T) {
	ok := basePlan(targets("eu", "us"), fleet.Wave{Name: "one", Regions: []string{"eu"}}, fleet.Wave{Name: "rest"})
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid plan: %v", err)
	}
	tests := []struct {
		field string
		edit  func(p *fleet.Plan)
	}{
		{"id", func(p *fleet.Plan) { p.ID = ".hidden" }},
		{"targets", func(p *fleet.Plan) { p.Targets = nil }},
		{"targets[1].region", func(p *fleet.Plan) { p.Targets[1].Region = "" }},
		{"targets[1]", func(p *fleet.Plan) { p.Targets[1] = p.Targets[0] }},
		{"targets[0].candidate", func(p *fleet.Plan) { p.Targets[0].Candidate = "" }},
		{"waves", func(p *fleet.Plan) { p.Waves = nil }},
		{"waves[1].name", func(p *fleet.Plan) { p.Waves[1].Name = "one" }},
		{"waves[0].percent", func(p *fleet.Plan) { p.Waves[0].Percent = 101 }},
		{"waves[0].bake", func(p *fleet.Plan) { p.Waves[0].Bake = -time.Second }},
		{"waves[0].regions[0]", func(p *fleet.Plan) { p.Waves[0].Regions = []string{"mars"} }},
		{"waves[0].targets[0]", func(p *fleet.Plan) { p.Waves[0].Targets = []string{"p/eu/nope"} }},
		{"waves[1]", func(p *fleet.Plan) {
			p.Waves = []fleet.Wave{{Name: "all", Percent: 100}, {Name: "empty"}, {Name: "rest"}}
		}},
		{"waves[1].targets[0]", func(p *fleet.Plan) {
			p.Targets[0].Group, p.Targets[1].Group = "g", "g"
			p.Waves = []fleet.Wave{{Name: "one", Targets: []string{"p/eu/f0"}}, {Name: "two", Targets: []string{"p/us/f1"}}, {Name: "rest"}}
		}},
		{"regions[eu].timeZone", func(p *fleet.Plan) { p.Regions = map[string]fleet.Region{"eu": {TimeZone: "Mars/Olympus"}} }},
		{"accounts[p]", func(p *fleet.Plan) { p.Accounts = map[string]fleet.Limit{"p": {Rate: -1}} }},
		{"steps", func(p *fleet.Plan) { p.Strategy.Steps = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			p := basePlan(targets("eu", "us"), fleet.Wave{Name: "one", Regions: []string{"eu"}}, fleet.Wave{Name: "rest"})
			tt.edit(&p)
			err := p.Validate()
			var ie *provider.InvalidError
			if !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ie) || !strings.HasPrefix(ie.Field, tt.field) {
				t.Errorf("Validate = %v, want ErrInvalid naming %q", err, tt.field)
			}
		})
	}
}

// TestRunValidatesFirst: a plan naming an account without a backend, or a
// check the executor has no code for, is refused before any provider call.
func TestRunValidatesFirst(t *testing.T) {
	for name, edit := range map[string]func(*fleet.Plan){
		"account": func(p *fleet.Plan) { p.Targets[4].Provider = "unknown" },
		"check":   func(p *fleet.Plan) { p.Strategy.Analysis.Checks[0].Name = "no such check" },
	} {
		t.Run(name, func(t *testing.T) {
			p := fleetPlan(9)
			w := newWorld(t, p.Targets, nil)
			edit(&p)
			_, err := w.run(t, p, nil)
			if !errors.Is(err, provider.ErrInvalid) {
				t.Fatalf("Run = %v, want ErrInvalid", err)
			}
			for _, tg := range p.Targets {
				if ws := w.writes.of(tg.ID()); len(ws) > 0 {
					t.Errorf("%s written: %v", tg.ID(), ws)
				}
			}
		})
	}
}

// TestNextDeployWindows: a target starts only inside its region's window
// read in the region's time zone; Monday 10:00 UTC is 05:00 in New York
// (window 09:00-17:00), so its target waits until 14:00 UTC, while Dublin's
// starts at once. A freeze of the plan holds both; a window that never
// opens fails the target and the release.
func TestNextDeployWindows(t *testing.T) {
	window := release.DeployPolicy{Windows: []release.DeployWindow{{Days: []time.Weekday{time.Monday}, Start: release.TimeOfDay{Hour: 9}, End: release.TimeOfDay{Hour: 17}}}}
	p := basePlan(targets("dublin", "newyork"), fleet.Wave{Name: "all"})
	p.Regions = map[string]fleet.Region{
		"dublin":  {TimeZone: "Europe/Dublin", Policy: window},
		"newyork": {TimeZone: "America/New_York", Policy: window},
	}
	st, err := fleet.NewState(p)
	if err != nil {
		t.Fatal(err)
	}
	st, acts := fleet.Next(st, fleet.Event{Kind: fleet.EventStart}, epoch)
	want := []fleet.Action{{Kind: fleet.ActionStart, Target: 0}, {Kind: fleet.ActionWait, Until: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)}}
	if diff := cmp.Diff(want, acts, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("actions at 10:00 UTC (-want +got):\n%s", diff)
	}
	st, acts = fleet.Next(st, fleet.Event{Kind: fleet.EventTick}, time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC))
	if len(acts) != 1 || acts[0].Kind != fleet.ActionStart || acts[0].Target != 1 {
		t.Errorf("actions at 14:00 UTC: %v, want Start 1", acts)
	}
	if st.Targets[1].Phase != fleet.TargetRunning {
		t.Errorf("New York target %s", st.Targets[1].Phase)
	}

	// A freeze over the whole Monday holds Dublin until 17:00 UTC — when
	// its window has closed, so until next Monday 09:00 Dublin time.
	p.Freezes = []release.Freeze{{Name: "launch", Start: epoch.Add(-time.Hour), End: epoch.Add(7 * time.Hour)}}
	st, _ = fleet.NewState(p)
	st, acts = fleet.Next(st, fleet.Event{Kind: fleet.EventStart}, epoch)
	if st.Targets[0].Phase != fleet.TargetWaiting || !st.Targets[0].BlockedUntil.Equal(time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("frozen Dublin target: %s until %s (%v)", st.Targets[0].Phase, st.Targets[0].BlockedUntil, acts)
	}

	// A window on a day that is always frozen never opens within a year.
	p.Freezes = []release.Freeze{{Name: "forever", Start: epoch.Add(-time.Hour), End: epoch.AddDate(2, 0, 0)}}
	st, _ = fleet.NewState(p)
	st, acts = fleet.Next(st, fleet.Event{Kind: fleet.EventStart}, epoch)
	if st.Phase != fleet.PhaseFailed || st.Targets[0].Phase != fleet.TargetFailed {
		t.Errorf("never-open region: release %s, target %s (%v)", st.Phase, st.Targets[0].Phase, acts)
	}
}

// TestNextGroupRule walks the decisions of a failure: wave 1 of four
// targets in two groups; b0 succeeds, a0 fails; a1 (in flight, a0's
// group) is aborted; b1 finishes; a succeeded member of a's group would be
// reverted; the release ends Failed once nothing is in flight, with b's
// targets kept (ScopeGroup) and the second wave skipped.
func TestNextGroupRule(t *testing.T) {
	ts := targets("eu:a", "eu:a", "eu:b", "eu:b", "us")
	p := basePlan(ts, fleet.Wave{Name: "eu", Regions: []string{"eu"}}, fleet.Wave{Name: "rest"})
	st, _ := fleet.NewState(p)
	st, acts := fleet.Next(st, fleet.Event{Kind: fleet.EventStart}, epoch)
	if len(acts) != 4 {
		t.Fatalf("start: %v", acts)
	}
	done := func(k int, outcome fleet.TargetPhase) []fleet.Action {
		st, acts = fleet.Next(st, fleet.Event{Kind: fleet.EventTargetDone, Target: k, Outcome: outcome, Stable: "1", Candidate: "2"}, epoch)
		return acts
	}
	if a := done(2, fleet.TargetSucceeded); len(a) != 0 {
		t.Errorf("b0 succeeded: %v", a)
	}
	if a := done(1, fleet.TargetSucceeded); len(a) != 0 {
		t.Errorf("a1 succeeded: %v", a)
	}
	a := done(0, fleet.TargetRolledBack)
	want := []fleet.Action{{Kind: fleet.ActionRevert, Target: 1}}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("a0 failed (-want +got):\n%s", diff)
	}
	if st.Phase != fleet.PhaseRollingBack || st.Targets[4].Phase != fleet.TargetSkipped {
		t.Errorf("after the failure: %s, us target %s", st.Phase, st.Targets[4].Phase)
	}
	if a := done(3, fleet.TargetSucceeded); len(a) != 0 {
		t.Errorf("b1 (other group) succeeded during the rollback: %v", a)
	}
	st, a = fleet.Next(st, fleet.Event{Kind: fleet.EventReverted, Target: 1}, epoch)
	if len(a) != 1 || a[0].Kind != fleet.ActionDone || st.Phase != fleet.PhaseFailed {
		t.Errorf("after the revert: %s %v", st.Phase, a)
	}
	got := []fleet.TargetPhase{}
	for _, t := range st.Targets {
		got = append(got, t.Phase)
	}
	wantPhases := []fleet.TargetPhase{fleet.TargetRolledBack, fleet.TargetReverted, fleet.TargetSucceeded, fleet.TargetSucceeded, fleet.TargetSkipped}
	if diff := cmp.Diff(wantPhases, got); diff != "" {
		t.Errorf("final phases (-want +got):\n%s", diff)
	}
	// Terminal: nothing more is accepted.
	if _, a := fleet.Next(st, fleet.Event{Kind: fleet.EventAbort}, epoch); a != nil {
		t.Errorf("abort after the end: %v", a)
	}
}

// TestRunAbortByContext: cancelling Run's context mid-release (two
// minutes into wave 2, while its first eight canaries bake at 10%) aborts
// it: those canaries roll back, wave 1 keeps its candidates (ScopeGroup),
// the rest is skipped, the release ends Aborted and nothing is left split.
func TestRunAbortByContext(t *testing.T) {
	p := fleetPlan(30)
	p.Accounts = nil
	w := newWorld(t, p.Targets, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := false
	// The canceller is started when wave 2 starts, by a participant of
	// the clock (the goroutine reporting wave 1's last verdict), so the
	// clock does not run ahead of the release.
	ex, err := fleet.NewExecutor(fleet.Options{Backends: w.backends, Journal: w.journal, Checks: checks(), Clock: w.clk, PollInterval: time.Minute,
		OnChange: func(s fleet.State) {
			if !started && s.Wave == 1 && s.Phase == fleet.PhaseRunning {
				started = true
				w.clk.Go(func() {
					_ = w.clk.Sleep(ctx, 2*time.Minute)
					cancel()
				})
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ex.Run(ctx, p)
	if !errors.Is(err, fleet.ErrAborted) {
		t.Fatalf("Run = %v, want ErrAborted", err)
	}
	c := st.Count()
	if c[fleet.TargetRolledBack] != 8 || c[fleet.TargetSucceeded] != 3 || c[fleet.TargetSkipped] != 19 {
		t.Errorf("counts %v: want wave 1's 3 kept, wave 2's 8 in flight rolled back, 19 skipped (ended %s: %s; wave %d, phase %s; bake %s-%s)",
			c, w.clk.Now().Sub(epoch), st.Reason, st.Wave, st.Phase, st.BakeStart.Sub(epoch), st.BakeUntil.Sub(epoch))
	}
	for _, tg := range p.Targets {
		if r := w.route(t, tg); len(r.Weights) != 1 {
			t.Errorf("%s left split: %v", tg.ID(), r.Weights)
		}
	}
}
