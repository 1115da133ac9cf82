package memory

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

func TestFaultRate(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{Seed: 1})
	mustPublish(t, p, "fn", "a")
	throttle := &provider.ThrottleError{RetryAfter: 2 * time.Second}
	p.Inject(Fault{Ops: []string{OpVersion}, Rate: 0.3, Err: throttle})
	const n = 2000
	failed := 0
	for range n {
		_, err := p.Version(ctx, "fn", "1")
		switch {
		case err == nil:
		case errors.Is(err, provider.ErrThrottled):
			failed++
			if d, ok := provider.RetryAfter(err); !ok || d != 2*time.Second {
				t.Fatalf("retry-after hint lost: %v", err)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Function != "fn" {
				t.Fatalf("fault error is not a *provider.Error for fn: %v", err)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	// Binomial(2000, 0.3): mean 600, sd ≈ 20.5.
	if math.Abs(float64(failed)-600) > 5*math.Sqrt(n*0.3*0.7) {
		t.Errorf("%d of %d calls failed, want ≈ 600", failed, n)
	}
	// Other operations are untouched.
	for range 100 {
		if _, err := p.Routes(ctx, "fn"); err != nil {
			t.Fatalf("Routes hit a Version fault: %v", err)
		}
	}
	p.ClearFaults()
	for range 100 {
		if _, err := p.Version(ctx, "fn", "1"); err != nil {
			t.Fatalf("fault survived ClearFaults: %v", err)
		}
	}
}

func TestFaultDeterministic(t *testing.T) {
	pattern := func() []bool {
		p, _ := newTest(t, Options{Seed: 99})
		mustPublish(t, p, "fn", "a")
		p.Inject(Fault{Ops: []string{OpRoutes}, Rate: 0.5, Err: provider.ErrUnavailable})
		var out []bool
		for range 64 {
			_, err := p.Routes(context.Background(), "fn")
			out = append(out, err != nil)
		}
		return out
	}
	a, b := pattern(), pattern()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d differs between runs with the same seed", i)
		}
	}
}

func TestFaultCount(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	p.Inject(Fault{Ops: []string{OpSetRoute}, Err: provider.ErrUnavailable, Count: 2})
	for i := range 2 {
		if _, err := p.SetRoute(ctx, "fn", provider.To("prod", "1")); !errors.Is(err, provider.ErrUnavailable) {
			t.Fatalf("call %d: err = %v, want ErrUnavailable", i, err)
		}
	}
	if _, err := p.Route(ctx, "fn", "prod"); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("a failed SetRoute changed state: %v", err)
	}
	if _, err := p.SetRoute(ctx, "fn", provider.To("prod", "1")); err != nil {
		t.Fatalf("third call: %v, want the fault expired", err)
	}
}

// TestFaultOnePerCall: when several faults match a call, only the first
// that fires is applied and spent; the others keep their Count for later
// calls.
func TestFaultOnePerCall(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	errA, errB := errors.New("fault A"), errors.New("fault B")
	var ran []string
	fault := func(name string, err error) Fault {
		return Fault{Ops: []string{OpVersion}, Count: 1, Err: err, Before: func(string) error {
			ran = append(ran, name)
			return nil
		}}
	}
	p.Inject(fault("A", errA))
	p.Inject(fault("B", errB))
	// A fault that never matches this operation is not in the way.
	p.Inject(Fault{Ops: []string{OpRoutes}, Err: provider.ErrUnavailable})
	var got []error
	for range 3 {
		_, err := p.Version(ctx, "fn", "1")
		got = append(got, err)
	}
	if !errors.Is(got[0], errA) || !errors.Is(got[1], errB) || got[2] != nil {
		t.Errorf("three calls returned %v; want fault A, then fault B, then success", got)
	}
	if len(ran) != 2 || ran[0] != "A" || ran[1] != "B" {
		t.Errorf("Before hooks ran %v, want [A B] (one fault per call)", ran)
	}

	// A fault whose Rate draw misses leaves the call to the next one, and
	// only then does the next one fire.
	q, _ := newTest(t, Options{Seed: 7})
	mustPublish(t, q, "fn", "a")
	firedB := 0
	q.Inject(Fault{Ops: []string{OpVersion}, Rate: 0.5, Err: errA})
	q.Inject(Fault{Ops: []string{OpVersion}, Err: errB, Before: func(string) error {
		firedB++
		return nil
	}})
	const n = 1000
	countA, countB := 0, 0
	for range n {
		_, err := q.Version(ctx, "fn", "1")
		switch {
		case errors.Is(err, errA):
			countA++
		case errors.Is(err, errB):
			countB++
		default:
			t.Fatalf("call returned %v, want fault A or B", err)
		}
	}
	// Binomial(1000, 0.5): sd ≈ 16.
	if math.Abs(float64(countA)-n/2) > 5*math.Sqrt(n*0.25) {
		t.Errorf("fault A fired on %d of %d calls, want ≈ 500", countA, n)
	}
	if firedB != countB {
		t.Errorf("fault B fired %d times but failed %d calls; it must fire only on calls A left alone", firedB, countB)
	}
}

