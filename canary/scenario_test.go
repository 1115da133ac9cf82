package canary

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// errCrash is what a simulated crash panics with.
var errCrash = errors.New("simulated crash")

// crashStore is a Store that crashes the process (panics with errCrash) at
// one boundary: just before, or just after, its n-th Save.
type crashStore struct {
	Store
	n     int  // the Save to crash at, from 1
	after bool // crash after the save landed
	saves atomic.Int64
}

func (c *crashStore) Save(ctx context.Context, id string, s State, rev string) (string, error) {
	k := int(c.saves.Add(1))
	if k == c.n && !c.after {
		panic(errCrash)
	}
	newRev, err := c.Store.Save(ctx, id, s, rev)
	if k == c.n && c.after {
		panic(errCrash)
	}
	return newRev, err
}

// crashProvider crashes just after its n-th successful route write landed,
// before the runner hears of it.
type crashProvider struct {
	provider.Provider
	n      int
	writes atomic.Int64
}

func (c *crashProvider) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	got, err := c.Provider.SetRoute(ctx, fn, r)
	if err == nil && int(c.writes.Add(1)) == c.n {
		panic(errCrash)
	}
	return got, err
}

// crashed runs f and reports whether it crashed with errCrash.
func crashed(f func()) (crash bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != errCrash {
				panic(r)
			}
			crash = true
		}
	}()
	f()
	return false
}

// crashStrategy exercises every kind of action: a pre-traffic hook, two
// analysed steps, the approval gate, the final shift and a post-traffic
// hook.
func crashStrategy() Strategy {
	s := analysed(Custom(Step{Weight: 1000, Bake: 2 * time.Minute}, Step{Weight: 5000, Bake: 2 * time.Minute}))
	s.PreTraffic = &HookSpec{Name: "smoke", Timeout: time.Minute}
	s.PostTraffic = &HookSpec{Name: "e2e", Timeout: time.Minute}
	s.Approval = &ApprovalSpec{Timeout: time.Hour}
	return s
}

func crashOptions(h *harness) RunnerOptions {
	o := h.options()
	o.Hooks = map[string]HookFunc{
		"smoke": func(ctx context.Context, in HookInput) error { return h.clk.Sleep(ctx, 5*time.Second) },
		"e2e":   func(ctx context.Context, in HookInput) error { return nil },
	}
	o.Approve = func(context.Context, Approval) (bool, error) { return true, nil }
	return o
}

