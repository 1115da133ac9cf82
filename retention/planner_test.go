package retention_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/retention"
)

func TestPlannerPlan(t *testing.T) {
	p := newMemory(t, memory.Options{PageSize: 7}) // listing takes several pages
	publishN(t, p, "b", 20)
	publishN(t, p, "a", 3)
	setRoute(t, p, "b", "live", "15", 10000)
	p.SetUsage("b", []provider.Usage{{Version: "4", Reason: "provisioned concurrency 2"}})
	rec := &recorder{p: p}
	pl, err := retention.Planner{Limiter: unlimited()}.Plan(context.Background(), rec, []string{"b", "missing", "a", "b"},
		retention.Policy{KeepLast: 2}, t0)
	if !errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "retention: plan missing") {
		t.Errorf("Plan error = %v, want the missing function's ErrNotFound", err)
	}
	var names []string
	for _, f := range pl.Functions {
		names = append(names, f.Function)
	}
	if diff := cmp.Diff([]string{"a", "b", "missing"}, names); diff != "" {
		t.Errorf("functions (-want +got), want name order, each once:\n%s", diff)
	}
	if f := pl.Functions[2]; f.Error == "" || len(f.Versions) != 0 || len(f.Deletions()) != 0 {
		t.Errorf("missing function planned as %+v, want an error and nothing deleted", f)
	}
	b := pl.Functions[1]
	if len(b.Versions) != 20 {
		t.Fatalf("b has %d decisions, want 20", len(b.Versions))
	}
	wantKept := []string{"4", "15", "19", "20"}
	if diff := cmp.Diff(wantKept, kept(pl)["b"]); diff != "" {
		t.Errorf("b keeps (-want +got):\n%s", diff)
	}
	if r := b.Versions[3].Reasons; len(r) != 1 || r[0].Rule != retention.RuleUsage {
		t.Errorf("b version 4 reasons %+v, want usage", r)
	}
	if err := pl.Validate(); err != nil {
		t.Errorf("plan does not validate: %v", err)
	}

	// A provider that cannot report usage: the plan says so.
	pl, err = retention.Planner{Limiter: unlimited()}.Plan(context.Background(), &recorder{p: p, hideUsage: true}, []string{"a"},
		retention.Policy{KeepLast: 2}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"usage not checked: the provider cannot report versions in use outside routes"}, pl.Functions[0].Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// TestInvalidInputBeforeAnyCall: bad policies, plans and options fail with
