package release_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

// drillSetup gives staging a promotion history (v1 then v2, journaled as
// the workflow journals a promotion) and handlers for both versions.
func drillSetup(t *testing.T, pl *platform, failOld bool) (vs []string, j *journal.MemoryJournal) {
	t.Helper()
	ctx := context.Background()
	vs = pl.publish(t, 2)
	pl.route(t, provider.To("staging", vs[0]))
	before, err := pl.p.Route(ctx, e2eFn, "staging")
	if err != nil {
		t.Fatal(err)
	}
	pl.route(t, provider.To("staging", vs[1]))
	after, err := pl.p.Route(ctx, e2eFn, "staging")
	if err != nil {
		t.Fatal(err)
	}
	j = &journal.MemoryJournal{}
	if err := j.Append(ctx, journal.Entry{Time: pl.clock.Now(), Release: "r1", Kind: journal.EntryPromote, Function: e2eFn, Alias: "staging",
		Before: &before, After: &after, Candidate: vs[1], Stable: vs[0]}); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		pl.handler(t, v, func(context.Context, []byte) ([]byte, error) {
			if failOld && v == vs[0] {
				return nil, errors.New("old version cannot reach its database")
			}
			return []byte(`{"ok":true}`), nil
		})
	}
	return vs, j
}

func drillEntries(t *testing.T, j journal.Journal, id string) []string {
	t.Helper()
	var out []string
	for e, err := range j.Entries(context.Background(), journal.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Release == id {
			out = append(out, string(e.Kind)+":"+e.Outcome)
		}
	}
	return out
}

func stagingServes(t *testing.T, pl *platform) string {
	t.Helper()
	r, err := pl.p.Route(context.Background(), e2eFn, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Weights) != 1 {
		return routeString(r)
	}
	return r.Primary()
}

func routeString(r provider.Route) string { return fmt.Sprint(r.Weights) }

// Proof: a drill on staging journals both times and leaves the alias as it
// found it.
func TestDrill_JournalsTimesAndRestores(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			vs, j := drillSetup(t, pl, false)
			w := newE2EWorkflow(t, pl, j, nil)
			res, err := w.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "drill-1", Probe: []byte(`{"ping":true}`)})
			if err != nil {
				t.Fatal(err)
			}
			if res.From != vs[1] || res.To != vs[0] || res.Outcome != "passed" || res.Resumed {
				t.Errorf("result %+v", res)
			}
			if got := stagingServes(t, pl); got != vs[1] {
				t.Errorf("staging serves %s after the drill, want %s", got, vs[1])
			}
			want := []string{"decision:drill started", "rollback:", "decision:drill verified", "route:", "decision:drill finished"}
			if got := drillEntries(t, j, "drill-1"); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("journal %v, want %v", got, want)
			}
			last := lastEntry(t, j)
			if !strings.Contains(last.Reason, "rolled back from "+vs[1]+" to "+vs[0]+" in ") || !strings.Contains(last.Reason, "restored in ") {
				t.Errorf("finish entry %q does not carry both times", last.Reason)
			}
			// The journal's rollback answer is unchanged by the drill.
			if _, err := w.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "drill-1", Probe: []byte(`{}`)}); !errors.Is(err, release.ErrFinished) {
				t.Errorf("a finished drill again: %v", err)
			}
			if res2, err := w.Drill(context.Background(), release.DrillRequest{Function: e2eFn, Probe: []byte(`{}`)}); err != nil || res2.To != vs[0] {
				t.Errorf("a second drill: %+v %v", res2, err)
			}
		})
	}
}

func lastEntry(t *testing.T, j journal.Journal) journal.Entry {
	t.Helper()
	var last journal.Entry
	for e, err := range j.Entries(context.Background(), journal.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		last = e
	}
	return last
}

