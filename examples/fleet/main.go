// Command fleet starts a fleet release from a plan file on the in-memory
// provider, with no credentials and no network: 54 functions (18 services
// in three regions, each region its own account) move to a new version in
// four waves — one function, one region, half, the rest — each bounded in
// parallel, rate-limited per account, baked and judged before the next,
// inside each region's deploy window (Mon–Thu 09:00–17:00 local time), with
// an API and its worker rolled back together when either fails.
//
//	go run ./examples/fleet                                  # examples/fleet/fleet.json
//	go run ./examples/fleet -plan my-plan.json
//	go run ./examples/fleet -faulty aws-us/us-east-1/cart-worker   # its group goes back, the release stops
//
// Time is virtual: the release's hours (canaries, bakes, waiting for
// windows to open) take no wall time. Every function starts on version 1;
// the plan's "publish" is published to each as its candidate. The plan is
// read by fleet.LoadPlan and runs on fleet's in-process Executor; the same
// plan runs on Temporal with github.com/slipway-dev/slipway/temporal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// start is Monday 2 March 2026, 07:00 UTC: every region's window is closed
// (Dublin 07:00, New York 02:00, Sydney 18:00).
var start = time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	planPath := fs.String("plan", "examples/fleet/fleet.json", "the plan file (JSON, see fleet.LoadPlan)")
	faulty := fs.String("faulty", "", "a target ID (provider/region/function) whose new version fails 20% of its requests")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	f, err := os.Open(*planPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	p, err := fleet.LoadPlan(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	if _, err := run(ctx, p, *faulty, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

// outcome is what a run leaves behind, for the test.
type outcome struct {
	state  fleet.State
	routes map[string]provider.Route // by target ID
	mems   map[string]*memory.Provider
}

// run releases p on memory providers and prints its progress to out.
func run(ctx context.Context, p fleet.Plan, faulty string, out io.Writer) (outcome, error) {
	clk := canary.NewVirtualClock(start)
	mems := map[string]*memory.Provider{}
	backends := map[string]fleet.Backend{}
	found := faulty == ""
	for _, t := range p.Targets {
		mem := mems[t.Provider]
		if mem == nil {
			var err error
			if mem, err = memory.New(memory.Options{Now: clk.Now, Sleep: clk.Sleep, Seed: 42}); err != nil {
				return outcome{}, err
			}
			mems[t.Provider] = mem
			backends[t.Provider] = fleet.Backend{Provider: mem, Metrics: mem}
		}
		// Version 1 is in production, healthy, serving 200 requests a
		// second; the candidate is healthy too, unless it is the faulty
		// one.
		v1, err := mem.Publish(ctx, t.Function, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("v1")}, Description: "v1"})
		if err != nil {
			return outcome{}, err
		}
		if _, err := mem.SetRoute(ctx, t.Function, provider.To(p.Alias, v1.ID)); err != nil {
			return outcome{}, err
		}
		mem.SetLoad(t.Function, p.Alias, 200)
		mem.SetBehavior(t.Function, v1.ID, memory.Behavior{ErrorRate: 0.002})
		b := memory.Behavior{ErrorRate: 0.002}
		if t.ID() == faulty {
			b.ErrorRate, found = 0.2, true
		}
		mem.SetBehavior(t.Function, "2", b)
	}
	if !found {
		return outcome{}, fmt.Errorf("-faulty %q names no target of the plan", faulty)
	}
	checks := map[string]canary.Check{
		"error rate":      canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.02},
		"bake error rate": canary.Threshold{Metric: canary.ErrorRate, Max: 0.02},
	}
	jrnl := &journal.MemoryJournal{}
	last := fleet.State{Phase: -1}
	ex, err := fleet.NewExecutor(fleet.Options{Backends: backends, Journal: jrnl, Checks: checks, Clock: clk, Actor: "examples/fleet",
		OnChange: func(s fleet.State) {
			report(out, clk.Now(), last, s)
			last = s
		}})
	if err != nil {
		return outcome{}, err
	}
	fmt.Fprintf(out, "%s  release %s: %d targets, %d waves, strategy of %d steps\n", clk.Now().Format("Mon 15:04"), p.ID, len(p.Targets), len(p.Waves), len(p.Strategy.Steps))
	st, err := ex.Run(ctx, p)
	o := outcome{state: st, routes: map[string]provider.Route{}, mems: mems}
	for _, t := range p.Targets {
		r, rerr := mems[t.Provider].Route(ctx, t.Function, p.Alias)
		if rerr != nil {
			return o, rerr
		}
		o.routes[t.ID()] = r
	}
	if st.Targets == nil {
		return o, err
	}
	counts := st.Count()
	phases := make([]fleet.TargetPhase, 0, len(counts))
	for ph := range counts {
		phases = append(phases, ph)
	}
	sort.Slice(phases, func(i, j int) bool { return phases[i] < phases[j] })
	fmt.Fprintf(out, "%s  %s: %s\n", clk.Now().Format("Mon 15:04"), st.Phase, st.Reason)
	for _, ph := range phases {
		fmt.Fprintf(out, "           %3d %s\n", counts[ph], ph)
	}
	if errors.Is(err, fleet.ErrFailed) {
		return o, nil // a stopped release is the example's other outcome, not an error of the example
	}
	return o, err
}

// report prints what changed between two states: the release's phase or
// wave, targets that ended other than by succeeding, and, per region, the
// targets a deploy window holds back.
func report(out io.Writer, now time.Time, before, after fleet.State) {
	at := now.Format("Mon 15:04")
	if before.Phase != after.Phase || before.Wave != after.Wave {
		w := after.Plan.Waves[after.Wave]
		fmt.Fprintf(out, "%s  wave %d %q (%d targets): %s\n", at, after.Wave+1, w.Name, len(after.Waves[after.Wave]), after.Phase)
	}
	blocked := map[string]int{}
	var regions []string
	for i, t := range after.Targets {
		var b fleet.TargetState
		if before.Targets != nil {
			b = *before.Targets[i]
		}
		switch {
		case b.Phase == t.Phase && b.BlockedUntil.Equal(t.BlockedUntil):
		case t.Phase == fleet.TargetWaiting && !t.BlockedUntil.IsZero():
			key := fmt.Sprintf("%s until %s UTC (%s local)", after.Plan.Targets[i].Region,
				t.BlockedUntil.UTC().Format("Mon 15:04"), t.BlockedUntil.Format("Mon 15:04 MST"))
			if blocked[key] == 0 {
				regions = append(regions, key)
			}
			blocked[key]++
		case t.Phase == fleet.TargetSucceeded || t.Phase == fleet.TargetRunning || t.Phase == fleet.TargetSkipped:
		default:
			fmt.Fprintf(out, "%s    %-38s %s: %s\n", at, t.ID, t.Phase, t.Reason)
		}
	}
	for _, key := range regions {
		fmt.Fprintf(out, "%s    %d targets outside their deploy window: %s\n", at, blocked[key], key)
	}
}
