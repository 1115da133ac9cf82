package temporal_test

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/temporal"
)

// A worker and a starter. The server here runs in-process; against a
// cluster, client.Dial(client.Options{HostPort: …}) gives the client.
func Example() {
	ctx := context.Background()
	srv := temporaltest.NewServer(temporaltest.WithBaseClientOptions(client.Options{Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))}))
	defer srv.Stop()
	c := srv.GetDefaultClient()

	// Three functions on the memory provider, each on version 1 with
	// version 2 published.
	mem, _ := memory.New(memory.Options{})
	var targets []fleet.Target
	for _, fn := range []string{"api", "worker", "cron"} {
		for _, code := range []string{"v1", "v2"} {
			_, _ = mem.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}})
		}
		_, _ = mem.SetRoute(ctx, fn, provider.To("production", "1"))
		targets = append(targets, fleet.Target{Function: fn, Region: "local", Provider: "mem", Candidate: "2", Group: "app"})
	}
	ops, err := fleet.NewOps(fleet.OpsOptions{Backends: map[string]fleet.Backend{"mem": {Provider: mem, Metrics: mem}},
		Journal: &journal.MemoryJournal{}})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The worker.
	w := worker.New(c, "slipway", worker.Options{})
	temporal.Register(w, &temporal.Activities{Ops: ops})
	if err := w.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer w.Stop()

	// The starter.
	plan := fleet.Plan{ID: "example", Strategy: canary.AllAtOnce(), Targets: targets, Waves: []fleet.Wave{{Name: "all"}}}
	run, err := temporal.Start(ctx, c, "slipway", plan, temporal.WorkflowOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := temporal.Wait(ctx, run)
	fmt.Println(st.Phase, st.Count()[fleet.TargetSucceeded], err)
	// Output: Succeeded 3 <nil>
}
