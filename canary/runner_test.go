package canary

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// runEpoch is where the runner tests' virtual time starts: a whole minute,
// so analysis windows line up with step starts.
var runEpoch = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// routeWrite is one successful SetRoute, as the recorder saw it.
type routeWrite struct {
	At      time.Duration // since runEpoch
	Alias   string
	Weights string // describe() of the route
}

// recorder is a provider that records successful route writes.
type recorder struct {
	provider.Provider
	clk    Clock
	mu     sync.Mutex
	writes []routeWrite
}

func (r *recorder) SetRoute(ctx context.Context, fn string, rt provider.Route) (provider.Route, error) {
	got, err := r.Provider.SetRoute(ctx, fn, rt)
	if err == nil {
		r.mu.Lock()
		r.writes = append(r.writes, routeWrite{At: r.clk.Now().Sub(runEpoch), Alias: rt.Alias, Weights: describe(got)})
		r.mu.Unlock()
	}
	return got, err
}

func (r *recorder) Writes() []routeWrite {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]routeWrite(nil), r.writes...)
}

// harness is a memory provider with function "fn": versions "1" (stable,
// routed by "prod") and "2" (candidate), 100 requests per second on prod,
// both versions healthy (1% errors), on a virtual clock.
type harness struct {
	t      testing.TB
	clk    *VirtualClock
	mem    *memory.Provider
	rec    *recorder
	store  *MemoryStore
	mu     sync.Mutex
	events []ProgressEvent
}