// TestRunnerCrashAtEveryBoundary kills the runner at every action boundary
// (before and after every save of the state, and after every route write
// landed but before the runner heard of it), resumes the rollout with a new
// Runner on the same store, and checks that it ends in the terminal state
// a rollout without a crash reaches, with the traffic that state says and
// the history before the crash intact.
func TestRunnerCrashAtEveryBoundary(t *testing.T) {
	bad := memory.Behavior{ErrorRate: 0.08}
	for _, variant := range []struct {
		name      string
		bad       bool
		wantPhase Phase
		wantRoute string
	}{
		{name: "healthy", wantPhase: PhaseSucceeded, wantRoute: "2=100%"},
		{name: "bad", bad: true, wantPhase: PhaseRolledBack, wantRoute: "1=100%"},
	} {
		t.Run(variant.name, func(t *testing.T) {
			// A run without a crash counts the boundaries.
			h := newHarness(t, 3)
			if variant.bad {
				h.mem.SetBehavior("fn", "2", bad)
			}
			cs := &crashStore{Store: h.store}
			o := crashOptions(h)
			o.Store = cs
			st, _ := h.runner(o).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: crashStrategy()})
			if st.Phase != variant.wantPhase {
				t.Fatalf("run without a crash ended %s, want %s\n%s", st.Phase, variant.wantPhase, historyText(st))
			}
			saves, writes := int(cs.saves.Load()), len(h.rec.Writes())
			t.Logf("%d saves, %d route writes, %d transitions", saves, writes, len(st.History))

			type boundary struct {
				save, write int
				after       bool
			}
			var bs []boundary
			for k := 1; k <= saves; k++ {
				bs = append(bs, boundary{save: k}, boundary{save: k, after: true})
			}
			for j := 1; j <= writes; j++ {
				bs = append(bs, boundary{write: j})
			}
			for _, b := range bs {
				name := fmt.Sprintf("before save %d", b.save)
				switch {
				case b.write > 0:
					name = fmt.Sprintf("after route write %d landed", b.write)
				case b.after:
					name = fmt.Sprintf("after save %d", b.save)
				}
				t.Run(name, func(t *testing.T) {
					h := newHarness(t, 3)
					if variant.bad {
						h.mem.SetBehavior("fn", "2", bad)
					}
					o := crashOptions(h)
					if b.save > 0 {
						o.Store = &crashStore{Store: h.store, n: b.save, after: b.after}
					} else {
						o.Provider = &crashProvider{Provider: h.rec, n: b.write}
					}
					r := h.runner(o)
					if !crashed(func() {
						_, _ = r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: crashStrategy()})
					}) {
						t.Fatal("the runner did not reach the boundary")
					}
					atCrash, _, err := h.store.Load(context.Background(), "r1")
					if b.save == 1 && !b.after {
						// Nothing was saved: the rollout never started and
						// nothing was touched.
						if !errors.Is(err, provider.ErrNotFound) || len(h.rec.Writes()) != 0 {
							t.Fatalf("crash before the first save: load %v, %d route writes", err, len(h.rec.Writes()))
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					// A new process: a new Runner on the same store.
					r2 := h.runner(crashOptions(h))
					final, err := r2.Resume(context.Background(), "r1")
					if final.Phase != variant.wantPhase {
						t.Fatalf("resumed rollout ended %s (%v), want %s\n%s", final.Phase, err, variant.wantPhase, historyText(final))
					}
					if got := describe(h.route()); got != variant.wantRoute {
						t.Fatalf("route after the resumed rollout: %s, want %s", got, variant.wantRoute)
					}
					if diff := cmp.Diff(atCrash.History, final.History[:len(atCrash.History)], cmpopts.EquateEmpty()); diff != "" {
						t.Fatalf("history before the crash changed (-at crash +final):\n%s", diff)
					}
					checkHistory(t, final)
					// The stable route is restored exactly, or the candidate
					// has it all; nothing is left split.
					if rt := h.route(); len(rt.Weights) != 1 {
						t.Fatalf("route left split: %s", describe(rt))
					}
				})
			}
		})
	}
}