// A failed check stops the drill and restores the alias.
func TestDrill_FailedCheckRestores(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			vs, j := drillSetup(t, pl, true)
			w := newE2EWorkflow(t, pl, j, nil)
			res, err := w.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "drill-f", Probe: []byte(`{}`)})
			if !errors.Is(err, release.ErrDrillFailed) || res.Outcome != release.OutcomeFailed || !strings.Contains(res.Detail, "cannot reach its database") {
				t.Fatalf("Drill = %+v, %v", res, err)
			}
			if got := stagingServes(t, pl); got != vs[1] {
				t.Errorf("staging serves %s, want %s", got, vs[1])
			}
			want := "decision:drill started,rollback:,decision:drill check failed,route:,decision:drill finished"
			if got := strings.Join(drillEntries(t, j, "drill-f"), ","); got != want {
				t.Errorf("journal %s", got)
			}
		})
	}
}

// A drill never runs during a freeze.
func TestDrill_NeverInAFreeze(t *testing.T) {
	pl := memoryPlatform(t)
	_, j := drillSetup(t, pl, false)
	now := pl.clock.Now()
	w := newE2EWorkflow(t, pl, j, func(o *release.Options) {
		o.Policy = &release.DeployPolicy{Freezes: []release.Freeze{{Name: "black friday", Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}}
	})
	_, err := w.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "drill-z", Probe: []byte(`{}`)})
	var be *release.BlockedError
	if !errors.As(err, &be) || be.Freeze != "black friday" {
		t.Fatalf("Drill in a freeze = %v", err)
	}
	if got := drillEntries(t, j, "drill-z"); len(got) != 0 {
		t.Errorf("a blocked drill journaled %v", got)
	}
}

// dying is a provider whose process "dies" after its n-th SetRoute: every
// later write fails, as if nothing ran after that point.
type dying struct {
	provider.Provider
	inv  provider.Invoker
	n    int
	sets int
}

func (d *dying) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	d.sets++
	if d.sets > d.n {
		return provider.Route{}, errors.New("process killed")
	}
	return d.Provider.SetRoute(ctx, fn, r)
}

func (d *dying) Invoke(ctx context.Context, fn string, in provider.InvokeInput) (provider.InvokeOutput, error) {
	return d.inv.Invoke(ctx, fn, in)
}

// Proof: a drill killed mid-way (after the rollback, before the restore)
// is finished by another process, which leaves the alias as the drill found
// it and journals the end.
func TestDrill_KilledMidDrillIsResumed(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			vs, j := drillSetup(t, pl, false)
			killed := newE2EWorkflow(t, pl, j, func(o *release.Options) {
				o.Runner.Provider = &dying{Provider: pl.p, inv: pl.p.(provider.Invoker), n: 1}
				o.Runner.Retry = provider.RetryPolicy{MaxAttempts: 1}
			})
			_, err := killed.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "drill-k", Probe: []byte(`{}`)})
			if err == nil || !strings.Contains(err.Error(), "process killed") {
				t.Fatalf("the killed drill returned %v", err)
			}
			if got := stagingServes(t, pl); got != vs[0] {
				t.Fatalf("after the kill staging serves %s, want the rollback point %s", got, vs[0])
			}
			// A new process, same journal: it finds the drill unfinished.
			w := newE2EWorkflow(t, pl, j, nil)
			if open, err := w.UnfinishedDrills(context.Background(), e2eFn); err != nil || !slices.Equal(open, []string{"drill-k"}) {
				t.Fatalf("UnfinishedDrills = %q, %v; want [drill-k]", open, err)
			}
			res, err := w.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "drill-k", Probe: []byte(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Resumed || res.Outcome != "restored after a restart" {
				t.Errorf("resumed drill: %+v", res)
			}
			if got := stagingServes(t, pl); got != vs[1] {
				t.Errorf("staging serves %s after the resume, want %s", got, vs[1])
			}
			want := "decision:drill started,rollback:,decision:drill verified,route:,decision:drill finished"
			if got := strings.Join(drillEntries(t, j, "drill-k"), ","); got != want {
				t.Errorf("journal %s", got)
			}
			if _, err := w.ResumeDrill(context.Background(), e2eFn, "drill-k"); !errors.Is(err, release.ErrFinished) {
				t.Errorf("ResumeDrill of a finished drill: %v", err)
			}
			if open, err := w.UnfinishedDrills(context.Background(), e2eFn); err != nil || len(open) != 0 {
				t.Errorf("UnfinishedDrills after the resume = %q, %v; want none", open, err)
			}
			if _, err := w.UnfinishedDrills(context.Background(), ""); !errors.Is(err, provider.ErrInvalid) {
				t.Errorf("UnfinishedDrills of no function: %v, want ErrInvalid", err)
			}
		})
	}
}

