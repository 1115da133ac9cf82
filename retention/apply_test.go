package retention_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/retention"
)

func unlimited() *rate.Limiter { return rate.NewLimiter(rate.Inf, 0) }

// plan plans fns on p with an unlimited budget and fails the test on error.
func plan(t testing.TB, p provider.Provider, pol retention.Policy, fns ...string) retention.Plan {
	t.Helper()
	pl, err := retention.Planner{Limiter: unlimited()}.Plan(context.Background(), p, fns, pol, t0.Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// kept lists, per function, the versions the plan keeps.
func kept(pl retention.Plan) map[string][]string {
	out := map[string][]string{}
	for _, f := range pl.Functions {
		for _, d := range f.Versions {
			if d.Action == retention.Keep {
				out[f.Function] = append(out[f.Function], d.Version)
			}
		}
	}
	return out
}

func TestApplyDeletesWhatThePlanDeletes(t *testing.T) {
	p := newMemory(t, memory.Options{})
	for _, fn := range []string{"a", "b", "c"} {
		publishN(t, p, fn, 12)
	}
	setRoute(t, p, "a", "live", "12", 10000)
	setRoute(t, p, "b", "live", "2", 9000, "12", 1000)
	setRoute(t, p, "c", "live", "5", 10000)
	p.SetUsage("b", []provider.Usage{{Version: "3", Reason: "provisioned concurrency 1"}})
	pl := plan(t, p, retention.Policy{KeepLast: 3}, "c", "b", "a")

	var events []retention.Progress
	rep, err := retention.Apply(context.Background(), p, pl, retention.ApplyOptions{
		Limiter:  unlimited(),
		Progress: func(e retention.Progress) { events = append(events, e) },
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := map[string][]string{"a": {"10", "11", "12"}, "b": {"2", "3", "10", "11", "12"}, "c": {"5", "10", "11", "12"}}
	if diff := cmp.Diff(want, kept(pl)); diff != "" {
		t.Fatalf("plan keeps (-want +got):\n%s", diff)
	}
	for fn, w := range want {
		if diff := cmp.Diff(w, ids(t, p, fn)); diff != "" {
			t.Errorf("versions of %s after Apply (-want +got):\n%s", fn, diff)
		}
	}
	for i, f := range rep.Functions {
		if diff := cmp.Diff(pl.Functions[i].Deletions(), f.Deleted); diff != "" || len(f.Skipped)+len(f.Failed)+len(f.Canceled) > 0 {
			t.Errorf("report of %s: %+v; deleted (-planned +got):\n%s", f.Function, f, diff)
		}
	}
	tot := rep.Totals()
	if tot != (retention.Totals{Functions: 3, Planned: 9 + 7 + 8, Deleted: 24}) {
		t.Errorf("Totals() = %+v", tot)
	}
	if len(events) != 24 {
		t.Fatalf("got %d progress events, want one per planned deletion (24)", len(events))
	}
	for i, e := range events {
		if e.Planned != 24 || e.Functions != 3 || e.Deleted != i+1 || e.Outcome != retention.Deleted {
			t.Errorf("event %d = %+v", i, e)
		}
		if i > 0 && e.FunctionsDone < events[i-1].FunctionsDone {
			t.Errorf("FunctionsDone went down at event %d: %+v", i, e)
		}
	}
	if last := events[len(events)-1]; last.FunctionsDone != 3 {
		t.Errorf("last event %+v: want every function done", last)
	}
}

// TestApplyReferenceCheck: a version that a route or a usage references
// after the plan was made is skipped and reported, never deleted — whether
// Apply's own read sees it or the platform refuses the delete.
func TestApplyReferenceCheck(t *testing.T) {
	setup := func(t *testing.T) (*memory.Provider, retention.Plan) {
		p := newMemory(t, memory.Options{})
		publishN(t, p, "f", 10)
		setRoute(t, p, "f", "live", "10", 10000)
		pl := plan(t, p, retention.Policy{KeepLast: 1}, "f")
		if got := pl.Functions[0].Deletions(); len(got) != 9 {
			t.Fatalf("plan deletes %v, want 1..9", got)
		}
		return p, pl
	}
	skipped := func(rep retention.Report) map[string]string {
		out := map[string]string{}
		for _, s := range rep.Functions[0].Skipped {
			out[s.Version] = s.Reason
		}
		return out
	}

	t.Run("route moved after the plan", func(t *testing.T) {
		p, pl := setup(t)
		setRoute(t, p, "f", "live", "10", 9000, "4", 1000) // a canary on an old version
		setRoute(t, p, "f", "beta", "6", 10000)
		rec := &recorder{p: p}
		rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{Limiter: unlimited()})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		want := map[string]string{"4": "alias live (10%) references it now", "6": "alias beta (100%) references it now"}
		if diff := cmp.Diff(want, skipped(rep)); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"4", "6", "10"}, ids(t, p, "f")); diff != "" {
			t.Errorf("versions left (-want +got):\n%s", diff)
		}
		for _, c := range rec.log() {
			if c.op == "DeleteVersion" && (c.id == "4" || c.id == "6") {
				t.Errorf("a delete of referenced version %s was sent", c.id)
			}
		}
	})

	t.Run("usage appeared after the plan", func(t *testing.T) {
		p, pl := setup(t)
		p.SetUsage("f", []provider.Usage{{Version: "2", Reason: "event source arn:aws:sqs:eu-west-1:1:q"}})
		rep, err := retention.Apply(context.Background(), p, pl, retention.ApplyOptions{Limiter: unlimited()})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if diff := cmp.Diff(map[string]string{"2": "in use now: event source arn:aws:sqs:eu-west-1:1:q"}, skipped(rep)); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
	})

	t.Run("route moved during the run: the platform refuses, counted as kept", func(t *testing.T) {
		p, pl := setup(t)
		rec := &recorder{p: p}
		rec.beforeDelete = func(_ context.Context, fn, id string) error {
			if id == "5" { // the route moves between Apply's read and this delete
				return trySetRoute(p, fn, "live", "10", 9900, "5", 100)
			}
			return nil
		}
		rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{Limiter: unlimited(), Concurrency: 1})
		if err != nil {
			t.Fatalf("Apply: %v (ErrInUse must not be a failure)", err)
		}
		s := skipped(rep)
		if len(s) != 1 || !strings.HasPrefix(s["5"], "refused by the platform: ") || !strings.Contains(s["5"], "in use") {
			t.Errorf("skipped = %q, want version 5 refused by the platform as in use", s)
		}
		if diff := cmp.Diff([]string{"5", "10"}, ids(t, p, "f")); diff != "" {
			t.Errorf("versions left (-want +got):\n%s", diff)
		}
		if n := rec.count("DeleteVersion"); n != 9 {
			t.Errorf("%d delete calls, want 9: an in-use refusal is not retried", n)
		}
	})

	// moveBefore returns a recorder whose delete of version from moves the
	// route beta onto version to, from inside that delete call: after the
	// plan, after every earlier check, just before to's own check.
	moveBefore := func(p *memory.Provider, from, to string) *recorder {
		return &recorder{p: p, beforeDelete: func(_ context.Context, fn, id string) error {
			if id == from {
				return trySetRoute(p, fn, "beta", to, 10000)
			}
			return nil
		}}
	}
	// neverSent fails the test if a delete of version id was sent.
	neverSent := func(t *testing.T, rec *recorder, id string) {
		t.Helper()
		for _, c := range rec.log() {
			if c.op == "DeleteVersion" && c.id == id {
				t.Errorf("a delete of version %s was sent after it became referenced (%v)", id, c.err)
			}
		}
	}

	t.Run("by default the routes are read right before every delete", func(t *testing.T) {
		p, pl := setup(t)
		rec := moveBefore(p, "3", "4") // while 3 is deleted, a route moves onto 4
		rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{Limiter: unlimited(), Concurrency: 1})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if diff := cmp.Diff(map[string]string{"4": "alias beta (100%) references it now"}, skipped(rep)); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
		neverSent(t, rec, "4")
		if diff := cmp.Diff([]string{"4", "10"}, ids(t, p, "f")); diff != "" {
			t.Errorf("versions left (-want +got):\n%s", diff)
		}
		// One check (Routes and Usage) per delete: 9 planned, one skipped.
		if r, u, d := rec.count("Routes"), rec.count("Usage"), rec.count("DeleteVersion"); r != 9 || u != 9 || d != 8 {
			t.Errorf("%d Routes, %d Usage and %d DeleteVersion calls, want 9, 9 and 8", r, u, d)
		}
	})

	t.Run("by default usage is read right before every delete", func(t *testing.T) {
		p, pl := setup(t)
		rec := &recorder{p: p, beforeDelete: func(_ context.Context, fn, id string) error {
			if id == "6" { // while 6 is deleted, 7 gets provisioned concurrency
				p.SetUsage(fn, []provider.Usage{{Version: "7", Reason: "provisioned concurrency (5 requested)"}})
			}
			return nil
		}}
		rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{Limiter: unlimited(), Concurrency: 1})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if diff := cmp.Diff(map[string]string{"7": "in use now: provisioned concurrency (5 requested)"}, skipped(rep)); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
		neverSent(t, rec, "7")
	})

	t.Run("a retry checks again", func(t *testing.T) {
		p, pl := setup(t)
		throttled := false
		rec := &recorder{p: p, beforeDelete: func(_ context.Context, fn, id string) error {
			if id == "2" && !throttled { // 2 is throttled; meanwhile a route moves onto it
				throttled = true
				if err := trySetRoute(p, fn, "beta", "2", 10000); err != nil {
					return err
				}
				return &provider.Error{Op: "delete version", Function: fn, Err: &provider.ThrottleError{RetryAfter: time.Second}}
			}
			return nil
		}}
		rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{
			Limiter: unlimited(), Concurrency: 1, Clock: &stepClock{now: t0},
		})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if diff := cmp.Diff(map[string]string{"2": "alias beta (100%) references it now"}, skipped(rep)); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
		if n := rec.count("DeleteVersion"); n != 9 {
			t.Errorf("%d delete calls, want 9: the retry of 2 is not sent", n)
		}
	})

	// The opt-in to staleness: with one read shared for 5 s, the same move
	// is not seen by Apply; the delete is sent and the platform refuses it.
	// (This is what the default did before the check was made fresh.)
	t.Run("a read shared for 5 s misses the move; the platform refuses", func(t *testing.T) {
		p, pl := setup(t)
		rec := moveBefore(p, "3", "4")
		rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{
			Limiter: unlimited(), Concurrency: 1, RecheckInterval: 5 * time.Second, Clock: &stepClock{now: t0},
		})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		s := skipped(rep)
		if len(s) != 1 || !strings.HasPrefix(s["4"], "refused by the platform: ") {
			t.Errorf("skipped = %q, want version 4 refused by the platform", s)
		}
		if r := rec.count("Routes"); r != 2 {
			t.Errorf("%d Routes calls, want 2: the shared read, and one after the refusal", r)
		}
	})
}

