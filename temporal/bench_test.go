package temporal_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/temporal"
)

// overheadPlan is n targets released all at once in one wave with no bake
// and no checks: what is left per target is the orchestration (Temporal:
// a child workflow, the Prepare, SetRoute, Record and Judge activities
// and the parent's events) around one route read, one write and one
// journal entry.
func overheadPlan(id string, n int) fleet.Plan {
	p := fleetPlan(id, n, 0, 0, 0)
	p.Strategy = canary.AllAtOnce()
	p.Waves = []fleet.Wave{{Name: "all"}}
	p.BakeChecks = nil
	return p
}

// BenchmarkTemporalOverhead releases 100 targets per iteration through the
// real in-process server and one worker, and the same plan through the
// in-process executor; ns/target is the Temporal path's wall time per
// target, inproc-ns/target the in-process executor's, and
// overhead-ns/target the difference.
func BenchmarkTemporalOverhead(b *testing.B) {
	const n = 100
	ts := temporaltest.NewServer(temporaltest.WithBaseClientOptions(client.Options{Logger: quiet}))
	defer ts.Stop()
	c := ts.GetDefaultClient()
	var inproc time.Duration
	var worker1 worker.Worker
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		p := overheadPlan(fmt.Sprintf("bench-%d", i), n)
		w := newWorld(b, p.Targets, nil, nil, time.Second)
		if worker1 != nil {
			worker1.Stop()
		}
		worker1 = ts.NewWorker(queue, func(r worker.Registry) { temporal.Register(r, w.activities(b, canary.RealClock())) })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		b.StartTimer()
		run, err := temporal.Start(ctx, c, queue, p, temporal.WorkflowOptions{})
		if err == nil {
			_, err = temporal.Wait(ctx, run)
		}
		b.StopTimer()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		// The same plan in-process, on a fresh world.
		p.ID = fmt.Sprintf("inproc-%d", i)
		w2 := newWorld(b, p.Targets, nil, nil, time.Second)
		ex, err := fleet.NewExecutor(fleet.Options{Backends: w2.backends, Journal: w2.journal, Checks: checks()})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := ex.Run(context.Background(), p); err != nil {
			b.Fatal(err)
		}
		inproc += time.Since(t0)
		b.StartTimer()
	}
	if worker1 != nil {
		worker1.Stop()
	}
	targets := float64(b.N * n)
	tns := float64(b.Elapsed().Nanoseconds()) / targets
	ins := float64(inproc.Nanoseconds()) / targets
	b.ReportMetric(tns, "ns/target")
	b.ReportMetric(ins, "inproc-ns/target")
	b.ReportMetric(tns-ins, "overhead-ns/target")
}
