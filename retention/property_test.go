package retention_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/retention"
)

// randomState fills p with 1–3 functions of 1–25 versions (random semver
// labels), 0–3 routes each (some split), usage and a random policy with
// pins and rollback points. It returns the function names and the policy.
func randomState(t testing.TB, rng *rand.Rand, p *memory.Provider) ([]string, retention.Policy) {
	t.Helper()
	pol := retention.Policy{
		Pinned:         map[string][]string{},
		RollbackPoints: map[string]retention.RouteHistory{},
	}
	var fns []string
	for f := range 1 + rng.IntN(3) {
		fn := fmt.Sprint("fn", f)
		fns = append(fns, fn)
		n := 1 + rng.IntN(25)
		for i := range n {
			sv := fmt.Sprintf("%d.%d.%d", rng.IntN(3), rng.IntN(4), rng.IntN(4))
			if rng.IntN(5) == 0 {
				sv += "-rc." + strconv.Itoa(rng.IntN(3))
			}
			in := provider.PublishInput{
				Artifact: provider.Artifact{Zip: fmt.Appendf(nil, "%s-%d", fn, i)},
				Labels:   map[string]string{provider.LabelSemver: sv},
			}
			if _, err := p.Publish(context.Background(), fn, in); err != nil {
				t.Fatal(err)
			}
		}
		v := func() string { return strconv.Itoa(1 + rng.IntN(n)) }
		for a := range rng.IntN(4) {
			primary, canary := v(), v()
			var err error
			if canary != primary && rng.IntN(2) == 0 {
				w := 1 + rng.IntN(9999)
				err = trySetRoute(p, fn, fmt.Sprint("alias", a), primary, provider.AllTraffic-w, canary, w)
			} else {
				err = trySetRoute(p, fn, fmt.Sprint("alias", a), primary, provider.AllTraffic)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		var us []provider.Usage
		for range rng.IntN(3) {
			us = append(us, provider.Usage{Version: v(), Reason: "provisioned concurrency"})
		}
		p.SetUsage(fn, us)
		for range rng.IntN(3) {
			pol.Pinned[fn] = append(pol.Pinned[fn], v())
		}
		h := retention.RouteHistory{}
		for a := range rng.IntN(3) {
			for range rng.IntN(5) {
				h[fmt.Sprint("alias", a)] = append(h[fmt.Sprint("alias", a)], v())
			}
		}
		if len(h) > 0 {
			pol.RollbackPoints[fn] = h
		}
	}
	pol.KeepLast = rng.IntN(6)
	if rng.IntN(3) == 0 {
		pol.KeepWithin = time.Duration(rng.IntN(30)) * time.Minute
	}
	pol.KeepRollbackPoints = rng.IntN(3)
	rules := []retention.LabelRule{{Range: "^2"}, {Latest: retention.LatestOfMinor}, {Range: "1.x", Latest: retention.LatestOfMajor}, {Latest: retention.LatestOfPatch}}
	for _, r := range rules {
		if rng.IntN(4) == 0 {
			pol.KeepLabels = append(pol.KeepLabels, r)
		}
	}
	if pol.KeepLast == 0 && pol.KeepWithin == 0 && len(pol.KeepLabels) == 0 {
		pol.AllowDeleteAllUnreferenced = true
	}
	return fns, pol
}

// protected computes, from the provider's state, what the safety rules
// keep: routed, newest, pinned, in use, and the first K distinct rollback
// points of each alias.
func protected(t testing.TB, p *memory.Provider, fn string, pol retention.Policy) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	vs := ids(t, p, fn)
	out[vs[len(vs)-1]] = true
	rs, err := p.Routes(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		for _, w := range r.Weights {
			out[w.Version] = true
		}
	}
	us, err := p.Usage(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		out[u.Version] = true
	}
	for _, id := range pol.Pinned[fn] {
		out[id] = true
	}
	for _, h := range pol.RollbackPoints[fn] {
		var seen []string
		for _, id := range h {
			if !slices.Contains(seen, id) && (pol.KeepRollbackPoints == 0 || len(seen) < pol.KeepRollbackPoints) {
				seen = append(seen, id)
				out[id] = true
			}
		}
	}
	return out
}

// TestPropertyNeverDeletesWhatIsKept runs thousands of random provider
// states and policies, with routes moving onto planned deletions while
// Apply runs (some onto the very version being deleted, between Apply's
// reference check and the delete). It checks that the plan never deletes a
// referenced, newest, pinned, in-use or rollback version, and that Apply
// deletes exactly the plan's deletions minus the versions that became
// referenced, and nothing else. Under the default options with one delete
// at a time, the fresh check sees every move made before the delete it
// guards: the platform refuses only a version whose own delete call moved
// a route onto it.
func TestPropertyNeverDeletesWhatIsKept(t *testing.T) {
	states := 1500
	if testing.Short() {
		states = 300
	}
	var nPlanned, nDeleted, nSkippedByCheck, nRefused int
	for s := range states {
		rng := rand.New(rand.NewPCG(uint64(s), 0x7e7e))
		p := newMemory(t, memory.Options{Seed: int64(s)})
		fns, pol := randomState(t, rng, p)
		if err := pol.Validate(); err != nil {
			t.Fatalf("state %d: random policy invalid: %v", s, err)
		}
		before := map[string][]string{}
		for _, fn := range fns {
			before[fn] = ids(t, p, fn)
		}
		now := t0.Add(time.Duration(len(before[fns[0]])) * time.Minute)
		pl, err := retention.Planner{Limiter: unlimited()}.Plan(context.Background(), p, fns, pol, now)
		if err != nil {
			t.Fatalf("state %d: Plan: %v", s, err)
		}
		planned := map[string][]string{}
		for _, f := range pl.Functions {
			keep := protected(t, p, f.Function, pol)
			for _, id := range f.Deletions() {
				if keep[id] {
					t.Fatalf("state %d: plan deletes %s version %s, which a safety rule keeps\npolicy %+v\n%s", s, f.Function, id, pol, pl)
				}
			}
			planned[f.Function] = f.Deletions()
		}

		// The mover: before some deletes, point a route at a planned
		// deletion of the same function — the one being deleted or another.
		var mu sync.Mutex
		moved := map[string]map[string]bool{}     // fn → versions a route was moved onto
		movedSelf := map[string]map[string]bool{} // fn → versions moved onto inside their own delete
		mrng := rand.New(rand.NewPCG(uint64(s), 0x3e3e))
		rec := &recorder{p: p, beforeDelete: func(_ context.Context, fn, id string) error {
			mu.Lock()
			defer mu.Unlock()
			if mrng.IntN(4) != 0 {
				return nil
			}
			target := id
			if mrng.IntN(2) == 0 {
				target = planned[fn][mrng.IntN(len(planned[fn]))]
			}
			alias := fmt.Sprint("mover", mrng.IntN(2))
			if trySetRoute(p, fn, alias, target, provider.AllTraffic) == nil {
				if moved[fn] == nil {
					moved[fn], movedSelf[fn] = map[string]bool{}, map[string]bool{}
				}
				moved[fn][target] = true
				if target == id {
					movedSelf[fn][id] = true
				}
			}
			return nil
		}}
		opts := retention.ApplyOptions{Limiter: unlimited(), Concurrency: 1 + rng.IntN(4)}
		if rng.IntN(4) == 0 {
			opts.RecheckInterval = 5 * time.Second // the opt-in to a shared read
		}
		strict := opts.RecheckInterval == 0 && opts.Concurrency == 1
		rep, err := retention.Apply(context.Background(), rec, pl, opts)
		if err != nil {
			t.Fatalf("state %d: Apply: %v", s, err)
		}
		for i, f := range rep.Functions {
			fn := f.Function
			after := ids(t, p, fn)
			nPlanned += f.Planned
			nDeleted += len(f.Deleted)
			for _, sk := range f.Skipped {
				if strings.HasPrefix(sk.Reason, "refused by the platform") {
					nRefused++
					if strict && !movedSelf[fn][sk.Version] {
						t.Fatalf("state %d: %s version %s refused by the platform, but no route moved onto it during its own delete: the check before it was stale", s, fn, sk.Version)
					}
				} else {
					nSkippedByCheck++
				}
			}
			if len(f.Failed)+len(f.Canceled) > 0 {
				t.Fatalf("state %d: %s: failures or cancellations: %+v", s, fn, f)
			}
			if fn != pl.Functions[i].Function || f.Planned != len(planned[fn]) {
				t.Fatalf("state %d: report %d is %s with %d planned, plan has %s with %d", s, i, fn, f.Planned, pl.Functions[i].Function, len(planned[fn]))
			}
			for _, id := range before[fn] {
				gone := !slices.Contains(after, id)
				deleted := slices.Contains(f.Deleted, id)
				isPlanned := slices.Contains(planned[fn], id)
				switch {
				case gone != deleted:
					t.Fatalf("state %d: %s version %s gone=%v but reported deleted=%v", s, fn, id, gone, deleted)
				case gone && !isPlanned:
					t.Fatalf("state %d: %s version %s deleted without the plan deleting it", s, fn, id)
				case isPlanned && !gone && !moved[fn][id]:
					t.Fatalf("state %d: %s version %s planned, never referenced since, but not deleted: %+v", s, fn, id, f.Skipped)
				}
			}
			// Whatever a route references now exists.
			rs, err := p.Routes(context.Background(), fn)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				for _, w := range r.Weights {
					if !slices.Contains(after, w.Version) {
						t.Fatalf("state %d: %s route %s references deleted version %s", s, fn, r.Alias, w.Version)
					}
				}
			}
		}
	}
	// The run must exercise both guards, or it proves nothing about them.
	if nDeleted == 0 || nSkippedByCheck == 0 || nRefused == 0 {
		t.Errorf("%d deleted, %d skipped by Apply's check, %d refused by the platform: want all non-zero", nDeleted, nSkippedByCheck, nRefused)
	}
	t.Logf("%d states: %d planned deletions, %d deleted, %d skipped by the reference check, %d refused by the platform as in use",
		states, nPlanned, nDeleted, nSkippedByCheck, nRefused)
}

