package canary_test

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// A canary release of version 2 of "checkout" on the in-memory provider,
// judged every minute against version 1, in virtual time: the 5-minute
// bake takes no wall time.
func ExampleRunner() {
	ctx := context.Background()
	clock := canary.NewVirtualClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	mem, err := memory.New(memory.Options{Now: clock.Now, Sleep: clock.Sleep, Seed: 1})
	if err != nil {
		panic(err)
	}
	for _, code := range []string{"v1", "v2"} {
		if _, err := mem.Publish(ctx, "checkout", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}}); err != nil {
			panic(err)
		}
	}
	if _, err := mem.SetRoute(ctx, "checkout", provider.To("prod", "1")); err != nil {
		panic(err)
	}
	mem.SetLoad("checkout", "prod", 50) // requests per second

	runner, err := canary.NewRunner(canary.RunnerOptions{
		Provider: mem,
		Metrics:  mem,
		Store:    &canary.MemoryStore{},
		Clock:    clock,
		OnEvent: func(e canary.ProgressEvent) {
			if e.From != e.Phase {
				fmt.Printf("%s %s → %s: %s\n", e.Time.Format("15:04"), e.From, e.Phase, e.Reason)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	strategy, err := canary.Preset("Canary10Percent5Minutes")
	if err != nil {
		panic(err)
	}
	strategy.Analysis.Checks = []canary.CheckSpec{{
		Name:  "error rate",
		Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.01},
	}}

	st, err := runner.Start(ctx, canary.Rollout{ID: "checkout-2", Function: "checkout", Alias: "prod", Candidate: "2", Strategy: strategy})
	if err != nil {
		fmt.Println("rollout failed:", err)
		return
	}
	route, _ := mem.Route(ctx, "checkout", "prod")
	fmt.Printf("%s: %d windows passed; prod sends %d bp to version 2\n", st.Phase, st.Checks[0].Passes, route.Share("2"))
	// Output:
	// 10:00 Pending → Shifting: shifting to step 0: 10% to 2
	// 10:00 Shifting → Baking: step 0 in place (10% to 2): baking for 5m0s
	// 10:05 Baking → Shifting: shifting to step 1: 100% to 2
	// 10:05 Shifting → Succeeded: all traffic of "prod" on version 2
	// Succeeded: 5 windows passed; prod sends 10000 bp to version 2
}
