package temporal_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/temporal"
)

// The tests in this file run the real Temporal server in-process
// (temporaltest: SQLite in memory, no network beyond loopback) with real
// time: canaries of 10% for 3 s judged every second, bakes of 3 s.

const queue = "slipway-test"

var quiet = log.NewStructuredLogger(slog.New(slog.DiscardHandler))

func newServer(t *testing.T) *temporaltest.TestServer {
	t.Helper()
	if testing.Short() {
		t.Skip("real Temporal server")
	}
	return temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseClientOptions(client.Options{Logger: quiet}))
}

// serverOptions: activity attempts bounded by 10 s, retried after 200 ms.
var serverOptions = temporal.WorkflowOptions{ActivityTimeout: 10 * time.Second, RetryInterval: 200 * time.Millisecond}

func startWorker(t *testing.T, ts *temporaltest.TestServer, w *world) worker.Worker {
	t.Helper()
	return ts.NewWorkerWithOptions(queue, func(r worker.Registry) {
		temporal.Register(r, w.activities(t, canary.RealClock()))
	}, worker.Options{WorkerStopTimeout: time.Second, DeadlockDetectionTimeout: 30 * time.Second})
}

func realPlan(id string, n int) fleet.Plan {
	return fleetPlan(id, n, 3*time.Second, time.Second, 3*time.Second)
}

func runRelease(t *testing.T, c client.Client, p fleet.Plan, o temporal.WorkflowOptions) (fleet.State, client.WorkflowRun, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	run, err := temporal.Start(ctx, c, queue, p, o)
	if err != nil {
		t.Fatal(err)
	}
	st, err := temporal.Wait(ctx, run)
	return st, run, err
}