// TestApplyRetriesThrottlingHonouringRetryAfter: throttled deletes are
// retried, never sooner than the platform's hint, and every deletable
// version is deleted.
func TestApplyRetriesThrottlingHonouringRetryAfter(t *testing.T) {
	p := newMemory(t, memory.Options{Seed: 7})
	publishN(t, p, "f", 30)
	pl := plan(t, p, retention.Policy{KeepLast: 1}, "f")
	const hint = 3 * time.Second
	p.Inject(memory.Fault{Ops: []string{memory.OpDeleteVersion}, Rate: 0.4, Err: &provider.ThrottleError{RetryAfter: hint}})
	rec := &recorder{p: p}
	clk := &stepClock{now: t0}
	rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{
		Limiter: unlimited(), Concurrency: 1, Clock: clk,
		Retry: provider.RetryPolicy{MaxAttempts: 20, BaseDelay: time.Millisecond, Jitter: func() float64 { return 0.5 }},
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := rep.Totals().Deleted; got != 29 {
		t.Errorf("deleted %d, want 29", got)
	}
	if diff := cmp.Diff([]string{"30"}, ids(t, p, "f")); diff != "" {
		t.Errorf("versions left (-want +got):\n%s", diff)
	}
	throttled := 0
	for _, c := range rec.log() {
		if errors.Is(c.err, provider.ErrThrottled) {
			throttled++
		}
	}
	sleeps := clk.slept()
	if throttled == 0 || len(sleeps) != throttled {
		t.Fatalf("%d throttled calls and %d waits (%v): want one wait per throttle, and some throttles", throttled, len(sleeps), sleeps)
	}
	for _, d := range sleeps {
		if d < hint {
			t.Errorf("waited %s after a throttle that asked for %s", d, hint)
		}
	}
}

// TestApplyRateBudget: every call of the planner and of Apply takes a token
// of one budget — the reference reads too — so in
// virtual time (a synctest bubble, the wall clock) no two calls are closer
// than 1/rate; the default budget is below Lambda's 15 requests per second,
// and the caller can lower it.
func TestApplyRateBudget(t *testing.T) {
	if retention.DefaultRate > 15 {
		t.Fatalf("DefaultRate %v is above Lambda's control-plane limit of 15 requests per second", retention.DefaultRate)
	}
	tests := []struct {
		name string
		opts func() (retention.Planner, retention.ApplyOptions)
		gap  time.Duration
		// shared: the planner's and Apply's calls share one budget, so the
		// gap holds from the planner's last call to Apply's first.
		shared bool
	}{
		{"default", func() (retention.Planner, retention.ApplyOptions) {
			return retention.Planner{}, retention.ApplyOptions{}
		}, time.Duration(float64(time.Second) / retention.DefaultRate), false},
		{"lowered by the caller", func() (retention.Planner, retention.ApplyOptions) {
			return retention.Planner{Rate: 2}, retention.ApplyOptions{Rate: 2}
		}, 500 * time.Millisecond, false},
		{"one limiter shared by the planner and Apply", func() (retention.Planner, retention.ApplyOptions) {
			lim := rate.NewLimiter(4, 1)
			return retention.Planner{Limiter: lim}, retention.ApplyOptions{Limiter: lim}
		}, 250 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newMemory(t, memory.Options{})
				publishN(t, p, "f", 8)
				publishN(t, p, "g", 8)
				rec := &recorder{p: p}
				planner, opts := tt.opts()
				opts.Concurrency = 1 // one check per delete: an exact count
				pl, err := planner.Plan(context.Background(), rec, []string{"f", "g"}, retention.Policy{KeepLast: 2}, t0)
				if err != nil {
					t.Fatal(err)
				}
				planned := len(rec.log())
				if _, err := retention.Apply(context.Background(), rec, pl, opts); err != nil {
					t.Fatal(err)
				}
				calls := rec.log()
				// 2 × (Versions, Routes, Usage) to plan; 12 deletes, each
				// after a fresh check (Usage, Routes) of its own.
				if len(calls) != 6+12*3 {
					t.Errorf("%d calls, want 42", len(calls))
				}
				for i := 1; i < len(calls); i++ {
					if i == planned && !tt.shared {
						continue // Apply's budget starts full
					}
					if gap := calls[i].at.Sub(calls[i-1].at); gap < tt.gap {
						t.Errorf("calls %d (%s) and %d (%s) are %s apart, want at least %s", i-1, calls[i-1].op, i, calls[i].op, gap, tt.gap)
					}
				}
			})
		})
	}
}