func newHarness(t testing.TB, seed int64) *harness {
	t.Helper()
	h := &harness{t: t, clk: NewVirtualClock(runEpoch), store: &MemoryStore{}}
	mem, err := memory.New(memory.Options{Now: h.clk.Now, Sleep: h.clk.Sleep, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	h.mem = mem
	h.rec = &recorder{Provider: mem, clk: h.clk}
	ctx := context.Background()
	for _, code := range []string{"v1", "v2"} {
		if _, err := mem.Publish(ctx, "fn", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mem.SetRoute(ctx, "fn", provider.To("prod", "1")); err != nil {
		t.Fatal(err)
	}
	mem.SetLoad("fn", "prod", 100)
	healthy := memory.Behavior{ErrorRate: 0.01, Latency: memory.Latency{Median: 40 * time.Millisecond, P99: 200 * time.Millisecond}}
	mem.SetBehavior("fn", "1", healthy)
	mem.SetBehavior("fn", "2", healthy)
	return h
}

// options returns runner options on the harness; the caller adjusts them.
func (h *harness) options() RunnerOptions {
	return RunnerOptions{
		Provider: h.rec,
		Metrics:  h.mem,
		Store:    h.store,
		Clock:    h.clk,
		OnEvent: func(e ProgressEvent) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		},
		Checks: map[string]Check{"errors": errorCheck()},
	}
}

func (h *harness) runner(opts RunnerOptions) *Runner {
	h.t.Helper()
	r, err := NewRunner(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// route returns prod's route now.
func (h *harness) route() provider.Route {
	h.t.Helper()
	r, err := h.mem.Route(context.Background(), "fn", "prod")
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// served returns the requests version served on prod in [from, to) since
// runEpoch.
func (h *harness) served(version string, from, to time.Duration) int64 {
	h.t.Helper()
	obs, err := h.mem.Observe(context.Background(), provider.Query{Function: "fn", Alias: "prod", Versions: []string{version},
		Start: runEpoch.Add(from), End: runEpoch.Add(to), Period: time.Minute})
	if err != nil {
		h.t.Fatal(err)
	}
	s, _ := obs.Of(version)
	return s.Total().Invocations
}

// errorCheck passes a candidate whose error rate is at most twice the
// stable version's plus half a percent.
func errorCheck() Check { return Relative{Metric: ErrorRate, Factor: 2, Slack: 0.005} }

// analysed adds the error check to s, with a one-minute interval.
func analysed(s Strategy) Strategy {
	s.Interval = time.Minute
	s.Analysis.Checks = []CheckSpec{{Name: "errors", Check: errorCheck()}}
	return s
}

// wantSchedule returns the route writes a healthy rollout of s makes on
// prod: each step's weight when the previous steps' bakes have passed.
func wantSchedule(s Strategy) []routeWrite {
	var out []routeWrite
	var at time.Duration
	for _, st := range s.Plan().Steps {
		out = append(out, routeWrite{At: at, Alias: "prod", Weights: describe(provider.Split("prod", "1", "2", st.Weight))})
		at += st.Bake
	}
	return out
}

func TestRunnerHealthyReleaseFollowsEveryPreset(t *testing.T) {
	// The schedules, written out: CodeDeploy's documentation of each
	// predefined configuration.
	linear := func(every time.Duration) []routeWrite {
		var w []routeWrite
		for i := 1; i <= 10; i++ {
			w = append(w, routeWrite{At: time.Duration(i-1) * every, Alias: "prod", Weights: describe(provider.Split("prod", "1", "2", i*1000))})
		}
		return w
	}
	canary := func(bake time.Duration) []routeWrite {
		return []routeWrite{{At: 0, Alias: "prod", Weights: "1=90% 2=10%"}, {At: bake, Alias: "prod", Weights: "2=100%"}}
	}
	want := map[string][]routeWrite{
		"Canary10Percent5Minutes":       canary(5 * time.Minute),
		"Canary10Percent10Minutes":      canary(10 * time.Minute),
		"Canary10Percent15Minutes":      canary(15 * time.Minute),
		"Canary10Percent30Minutes":      canary(30 * time.Minute),
		"Linear10PercentEvery1Minute":   linear(time.Minute),
		"Linear10PercentEvery2Minutes":  linear(2 * time.Minute),
		"Linear10PercentEvery3Minutes":  linear(3 * time.Minute),
		"Linear10PercentEvery10Minutes": linear(10 * time.Minute),
		"AllAtOnce":                     {{At: 0, Alias: "prod", Weights: "2=100%"}},
	}
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			s, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			if name != "AllAtOnce" {
				s = analysed(s) // AllAtOnce has no bake to analyse
			}
			h := newHarness(t, 1)
			r := h.runner(h.options())
			st, err := r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
			if err != nil {
				t.Fatalf("Start = %v; history:\n%s", err, historyText(st))
			}
			if st.Phase != PhaseSucceeded {
				t.Fatalf("phase %s, want Succeeded", st.Phase)
			}
			if diff := cmp.Diff(want[name], h.rec.Writes()); diff != "" {
				t.Errorf("route writes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantSchedule(s), h.rec.Writes()); diff != "" {
				t.Errorf("route writes against the strategy's own steps (-want +got):\n%s", diff)
			}
			if got := h.route(); !got.SameTraffic(provider.To("prod", "2")) {
				t.Errorf("final route %s, want all traffic on 2", describe(got))
			}
			stored, _, err := h.store.Load(context.Background(), "r1")
			if err != nil || stored.Phase != PhaseSucceeded {
				t.Errorf("stored state: phase %s, %v; want Succeeded", stored.Phase, err)
			}
			checkHistory(t, stored)
			if name != "AllAtOnce" && st.Checks[0].Passes == 0 {
				t.Errorf("no window passed: %+v", st.Checks)
			}
		})
	}
}

// historyText renders a state's history for failure messages.
func historyText(st State) string {
	var b strings.Builder
	for _, t := range st.History {
		fmt.Fprintf(&b, "  %s %s → %s (step %d, %s): %s\n", t.At.Sub(runEpoch), t.From, t.To, t.Step, t.Event, t.Reason)
	}
	return b.String()
}

// checkHistory asserts the history is a chain: it starts from Pending,
// every entry leaves the phase the previous one entered along an allowed
// edge, times never go back, and it ends in the state's phase.
func checkHistory(t *testing.T, st State) {
	t.Helper()
	from := PhasePending
	var at time.Time
	for i, tr := range st.History {
		if tr.From != from || !Allowed(tr.From, tr.To) || tr.At.Before(at) {
			t.Fatalf("history[%d] %s → %s at %s does not follow %s at %s:\n%s", i, tr.From, tr.To, tr.At, from, at, historyText(st))
		}
		from, at = tr.To, tr.At
	}
	if from != st.Phase {
		t.Fatalf("history ends in %s, the state is %s", from, st.Phase)
	}
}

func TestRunnerBadReleaseRolledBackWithinOneInterval(t *testing.T) {
	cases := []struct {
		name      string
		faultAt   time.Duration // when the candidate turns bad
		warmUp    time.Duration
		wantBack  time.Duration // when the stable route is restored
		minServed int64         // candidate requests served in total
		maxServed int64
	}{
		// Bad from the start, 30s warm-up: the first window is [1m, 2m)
		// (the first minute boundary after the warm-up), judged at 2m.
		// Served: 10% of 100 rps for 120s = 1200 expected.
		{name: "bad from the start", faultAt: 0, warmUp: 30 * time.Second, wantBack: 2 * time.Minute, minServed: 1100, maxServed: 1300},
		// Turns bad at 3m: the first complete window showing it is
		// [3m, 4m), judged at 4m: rolled back at 4m, 4 minutes at 10%:
		// 2400 expected.
		{name: "turns bad mid-bake", faultAt: 3 * time.Minute, warmUp: 30 * time.Second, wantBack: 4 * time.Minute, minServed: 2250, maxServed: 2550},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 7)
			bad := memory.Behavior{ErrorRate: 0.05, Latency: memory.Latency{Median: 40 * time.Millisecond, P99: 200 * time.Millisecond}}
			s := analysed(Canary(1000, 10*time.Minute))
			s.WarmUp = tc.warmUp
			r := h.runner(h.options())
			var st State
			var err error
			h.clk.Run(func() {
				st, err = r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
			}, func() {
				if tc.faultAt > 0 {
					_ = h.clk.Sleep(context.Background(), tc.faultAt)
				}
				h.mem.SetBehavior("fn", "2", bad)
			})
			if !errors.Is(err, ErrRolledBack) || st.Phase != PhaseRolledBack {
				t.Fatalf("Start = %s, %v; want RolledBack, ErrRolledBack\n%s", st.Phase, err, historyText(st))
			}
			writes := h.rec.Writes()
			last := writes[len(writes)-1]
			if last.Weights != "1=100%" || last.At != tc.wantBack {
				t.Fatalf("last route write %+v, want 100%% 1 at %s; writes %+v", last, tc.wantBack, writes)
			}
			served := h.served("2", 0, tc.wantBack+5*time.Minute)
			if served < tc.minServed || served > tc.maxServed {
				t.Errorf("candidate served %d requests, want %d..%d", served, tc.minServed, tc.maxServed)
			}
			if after := h.served("2", tc.wantBack, tc.wantBack+5*time.Minute); after != 0 {
				t.Errorf("candidate served %d requests after the rollback", after)
			}
			checkHistory(t, st)
		})
	}
}

func TestRunnerStartValidatesBeforeTouching(t *testing.T) {
	noop := func(context.Context, HookInput) error { return nil }
	cases := []struct {
		name    string
		ro      Rollout
		opts    func(*RunnerOptions)
		setup   func(*harness)
		wantErr error
	}{
		{name: "candidate is the stable version", ro: Rollout{Candidate: "1", Strategy: Canary(1000, time.Minute)}, wantErr: provider.ErrInvalid},
		{name: "empty candidate", ro: Rollout{Strategy: Canary(1000, time.Minute)}, wantErr: provider.ErrInvalid},
		{name: "bad id", ro: Rollout{ID: "../x", Candidate: "2", Strategy: Canary(1000, time.Minute)}, wantErr: provider.ErrInvalid},
		{name: "no steps", ro: Rollout{Candidate: "2"}, wantErr: provider.ErrInvalid},
		{name: "weight finer than the platform's granularity", ro: Rollout{Candidate: "2", Strategy: Canary(150, time.Minute)},
			setup: func(h *harness) {
				mem, err := memory.New(memory.Options{Now: h.clk.Now, Capabilities: &provider.Capabilities{Granularity: 100}})
				if err != nil {
					h.t.Fatal(err)
				}
				h.rec.Provider = mem // an empty provider: validation must fail before it is asked anything
			}, wantErr: provider.ErrUnsupported},
		{name: "hook without code", ro: Rollout{Candidate: "2", Strategy: func() Strategy {
			s := Canary(1000, time.Minute)
			s.PreTraffic = &HookSpec{Name: "smoke"}
			return s
		}()}, wantErr: provider.ErrInvalid},
		{name: "checks without metrics", ro: Rollout{Candidate: "2", Strategy: analysed(Canary(1000, 5*time.Minute))},
			opts: func(o *RunnerOptions) { o.Metrics = nil }, wantErr: provider.ErrInvalid},
		{name: "interval not a multiple of the metrics resolution", ro: Rollout{Candidate: "2", Strategy: func() Strategy {
			s := analysed(Canary(1000, 5*time.Minute))
			s.Interval = 90 * time.Second
			return s
		}()}, wantErr: provider.ErrInvalid},
		{name: "route already split by another rollout", ro: Rollout{Candidate: "2", Strategy: Canary(1000, time.Minute)},
			setup: func(h *harness) {
				if _, err := h.mem.Publish(context.Background(), "fn", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("v3")}}); err != nil {
					h.t.Fatal(err)
				}
				cur := h.route()
				sp := provider.Split("prod", "1", "3", 500)
				sp.Revision = cur.Revision
				if _, err := h.mem.SetRoute(context.Background(), "fn", sp); err != nil {
					h.t.Fatal(err)
				}
			}, wantErr: provider.ErrConflict},
		{name: "missing alias", ro: Rollout{Candidate: "2", Strategy: Canary(1000, time.Minute)},
			setup: func(*harness) {}, wantErr: provider.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1)
			if tc.setup != nil {
				tc.setup(h)
			}
			o := h.options()
			o.Hooks = map[string]HookFunc{"other": noop}
			if tc.opts != nil {
				tc.opts(&o)
			}
			ro := tc.ro
			if ro.ID == "" {
				ro.ID = "r1"
			}
			ro.Function, ro.Alias = "fn", "prod"
			if tc.name == "missing alias" {
				ro.Alias = "staging"
			}
			before := h.route()
			_, err := h.runner(o).Start(context.Background(), ro)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Start = %v, want %v", err, tc.wantErr)
			}
			if len(h.rec.Writes()) != 0 {
				t.Fatalf("route written: %+v", h.rec.Writes())
			}
			if after := h.route(); after.Revision != before.Revision {
				t.Fatalf("route changed from %s to %s", describe(before), describe(after))
			}
			if _, _, err := h.store.Load(context.Background(), ro.ID); !errors.Is(err, provider.ErrNotFound) && !errors.Is(err, provider.ErrInvalid) {
				t.Fatalf("a state was saved: %v", err)
			}
		})
	}
	t.Run("rollout id taken", func(t *testing.T) {
		h := newHarness(t, 1)
		r := h.runner(h.options())
		ro := Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: AllAtOnce()}
		if _, err := r.Start(context.Background(), ro); err != nil {
			t.Fatal(err)
		}
		if _, err := h.mem.SetRoute(context.Background(), "fn", provider.Route{Alias: "prod", Revision: h.route().Revision,
			Weights: []provider.Weight{{Version: "1", BasisPoints: provider.AllTraffic}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Start(context.Background(), ro); !errors.Is(err, provider.ErrConflict) {
			t.Fatalf("second Start with the same id = %v, want ErrConflict", err)
		}
	})
}

func TestRunnerOptionsValidate(t *testing.T) {
	p, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		o     RunnerOptions
	}{
		{"provider", RunnerOptions{}},
		{"cancelPolicy", RunnerOptions{Provider: p, CancelPolicy: 7}},
		{"onOutOfBand", RunnerOptions{Provider: p, OnOutOfBand: 7}},
		{"pollInterval", RunnerOptions{Provider: p, PollInterval: -1}},
		{"hooks[x]", RunnerOptions{Provider: p, Hooks: map[string]HookFunc{"x": nil}}},
		{"checks[x]", RunnerOptions{Provider: p, Checks: map[string]Check{"x": nil}}},
	} {
		_, err := NewRunner(tc.o)
		var ie *provider.InvalidError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("NewRunner with a bad %s = %v, want an InvalidError naming it", tc.field, err)
		}
	}
}

