package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// epoch is a Monday, 10:00 UTC.
var epoch = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

var regions = []string{"eu-west-1", "us-east-1", "ap-southeast-2"}

// world is a fleet on memory providers: one provider per account, every
// function with version 1 on production and version 2 published.
type world struct {
	clk      *canary.VirtualClock
	mems     map[string]*memory.Provider
	backends map[string]fleet.Backend
	journal  *journal.MemoryJournal
	writes   *writeLog
}

// writeLog records every route write that landed, per target ID.
type writeLog struct {
	mu     sync.Mutex
	routes map[string][]provider.Route
	at     map[string][]time.Time // per account, when each write landed
	now    func() time.Time
}

func (w *writeLog) add(account, id string, r provider.Route) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.routes[id] = append(w.routes[id], r.Clone())
	w.at[account] = append(w.at[account], w.now())
}

func (w *writeLog) of(id string) []provider.Route {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]provider.Route(nil), w.routes[id]...)
}

type recording struct {
	provider.Provider
	account string
	region  string
	log     *writeLog
}

func (r recording) SetRoute(ctx context.Context, fn string, rt provider.Route) (provider.Route, error) {
	got, err := r.Provider.SetRoute(ctx, fn, rt)
	if err == nil {
		r.log.add(r.account, fleet.Target{Function: fn, Region: r.region, Provider: r.account}.ID(), got)
	}
	return got, err
}

// account names the provider account of a region: one per region.
func account(region string) string { return "acct-" + region }