// TestRequestsTakeATokenEach: a provider whose Usage and DeleteVersion send
// two requests each (Capabilities.UsageRequests and DeleteRequests, as on
// Lambda) has those calls take two tokens, in the planner and in Apply: such
// a call comes two token gaps after the call before it, every other call
// one.
func TestRequestsTakeATokenEach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newMemory(t, memory.Options{})
		publishN(t, p, "f", 4)
		rec := &recorder{p: p, usageRequests: 2, deleteRequests: 2}
		lim := rate.NewLimiter(10, 1)
		pl, err := retention.Planner{Limiter: lim}.Plan(context.Background(), rec, []string{"f"}, retention.Policy{KeepLast: 1}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{Limiter: lim, Concurrency: 1}); err != nil {
			t.Fatal(err)
		}
		calls := rec.log()
		// Plan: Versions, Routes, Usage. Apply: 3 × (Usage, Routes, DeleteVersion).
		if len(calls) != 3+3*3 {
			t.Fatalf("%d calls, want 12", len(calls))
		}
		for i := 1; i < len(calls); i++ {
			want := 100 * time.Millisecond
			if calls[i].op == "Usage" || calls[i].op == "DeleteVersion" {
				want = 200 * time.Millisecond
			}
			if gap := calls[i].at.Sub(calls[i-1].at); gap != want {
				t.Errorf("calls %d (%s) and %d (%s) are %s apart, want %s", i-1, calls[i-1].op, i, calls[i].op, gap, want)
			}
		}
	})
}