func TestRunnerCancellation(t *testing.T) {
	for _, tc := range []struct {
		policy    CancelPolicy
		wantPhase Phase
		wantRoute string
		wantIs    error
	}{
		{policy: RollBackOnCancel, wantPhase: PhaseRolledBack, wantRoute: "1=100%", wantIs: ErrRolledBack},
		{policy: LeaveOnCancel, wantPhase: PhaseFailed, wantRoute: "1=90% 2=10%", wantIs: ErrStopped},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			h := newHarness(t, 21)
			o := h.options()
			o.CancelPolicy = tc.policy
			r := h.runner(o)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var st State
			var err error
			h.clk.Run(func() {
				st, err = r.Start(ctx, Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: analysed(Canary(1000, 10*time.Minute))})
			}, func() {
				_ = h.clk.Sleep(context.Background(), 150*time.Second) // SIGTERM at 2m30s
				cancel()
			})
			if st.Phase != tc.wantPhase || !errors.Is(err, context.Canceled) || !errors.Is(err, tc.wantIs) {
				t.Fatalf("Start = %s, %v; want %s wrapping context.Canceled and %v", st.Phase, err, tc.wantPhase, tc.wantIs)
			}
			if got := describe(h.route()); got != tc.wantRoute {
				t.Fatalf("route %s, want %s", got, tc.wantRoute)
			}
			if tc.policy == RollBackOnCancel {
				if w := h.rec.Writes(); w[len(w)-1].At != 150*time.Second {
					t.Fatalf("rollback written at %s, want at the cancellation, 2m30s", w[len(w)-1].At)
				}
			}
			stored, _, _ := h.store.Load(context.Background(), "r1")
			if stored.Phase != tc.wantPhase {
				t.Fatalf("stored phase %s, want %s", stored.Phase, tc.wantPhase)
			}
		})
	}
}

