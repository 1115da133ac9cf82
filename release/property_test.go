package release

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// TestWorkflowProperties runs random sequences of healthy and faulty
// releases, explicit rollbacks and out-of-band route changes, and checks
// after every operation that:
//
//   - production ends a healthy release on the candidate and a faulty one
//     on the version it served before;
//   - every route write the workflow made is in the journal: for each
//     alias, each journaled change starts from the revision the previous
//     one ended with, unless an out-of-band change was journaled between
//     them;
//   - the journal's last route of every alias is the route as it is
//     (Verify reports nothing) after every workflow operation, unless
//     production was changed out of band and no operation has written it
//     since;
//   - a rollback puts production on PreviousGood's answer.
func TestWorkflowProperties(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { workflowProperty(t, uint64(seed)) })
	}
}

func workflowProperty(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 99))
	f := newFixture(t, nil)
	strategies := []canary.Strategy{healthyStrategy(), canary.AllAtOnce(), func() canary.Strategy {
		s := canary.Linear(2500, 2*time.Minute)
		s.Analysis = healthyStrategy().Analysis
		return s
	}()}
	f.first()
	code := 1
	oob := false // production changed out of band since the workflow last wrote it
	for op := range 8 {
		before := f.route("production")
		switch k := rng.IntN(10); {
		case k < 6: // a release, healthy or faulty
			code++
			faulty := rng.IntN(3) == 0
			strategy := strategies[rng.IntN(len(strategies))]
			if faulty && len(strategy.Analysis.Checks) == 0 {
				strategy = healthyStrategy() // nothing would catch it
			}
			id := fmt.Sprintf("op%d", op)
			f.w.opts.OnEvent = func(e Event) {
				if faulty && e.Kind == EventPublished {
					f.mem.SetBehavior(fn, e.Candidate, memory.Behavior{ErrorRate: 0.25})
				}
			}
			res, err := f.release(ctx, Request{Function: fn, Publish: artifact(fmt.Sprintf("v%d", code)), ID: id, Strategy: &strategy})
			after := f.route("production")
			switch {
			case faulty:
				if !errors.Is(err, canary.ErrRolledBack) || !after.SameTraffic(before) {
					t.Fatalf("op %d: faulty release: %v; production %s, was %s", op, err, after.String(), before.String())
				}
			case err != nil || after.Share(res.Candidate) != provider.AllTraffic:
				t.Fatalf("op %d: healthy release: %v; production %s", op, err, after.String())
			}
		case k < 8: // an explicit rollback
			target, _, perr := journal.PreviousGood(ctx, f.journal, fn, "production")
			res, err := f.w.Rollback(ctx, fn, "production")
			switch {
			case errors.Is(perr, provider.ErrNotFound):
				if !errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("op %d: rollback with no previous version: %v", op, err)
				}
			case err != nil:
				if !errors.Is(err, provider.ErrNotFound) { // the target may have been pruned; none is here
					t.Fatalf("op %d: rollback: %v", op, err)
				}
			default:
				if got := f.route("production"); got.Share(target) != provider.AllTraffic || res.Stable != target {
					t.Fatalf("op %d: rollback to %s: production %s", op, target, got.String())
				}
			}
		default: // someone re-saves production by hand
			if _, err := f.mem.SetRoute(ctx, fn, before); err != nil {
				t.Fatal(err)
			}
			oob = true
			continue // the journal cannot know until the next operation
		}
		if f.route("production").Revision != before.Revision {
			oob = false // the workflow wrote production: the journal has it
		}
		drift, err := Verify(ctx, f.mem, f.journal, fn)
		if err != nil || len(drift) != 0 && !oob {
			t.Fatalf("op %d: Verify after a workflow operation: %v, %v", op, drift, err)
		}
		checkChain(t, f.entries())
	}
}

// checkChain checks that each alias's journaled route changes follow one
// another revision by revision, except across a journaled out-of-band
// change.
func checkChain(t *testing.T, es []journal.Entry) {
	t.Helper()
	last := map[string]*provider.Route{}
	for i, e := range es {
		if e.Kind == journal.EntryDecision && e.Outcome == "out of band" {
			delete(last, e.Alias)
			continue
		}
		if !e.Kind.ChangesRoute() {
			continue
		}
		prev, ok := last[e.Alias]
		if ok && (e.Before == nil || e.Before.Revision != prev.Revision) {
			t.Fatalf("journal entry %d (%s %s) starts from %v, the previous change ended at revision %s", i, e.Kind, e.Alias, e.Before, prev.Revision)
		}
		last[e.Alias] = e.After
	}
}