func TestApplyNonRetryableRefusalIsReportedAndTheRunGoesOn(t *testing.T) {
	p := newMemory(t, memory.Options{})
	publishN(t, p, "edge", 5)
	publishN(t, p, "api", 5)
	pl := plan(t, p, retention.Policy{KeepLast: 1}, "edge", "api")
	replica := errors.New("InvalidParameterValueException: Lambda was unable to delete version 2 because it is a replicated function")
	rec := &recorder{p: p, beforeDelete: func(_ context.Context, fn, id string) error {
		if fn == "edge" && id == "2" {
			return &provider.Error{Op: "delete version", Function: fn, Err: replica}
		}
		return nil
	}}
	rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{Limiter: unlimited()})
	if !errors.Is(err, replica) || !strings.Contains(err.Error(), "delete edge version 2") {
		t.Fatalf("Apply error = %v, want the refusal of edge version 2", err)
	}
	edge := rep.Functions[1]
	if edge.Function != "edge" || len(edge.Failed) != 1 || edge.Failed[0].Version != "2" || !errors.Is(edge.Failed[0].Err, replica) || edge.Failed[0].InDoubt {
		t.Errorf("edge report = %+v, want version 2 failed with the refusal", edge)
	}
	if diff := cmp.Diff([]string{"1", "3", "4"}, edge.Deleted); diff != "" {
		t.Errorf("edge deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4"}, rep.Functions[0].Deleted); diff != "" {
		t.Errorf("api deleted (-want +got):\n%s", diff)
	}
	if n := 0; true {
		for _, c := range rec.log() {
			if c.op == "DeleteVersion" && c.fn == "edge" && c.id == "2" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("edge version 2: %d delete calls, want 1 (the refusal is not retried)", n)
		}
	}
}