func TestRunnerTwoRunnersOneAlias(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Minute} {
		t.Run(fmt.Sprintf("second starts after %s", delay), func(t *testing.T) {
			h := newHarness(t, 5)
			s := analysed(Canary(1000, 5*time.Minute))
			ra, rb := h.runner(h.options()), h.runner(h.options())
			var errA, errB error
			var stA, stB State
			h.clk.Run(func() {
				stA, errA = ra.Start(context.Background(), Rollout{ID: "a", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
			}, func() {
				if delay > 0 {
					_ = h.clk.Sleep(context.Background(), delay)
				}
				stB, errB = rb.Start(context.Background(), Rollout{ID: "b", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
			})
			// Exactly one proceeds to success; the other fails with
			// ErrConflict and does not overwrite the winner's route.
			if (errA == nil) == (errB == nil) {
				t.Fatalf("a: %s %v; b: %s %v; want exactly one success", stA.Phase, errA, stB.Phase, errB)
			}
			loser := errA
			if errA == nil {
				loser = errB
			}
			if !errors.Is(loser, provider.ErrConflict) {
				t.Fatalf("the losing runner's error %v does not wrap ErrConflict", loser)
			}
			if got := describe(h.route()); got != "2=100%" {
				t.Fatalf("final route %s, want 100%% 2", got)
			}
		})
	}
}

func TestRunnerOutOfBandChange(t *testing.T) {
	type variant struct {
		policy   ConflictPolicy
		analysed bool
		detected time.Duration // when the runner notices
	}
	var variants []variant
	for _, policy := range []ConflictPolicy{StopOnConflict, RollBackOnConflict} {
		// Without checks the change is met by the next route write, at
		// the end of the bake; with checks, by the next window's route
		// read, at 3m.
		variants = append(variants, variant{policy, false, 5 * time.Minute}, variant{policy, true, 3 * time.Minute})
	}
	for _, v := range variants {
		policy := v.policy
		t.Run(fmt.Sprintf("%s analysed=%t", policy, v.analysed), func(t *testing.T) {
			h := newHarness(t, 9)
			o := h.options()
			o.OnOutOfBand = policy
			r := h.runner(o)
			var st State
			var err error
			var human provider.Route
			h.clk.Run(func() {
				s := Canary(1000, 5*time.Minute)
				if v.analysed {
					s = analysed(s)
				}
				st, err = r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
			}, func() {
				// At 2m30s a person sends half the traffic to the candidate.
				_ = h.clk.Sleep(context.Background(), 150*time.Second)
				cur := h.route()
				var serr error
				human, serr = h.mem.SetRoute(context.Background(), "fn", provider.Route{Alias: "prod", Revision: cur.Revision,
					Weights: []provider.Weight{{Version: "1", BasisPoints: 5000}, {Version: "2", BasisPoints: 5000}}})
				if serr != nil {
					panic(serr)
				}
			})
			var ce *ConflictError
			if !errors.Is(err, provider.ErrConflict) || !errors.As(err, &ce) {
				t.Fatalf("Start = %v, want a *ConflictError wrapping ErrConflict", err)
			}
			if ce.Found.Revision != human.Revision || describe(ce.Found) != "1=50% 2=50%" || describe(ce.Expected) != "1=90% 2=10%" {
				t.Fatalf("conflict shows expected %s (rev %s), found %s (rev %s); want 90/10 and the person's 50/50 (rev %s)",
					describe(ce.Expected), ce.Expected.Revision, describe(ce.Found), ce.Found.Revision, human.Revision)
			}
			for _, s := range []string{"1=90% 2=10%", "1=50% 2=50%"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not show route %q", err, s)
				}
			}
			switch policy {
			case StopOnConflict:
				if st.Phase != PhaseFailed || !errors.Is(err, ErrStopped) {
					t.Fatalf("phase %s, want Failed", st.Phase)
				}
				if got := h.route(); got.Revision != human.Revision {
					t.Fatalf("the person's route was overwritten: %s", describe(got))
				}
			case RollBackOnConflict:
				if st.Phase != PhaseRolledBack || !errors.Is(err, ErrRolledBack) {
					t.Fatalf("phase %s, want RolledBack", st.Phase)
				}
				if got := describe(h.route()); got != "1=100%" {
					t.Fatalf("route %s, want the stable route 100%% 1", got)
				}
			}
			if got := st.History[len(st.History)-1].At.Sub(runEpoch); got != v.detected {
				t.Errorf("rollout ended at %s, want %s", got, v.detected)
			}
		})
	}
}

func TestRunnerFlakyMetrics(t *testing.T) {
	t.Run("30% of Observe calls fail: healthy release promoted", func(t *testing.T) {
		h := newHarness(t, 11)
		h.mem.Inject(memory.Fault{Ops: []string{memory.OpObserve}, Rate: 0.3, Err: provider.ErrUnavailable})
		st, err := h.runner(h.options()).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2",
			Strategy: analysed(Linear(1000, 2*time.Minute))})
		if err != nil || st.Phase != PhaseSucceeded {
			t.Fatalf("Start = %s, %v; want Succeeded\n%s", st.Phase, err, historyText(st))
		}
		if st.Checks[0].Errors == 0 {
			t.Fatal("no measurement error seen: the fault did not fire")
		}
		t.Logf("%d windows passed, %d measurement errors", st.Checks[0].Passes, st.Checks[0].Errors)
	})
	t.Run("30% of Observe calls fail: bad release never promoted", func(t *testing.T) {
		h := newHarness(t, 11)
		h.mem.SetBehavior("fn", "2", memory.Behavior{ErrorRate: 0.05})
		h.mem.Inject(memory.Fault{Ops: []string{memory.OpObserve}, Rate: 0.3, Err: provider.ErrUnavailable})
		st, err := h.runner(h.options()).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2",
			Strategy: analysed(Linear(1000, 2*time.Minute))})
		if !errors.Is(err, ErrRolledBack) {
			t.Fatalf("Start = %s, %v; want RolledBack", st.Phase, err)
		}
		for _, w := range h.rec.Writes() {
			if w.Weights == "2=100%" {
				t.Fatalf("the bad candidate got all traffic at %s", w.At)
			}
		}
	})
	for _, tc := range []struct {
		failures  int
		wantPhase Phase
	}{
		{failures: DefaultConsecutiveErrorLimit, wantPhase: PhaseSucceeded},
		{failures: DefaultConsecutiveErrorLimit + 1, wantPhase: PhaseRolledBack},
	} {
		t.Run(fmt.Sprintf("%d consecutive failures", tc.failures), func(t *testing.T) {
			h := newHarness(t, 11)
			h.mem.Inject(memory.Fault{Ops: []string{memory.OpObserve}, Count: tc.failures, Err: provider.ErrUnavailable})
			st, err := h.runner(h.options()).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2",
				Strategy: analysed(Canary(1000, 5*time.Minute))})
			if st.Phase != tc.wantPhase {
				t.Fatalf("Start = %s, %v; want %s\n%s", st.Phase, err, tc.wantPhase, historyText(st))
			}
			if tc.wantPhase == PhaseRolledBack {
				if why := rollbackReason(st); !strings.Contains(why, "5 errors in a row") {
					t.Fatalf("rollback reason %q does not name the 5 consecutive errors", why)
				}
			}
			if st.Checks[0].Errors != tc.failures {
				t.Fatalf("%d errors counted, want %d", st.Checks[0].Errors, tc.failures)
			}
		})
	}
}