// history fetches a run's whole history.
func history(t *testing.T, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(t.Context(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// TestServerFleetInThreeWaves: 60 functions in three regions on the
// memory provider, three waves, on the real server: the release
// completes, every function sends all traffic to its candidate after
// exactly two route writes (10%, 100%), and the histories of the release
// and of every target replay deterministically — while a workflow that
// decides otherwise does not replay them.
func TestServerFleetInThreeWaves(t *testing.T) {
	ts := newServer(t)
	p := realPlan("srv-60", 60)
	w := newWorld(t, p.Targets, nil, nil, time.Second)
	startWorker(t, ts, w)
	c := ts.GetDefaultClient()
	st, run, err := runRelease(t, c, p, serverOptions)
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if got := st.Count()[fleet.TargetSucceeded]; got != 60 {
		t.Errorf("%d targets succeeded", got)
	}
	for _, tg := range p.Targets {
		if r := w.route(t, tg); !r.SameTraffic(provider.To("production", "2")) {
			t.Errorf("%s: route %v", tg.ID(), r.Weights)
		}
		if ws := w.writes.of(tg.ID()); len(ws) != 2 || ws[0].Share("2") != 1000 || ws[1].Share("2") != provider.AllTraffic {
			t.Errorf("%s: writes %v, want 10%% then 100%%", tg.ID(), ws)
		}
	}

	replayer := worker.NewWorkflowReplayer()
	temporal.Register(replayer, nil)
	hists := []*historypb.History{history(t, c, run.GetID(), run.GetRunID())}
	for k := range p.Targets {
		hists = append(hists, history(t, c, run.GetID()+"."+itoa(k), ""))
	}
	for i, h := range hists {
		if err := replayer.ReplayWorkflowHistory(quiet, h); err != nil {
			t.Errorf("history %d does not replay: %v", i, err)
		}
	}
	// The replayer does check: a release workflow that decides otherwise
	// (it starts no child) fails on the recorded history.
	other := worker.NewWorkflowReplayer()
	other.RegisterWorkflowWithOptions(func(ctx workflow.Context, in temporal.ReleaseInput) (fleet.State, error) {
		return fleet.State{}, workflow.Sleep(ctx, time.Hour)
	}, workflow.RegisterOptions{Name: temporal.ReleaseWorkflowName})
	if err := other.ReplayWorkflowHistory(quiet, hists[0]); err == nil {
		t.Error("a different workflow replayed the release's history")
	}
}

func itoa(k int) string { return fmtInt(k) }

// TestServerFaultyTargetInWaveTwo: a faulty function in wave 2 fails its
// canary; its group goes back (the members that succeeded reverted, from
// the journal), the release ends Failed and wave 3 is never touched.
func TestServerFaultyTargetInWaveTwo(t *testing.T) {
	ts := newServer(t)
	p := realPlan("srv-bad", 30)
	faulty := p.Targets[11]
	w := newWorld(t, p.Targets, map[string]bool{faulty.ID(): true}, nil, time.Second)
	startWorker(t, ts, w)
	st, _, err := runRelease(t, ts.GetDefaultClient(), p, serverOptions)
	if !errors.Is(err, fleet.ErrFailed) {
		t.Fatalf("release error %v, want ErrFailed", err)
	}
	if st.Targets[11].Phase != fleet.TargetRolledBack {
		t.Errorf("faulty target %s", st.Targets[11].Phase)
	}
	for _, k := range []int{9, 10} {
		if ph := st.Targets[k].Phase; ph != fleet.TargetReverted {
			t.Errorf("group member %d %s, want Reverted", k, ph)
		}
	}
	for k, tg := range p.Targets {
		r := w.route(t, tg)
		if len(r.Weights) != 1 {
			t.Errorf("%s left split: %v", tg.ID(), r.Weights)
		}
		if tg.Group == "g03" && r.Primary() != "1" {
			t.Errorf("%s of the failed group on %s", tg.ID(), r.Primary())
		}
		if st.Targets[k].Wave == 2 && len(w.writes.of(tg.ID())) > 0 {
			t.Errorf("wave 3's %s was written", tg.ID())
		}
	}
}

// TestServerWorkerKilledMidWave: the worker dies in wave 2 right after a
// route write landed and before it reported it; a new worker takes over.
// The retried write reads the route, finds its traffic in place and does
// not write again: every function ends on its candidate after exactly two
// writes, none left split.
func TestServerWorkerKilledMidWave(t *testing.T) {
	ts := newServer(t)
	p := realPlan("srv-kill", 24)
	w := newWorld(t, p.Targets, nil, nil, time.Second)
	landed := make(chan struct{})
	var once sync.Once
	// Wave 1 writes 6 routes; the 9th write is in wave 2.
	w.writes.after = func(ctx context.Context, n int) error {
		if n != 9 {
			return nil
		}
		once.Do(func() { close(landed) })
		<-activity.GetWorkerStopChannel(ctx)
		return errors.New("worker killed after the write landed")
	}
	w1 := startWorker(t, ts, w)
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	run, err := temporal.Start(ctx, c, queue, p, serverOptions)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-landed:
	case <-ctx.Done():
		t.Fatal("the 9th write never landed")
	}
	mid, err := temporal.Status(ctx, c, p)
	if err != nil {
		t.Fatal(err)
	}
	w1.Stop()
	w.writes.after = nil
	startWorker(t, ts, w)
	st, err := temporal.Wait(ctx, run)
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if mid.Wave != 1 || mid.Phase != fleet.PhaseRunning {
		t.Errorf("killed in wave %d phase %s, want wave 2 running", mid.Wave+1, mid.Phase)
	}
	if got := st.Count()[fleet.TargetSucceeded]; got != 24 {
		t.Errorf("%d targets succeeded, want 24", got)
	}
	for _, tg := range p.Targets {
		r := w.route(t, tg)
		if len(r.Weights) != 1 || r.Primary() != "2" {
			t.Errorf("%s: route %v, want all on 2", tg.ID(), r.Weights)
		}
		if ws := w.writes.of(tg.ID()); len(ws) != 2 {
			t.Errorf("%s: %d route writes %v, want 2 (no duplicate)", tg.ID(), len(ws), ws)
		}
	}
}

// TestServerContinueAsNew: with a history bound of one event, the
// release continues as new between waves and every target while it
// waits; the chain of runs finishes the release with two writes per
// function.
func TestServerContinueAsNew(t *testing.T) {
	ts := newServer(t)
	p := realPlan("srv-can", 9)
	w := newWorld(t, p.Targets, nil, nil, time.Second)
	startWorker(t, ts, w)
	c := ts.GetDefaultClient()
	o := serverOptions
	o.ContinueAsNewAfter = 1
	st, run, err := runRelease(t, c, p, o)
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if st.Phase != fleet.PhaseSucceeded {
		t.Fatalf("phase %s", st.Phase)
	}
	for _, id := range []string{run.GetID(), run.GetID() + ".0"} {
		first := firstRun(t, c, id)
		d, err := c.DescribeWorkflowExecution(t.Context(), id, first)
		if err != nil {
			t.Fatal(err)
		}
		if s := d.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			t.Errorf("%s: first run %s, want continued as new", id, s)
		}
	}
	for _, tg := range p.Targets {
		if ws := w.writes.of(tg.ID()); len(ws) != 2 || w.route(t, tg).Primary() != "2" {
			t.Errorf("%s: writes %v", tg.ID(), ws)
		}
	}
}

// firstRun returns the run ID of the first run of a workflow ID.
func firstRun(t *testing.T, c client.Client, id string) string {
	t.Helper()
	d, err := c.DescribeWorkflowExecution(t.Context(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	return d.WorkflowExecutionInfo.GetFirstRunId()
}