func TestApplyOneFunctionsErrorsDoNotStopOthers(t *testing.T) {
	p := newMemory(t, memory.Options{})
	for _, fn := range []string{"a", "b", "c"} {
		publishN(t, p, fn, 6)
	}
	pl := plan(t, p, retention.Policy{KeepLast: 1}, "a", "b", "c")
	rec := &recorder{p: p, beforeDelete: func(_ context.Context, fn, _ string) error {
		if fn == "b" {
			return &provider.Error{Op: "delete version", Function: fn, Err: provider.ErrUnavailable}
		}
		return nil
	}}
	rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{
		Limiter: unlimited(), Concurrency: 3,
		Retry: provider.RetryPolicy{MaxAttempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("Apply error = %v, want the failures of b", err)
	}
	for _, f := range rep.Functions {
		switch f.Function {
		case "b":
			if len(f.Failed) != 5 || len(f.Deleted) != 0 {
				t.Errorf("b: %+v, want its 5 deletions failed", f)
			}
			for _, fl := range f.Failed {
				if fl.InDoubt {
					t.Errorf("b version %s in doubt, but reading it back shows it exists", fl.Version)
				}
			}
		default:
			if len(f.Deleted) != 5 {
				t.Errorf("%s: %+v, want its 5 deletions done", f.Function, f)
			}
		}
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5", "6"}, ids(t, p, "b")); diff != "" {
		t.Errorf("versions of b (-want +got):\n%s", diff)
	}
}

// TestApplyLostResponse: a delete that took effect but answered
// ErrUnavailable is retried, meets ErrNotFound, and is reported Deleted.
func TestApplyLostResponse(t *testing.T) {
	p := newMemory(t, memory.Options{})
	publishN(t, p, "f", 4)
	pl := plan(t, p, retention.Policy{KeepLast: 1}, "f")
	p.Inject(memory.Fault{Ops: []string{memory.OpDeleteVersion}, Count: 2, Err: provider.ErrUnavailable, LostResponse: true})
	rep, err := retention.Apply(context.Background(), p, pl, retention.ApplyOptions{
		Limiter: unlimited(), Concurrency: 1,
		Retry: provider.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, rep.Functions[0].Deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"4"}, ids(t, p, "f")); diff != "" {
		t.Errorf("versions left (-want +got):\n%s", diff)
	}
}

// TestApplyCancel: when the caller cancels, no new delete is sent, the
// delete in flight finishes, and the report says exactly what was done.
func TestApplyCancel(t *testing.T) {
	p := newMemory(t, memory.Options{})
	publishN(t, p, "a", 20)
	publishN(t, p, "b", 20)
	pl := plan(t, p, retention.Policy{KeepLast: 1}, "a", "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	sent := 0
	rec := &recorder{p: p, beforeDelete: func(context.Context, string, string) error {
		mu.Lock()
		defer mu.Unlock()
		if sent++; sent == 7 {
			cancel() // the caller gives up while this delete is in flight
		}
		return nil
	}}
	var last retention.Progress
	rep, err := retention.Apply(ctx, rec, pl, retention.ApplyOptions{
		Limiter: unlimited(), Concurrency: 2,
		Progress: func(e retention.Progress) { last = e },
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply error = %v, want context.Canceled", err)
	}
	tot := rep.Totals()
	if tot.Planned != 38 || tot.Deleted+tot.Skipped+tot.Failed+tot.Canceled != 38 || tot.Failed != 0 || tot.Skipped != 0 {
		t.Fatalf("Totals() = %+v, want 38 planned, each deleted or canceled", tot)
	}
	if tot.Deleted < 7 || tot.Deleted > 8 {
		t.Errorf("deleted %d, want the 7 sent before the cancellation and at most the one in flight beside it", tot.Deleted)
	}
	for _, f := range rep.Functions {
		left := ids(t, p, f.Function)
		for _, id := range f.Deleted {
			if slices.Contains(left, id) {
				t.Errorf("%s version %s reported deleted but still exists", f.Function, id)
			}
		}
		for _, id := range f.Canceled {
			if !slices.Contains(left, id) {
				t.Errorf("%s version %s reported canceled but is gone", f.Function, id)
			}
		}
		if len(left) != 20-len(f.Deleted) {
			t.Errorf("%s has %d versions, want 20 minus the %d reported deleted", f.Function, len(left), len(f.Deleted))
		}
	}
	if last.Deleted != tot.Deleted || last.Canceled != tot.Canceled || last.FunctionsDone != 2 {
		t.Errorf("last progress event %+v does not match the report %+v", last, tot)
	}
}

func TestApplyBoundedConcurrency(t *testing.T) {
	for _, conc := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			p := newMemory(t, memory.Options{})
			for i := range 4 {
				publishN(t, p, fmt.Sprint("f", i), 10)
			}
			pl := plan(t, p, retention.Policy{KeepLast: 1}, "f0", "f1", "f2", "f3")
			// A gate holds every delete until conc of them are in flight:
			// had Apply sent more at once, maxIn would exceed conc.
			var mu sync.Mutex
			in, gate := 0, make(chan struct{})
			rec := &recorder{p: p, beforeDelete: func(context.Context, string, string) error {
				mu.Lock()
				if in++; in == conc {
					close(gate)
				}
				mu.Unlock()
				<-gate
				return nil
			}}
			rep, err := retention.Apply(context.Background(), rec, pl, retention.ApplyOptions{Limiter: unlimited(), Concurrency: conc})
			if err != nil {
				t.Fatal(err)
			}
			if rec.maxIn != conc {
				t.Errorf("at most %d calls in flight, want %d", rec.maxIn, conc)
			}
			if got := rep.Totals().Deleted; got != 36 {
				t.Errorf("deleted %d, want 36", got)
			}
		})
	}
}