// TestFaultsEveryDeletableVersionStillDeleted: about 20% of delete calls
// fail — throttled with a retry-after hint, or unavailable (half of those
// after the delete took effect) — and every deletable version is still
// deleted, and nothing else.
func TestFaultsEveryDeletableVersionStillDeleted(t *testing.T) {
	p := newMemory(t, memory.Options{Seed: 20})
	var fns []string
	for f := range 10 {
		fn := fmt.Sprint("fn", f)
		fns = append(fns, fn)
		publishN(t, p, fn, 30)
		setRoute(t, p, fn, "live", "28", 9000, "12", 1000)
	}
	pl := plan(t, p, retention.Policy{KeepLast: 2}, fns...)
	_, keptN, deleteN := pl.Counts()
	if deleteN != 10*26 {
		t.Fatalf("plan deletes %d, want 260", deleteN)
	}
	throttle := &provider.ThrottleError{RetryAfter: time.Second}
	p.Inject(memory.Fault{Ops: []string{memory.OpDeleteVersion}, Rate: 0.10, Err: throttle})
	p.Inject(memory.Fault{Ops: []string{memory.OpDeleteVersion}, Rate: 0.05, Err: provider.ErrUnavailable})
	p.Inject(memory.Fault{Ops: []string{memory.OpDeleteVersion}, Rate: 0.05, Err: provider.ErrUnavailable, LostResponse: true})
	rec := &recorder{p: p}
	rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{
		Limiter: unlimited(), Concurrency: 4, Clock: &stepClock{now: t0},
		Retry: provider.RetryPolicy{MaxAttempts: 10},
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if tot := rep.Totals(); tot.Deleted != deleteN {
		t.Errorf("Totals() = %+v, want all %d deleted", tot, deleteN)
	}
	left := 0
	for _, fn := range fns {
		got := ids(t, p, fn)
		left += len(got)
		if !slices.Equal(got, []string{"12", "28", "29", "30"}) {
			t.Errorf("%s has versions %v, want 12, 28, 29, 30", fn, got)
		}
	}
	if left != keptN {
		t.Errorf("%d versions left, the plan keeps %d", left, keptN)
	}
	calls, failed := 0, 0
	for _, c := range rec.log() {
		if c.op == "DeleteVersion" {
			calls++
			if c.err != nil {
				failed++
			}
		}
	}
	if r := float64(failed) / float64(calls); r < 0.12 || r > 0.30 {
		t.Errorf("%d of %d delete calls failed (%.0f%%), want about 20%%", failed, calls, 100*r)
	}
	t.Logf("%d delete calls, %d failed by injection (%.1f%%), %d versions deleted", calls, failed, 100*float64(failed)/float64(calls), deleteN)
}