// ErrInvalid, and the provider sees no call at all.
func TestInvalidInputBeforeAnyCall(t *testing.T) {
	p := newMemory(t, memory.Options{})
	publishN(t, p, "f", 5)
	good := plan(t, p, retention.Policy{KeepLast: 1}, "f")
	ctx := context.Background()

	plans := []struct {
		name    string
		planner retention.Planner
		fns     []string
		pol     retention.Policy
	}{
		{"negative keepLast", retention.Planner{}, []string{"f"}, retention.Policy{KeepLast: -1}},
		{"negative keepWithin", retention.Planner{}, []string{"f"}, retention.Policy{KeepWithin: -time.Hour}},
		{"negative keepRollbackPoints", retention.Planner{}, []string{"f"}, retention.Policy{KeepLast: 1, KeepRollbackPoints: -1}},
		{"empty policy without opt-in", retention.Planner{}, []string{"f"}, retention.Policy{}},
		{"pins only, without opt-in", retention.Planner{}, []string{"f"}, retention.Policy{Pinned: map[string][]string{"f": {"1"}}}},
		{"malformed range", retention.Planner{}, []string{"f"}, retention.Policy{KeepLabels: []retention.LabelRule{{Range: "^1.2.x.y"}}}},
		{"unknown latest grouping", retention.Planner{}, []string{"f"}, retention.Policy{KeepLabels: []retention.LabelRule{{Latest: "minors"}}}},
		{"empty function name", retention.Planner{}, []string{"f", ""}, retention.Policy{KeepLast: 1}},
		{"negative concurrency", retention.Planner{Concurrency: -1}, []string{"f"}, retention.Policy{KeepLast: 1}},
		{"negative rate", retention.Planner{Rate: -1}, []string{"f"}, retention.Policy{KeepLast: 1}},
		{"negative burst", retention.Planner{Burst: -1}, []string{"f"}, retention.Policy{KeepLast: 1}},
		{"limiter that never grants", retention.Planner{Limiter: rate.NewLimiter(1, 0)}, []string{"f"}, retention.Policy{KeepLast: 1}},
	}
	for _, tt := range plans {
		t.Run("plan/"+tt.name, func(t *testing.T) {
			rec := &recorder{p: p}
			_, err := tt.planner.Plan(ctx, rec, tt.fns, tt.pol, t0)
			if !errors.Is(err, provider.ErrInvalid) {
				t.Errorf("Plan = %v, want ErrInvalid", err)
			}
			if n := rec.count(""); n != 0 {
				t.Errorf("%d provider calls before the error, want none", n)
			}
		})
	}

	tamper := func(edit func(*retention.Plan)) retention.Plan {
		pl := plan(t, p, retention.Policy{KeepLast: 1}, "f")
		edit(&pl)
		return pl
	}
	applies := []struct {
		name string
		plan retention.Plan
		opts retention.ApplyOptions
	}{
		{"plan deletes the newest", tamper(func(pl *retention.Plan) { pl.Functions[0].Versions[4].Action = retention.Delete }), retention.ApplyOptions{}},
		{"plan deletes a pinned version", tamper(func(pl *retention.Plan) {
			pl.Policy.Pinned = map[string][]string{"f": {"2"}}
		}), retention.ApplyOptions{}},
		{"negative concurrency", good, retention.ApplyOptions{Concurrency: -2}},
		{"negative grace", good, retention.ApplyOptions{Grace: -time.Second}},
		{"NaN rate", good, retention.ApplyOptions{Rate: nanRate()}},
		{"negative burst", good, retention.ApplyOptions{Burst: -1}},
	}
	for _, tt := range applies {
		t.Run("apply/"+tt.name, func(t *testing.T) {
			rec := &recorder{p: p}
			_, err := retention.Apply(ctx, rec, tt.plan, tt.opts)
			if !errors.Is(err, provider.ErrInvalid) {
				t.Errorf("Apply = %v, want ErrInvalid", err)
			}
			if n := rec.count(""); n != 0 {
				t.Errorf("%d provider calls before the error, want none", n)
			}
		})
	}

	t.Run("apply/platform cannot delete versions", func(t *testing.T) {
		ro := newMemory(t, memory.Options{Capabilities: &provider.Capabilities{MaxRouteVersions: 2}})
		publishN(t, ro, "f", 5)
		rec := &recorder{p: ro}
		_, err := retention.Apply(ctx, rec, good, retention.ApplyOptions{})
		if !errors.Is(err, provider.ErrUnsupported) {
			t.Errorf("Apply = %v, want ErrUnsupported", err)
		}
		if n := rec.count(""); n != 0 {
			t.Errorf("%d provider calls, want none", n)
		}
	})
}

func nanRate() float64 {
	zero := 0.0
	return zero / zero
}

// TestPlannerRetriesThrottledReads: throttled reads are retried after the
// platform's hint, and the plan comes out whole.
func TestPlannerRetriesThrottledReads(t *testing.T) {
	p := newMemory(t, memory.Options{Seed: 3, PageSize: 4})
	publishN(t, p, "f", 10)
	publishN(t, p, "g", 3)
	p.Inject(memory.Fault{Ops: []string{memory.OpVersions, memory.OpRoutes, memory.OpUsage}, Rate: 0.3,
		Err: &provider.ThrottleError{RetryAfter: time.Second}})
	clk := &stepClock{now: t0}
	pl, err := retention.Planner{Clock: clk, Concurrency: 1, Limiter: unlimited(), Retry: provider.RetryPolicy{MaxAttempts: 20}}.
		Plan(context.Background(), p, []string{"f", "g"}, retention.Policy{KeepLast: 2}, t0)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if n := len(clk.slept()); n == 0 {
		t.Error("no retry waited: the faults did not fire")
	}
	for _, d := range clk.slept() {
		if d < time.Second {
			t.Errorf("a retry waited %s, under the 1s hint", d)
		}
	}
	want := map[string][]string{"f": {"9", "10"}, "g": {"2", "3"}}
	if diff := cmp.Diff(want, kept(pl)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}