func TestFaultLostResponse(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	lost := func(op string) Fault {
		return Fault{Ops: []string{op}, Err: provider.ErrUnavailable, LostResponse: true, Count: 1}
	}
	p.Inject(Fault{Ops: []string{OpPublish}, Err: provider.ErrUnavailable, LostResponse: true, Count: 2})
	if _, err := p.Publish(ctx, "fn", zip("a")); !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("publish: err = %v, want ErrUnavailable", err)
	}
	if _, err := p.Publish(ctx, "fn", zip("b")); !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("publish: err = %v, want ErrUnavailable", err)
	}
	// The publishes took effect; a retry is idempotent.
	v, err := p.Publish(ctx, "fn", zip("a"))
	if err != nil || v.ID != "1" {
		t.Fatalf("retried publish = %+v, %v; want version 1", v, err)
	}
	p.Inject(lost(OpSetRoute))
	if _, err := p.SetRoute(ctx, "fn", provider.To("prod", "1")); !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("set route: err = %v, want ErrUnavailable", err)
	}
	// The route exists: a blind retry of the create conflicts, as on a
	// real platform, and the caller must read the route to learn the token.
	if _, err := p.SetRoute(ctx, "fn", provider.To("prod", "1")); !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("retried create: err = %v, want ErrConflict", err)
	}
	mustPublish(t, p, "fn", "c")
	p.Inject(lost(OpDeleteVersion))
	if err := p.DeleteVersion(ctx, "fn", "2"); !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("delete: err = %v, want ErrUnavailable", err)
	}
	if _, err := p.Version(ctx, "fn", "2"); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("the lost delete did not take effect: %v", err)
	}
}

func TestFaultDelayHonoursContext(t *testing.T) {
	p, c := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	p.Inject(Fault{Ops: []string{OpRoute, OpRoutes}, Delay: 3 * time.Second})
	start := c.Now()
	if _, err := p.Routes(context.Background(), "fn"); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got != 3*time.Second {
		t.Errorf("delay advanced the clock by %v, want 3s", got)
	}

	// A Sleep that sees the context end returns its error, which the call
	// returns.
	ctx, cancel := context.WithCancel(context.Background())
	blocking, _ := newTest(t, Options{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}})
	mustPublish(t, blocking, "fn", "a")
	blocking.Inject(Fault{Ops: []string{OpSetRoute}, Delay: time.Hour})
	if _, err := blocking.SetRoute(ctx, "fn", provider.To("prod", "1")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := blocking.Route(context.Background(), "fn", "prod"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("the cancelled SetRoute changed state: %v", err)
	}

	// The real-time default honours the context too.
	rt, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPublish(t, rt, "fn", "a")
	rt.Inject(Fault{Ops: []string{OpVersion}, Delay: time.Hour})
	ctx2, cancel2 := context.WithCancel(context.Background())
	go cancel2()
	if _, err := rt.Version(ctx2, "fn", "1"); !errors.Is(err, context.Canceled) {
		t.Errorf("real-time delay: err = %v, want context.Canceled", err)
	}
}

func TestFaultBefore(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	mustPublish(t, p, "fn", "b")
	r := mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	// A hook that changes the route behind the caller's back, once: the
	// caller's write then fails the compare-and-swap.
	var seen []string
	p.Inject(Fault{Ops: []string{OpSetRoute}, Count: 1, Before: func(op string) error {
		seen = append(seen, op)
		other := provider.To("prod", "2")
		other.Revision = r.Revision
		_, err := p.SetRoute(ctx, "fn", other)
		return err
	}})
	mine := provider.Split("prod", "1", "2", 100)
	mine.Revision = r.Revision
	if _, err := p.SetRoute(ctx, "fn", mine); !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict after the out-of-band change", err)
	}
	if len(seen) != 1 || seen[0] != OpSetRoute {
		t.Errorf("Before saw %v, want [SetRoute]", seen)
	}
	hookErr := errors.New("boom")
	p.Inject(Fault{Ops: []string{OpObserve}, Before: func(string) error { return hookErr }})
	if _, err := p.Observe(ctx, query("fn", "", 0, 1, "1")); !errors.Is(err, hookErr) {
		t.Errorf("Observe: err = %v, want the hook's error", err)
	}
}

func TestFaultVersionsPerPage(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{PageSize: 10})
	for i := range 30 {
		mustPublish(t, p, "fn", string(rune('a'+i)))
	}
	calls := 0
	p.Inject(Fault{Ops: []string{OpVersions}, Before: func(string) error {
		calls++
		if calls == 2 {
			return provider.ErrUnavailable
		}
		return nil
	}})
	n := 0
	var last error
	for _, err := range p.Versions(ctx, "fn") {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if n != 10 || !errors.Is(last, provider.ErrUnavailable) {
		t.Errorf("yielded %d versions then %v; want 10 then ErrUnavailable on the second page", n, last)
	}
}

func TestFaultValidate(t *testing.T) {
	for _, f := range []Fault{
		{Ops: []string{"Nope"}},
		{Rate: 1.5},
		{Rate: math.NaN()},
		{Delay: -1},
		{Count: -1},
		{LostResponse: true},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", f)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Inject(%+v) did not panic", f)
				}
			}()
			p, _ := newTest(t, Options{})
			p.Inject(f)
		}()
	}
}