func TestReportJSON(t *testing.T) {
	rep := retention.Report{Functions: []retention.FunctionReport{{
		Function: "f", Planned: 4,
		Deleted:  []string{"1"},
		Skipped:  []retention.Skip{{Version: "2", Reason: "alias live (100%) references it now"}},
		Failed:   []retention.Failure{{Version: "3", Err: errors.New("delete version f: unavailable"), InDoubt: true}},
		Canceled: []string{"4"},
	}}, MaxCheckAge: 1500 * time.Millisecond}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"functions":[{"function":"f","planned":4,"deleted":["1"],` +
		`"skipped":[{"version":"2","reason":"alias live (100%) references it now"}],` +
		`"failed":[{"version":"3","inDoubt":true,"error":"delete version f: unavailable"}],"canceled":["4"]}],` +
		`"maxCheckAgeNanos":1500000000}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	var got retention.Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.MaxCheckAge != rep.MaxCheckAge {
		t.Errorf("MaxCheckAge after a round trip: %v, want %v", got.MaxCheckAge, rep.MaxCheckAge)
	}
	if diff := cmp.Diff(rep.String(), got.String()); diff != "" {
		t.Errorf("report after a round trip prints differently (-want +got):\n%s", diff)
	}
	const printed = "f: 4 planned, deleted 1\n" +
		"  skipped 2: alias live (100%) references it now\n" +
		"  failed 3 (it may or may not exist): delete version f: unavailable\n" +
		"  canceled 4\n" +
		"total: 4 planned, 1 deleted, 1 skipped, 1 failed, 1 canceled\n"
	if diff := cmp.Diff(printed, rep.String()); diff != "" {
		t.Errorf("String() (-want +got):\n%s", diff)
	}
}

