package retention_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/retention"
)

// A dry run is the plan printed for a person: every version, what happens
// to it and why. Decide plans one function from what was read of it, with
// no provider and no clock.
func ExampleDecide() {
	day := 24 * time.Hour
	start := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	semvers := []string{"1.0.0", "1.0.1", "1.1.0", "1.1.1", "1.2.0", "1.2.1", "1.3.0"}
	var vs []provider.Version
	for i, s := range semvers {
		vs = append(vs, provider.Version{
			ID:      fmt.Sprint(i + 1),
			Created: start.Add(time.Duration(i) * 3 * day),
			Labels:  map[string]string{provider.LabelSemver: s},
		})
	}
	snap := retention.Snapshot{
		Function: "orders",
		Versions: vs,
		Routes: []provider.Route{{Alias: "live", Weights: []provider.Weight{
			{Version: "6", BasisPoints: 9000}, {Version: "7", BasisPoints: 1000}, // a 10% canary of 1.3.0
		}}},
		Usage: []provider.Usage{{Version: "2", Reason: "provisioned concurrency 5"}},
	}
	pol := retention.Policy{
		KeepLast:           2,
		KeepWithin:         7 * day,
		KeepLabels:         []retention.LabelRule{{Range: ">=1.1.0", Latest: retention.LatestOfMinor}},
		RollbackPoints:     map[string]retention.RouteHistory{"orders": {"live": {"5", "4"}}},
		KeepRollbackPoints: 1,
	}
	now := start.Add(20 * day)
	plan := retention.Plan{Policy: pol, Time: now, Functions: []retention.FunctionPlan{retention.Decide(snap, pol, now)}}
	fmt.Print(plan)
	// Output:
	// FUNCTION  VERSION  PUBLISHED         SEMVER  ACTION  WHY
	// orders    1        2025-06-01 09:00  1.0.0   delete  older than the last 2; age 20d, over 7d; no label rule matches
	// orders    2        2025-06-04 09:00  1.0.1   keep    in use: provisioned concurrency 5
	// orders    3        2025-06-07 09:00  1.1.0   delete  older than the last 2; age 14d, over 7d; no label rule matches
	// orders    4        2025-06-10 09:00  1.1.1   keep    semver 1.1.1 in ">=1.1.0" is the latest of 1.1.x
	// orders    5        2025-06-13 09:00  1.2.0   keep    rollback point 1 of alias live
	// orders    6        2025-06-16 09:00  1.2.1   keep    alias live (90%); #2 of the last 2; age 5d, within 7d; semver 1.2.1 in ">=1.1.0" is the latest of 1.2.x
	// orders    7        2025-06-19 09:00  1.3.0   keep    alias live (10%); newest version; #1 of the last 2; age 2d, within 7d; semver 1.3.0 in ">=1.1.0" is the latest of 1.3.x
	//
	// orders: 7 versions, keep 5, delete 2
	// total: 1 function, 7 versions, keep 5, delete 2
}

// Plan a fleet on the in-memory provider, print the dry run, apply it and
// print the report. A route that moves onto a planned deletion after the
// plan was made keeps that version.
func ExampleApply() {
	ctx := context.Background()
	clock := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	p, err := memory.New(memory.Options{Now: func() time.Time { clock = clock.Add(time.Hour); return clock }})
	if err != nil {
		log.Fatal(err)
	}
	for _, fn := range []string{"orders", "billing"} {
		for i := range 5 {
			in := provider.PublishInput{
				Artifact: provider.Artifact{Zip: fmt.Appendf(nil, "%s build %d", fn, i)},
				Labels:   map[string]string{provider.LabelSemver: fmt.Sprintf("1.%d.0", i)},
			}
			if _, err := p.Publish(ctx, fn, in); err != nil {
				log.Fatal(err)
			}
		}
	}
	live := provider.Route{Alias: "live", Weights: []provider.Weight{{Version: "4", BasisPoints: 10000}}}
	if _, err := p.SetRoute(ctx, "orders", live); err != nil {
		log.Fatal(err)
	}

	pl, err := retention.Planner{}.Plan(ctx, p, []string{"orders", "billing"}, retention.Policy{KeepLast: 2}, clock)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pl)

	// Meanwhile someone points a test alias at billing's version 2.
	beta := provider.Route{Alias: "beta", Weights: []provider.Weight{{Version: "2", BasisPoints: 10000}}}
	if _, err := p.SetRoute(ctx, "billing", beta); err != nil {
		log.Fatal(err)
	}
	rep, err := retention.Apply(ctx, p, pl, retention.ApplyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(rep)
	// Output:
	// FUNCTION  VERSION  PUBLISHED         SEMVER  ACTION  WHY
	// billing   1        2025-06-01 15:00  1.0.0   delete  older than the last 2
	// billing   2        2025-06-01 16:00  1.1.0   delete  older than the last 2
	// billing   3        2025-06-01 17:00  1.2.0   delete  older than the last 2
	// billing   4        2025-06-01 18:00  1.3.0   keep    #2 of the last 2
	// billing   5        2025-06-01 19:00  1.4.0   keep    newest version; #1 of the last 2
	// orders    1        2025-06-01 10:00  1.0.0   delete  older than the last 2
	// orders    2        2025-06-01 11:00  1.1.0   delete  older than the last 2
	// orders    3        2025-06-01 12:00  1.2.0   delete  older than the last 2
	// orders    4        2025-06-01 13:00  1.3.0   keep    alias live (100%); #2 of the last 2
	// orders    5        2025-06-01 14:00  1.4.0   keep    newest version; #1 of the last 2
	//
	// billing: 5 versions, keep 2, delete 3
	// orders: 5 versions, keep 2, delete 3
	// total: 2 functions, 10 versions, keep 4, delete 6
	//
	// billing: 3 planned, deleted 1, 3
	//   skipped 2: alias beta (100%) references it now
	// orders: 3 planned, deleted 1, 2, 3
	// total: 6 planned, 5 deleted, 1 skipped, 0 failed, 0 canceled
}