// operate runs the rollout and, as a second participant, the operator's
// script; it returns what Start returned.
func (h *harness) operate(r *Runner, ro Rollout, script func()) (State, error) {
	var st State
	var err error
	h.clk.Run(func() { st, err = r.Start(context.Background(), ro) }, script)
	return st, err
}

func (h *harness) sleep(d time.Duration) {
	if err := h.clk.Sleep(context.Background(), d); err != nil {
		panic(err)
	}
}

func TestRunnerOperatorControls(t *testing.T) {
	ro := Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: analysed(Canary(1000, 5*time.Minute))}
	t.Run("pause and continue", func(t *testing.T) {
		h := newHarness(t, 23)
		r := h.runner(h.options())
		var paused State
		st, err := h.operate(r, ro, func() {
			h.sleep(95 * time.Second)
			if _, err := r.Pause(context.Background(), "r1"); err != nil {
				panic(err)
			}
			h.sleep(20 * time.Minute)
			paused, _, _ = h.store.Load(context.Background(), "r1")
			if _, err := r.Continue(context.Background(), "r1"); err != nil {
				panic(err)
			}
		})
		if err != nil || st.Phase != PhaseSucceeded {
			t.Fatalf("Start = %s, %v", st.Phase, err)
		}
		if paused.Phase != PhasePaused {
			t.Fatalf("20 minutes after Pause the rollout is %s", paused.Phase)
		}
		// Paused at 1m35s, continued at 21m35s: the bake restarts then and
		// judges its 5 whole windows, [22m,23m) … [26m,27m), so it ends at
		// 27m rather than at 26m35s (Plan.BakeEnd).
		want := []routeWrite{{0, "prod", "1=90% 2=10%"}, {27 * time.Minute, "prod", "2=100%"}}
		if diff := cmp.Diff(want, h.rec.Writes()); diff != "" {
			t.Fatalf("route writes (-want +got):\n%s", diff)
		}
	})
	t.Run("promote now", func(t *testing.T) {
		h := newHarness(t, 23)
		r := h.runner(h.options())
		st, err := h.operate(r, ro, func() {
			h.sleep(95 * time.Second)
			if _, err := r.PromoteNow(context.Background(), "r1"); err != nil {
				panic(err)
			}
		})
		if err != nil || st.Phase != PhaseSucceeded {
			t.Fatalf("Start = %s, %v", st.Phase, err)
		}
		// Seen at the runner's next poll of the store, 1m40s.
		want := []routeWrite{{0, "prod", "1=90% 2=10%"}, {100 * time.Second, "prod", "2=100%"}}
		if diff := cmp.Diff(want, h.rec.Writes()); diff != "" {
			t.Fatalf("route writes (-want +got):\n%s", diff)
		}
	})
	t.Run("abort", func(t *testing.T) {
		h := newHarness(t, 23)
		r := h.runner(h.options())
		st, err := h.operate(r, ro, func() {
			h.sleep(95 * time.Second)
			if _, err := r.Abort(context.Background(), "r1"); err != nil {
				panic(err)
			}
		})
		if !errors.Is(err, ErrRolledBack) || describe(h.route()) != "1=100%" {
			t.Fatalf("Start = %s, %v, route %s", st.Phase, err, describe(h.route()))
		}
	})
	t.Run("approval by an operator", func(t *testing.T) {
		h := newHarness(t, 23)
		r := h.runner(h.options())
		s := analysed(Canary(1000, 5*time.Minute))
		s.Approval = &ApprovalSpec{Timeout: time.Hour}
		var early error
		st, err := h.operate(r, Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s}, func() {
			h.sleep(95 * time.Second)
			_, early = r.Approve(context.Background(), "r1") // no gate waits yet
			h.sleep(10 * time.Minute)
			if _, err := r.Approve(context.Background(), "r1"); err != nil {
				panic(err)
			}
		})
		if err != nil || st.Phase != PhaseSucceeded {
			t.Fatalf("Start = %s, %v", st.Phase, err)
		}
		if !errors.Is(early, ErrIgnored) {
			t.Fatalf("Approve before the gate = %v, want ErrIgnored", early)
		}
		want := []routeWrite{{0, "prod", "1=90% 2=10%"}, {11*time.Minute + 40*time.Second, "prod", "2=100%"}}
		if diff := cmp.Diff(want, h.rec.Writes()); diff != "" {
			t.Fatalf("route writes (-want +got):\n%s", diff)
		}
	})
	t.Run("approval times out", func(t *testing.T) {
		h := newHarness(t, 23)
		s := analysed(Canary(1000, 5*time.Minute))
		s.Approval = &ApprovalSpec{Timeout: time.Hour}
		st, err := h.runner(h.options()).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
		if !errors.Is(err, ErrRolledBack) {
			t.Fatalf("Start = %s, %v; want rolled back", st.Phase, err)
		}
		if w := h.rec.Writes(); w[len(w)-1].At != time.Hour+5*time.Minute {
			t.Fatalf("rolled back at %s, want 1h5m0s", w[len(w)-1].At)
		}
	})
	t.Run("ApproveFunc rejects", func(t *testing.T) {
		h := newHarness(t, 23)
		o := h.options()
		o.Approve = func(ctx context.Context, a Approval) (bool, error) {
			if a.Weight != 1000 || a.Candidate != "2" {
				panic(fmt.Sprintf("approval %+v", a))
			}
			return false, nil
		}
		s := analysed(Canary(1000, 5*time.Minute))
		s.Approval = &ApprovalSpec{}
		st, err := h.runner(o).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
		if !errors.Is(err, ErrRolledBack) || !strings.Contains(rollbackReason(st), "rejected") {
			t.Fatalf("Start = %s, %v (%s); want rolled back as rejected", st.Phase, err, rollbackReason(st))
		}
	})
	t.Run("control on a finished rollout", func(t *testing.T) {
		h := newHarness(t, 23)
		r := h.runner(h.options())
		if _, err := r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: AllAtOnce()}); err != nil {
			t.Fatal(err)
		}
		for name, f := range map[string]func(context.Context, string) (State, error){"Pause": r.Pause, "Abort": r.Abort, "PromoteNow": r.PromoteNow, "Continue": r.Continue} {
			if _, err := f(context.Background(), "r1"); !errors.Is(err, ErrIgnored) {
				t.Errorf("%s on a finished rollout = %v, want ErrIgnored", name, err)
			}
		}
		if _, err := r.Pause(context.Background(), "nope"); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("Pause of an unknown rollout = %v, want ErrNotFound", err)
		}
	})
}