func TestApplyCanceledBeforeStart(t *testing.T) {
	p := newMemory(t, memory.Options{})
	publishN(t, p, "f", 5)
	pl := plan(t, p, retention.Policy{KeepLast: 1}, "f")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := &recorder{p: p}
	rep, err := retention.Apply(ctx, rec, pl, retention.ApplyOptions{Limiter: unlimited()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Apply error = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4"}, rep.Functions[0].Canceled); diff != "" {
		t.Errorf("canceled (-want +got):\n%s", diff)
	}
	if n := rec.count("DeleteVersion"); n != 0 {
		t.Errorf("%d deletes sent after the context ended", n)
	}
}

// TestProgressCountsFunctionsWithNothingToDelete: a function the plan
// deletes nothing of is done from the first event on.
func TestProgressCountsFunctionsWithNothingToDelete(t *testing.T) {
	p := newMemory(t, memory.Options{})
	publishN(t, p, "busy", 4)
	publishN(t, p, "tidy", 1)
	pl := plan(t, p, retention.Policy{KeepLast: 1}, "busy", "tidy")
	var events []retention.Progress
	if _, err := retention.Apply(context.Background(), p, pl, retention.ApplyOptions{
		Limiter: unlimited(), Concurrency: 1,
		Progress: func(e retention.Progress) { events = append(events, e) },
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"busy 1: deleted 1/3, functions 1/2", "busy 2: deleted 2/3, functions 1/2", "busy 3: deleted 3/3, functions 2/2"}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %s: %s %d/%d, functions %d/%d", e.Function, e.Version, e.Outcome, e.Deleted, e.Planned, e.FunctionsDone, e.Functions))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

// TestApplyMaxCheckAge: the report's MaxCheckAge is the longest time from
// the start of the read that cleared a delete to the delete call, on the
// run's clock. At 10 calls per second (burst 1) and one version at a time,
// a fresh check is Usage then Routes, 100 ms apart, and the delete comes
// 100 ms after the Routes call: 200 ms after the read began. A read shared
// for 10 s serves every delete: the third is sent after the read's two calls
// and the first two deletes, 400 ms after it began.
func TestApplyMaxCheckAge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		recheck time.Duration
		want    time.Duration
	}{
		{"fresh", 0, 200 * time.Millisecond},
		{"shared for 10s", 10 * time.Second, 400 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newMemory(t, memory.Options{})
				publishN(t, p, "f", 4)
				pl := plan(t, p, retention.Policy{KeepLast: 1}, "f")
				rep, err := retention.Apply(context.Background(), p, pl, retention.ApplyOptions{
					Rate: 10, Concurrency: 1, RecheckInterval: tc.recheck, Clock: wall{},
				})
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if got := rep.Totals().Deleted; got != 3 {
					t.Fatalf("deleted %d, want 3", got)
				}
				if rep.MaxCheckAge != tc.want {
					t.Errorf("MaxCheckAge %v, want %v", rep.MaxCheckAge, tc.want)
				}
			})
		})
	}
}
