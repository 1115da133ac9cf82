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