func TestRunnerNoTrafficNeverPromoted(t *testing.T) {
	t.Run("pause, then abort", func(t *testing.T) {
		h := newHarness(t, 13)
		h.mem.SetLoad("fn", "prod", 0)
		r := h.runner(h.options())
		var st State
		var err error
		var paused State
		h.clk.Run(func() {
			st, err = r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2",
				Strategy: analysed(Canary(1000, 5*time.Minute))})
		}, func() {
			// Ten hours later the rollout is still paused on 10%.
			_ = h.clk.Sleep(context.Background(), 10*time.Hour)
			var lerr error
			paused, _, lerr = h.store.Load(context.Background(), "r1")
			if lerr != nil {
				panic(lerr)
			}
			if _, aerr := r.Abort(context.Background(), "r1"); aerr != nil {
				panic(aerr)
			}
		})
		if paused.Phase != PhasePaused || !strings.Contains(paused.Reason, "inconclusive") {
			t.Fatalf("after 10h: phase %s (%s), want Paused on an inconclusive check", paused.Phase, paused.Reason)
		}
		if !errors.Is(err, ErrRolledBack) || st.Phase != PhaseRolledBack {
			t.Fatalf("after Abort: %s, %v; want RolledBack", st.Phase, err)
		}
		for _, w := range h.rec.Writes() {
			if w.Weights == "2=100%" {
				t.Fatal("a candidate without traffic was promoted")
			}
		}
	})
	t.Run("roll back on inconclusive", func(t *testing.T) {
		h := newHarness(t, 13)
		h.mem.SetLoad("fn", "prod", 0)
		s := analysed(Canary(1000, 5*time.Minute))
		s.Analysis.OnInconclusive = RollBackOnInconclusive
		st, err := h.runner(h.options()).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
		if !errors.Is(err, ErrRolledBack) || describe(h.route()) != "1=100%" {
			t.Fatalf("Start = %s, %v, route %s; want RolledBack to 100%% 1", st.Phase, err, describe(h.route()))
		}
	})
}

func TestRunnerColdStartSpikeWithWarmUp(t *testing.T) {
	// The candidate starts cold: 60% of its invocations are cold starts in
	// its first minute of traffic, 1% after. The check allows 5%.
	for _, tc := range []struct {
		warmUp    time.Duration
		wantPhase Phase
	}{
		{warmUp: time.Minute, wantPhase: PhaseSucceeded},
		{warmUp: 0, wantPhase: PhaseRolledBack}, // the first window is the spike
	} {
		t.Run(fmt.Sprintf("warm-up %s", tc.warmUp), func(t *testing.T) {
			h := newHarness(t, 17)
			h.mem.SetBehavior("fn", "2", memory.Behavior{ErrorRate: 0.01,
				ColdStart: memory.ColdStart{Rate: 0.01, Spike: 60, SpikeFor: time.Minute, Init: 300 * time.Millisecond}})
			s := Canary(1000, 5*time.Minute)
			s.Interval, s.WarmUp = time.Minute, tc.warmUp
			s.Analysis.Checks = []CheckSpec{
				{Name: "errors", Check: errorCheck()},
				{Name: "cold starts", Check: Threshold{Metric: ColdStartRate, Max: 0.05}},
			}
			st, err := h.runner(h.options()).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
			if st.Phase != tc.wantPhase {
				t.Fatalf("Start = %s, %v; want %s\n%s", st.Phase, err, tc.wantPhase, historyText(st))
			}
		})
	}
}

