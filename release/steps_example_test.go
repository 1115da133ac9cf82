package release_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
)

// Lock down old versions after a release: a dry run first, then for real.
func ExampleWorkflow_LockDown() {
	ctx := context.Background()
	clock := canary.NewVirtualClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	mem, _ := memory.New(memory.Options{Now: clock.Now})
	for _, code := range []string{"v1", "v2"} {
		_, _ = mem.Publish(ctx, "orders", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}})
	}
	_, _ = mem.SetRoute(ctx, "orders", provider.To("production", "2"))
	// Version 1 is still invocable by anyone and by a partner account.
	mem.SetPermissions("orders", "1", []provider.Permission{
		{ID: "public", Principal: "*", Action: "lambda:InvokeFunction", Public: true},
		{ID: "partner", Principal: "arn:aws:iam::210987654321:root", Action: "lambda:InvokeFunction"},
	})
	w, _ := release.New(release.Options{Runner: canary.RunnerOptions{Provider: mem, Clock: clock}, Journal: &journal.MemoryJournal{}})

	plan, _ := w.LockDown(ctx, "orders", release.LockDownOptions{DryRun: true})
	fmt.Println(plan.Text())
	done, _ := w.LockDown(ctx, "orders", release.LockDownOptions{})
	fmt.Println(done.Text())
	left, _ := mem.Permissions(ctx, "orders", "1")
	fmt.Println(len(left), "grants left on version 1")
	// Output:
	// would remove 2 of 2 grants: version 1 public (statement public); version 1 cross-account 210987654321 (statement partner)
	// removed 2 of 2 grants: version 1 public (statement public); version 1 cross-account 210987654321 (statement partner)
	// 0 grants left on version 1
}

// A rollback fire drill on staging: the journal names the rollback point
// (here written by hand, as a promotion of version 2 over version 1), the
// drill moves staging there, invokes a probe, and moves it back.
func ExampleWorkflow_Drill() {
	ctx := context.Background()
	clock := canary.NewVirtualClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	mem, _ := memory.New(memory.Options{Now: clock.Now})
	for _, code := range []string{"v1", "v2"} {
		_, _ = mem.Publish(ctx, "orders", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}})
	}
	before, _ := mem.SetRoute(ctx, "orders", provider.To("staging", "1"))
	want := provider.To("staging", "2")
	want.Revision = before.Revision
	after, _ := mem.SetRoute(ctx, "orders", want)
	j := &journal.MemoryJournal{}
	_ = j.Append(ctx, journal.Entry{Time: clock.Now(), Release: "r2", Kind: journal.EntryPromote, Function: "orders", Alias: "staging",
		Before: &before, After: &after, Candidate: "2", Stable: "1"})
	mem.SetHandler("orders", "1", func(context.Context, []byte) ([]byte, error) { return []byte(`{"ok":true}`), nil })

	w, _ := release.New(release.Options{Runner: canary.RunnerOptions{Provider: mem, Clock: clock}, Journal: j})
	res, err := w.Drill(ctx, release.DrillRequest{Function: "orders", ID: "drill-1", Probe: []byte(`{"ping":true}`)})
	fmt.Println(res.Outcome, res.From, "→", res.To, err)
	now, _ := mem.Route(ctx, "orders", "staging")
	fmt.Println("staging after the drill:", now.Traffic())
	for e, err := range j.Entries(ctx, journal.Filter{Function: "orders"}) {
		if err == nil && e.Release == "drill-1" {
			fmt.Println(strings.TrimSpace(string(e.Kind) + " " + e.Outcome))
		}
	}
	// Output:
	// passed 2 → 1 <nil>
	// staging after the drill: 2=100%
	// decision drill started
	// rollback
	// decision drill verified
	// route
	// decision drill finished
}