func newWorld(t testing.TB, targets []fleet.Target, bad map[string]bool) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{clk: canary.NewVirtualClock(epoch), mems: map[string]*memory.Provider{}, backends: map[string]fleet.Backend{},
		journal: &journal.MemoryJournal{}}
	w.writes = &writeLog{routes: map[string][]provider.Route{}, at: map[string][]time.Time{}, now: w.clk.Now}
	for _, tg := range targets {
		mem := w.mems[tg.Provider]
		if mem == nil {
			var err error
			mem, err = memory.New(memory.Options{Now: w.clk.Now, Sleep: w.clk.Sleep, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			w.mems[tg.Provider] = mem
			w.backends[tg.Provider] = fleet.Backend{Provider: recording{Provider: mem, account: tg.Provider, region: tg.Region, log: w.writes}, Metrics: mem}
		}
		for _, code := range []string{"v1", "v2"} {
			if _, err := mem.Publish(ctx, tg.Function, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(tg.Function + code)}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := mem.SetRoute(ctx, tg.Function, provider.To("production", "1")); err != nil {
			t.Fatal(err)
		}
		mem.SetLoad(tg.Function, "production", 500)
		mem.SetBehavior(tg.Function, "1", memory.Behavior{ErrorRate: 0.001})
		b := memory.Behavior{ErrorRate: 0.001}
		if bad[tg.ID()] {
			b.ErrorRate = 0.3
		}
		mem.SetBehavior(tg.Function, "2", b)
	}
	return w
}

// route reads a target's production route.
func (w *world) route(t testing.TB, tg fleet.Target) provider.Route {
	t.Helper()
	r, err := w.mems[tg.Provider].Route(context.Background(), tg.Function, "production")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checks() map[string]canary.Check {
	return map[string]canary.Check{
		"error rate":  canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.02},
		"bake errors": canary.Threshold{Metric: canary.ErrorRate, Max: 0.05},
	}
}

// fleetPlan is n targets over three regions (one account each), in
// groups of three (an API, its worker, its scheduler), candidate 2,
// released in three waves: the eu-west-1 region, half, the rest.
func fleetPlan(n int) fleet.Plan {
	p := fleet.Plan{
		ID: "rel-1",
		Strategy: canary.Strategy{Steps: []canary.Step{{Weight: 1000, Bake: 5 * time.Minute}}, Interval: time.Minute,
			Analysis: canary.Analysis{Checks: []canary.CheckSpec{{Name: "error rate"}}}},
		Waves: []fleet.Wave{
			{Name: "canary", Regions: []string{"eu-west-1"}, Bake: 10 * time.Minute},
			{Name: "half", Percent: 50, Bake: 10 * time.Minute, MaxParallel: 8},
			{Name: "rest", Bake: 10 * time.Minute},
		},
		Accounts:   map[string]fleet.Limit{account("us-east-1"): {MaxParallel: 5, Rate: 20, Burst: 5}},
		BakeChecks: []string{"bake errors"},
		Actor:      "test",
	}
	for i := range n {
		region := regions[(i/3)%len(regions)]
		if i < 3 {
			region = "eu-west-1"
		} else if region == "eu-west-1" {
			region = "us-east-1"
		}
		p.Targets = append(p.Targets, fleet.Target{Function: fmt.Sprintf("fn-%02d", i), Region: region, Provider: account(region),
			Group: fmt.Sprintf("g%02d", i/3), Candidate: "2"})
	}
	return p
}

func (w *world) run(t testing.TB, p fleet.Plan, onChange func(fleet.State)) (fleet.State, error) {
	t.Helper()
	ex, err := fleet.NewExecutor(fleet.Options{Backends: w.backends, Journal: w.journal, Checks: checks(), Clock: w.clk,
		OnChange: onChange, PollInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return ex.Run(context.Background(), p)
}

// TestRunFleetInThreeWaves: 60 functions in three regions, three waves;
// every target ends on its candidate, each wave starts only after the
// one before passed its bake, the bounds held, and every target's
// promotion is journaled with its previous version.
func TestRunFleetInThreeWaves(t *testing.T) {
	p := fleetPlan(60)
	w := newWorld(t, p.Targets, nil)
	var maxWave, maxUS int
	waveStart := map[int]time.Time{}
	var waveEnd []time.Time
	last := -1
	st, err := w.run(t, p, func(s fleet.State) {
		inWave, us := 0, 0
		for i, tg := range s.Targets {
			if tg.Phase == fleet.TargetRunning {
				if tg.Wave == 1 {
					inWave++
				}
				if p.Targets[i].Provider == account("us-east-1") {
					us++
				}
			}
		}
		maxWave, maxUS = max(maxWave, inWave), max(maxUS, us)
		if s.Wave != last {
			waveStart[s.Wave] = w.clk.Now()
			if last >= 0 {
				waveEnd = append(waveEnd, w.clk.Now())
			}
			last = s.Wave
		}
	})
	if err != nil {
		t.Fatalf("Run: %v (state %s: %s)", err, st.Phase, st.Reason)
	}
	if st.Phase != fleet.PhaseSucceeded {
		t.Fatalf("phase %s", st.Phase)
	}
	if got := st.Count()[fleet.TargetSucceeded]; got != 60 {
		t.Errorf("%d targets succeeded, want 60", got)
	}
	wantSizes := []int{3, 27, 30}
	for i, ids := range st.Waves {
		if len(ids) != wantSizes[i] {
			t.Errorf("wave %d has %d targets, want %d", i, len(ids), wantSizes[i])
		}
	}
	for _, tg := range p.Targets {
		if r := w.route(t, tg); !r.SameTraffic(provider.To("production", "2")) {
			t.Errorf("%s: route %v, want all on 2", tg.ID(), r.Weights)
		}
		prev, _, err := journal.PreviousGood(context.Background(), w.journal, tg.ID(), "production")
		if err != nil || prev != "1" {
			t.Errorf("%s: PreviousGood = %q, %v; want 1", tg.ID(), prev, err)
		}
	}
	// Virtual time is exact: every canary judged its 5 whole windows and
	// ended with the fifth, 5 minutes after its step started when that was
	// on a minute boundary, at the next boundary after 5m otherwise
	// (canary.Plan.BakeEnd; the rate-limited accounts' canaries start a
	// fraction of a second late, waiting for tokens), plus under a second
	// of tokens; none waited for others to run ahead (as one did when the
	// first target could advance the clock before the next was started).
	for _, ts := range st.Targets {
		if d := ts.Ended.Sub(ts.Started); d < 5*time.Minute || d > 6*time.Minute+time.Second {
			t.Errorf("%s's canary took %s, want 5m to the end of its fifth whole window", ts.ID, d)
		}
	}
	if maxWave > 8 {
		t.Errorf("wave 1 had %d targets in flight, bound 8", maxWave)
	}
	if maxUS > 5 {
		t.Errorf("account us-east-1 had %d targets in flight, bound 5", maxUS)
	}
	if maxWave < 2 {
		t.Errorf("wave 1 never ran targets in parallel (max %d)", maxWave)
	}
	// Each canary takes 5 minutes and each wave bakes 10: a wave starts
	// at least 15 minutes after the one before.
	for wv := 1; wv < 3; wv++ {
		if d := waveStart[wv].Sub(waveStart[wv-1]); d < 15*time.Minute {
			t.Errorf("wave %d started %s after wave %d, want ≥ 15m", wv, d, wv-1)
		}
	}
}

// TestRunFaultyTargetInWaveTwo: a faulty candidate in wave 2 rolls its
// canary back; its group's two other targets, which succeeded or were in
// flight, go back to version 1; the release stops Failed, wave 3 never
// starts, and wave 1 stays released (ScopeGroup) or goes back too
// (ScopeRelease).
func TestRunFaultyTargetInWaveTwo(t *testing.T) {
	for _, scope := range []fleet.Scope{fleet.ScopeGroup, fleet.ScopeRelease} {
		t.Run(scope.String(), func(t *testing.T) {
			p := fleetPlan(60)
			p.OnFailure = scope
			p.Accounts = nil
			// fn-11 is in group g03 (fn-09, fn-10, fn-11), in wave 2, which
			// runs 8 targets at a time from fn-03: fn-09 and fn-10 start
			// at once and succeed, fn-11 starts after them and fails.
			faulty := p.Targets[11]
			w := newWorld(t, p.Targets, map[string]bool{faulty.ID(): true})
			st, err := w.run(t, p, nil)
			if !errors.Is(err, fleet.ErrFailed) {
				t.Fatalf("Run error = %v, want ErrFailed", err)
			}
			if st.Targets[11].Phase != fleet.TargetRolledBack {
				t.Errorf("faulty target %s", st.Targets[11].Phase)
			}
			for _, k := range []int{9, 10} {
				if ph := st.Targets[k].Phase; ph != fleet.TargetReverted {
					t.Errorf("group member %d is %s, want Reverted", k, ph)
				}
			}
			for k, tg := range p.Targets {
				r := w.route(t, tg)
				if len(r.Weights) != 1 {
					t.Errorf("%s left split: %v", tg.ID(), r.Weights)
				}
				wave := st.Targets[k].Wave
				var want string
				switch {
				case tg.Group == "g03":
					want = "1"
				case wave == 2:
					want = "1"
					if st.Targets[k].Phase != fleet.TargetSkipped {
						t.Errorf("wave 3 target %s is %s, want Skipped", tg.ID(), st.Targets[k].Phase)
					}
				case wave == 0 && scope == fleet.ScopeRelease:
					want = "1"
				case wave == 0:
					want = "2"
				default:
					continue // wave 2, other groups: finished or skipped
				}
				if r.Primary() != want {
					t.Errorf("%s (wave %d, %s) on %s, want %s", tg.ID(), wave, st.Targets[k].Phase, r.Primary(), want)
				}
				if st.Targets[k].Phase == fleet.TargetReverted {
					// The revert is journaled as a rollback to version 1.
					e, err := journal.LastRoute(context.Background(), w.journal, tg.ID(), "production")
					if err != nil || e.Kind != journal.EntryRollback || e.After.Primary() != "1" {
						t.Errorf("%s: last journaled route change %v %v, %v", tg.ID(), e.Kind, e.After, err)
					}
				}
			}
			if len(w.writes.of(p.Targets[59].ID())) != 0 {
				t.Errorf("a wave 3 target was written: %v", w.writes.of(p.Targets[59].ID()))
			}
		})
	}
}

// TestRunRateLimit: an account limited to one call every two seconds (a
// burst of one) never sees two route writes closer than that, though its
// nine targets run at once; the other accounts are not slowed.
func TestRunRateLimit(t *testing.T) {
	p := fleetPlan(12)
	p.Accounts = map[string]fleet.Limit{account("us-east-1"): {Rate: 0.5, Burst: 1}}
	p.Waves[1].MaxParallel = 0
	w := newWorld(t, p.Targets, nil)
	if _, err := w.run(t, p, nil); err != nil {
		t.Fatal(err)
	}
	at := w.writes.at[account("us-east-1")]
	if len(at) < 6 {
		t.Fatalf("%d writes in us-east-1", len(at))
	}
	slices.SortFunc(at, time.Time.Compare)
	for i := 1; i < len(at); i++ {
		if d := at[i].Sub(at[i-1]); d < 2*time.Second {
			t.Errorf("writes %d and %d in us-east-1 %s apart, want ≥ 2s", i-1, i, d)
		}
	}
	other := w.writes.at[account("ap-southeast-2")]
	slices.SortFunc(other, time.Time.Compare)
	close := false
	for i := 1; i < len(other); i++ {
		close = close || other[i].Sub(other[i-1]) < time.Second
	}
	if !close {
		t.Errorf("ap-southeast-2's writes %v are spaced out too, though its account has no limit", other)
	}
}