// A drill verified by one window of checks on the memory provider's
// synthetic metrics: the time to roll back includes the window.
func TestDrill_OneWindowOfChecks(t *testing.T) {
	pl := memoryPlatform(t)
	vs, j := drillSetup(t, pl, false)
	mem := pl.p.(interface {
		SetLoad(fn, alias string, rps float64)
	})
	mem.SetLoad(e2eFn, "staging", 5)
	served := canary.CheckFunc(func(_ context.Context, w canary.MetricWindow) (canary.Measurement, error) {
		c, _ := w.Series()
		tot := c.Total()
		if tot.Invocations == 0 {
			return canary.Measurement{Verdict: canary.Inconclusive, Reason: "no invocations"}, nil
		}
		return canary.Measurement{Verdict: canary.Pass, Reason: fmt.Sprintf("%d invocations, %d errors", tot.Invocations, tot.Errors)}, nil
	})
	w := newE2EWorkflow(t, pl, j, func(o *release.Options) { o.Runner.Checks = map[string]canary.Check{"served": served} })
	res, err := w.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "drill-c", Checks: []string{"served"}, Window: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.TimeToRollback < 2*time.Minute || !strings.Contains(res.Detail, "check served passed") {
		t.Errorf("result %+v", res)
	}
	if got := stagingServes(t, pl); got != vs[1] {
		t.Errorf("staging serves %s", got)
	}
}

// A drill after two real releases: the journal's rollback point of staging
// is the first release's version.
func TestDrill_AfterRealReleases(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			j := &journal.MemoryJournal{}
			w := newE2EWorkflow(t, pl, j, nil)
			for _, code := range []string{"v1", "v2"} {
				if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, Publish: pubReq(code, semver.Minor), Strategy: allAtOnce()}); err != nil {
					t.Fatal(err)
				}
			}
			pl.handler(t, "1", orderHandler(false))
			res, err := w.Drill(context.Background(), release.DrillRequest{Function: e2eFn, Probe: []byte(`{"orderId":"drill"}`)})
			if err != nil || res.From != "2" || res.To != "1" {
				t.Fatalf("Drill: %+v %v", res, err)
			}
			if got := stagingServes(t, pl); got != "2" {
				t.Errorf("staging serves %s", got)
			}
			// Production's rollback answer is untouched by the drill of staging.
			rb, err := w.RollbackWith(context.Background(), release.RollbackRequest{Function: e2eFn})
			if err != nil || rb.Stable != "1" {
				t.Errorf("production rollback after the drill: %+v %v", rb.Stable, err)
			}
		})
	}
}

// A resumed drill leaves alone an alias someone else changed meanwhile.
func TestDrill_ResumeLeavesAnOutOfBandChangeAlone(t *testing.T) {
	pl := memoryPlatform(t)
	vs, j := drillSetup(t, pl, false)
	v3 := pl.publish(t, 1)[0]
	killed := newE2EWorkflow(t, pl, j, func(o *release.Options) {
		o.Runner.Provider = &dying{Provider: pl.p, inv: pl.p.(provider.Invoker), n: 1}
		o.Runner.Retry = provider.RetryPolicy{MaxAttempts: 1}
	})
	if _, err := killed.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "d", Probe: []byte(`{}`)}); err == nil {
		t.Fatal("the killed drill succeeded")
	}
	pl.route(t, provider.To("staging", v3)) // an operator moved staging
	_, err := newE2EWorkflow(t, pl, j, nil).ResumeDrill(context.Background(), e2eFn, "d")
	if !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("ResumeDrill: %v", err)
	}
	if got := stagingServes(t, pl); got != v3 {
		t.Errorf("staging serves %s, want the operator's %s (not the drill's %s)", got, v3, vs[1])
	}
}
