package canary

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// BenchmarkRunnerConcurrentRollouts runs 1,000 rollouts at once, one per
// function, on one memory provider and one virtual clock: each is
// Canary10Percent5Minutes judged every minute by the relative error check
// (5 windows, 2 route writes, 30 polls of the store per step); both
// versions are error-free, so every rollout succeeds. One
// iteration is the whole fleet; set-up (publishing 2,000 versions) is not
// timed.
//
// Reported: ns/rollout, ns/transition and ns/window (time of the whole
// runner stack: machine, store, provider, metrics, checks, clock, divided
// by the rollouts, by the machine transitions they recorded, and by the
// analysis windows they judged), B/rollout and
// allocs/rollout (allocated during the run), and state-B/rollout (the
// size of one finished rollout's stored state).
func BenchmarkRunnerConcurrentRollouts(b *testing.B) {
	const fleet = 1000
	ctx := context.Background()
	s := analysed(Canary(1000, 5*time.Minute))
	var transitions, windows, stateBytes int
	var allocBytes, allocs uint64
	var before, after runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		clk := NewVirtualClock(runEpoch)
		mem, err := memory.New(memory.Options{Now: clk.Now, Sleep: clk.Sleep, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		for i := range fleet {
			fn := fmt.Sprintf("fn-%d", i)
			for _, code := range []string{"v1", "v2"} {
				if _, err := mem.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := mem.SetRoute(ctx, fn, provider.To("prod", "1")); err != nil {
				b.Fatal(err)
			}
			mem.SetLoad(fn, "prod", 100)
			mem.SetBehavior(fn, "1", memory.Behavior{})
			mem.SetBehavior(fn, "2", memory.Behavior{})
		}
		store := &MemoryStore{}
		r, err := NewRunner(RunnerOptions{Provider: mem, Metrics: mem, Store: store, Clock: clk})
		if err != nil {
			b.Fatal(err)
		}
		runs := make([]func(), fleet)
		results := make([]State, fleet)
		errs := make([]error, fleet)
		for i := range fleet {
			runs[i] = func() {
				results[i], errs[i] = r.Start(ctx, Rollout{ID: fmt.Sprintf("r-%d", i), Function: fmt.Sprintf("fn-%d", i),
					Alias: "prod", Candidate: "2", Strategy: s})
			}
		}
		runtime.ReadMemStats(&before)
		b.StartTimer()
		clk.Run(runs...)
		b.StopTimer()
		runtime.ReadMemStats(&after)
		allocBytes += after.TotalAlloc - before.TotalAlloc
		allocs += after.Mallocs - before.Mallocs
		transitions, windows = 0, 0
		for i := range fleet {
			if errs[i] != nil || results[i].Phase != PhaseSucceeded {
				b.Fatalf("rollout %d: %s, %v: %s", i, results[i].Phase, errs[i], rollbackReason(results[i]))
			}
			transitions += len(results[i].History)
			windows += results[i].Checks[0].Passes
		}
		doc, err := json.Marshal(results[0])
		if err != nil {
			b.Fatal(err)
		}
		stateBytes = len(doc)
		b.StartTimer()
	}
	perIter := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perIter/fleet, "ns/rollout")
	b.ReportMetric(perIter/float64(transitions), "ns/transition")
	b.ReportMetric(perIter/float64(windows), "ns/window")
	b.ReportMetric(float64(allocBytes)/float64(b.N)/fleet, "B/rollout")
	b.ReportMetric(float64(allocs)/float64(b.N)/fleet, "allocs/rollout")
	b.ReportMetric(float64(stateBytes), "state-B/rollout")
}