func TestRunnerHooks(t *testing.T) {
	boom := errors.New("smoke test: 500 from /health")
	t.Run("pre-traffic failure: traffic never moves", func(t *testing.T) {
		h := newHarness(t, 29)
		o := h.options()
		var got HookInput
		o.Hooks = map[string]HookFunc{"smoke": func(ctx context.Context, in HookInput) error { got = in; return boom }}
		s := Canary(1000, 5*time.Minute)
		s.PreTraffic = &HookSpec{Name: "smoke", Timeout: time.Minute}
		st, err := h.runner(o).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
		var he *HookError
		if !errors.Is(err, ErrRolledBack) || !errors.Is(err, boom) || !errors.As(err, &he) || he.Stage != StagePreTraffic {
			t.Fatalf("Start = %s, %v; want rolled back with the PreTraffic HookError", st.Phase, err)
		}
		if len(h.rec.Writes()) != 0 {
			t.Fatalf("route written: %+v", h.rec.Writes())
		}
		if got.Candidate != "2" || got.Stable != "1" || got.Stage != StagePreTraffic || !got.Deadline.Equal(runEpoch.Add(time.Minute)) {
			t.Fatalf("hook input %+v", got)
		}
	})
	t.Run("post-traffic timeout: rolled back", func(t *testing.T) {
		h := newHarness(t, 29)
		o := h.options()
		o.Hooks = map[string]HookFunc{"e2e": func(ctx context.Context, in HookInput) error { return h.clk.Sleep(ctx, time.Hour) }}
		s := Canary(1000, 5*time.Minute)
		s.PostTraffic = &HookSpec{Name: "e2e", Timeout: 2 * time.Minute}
		st, err := h.runner(o).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
		if !errors.Is(err, ErrRolledBack) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Start = %s, %v; want rolled back after the hook's deadline", st.Phase, err)
		}
		want := []routeWrite{{0, "prod", "1=90% 2=10%"}, {5 * time.Minute, "prod", "2=100%"}, {7 * time.Minute, "prod", "1=100%"}}
		if diff := cmp.Diff(want, h.rec.Writes()); diff != "" {
			t.Fatalf("route writes (-want +got):\n%s", diff)
		}
	})
}