// rollbackReason returns the reason of the transition into RollingBack.
func rollbackReason(st State) string {
	for _, t := range st.History {
		if t.To == PhaseRollingBack {
			return t.Reason
		}
	}
	return ""
}

// badBehavior fails 8% of invocations.
func badBehavior() memory.Behavior { return memory.Behavior{ErrorRate: 0.08} }

// TestRunnerResumeFindsAnOutOfBandChange crashes the runner just after it
// saved a pending route write and before it wrote; someone changes the
// route meanwhile; the resumed runner sees a route that is neither the one
// it expected nor the one it wanted, and reports a conflict.
func TestRunnerResumeFindsAnOutOfBandChange(t *testing.T) {
	h := newHarness(t, 53)
	dir := t.TempDir()
	fs, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	o := h.options()
	o.Store = &crashStore{Store: fs, n: 2, after: true} // save 2 records the first SetRoute as pending
	r := h.runner(o)
	if !crashed(func() {
		_, _ = r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: Canary(1000, 5*time.Minute)})
	}) {
		t.Fatal("no crash")
	}
	st, _, err := fs.Load(context.Background(), "r1")
	if err != nil || st.Awaiting != AwaitRoute {
		t.Fatalf("state at the crash: awaiting %s, %v; want a pending route write", st.Awaiting, err)
	}
	if _, err := h.mem.Publish(context.Background(), "fn", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("v3")}}); err != nil {
		t.Fatal(err)
	}
	human, err := h.mem.SetRoute(context.Background(), "fn", provider.Route{Alias: "prod", Revision: h.route().Revision,
		Weights: []provider.Weight{{Version: "3", BasisPoints: provider.AllTraffic}}})
	if err != nil {
		t.Fatal(err)
	}
	// The next process opens the directory afresh.
	fs2, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fs2.Close()
	o2 := h.options()
	o2.Store = fs2
	final, err := h.runner(o2).Resume(context.Background(), "r1")
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrStopped) || final.Phase != PhaseFailed {
		t.Fatalf("Resume = %s, %v; want Failed with a *ConflictError", final.Phase, err)
	}
	if describe(ce.Found) != "3=100%" || describe(ce.Expected) != "1=100%" {
		t.Fatalf("conflict shows expected %s, found %s", describe(ce.Expected), describe(ce.Found))
	}
	if got := h.route(); got.Revision != human.Revision {
		t.Fatalf("the person's route was overwritten: %s", describe(got))
	}
	if len(h.rec.Writes()) != 0 {
		t.Fatalf("route written: %+v", h.rec.Writes())
	}
}

// Someone else writes the very traffic the rollout's next write asks for:
// it is still their route, never adopted as the rollout's own write, and
// the conflict policy decides: stop without overwriting, or roll back.
func TestRunnerConflictWithTheSameTraffic(t *testing.T) {
	for _, policy := range []ConflictPolicy{StopOnConflict, RollBackOnConflict} {
		t.Run(policy.String(), func(t *testing.T) {
			h := newHarness(t, 3)
			o := h.options()
			o.OnOutOfBand = policy
			r := h.runner(o)
			var st State
			var err error
			h.clk.Run(func() {
				st, err = r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: Canary(1000, 5*time.Minute)})
			}, func() {
				// At 4m a person promotes the candidate by hand, a minute
				// before the rollout would.
				_ = h.clk.Sleep(context.Background(), 4*time.Minute)
				cur := h.route()
				want := provider.To("prod", "2")
				want.Revision = cur.Revision
				if _, serr := h.mem.SetRoute(context.Background(), "fn", want); serr != nil {
					panic(serr)
				}
			})
			if !errors.Is(err, provider.ErrConflict) {
				t.Fatalf("Start = %v, want a conflict", err)
			}
			switch policy {
			case StopOnConflict:
				if st.Phase != PhaseFailed || describe(h.route()) != "2=100%" {
					t.Errorf("phase %s, route %s; want Failed with the person's 100%% 2 left", st.Phase, describe(h.route()))
				}
			case RollBackOnConflict:
				if st.Phase != PhaseRolledBack || describe(h.route()) != "1=100%" {
					t.Errorf("phase %s, route %s; want RolledBack to 100%% 1", st.Phase, describe(h.route()))
				}
			}
		})
	}
}
