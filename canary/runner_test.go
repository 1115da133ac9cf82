package canary

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	t      *testing.T
	clk    *VirtualClock
	mem    *memory.Provider
	rec    *recorder
	store  *MemoryStore
	mu     sync.Mutex
	events []ProgressEvent
}

func newHarness(t *testing.T, seed int64) *harness {
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
		return []routeWrite{{At: 0, Alias: "prod", Weights: "90% 1, 10% 2"}, {At: bake, Alias: "prod", Weights: "100% 2"}}
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
		"AllAtOnce":                     {{At: 0, Alias: "prod", Weights: "100% 2"}},
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
			if last.Weights != "100% 1" || last.At != tc.wantBack {
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