// throttler refuses the first n writes of the stable route with a
// throttling error, changing nothing, as Lambda's 429 does.
type throttler struct {
	provider.Provider
	n atomic.Int64
}

func (p *throttler) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	if r.SameTraffic(provider.To(r.Alias, "1")) && p.n.Add(-1) >= 0 {
		return provider.Route{}, &provider.Error{Op: "set route", Function: fn, Err: &provider.ThrottleError{RetryAfter: 2 * time.Second}}
	}
	return p.Provider.SetRoute(ctx, fn, r)
}

func TestRunnerRollbackRetriedThroughThrottling(t *testing.T) {
	h := newHarness(t, 31)
	h.mem.SetBehavior("fn", "2", memory.Behavior{ErrorRate: 0.2})
	th := &throttler{Provider: h.rec}
	th.n.Store(7) // more than one RetryPolicy's 5 attempts: the machine writes again
	o := h.options()
	o.Provider = th
	o.Retry = provider.RetryPolicy{Jitter: func() float64 { return 0.5 }}
	st, err := h.runner(o).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: analysed(Canary(1000, 5*time.Minute))})
	if !errors.Is(err, ErrRolledBack) || describe(h.route()) != "1=100%" {
		t.Fatalf("Start = %s, %v, route %s; want rolled back", st.Phase, err, describe(h.route()))
	}
	if st.RollbackAttempts != 1 {
		t.Fatalf("rollback attempts %d, want 1 (5 throttled calls, then 2 more and success)", st.RollbackAttempts)
	}
}

