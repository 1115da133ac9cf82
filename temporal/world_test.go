package temporal_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/temporal"
)

var regions = []string{"eu-west-1", "us-east-1", "ap-southeast-2"}

// world is a fleet on memory providers, one per region's account, every
// function with version 1 on production and version 2 published; it
// records every route write that landed.
type world struct {
	mems     map[string]*memory.Provider
	backends map[string]fleet.Backend
	journal  *journal.MemoryJournal
	writes   *writeLog
}

type writeLog struct {
	mu     sync.Mutex
	routes map[string][]provider.Route
	n      int
	// after, when set, is called after each landed write with the count
	// of writes so far and the call's context.
	after func(ctx context.Context, n int) error
}

func (w *writeLog) add(id string, r provider.Route) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.routes[id] = append(w.routes[id], r.Clone())
	w.n++
	return w.n
}

func (w *writeLog) of(id string) []provider.Route {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]provider.Route(nil), w.routes[id]...)
}

type recording struct {
	provider.Provider
	account, region string
	log             *writeLog
}

func (r recording) SetRoute(ctx context.Context, fn string, rt provider.Route) (provider.Route, error) {
	got, err := r.Provider.SetRoute(ctx, fn, rt)
	if err == nil {
		n := r.log.add(fleet.Target{Function: fn, Region: r.region, Provider: r.account}.ID(), got)
		if r.log.after != nil {
			if err := r.log.after(ctx, n); err != nil {
				return provider.Route{}, err
			}
		}
	}
	return got, err
}

func account(region string) string { return "acct-" + region }

// newWorld builds the fleet; now is the providers' clock (nil: real).
func newWorld(t testing.TB, targets []fleet.Target, bad map[string]bool, now func() time.Time, res time.Duration) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{mems: map[string]*memory.Provider{}, backends: map[string]fleet.Backend{},
		journal: &journal.MemoryJournal{}, writes: &writeLog{routes: map[string][]provider.Route{}}}
	for _, tg := range targets {
		mem := w.mems[tg.Provider]
		if mem == nil {
			var err error
			mem, err = memory.New(memory.Options{Now: now, Seed: 7, Resolution: res})
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
		mem.SetLoad(tg.Function, "production", 2000)
		mem.SetBehavior(tg.Function, "1", memory.Behavior{ErrorRate: 0.001})
		b := memory.Behavior{ErrorRate: 0.001}
		if bad[tg.ID()] {
			b.ErrorRate = 0.4
		}
		mem.SetBehavior(tg.Function, "2", b)
	}
	return w
}

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
		"error rate":  canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.05},
		"bake errors": canary.Threshold{Metric: canary.ErrorRate, Max: 0.05},
	}
}

func (w *world) activities(t testing.TB, clock canary.Clock) *temporal.Activities {
	t.Helper()
	ops, err := fleet.NewOps(fleet.OpsOptions{Backends: w.backends, Journal: w.journal, Checks: checks(), Clock: clock, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &temporal.Activities{Ops: ops}
}

// fleetPlan is n targets over three regions in groups of three, candidate
// 2, in three waves: eu-west-1 (3 targets), half, the rest. step is the
// canary's 10% bake, interval its analysis interval, bake each wave's.
func fleetPlan(id string, n int, step, interval, bake time.Duration) fleet.Plan {
	p := fleet.Plan{
		ID: id,
		Strategy: canary.Strategy{Steps: []canary.Step{{Weight: 1000, Bake: step}}, Interval: interval,
			Analysis: canary.Analysis{Checks: []canary.CheckSpec{{Name: "error rate"}}}},
		Waves: []fleet.Wave{
			{Name: "canary", Regions: []string{"eu-west-1"}, Bake: bake},
			{Name: "half", Percent: 50, Bake: bake, MaxParallel: 8},
			{Name: "rest", Bake: bake},
		},
		BakeChecks: []string{"bake errors"},
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

// clockFunc is a canary.Clock reading now (Sleep is never needed by the
// activities these tests run).
type clockFunc func() time.Time

func (c clockFunc) Now() time.Time { return c() }

func (c clockFunc) Sleep(ctx context.Context, d time.Duration) error { return provider.Sleep(ctx, d) }

func fmtInt(k int) string { return fmt.Sprint(k) }
