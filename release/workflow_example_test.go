package release_test

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

// A release of "checkout" on the in-memory provider in virtual time: the
// first release creates the aliases; the second is published as the next
// minor version, staged, tested, shifted 10% for five minutes while its
// error rate is compared with the stable version's, and promoted.
func ExampleWorkflow_Release() {
	ctx := context.Background()
	clock := canary.NewVirtualClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	mem, err := memory.New(memory.Options{Now: clock.Now, Sleep: clock.Sleep, Seed: 1})
	if err != nil {
		panic(err)
	}
	mem.SetLoad("checkout", "production", 50)

	strategy := canary.Canary(1000, 5*time.Minute)
	strategy.Analysis.Checks = []canary.CheckSpec{{
		Name:  "error rate",
		Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.01},
	}}
	w, err := release.New(release.Options{
		Runner: canary.RunnerOptions{Provider: mem, Metrics: mem, Clock: clock},
		Actor:  "ci", Strategy: strategy,
		OnEvent: func(e release.Event) {
			switch e.Kind {
			case release.EventWeightSet, release.EventTestsPassed, release.EventPromoted:
				fmt.Printf("%s %-10s %s%s\n", e.Time.Format("15:04"), e.Alias, e.Kind, percentOf(e))
			}
		},
	})
	if err != nil {
		panic(err)
	}
	minor := semver.Minor
	for _, code := range []string{"v1", "v2"} {
		var res release.Result
		clock.Run(func() {
			res, err = w.Release(ctx, release.Request{
				Function: "checkout",
				Publish:  release.PublishRequest{Artifact: provider.Artifact{Zip: []byte(code)}, Level: &minor},
				Test:     func(context.Context, release.Target) error { return nil },
			})
		})
		if err != nil {
			fmt.Println("release failed:", err)
			return
		}
		fmt.Printf("== %s: v%s %s\n", res.Release, res.Semver, res.Outcome)
	}
	// Output:
	// 10:00 staging    weight set 100%
	// 10:00 staging    tests passed
	// 10:00 production weight set 100%
	// 10:00 production promoted
	// == checkout-v0.1.0-20260304T100000Z: v0.1.0 promoted
	// 10:00 staging    weight set 100%
	// 10:00 staging    tests passed
	// 10:00 production weight set 10%
	// 10:05 production weight set 100%
	// 10:05 production promoted
	// == checkout-v0.2.0-20260304T100000Z: v0.2.0 promoted
}

func percentOf(e release.Event) string {
	if e.Kind != release.EventWeightSet {
		return ""
	}
	return fmt.Sprintf(" %d%%", e.Weight/100)
}

// Rolling production back after the process that released it has gone:
// the journal (a FileJournal in CI) remembers the version production
// served before its latest promotion.
func ExampleWorkflow_Rollback() {
	ctx := context.Background()
	clock := canary.NewVirtualClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	mem, err := memory.New(memory.Options{Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		panic(err)
	}
	journal := &journal.MemoryJournal{}
	all := canary.AllAtOnce()
	opts := release.Options{Runner: canary.RunnerOptions{Provider: mem, Clock: clock}, Journal: journal, Strategy: all, Actor: "ci"}
	w, err := release.New(opts)
	if err != nil {
		panic(err)
	}
	patch := semver.Patch
	for _, code := range []string{"v1", "v2"} {
		if _, err := w.Release(ctx, release.Request{Function: "checkout",
			Publish: release.PublishRequest{Artifact: provider.Artifact{Zip: []byte(code)}, Level: &patch}}); err != nil {
			panic(err)
		}
	}

	// Later, another process with the same journal:
	opts.Actor = "alice"
	w2, err := release.New(opts)
	if err != nil {
		panic(err)
	}
	res, err := w2.Rollback(ctx, "checkout", "production")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: production back on version %s, away from %s\n", res.Outcome, res.Stable, res.Candidate)
	res, err = w2.Rollback(ctx, "checkout", "production")
	fmt.Println("again:", res.Outcome, err)
	// Output:
	// rolled back: production back on version 1, away from 2
	// again: unchanged <nil>
}