func TestRunnerBlueGreen(t *testing.T) {
	h := newHarness(t, 37)
	h.mem.SetLoad("fn", "test", 20)
	s := BlueGreenStrategy("test", 5*time.Minute, 5*time.Minute)
	s.Interval = time.Minute
	// An absolute check: after the switch the stable version serves
	// nothing, so a check relative to it would be inconclusive.
	s.Analysis.Checks = []CheckSpec{{Name: "errors", Check: Threshold{Metric: ErrorRate, Max: 0.03}}}
	st, err := h.runner(h.options()).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: s})
	if err != nil || st.Phase != PhaseSucceeded {
		t.Fatalf("Start = %s, %v\n%s", st.Phase, err, historyText(st))
	}
	want := []routeWrite{{0, "test", "2=100%"}, {5 * time.Minute, "prod", "2=100%"}}
	if diff := cmp.Diff(want, h.rec.Writes()); diff != "" {
		t.Fatalf("route writes (-want +got):\n%s", diff)
	}
	if st.Checks[0].Passes != 10 {
		t.Fatalf("%d windows passed, want 10 (5 on the test alias, 5 after the switch)", st.Checks[0].Passes)
	}
}

func TestRunnerWaitsForLaggingMetrics(t *testing.T) {
	h := newHarness(t, 41)
	mem, err := memory.New(memory.Options{Now: h.clk.Now, Seed: 41, MetricsLag: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// The same function on a provider whose metrics lag two minutes.
	for _, code := range []string{"v1", "v2"} {
		if _, err := mem.Publish(context.Background(), "fn", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mem.SetRoute(context.Background(), "fn", provider.To("prod", "1")); err != nil {
		t.Fatal(err)
	}
	mem.SetLoad("fn", "prod", 100)
	h.rec.Provider = mem
	o := h.options()
	o.Metrics = mem
	st, err := h.runner(o).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: analysed(Canary(1000, 5*time.Minute))})
	if err != nil || st.Checks[0].Passes != 5 || st.Checks[0].Errors != 0 {
		t.Fatalf("Start = %s, %v, checks %+v; want 5 passes and no errors", st.Phase, err, st.Checks)
	}
	// The last window [4m, 5m) is complete at 7m.
	if w := h.rec.Writes(); w[len(w)-1].At != 7*time.Minute {
		t.Fatalf("promoted at %s, want 7m0s", w[len(w)-1].At)
	}
}

func TestRunnerFileStoreOperatorInAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, 43)
	runnerStore, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer runnerStore.Close()
	operatorStore, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer operatorStore.Close()
	o := h.options()
	o.Store = runnerStore
	r := h.runner(o)
	oo := h.options()
	oo.Store = operatorStore
	operator := h.runner(oo)
	st, err := h.operate(r, Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: analysed(Canary(1000, 5*time.Minute))}, func() {
		h.sleep(95 * time.Second)
		if _, err := operator.Abort(context.Background(), "r1"); err != nil {
			panic(err)
		}
	})
	if !errors.Is(err, ErrRolledBack) || describe(h.route()) != "1=100%" {
		t.Fatalf("Start = %s, %v, route %s; want rolled back by the operator", st.Phase, err, describe(h.route()))
	}
	stored, _, err := operatorStore.Load(context.Background(), "r1")
	if err != nil || stored.Phase != PhaseRolledBack {
		t.Fatalf("stored: %s, %v", stored.Phase, err)
	}
	if !strings.Contains(rollbackReason(stored), "aborted") {
		t.Fatalf("rollback reason %q", rollbackReason(stored))
	}
}
