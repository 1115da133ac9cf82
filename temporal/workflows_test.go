package temporal_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/temporal"
)

// unitEnv is a test workflow environment (timers skipped) with the
// workflows and the activities of w registered; the providers read the
// environment's clock.
func unitEnv(t *testing.T, p fleet.Plan, bad map[string]bool) (*testsuite.TestWorkflowEnvironment, *world) {
	env := newEnv()
	env.SetStartTime(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	w := newWorld(t, p.Targets, bad, env.Now, 0)
	temporal.Register(env, w.activities(t, clockFunc(env.Now)))
	return env, w
}

// quietSuite is a test suite whose SDK logger discards.
func quietSuite() *testsuite.WorkflowTestSuite {
	s := &testsuite.WorkflowTestSuite{}
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	return s
}

// newEnv is a test environment whose deadlock detector allows a workflow
// task 30 s of wall time (1 s by default), so a loaded CI machine does not
// fail a test that is not deadlocked.
func newEnv() *testsuite.TestWorkflowEnvironment {
	env := quietSuite().NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 30 * time.Second})
	return env
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) fleet.State {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var st fleet.State
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReleaseWorkflowCompletes: 12 targets in three waves, each a child
// workflow running the canary machine; every target ends on its
// candidate, its promotion journaled; the waves took their canaries'
// 5 minutes and their 10-minute bakes of workflow time.
func TestReleaseWorkflowCompletes(t *testing.T) {
	p := fleetPlan("unit-1", 12, 5*time.Minute, time.Minute, 10*time.Minute)
	env, w := unitEnv(t, p, nil)
	start := env.Now()
	env.ExecuteWorkflow(temporal.ReleaseWorkflowName, temporal.ReleaseInput{Plan: p})
	st := result(t, env)
	if st.Phase != fleet.PhaseSucceeded {
		t.Fatalf("phase %s: %s", st.Phase, st.Reason)
	}
	for _, tg := range p.Targets {
		if r := w.route(t, tg); !r.SameTraffic(provider.To("production", "2")) {
			t.Errorf("%s: route %v", tg.ID(), r.Weights)
		}
		if got := len(w.writes.of(tg.ID())); got != 2 {
			t.Errorf("%s: %d route writes, want 2 (10%%, 100%%)", tg.ID(), got)
		}
	}
	if d := env.Now().Sub(start); d < 3*15*time.Minute {
		t.Errorf("release took %s of workflow time, want ≥ 45m (3 × (5m canary + 10m bake))", d)
	}
}

// TestReleaseWorkflowFaultyGroup: a faulty target in wave 2 rolls its
// canary back, its group's targets that succeeded are reverted, the
// release ends Failed and wave 3 never starts.
func TestReleaseWorkflowFaultyGroup(t *testing.T) {
	p := fleetPlan("unit-2", 30, 5*time.Minute, time.Minute, 10*time.Minute)
	faulty := p.Targets[11] // group g03 (fn-09, fn-10, fn-11): fn-11 starts after the first 8 of wave 2
	env, w := unitEnv(t, p, map[string]bool{faulty.ID(): true})
	env.ExecuteWorkflow(temporal.ReleaseWorkflowName, temporal.ReleaseInput{Plan: p})
	st := result(t, env)
	if st.Phase != fleet.PhaseFailed {
		t.Fatalf("phase %s, want Failed", st.Phase)
	}
	if ph := st.Targets[11].Phase; ph != fleet.TargetRolledBack {
		t.Errorf("faulty target %s", ph)
	}
	for _, k := range []int{9, 10} {
		if ph := st.Targets[k].Phase; ph != fleet.TargetReverted {
			t.Errorf("group member %d %s, want Reverted", k, ph)
		}
		e, err := journal.LastRoute(t.Context(), w.journal, p.Targets[k].ID(), "production")
		if err != nil || e.Kind != journal.EntryRollback {
			t.Errorf("group member %d: last journaled change %v, %v", k, e.Kind, err)
		}
	}
	for k, tg := range p.Targets {
		r := w.route(t, tg)
		if len(r.Weights) != 1 {
			t.Errorf("%s left split: %v", tg.ID(), r.Weights)
		}
		switch {
		case tg.Group == "g03" && r.Primary() != "1":
			t.Errorf("%s of the failed group on %s", tg.ID(), r.Primary())
		case st.Targets[k].Wave == 0 && r.Primary() != "2":
			t.Errorf("wave 1's %s on %s, want 2 (ScopeGroup keeps it)", tg.ID(), r.Primary())
		case st.Targets[k].Wave == 2 && (st.Targets[k].Phase != fleet.TargetSkipped || len(w.writes.of(tg.ID())) > 0):
			t.Errorf("wave 3's %s is %s with writes %v", tg.ID(), st.Targets[k].Phase, w.writes.of(tg.ID()))
		}
	}
}

// TestReleaseWorkflowSignalsAndQuery: a wave gated by approval waits
// (the status query says so) until the approve signal; a pause holds the
// next wave until resume; an abort during wave 3 aborts its canaries
// (they roll back) and, with ScopeRelease, reverts every earlier target.
func TestReleaseWorkflowSignalsAndQuery(t *testing.T) {
	p := fleetPlan("unit-3", 12, 5*time.Minute, time.Minute, 10*time.Minute)
	p.Waves[1].Approval = true
	p.OnFailure = fleet.ScopeRelease
	env, w := unitEnv(t, p, nil)
	query := func() fleet.State {
		v, err := env.QueryWorkflow(temporal.QueryStatus)
		if err != nil {
			t.Fatal(err)
		}
		var st fleet.State
		if err := v.Get(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	var seen []fleet.Phase
	// Wave 1 ends at 15m (5m canary, 10m bake): wave 2 waits for approval.
	env.RegisterDelayedCallback(func() {
		seen = append(seen, query().Phase)
		env.SignalWorkflow(temporal.SignalApprove, "release manager")
	}, 2*time.Hour)
	// Pause during wave 2's canaries: wave 3 does not start until resumed.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(temporal.SignalPause, "") }, 2*time.Hour+time.Minute)
	env.RegisterDelayedCallback(func() {
		st := query()
		seen = append(seen, st.Phase)
		if st.Wave != 1 {
			t.Errorf("wave %d started while paused", st.Wave)
		}
		env.SignalWorkflow(temporal.SignalResume, "")
	}, 5*time.Hour)
	// Wave 3 starts right after the resume; abort it 2 minutes in.
	env.RegisterDelayedCallback(func() {
		seen = append(seen, query().Phase)
		env.SignalWorkflow(temporal.SignalAbort, "bad feeling")
	}, 5*time.Hour+2*time.Minute)
	env.ExecuteWorkflow(temporal.ReleaseWorkflowName, temporal.ReleaseInput{Plan: p})
	st := result(t, env)
	want := []fleet.Phase{fleet.PhaseAwaitingApproval, fleet.PhaseJudging, fleet.PhaseRunning}
	if len(seen) != 3 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Errorf("phases seen %v, want %v", seen, want)
	}
	if st.Phase != fleet.PhaseAborted {
		t.Fatalf("phase %s: %s", st.Phase, st.Reason)
	}
	for k, tg := range p.Targets {
		r := w.route(t, tg)
		if !r.SameTraffic(provider.To("production", "1")) {
			t.Errorf("%s (%s) on %v, want back on 1", tg.ID(), st.Targets[k].Phase, r.Weights)
		}
	}
	if c := st.Count(); c[fleet.TargetReverted] != 6 || c[fleet.TargetRolledBack] != 6 {
		t.Errorf("counts %v, want 6 reverted (waves 1, 2), 6 rolled back (wave 3)", c)
	}
}

// TestReleaseWorkflowContinuesAsNew: when the server suggests it, the
// release continues as new at the first point with nothing in flight
// (between waves), carrying its state; runs of the continued input, each
// in a fresh environment, finish the release. (The history-length bound,
// WorkflowOptions.ContinueAsNewAfter, and the targets' continue-as-new
// are shown against the real server: the test environment counts no
// history.)
func TestReleaseWorkflowContinuesAsNew(t *testing.T) {
	p := fleetPlan("unit-4", 9, 5*time.Minute, time.Minute, 10*time.Minute)
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var cur *testsuite.TestWorkflowEnvironment
	w := newWorld(t, p.Targets, nil, func() time.Time {
		if cur == nil {
			return start
		}
		return cur.Now()
	}, 0)
	in := temporal.ReleaseInput{Plan: p}
	var waves []int
	for runs := 1; ; runs++ {
		if runs > 20 {
			t.Fatal("no end after 20 runs")
		}
		cur = newEnv()
		cur.SetStartTime(start)
		temporal.Register(cur, w.activities(t, clockFunc(cur.Now)))
		cur.SetContinueAsNewSuggested(true)
		cur.ExecuteWorkflow(temporal.ReleaseWorkflowName, in)
		if !cur.IsWorkflowCompleted() {
			t.Fatal("not completed")
		}
		err := cur.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if !errors.As(err, &can) {
			if err != nil {
				t.Fatalf("run %d: %v", runs, err)
			}
			break
		}
		if can.WorkflowType.Name != temporal.ReleaseWorkflowName {
			t.Fatalf("continued as %s", can.WorkflowType.Name)
		}
		in = temporal.ReleaseInput{}
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
			t.Fatal(err)
		}
		if in.State == nil {
			t.Fatal("continued without a state")
		}
		waves = append(waves, in.State.Wave)
		start = cur.Now()
	}
	st := result(t, cur)
	if st.Phase != fleet.PhaseSucceeded {
		t.Fatalf("phase %s: %s", st.Phase, st.Reason)
	}
	if len(waves) < 2 {
		t.Errorf("continued as new %d times (at waves %v), want at every wave boundary", len(waves), waves)
	}
	for _, tg := range p.Targets {
		if r := w.route(t, tg); !r.SameTraffic(provider.To("production", "2")) {
			t.Errorf("%s: route %v", tg.ID(), r.Weights)
		}
		if got := len(w.writes.of(tg.ID())); got != 2 {
			t.Errorf("%s: %d route writes, want 2", tg.ID(), got)
		}
	}
}

// TestReleaseWorkflowChecksFirst: a plan naming an account the worker has
// no backend for fails the release before any target starts.
func TestReleaseWorkflowChecksFirst(t *testing.T) {
	p := fleetPlan("unit-5", 9, 5*time.Minute, time.Minute, 10*time.Minute)
	env, w := unitEnv(t, p, nil)
	p.Targets[7].Provider = "acct-nowhere"
	env.ExecuteWorkflow(temporal.ReleaseWorkflowName, temporal.ReleaseInput{Plan: p})
	if !env.IsWorkflowCompleted() {
		t.Fatal("not completed")
	}
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "acct-nowhere") {
		t.Fatalf("workflow error %v, want the unknown account", err)
	}
	for _, tg := range p.Targets {
		if ws := w.writes.of(tg.ID()); len(ws) > 0 {
			t.Errorf("%s written: %v", tg.ID(), ws)
		}
	}
}
