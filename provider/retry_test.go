package provider

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"testing"
	"time"
)

// casRoutes is a small honest provider for the retry tests: routes with
// compare-and-swap, versions that can be deleted, and a script of faults
// returned before (or after) the operation takes effect.
type casRoutes struct {
	mu       sync.Mutex
	routes   map[string]Route
	versions map[string]bool
	rev      int
	calls    map[string]int
	// faults pops one entry per call of an op; "after:" faults apply the
	// operation and then fail, as a lost response does.
	faults map[string][]error
	after  map[string][]error
}

func newCAS() *casRoutes {
	return &casRoutes{routes: map[string]Route{}, versions: map[string]bool{"1": true, "2": true, "3": true},
		calls: map[string]int{}, faults: map[string][]error{}, after: map[string][]error{}}
}

func (c *casRoutes) pop(m map[string][]error, op string) error {
	if len(m[op]) == 0 {
		return nil
	}
	err := m[op][0]
	m[op] = m[op][1:]
	return err
}

func (c *casRoutes) Capabilities() Capabilities { return Capabilities{DeleteVersions: true} }

func (c *casRoutes) Publish(ctx context.Context, fn string, in PublishInput) (Version, error) {
	return Version{}, ErrUnsupported
}

func (c *casRoutes) Version(ctx context.Context, fn, id string) (Version, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls["version"]++
	if err := c.pop(c.faults, "version"); err != nil {
		return Version{}, err
	}
	if !c.versions[id] {
		return Version{}, ErrNotFound
	}
	return Version{ID: id}, nil
}

func (c *casRoutes) Versions(ctx context.Context, fn string) iter.Seq2[Version, error] {
	return func(yield func(Version, error) bool) {
		for _, id := range []string{"1", "2", "3"} {
			c.mu.Lock()
			c.calls["versions"]++
			err := c.pop(c.faults, "versions:"+id)
			c.mu.Unlock()
			if err != nil {
				yield(Version{}, err)
				return
			}
			if !yield(Version{ID: id}, nil) {
				return
			}
		}
	}
}

func (c *casRoutes) Route(ctx context.Context, fn, alias string) (Route, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls["route"]++
	if err := c.pop(c.faults, "route"); err != nil {
		return Route{}, err
	}
	r, ok := c.routes[alias]
	if !ok {
		return Route{}, ErrNotFound
	}
	return r.Clone(), nil
}

func (c *casRoutes) Routes(ctx context.Context, fn string) ([]Route, error) {
	return nil, ErrUnsupported
}

func (c *casRoutes) SetRoute(ctx context.Context, fn string, r Route) (Route, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls["set route"]++
	if err := c.pop(c.faults, "set route"); err != nil {
		return Route{}, err
	}
	if cur, ok := c.routes[r.Alias]; ok && cur.Revision != r.Revision || !ok && r.Revision != "" {
		return Route{}, fmt.Errorf("stale revision: %w", ErrConflict)
	}
	c.rev++
	r = r.Clone()
	r.Revision = strconv.Itoa(c.rev)
	c.routes[r.Alias] = r
	if err := c.pop(c.after, "set route"); err != nil {
		return Route{}, err
	}
	return r.Clone(), nil
}

func (c *casRoutes) DeleteVersion(ctx context.Context, fn, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls["delete"]++
	if err := c.pop(c.faults, "delete"); err != nil {
		return err
	}
	if !c.versions[id] {
		return ErrNotFound
	}
	delete(c.versions, id)
	return c.pop(c.after, "delete")
}

// noWait records the waits instead of sleeping.
type noWait struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (n *noWait) sleep(ctx context.Context, d time.Duration) error {
	n.mu.Lock()
	n.waits = append(n.waits, d)
	n.mu.Unlock()
	return ctx.Err()
}

func TestRetryPolicyBackoff(t *testing.T) {
	pol := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Jitter: func() float64 { return 0.5 }}
	for n, want := range map[int]time.Duration{1: 50 * time.Millisecond, 2: 100 * time.Millisecond, 3: 200 * time.Millisecond, 5: 500 * time.Millisecond, 9: 500 * time.Millisecond} {
		if got := pol.Backoff(n, ErrUnavailable); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
	hinted := &ThrottleError{RetryAfter: 3 * time.Second}
	if got := pol.Backoff(1, hinted); got != 3*time.Second {
		t.Errorf("Backoff with a 3s hint = %v, want the hint", got)
	}
}

func TestRetryDo(t *testing.T) {
	t.Run("retries throttling then succeeds", func(t *testing.T) {
		w := &noWait{}
		n := 0
		err := RetryPolicy{Sleep: w.sleep}.Do(context.Background(), func(context.Context) error {
			if n++; n < 3 {
				return &ThrottleError{RetryAfter: time.Second}
			}
			return nil
		})
		if err != nil || n != 3 || len(w.waits) != 2 {
			t.Fatalf("err=%v calls=%d waits=%v", err, n, w.waits)
		}
		for _, d := range w.waits {
			if d < time.Second {
				t.Fatalf("waited %v, less than the retry-after hint", d)
			}
		}
	})
	t.Run("does not retry a conflict", func(t *testing.T) {
		n := 0
		err := RetryPolicy{Sleep: (&noWait{}).sleep}.Do(context.Background(), func(context.Context) error { n++; return ErrConflict })
		if !errors.Is(err, ErrConflict) || n != 1 {
			t.Fatalf("err=%v calls=%d", err, n)
		}
	})
	t.Run("gives up after MaxAttempts", func(t *testing.T) {
		n := 0
		err := RetryPolicy{MaxAttempts: 4, Sleep: (&noWait{}).sleep}.Do(context.Background(), func(context.Context) error { n++; return ErrUnavailable })
		if !errors.Is(err, ErrUnavailable) || n != 4 {
			t.Fatalf("err=%v calls=%d", err, n)
		}
	})
	t.Run("stops when the context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		err := RetryPolicy{}.Do(ctx, func(context.Context) error { n++; cancel(); return ErrThrottled })
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrThrottled) || n != 1 {
			t.Fatalf("err=%v calls=%d", err, n)
		}
	})
	t.Run("does not start a wait past the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		n := 0
		err := RetryPolicy{}.Do(ctx, func(context.Context) error { n++; return &ThrottleError{RetryAfter: 2 * time.Hour} })
		if !errors.Is(err, ErrThrottled) || n != 1 {
			t.Fatalf("err=%v calls=%d", err, n)
		}
	})
	t.Run("does not start a wait past the deadline with an injected Sleep", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		w := &noWait{}
		pol := RetryPolicy{Sleep: w.sleep, Jitter: func() float64 { return 0 }}
		n := 0
		err := pol.Do(ctx, func(context.Context) error {
			// The first failure asks for a wait the deadline allows; the
			// second for one it does not.
			if n++; n == 1 {
				return &ThrottleError{RetryAfter: time.Second}
			}
			return &ThrottleError{RetryAfter: 2 * time.Hour}
		})
		var te *ThrottleError
		if !errors.As(err, &te) || te.RetryAfter != 2*time.Hour || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the last ThrottleError (2h hint) without a context error", err)
		}
		if n != 2 {
			t.Errorf("op called %d times, want 2", n)
		}
		if fmt.Sprint(w.waits) != "[1s]" {
			t.Errorf("Sleep called with %v, want [1s] only (the 2h wait passes the deadline)", w.waits)
		}
	})
}

func TestWithRetrySetRouteLostResponse(t *testing.T) {
	ctx := context.Background()
	inner := newCAS()
	created, err := inner.SetRoute(ctx, "f", To("prod", "1"))
	if err != nil {
		t.Fatal(err)
	}
	// The write lands but its response is lost: the retry meets a conflict
	// with its own write and must report success, not ErrConflict.
	inner.after["set route"] = []error{ErrUnavailable}
	p := WithRetry(inner, RetryPolicy{Sleep: (&noWait{}).sleep})
	want := Split("prod", "1", "2", 1000)
	want.Revision = created.Revision
	got, err := p.SetRoute(ctx, "f", want)
	if err != nil {
		t.Fatalf("SetRoute = %v, want success after the lost response", err)
	}
	if !got.SameTraffic(want) || got.Revision == created.Revision {
		t.Fatalf("SetRoute = %+v", got)
	}

	// A genuine conflict (someone else wrote other traffic) stays a conflict.
	inner.mu.Lock()
	inner.rev++
	inner.routes["prod"] = Route{Alias: "prod", Weights: []Weight{{"3", AllTraffic}}, Revision: "other"}
	inner.mu.Unlock()
	inner.after["set route"] = nil
	inner.faults["set route"] = []error{ErrUnavailable}
	stale := To("prod", "2")
	stale.Revision = got.Revision
	if _, err := p.SetRoute(ctx, "f", stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("SetRoute over another writer = %v, want ErrConflict", err)
	}
	if r, _ := inner.Route(ctx, "f", "prod"); r.Primary() != "3" {
		t.Fatalf("route overwritten: %+v", r)
	}
}

func TestWithRetryDeleteLostResponse(t *testing.T) {
	inner := newCAS()
	inner.after["delete"] = []error{ErrUnavailable}
	p := WithRetry(inner, RetryPolicy{Sleep: (&noWait{}).sleep})
	if err := p.DeleteVersion(context.Background(), "f", "2"); err != nil {
		t.Fatalf("DeleteVersion = %v, want success after the lost response", err)
	}
	if err := p.DeleteVersion(context.Background(), "f", "2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteVersion = %v, want ErrNotFound", err)
	}
}

func TestWithRetryVersions(t *testing.T) {
	inner := newCAS()
	inner.faults["versions:1"] = []error{ErrThrottled, ErrUnavailable}
	p := WithRetry(inner, RetryPolicy{Sleep: (&noWait{}).sleep})
	var ids []string
	for v, err := range p.Versions(context.Background(), "f") {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if fmt.Sprint(ids) != "[1 2 3]" {
		t.Fatalf("ids = %v", ids)
	}
	// A failure after something was yielded is passed on, not retried.
	inner.faults["versions:2"] = []error{ErrUnavailable}
	ids = nil
	var last error
	for v, err := range p.Versions(context.Background(), "f") {
		if err != nil {
			last = err
			break
		}
		ids = append(ids, v.ID)
	}
	if fmt.Sprint(ids) != "[1]" || !errors.Is(last, ErrUnavailable) {
		t.Fatalf("ids = %v, err = %v", ids, last)
	}
}

// TestWithRetryVersionsDeadline: the listing's retries respect the
// context's deadline as Do's do, with an injected Sleep too.
func TestWithRetryVersionsDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	inner := newCAS()
	inner.faults["versions:1"] = []error{&ThrottleError{RetryAfter: 2 * time.Hour}}
	w := &noWait{}
	p := WithRetry(inner, RetryPolicy{Sleep: w.sleep})
	var errs []error
	for _, err := range p.Versions(ctx, "f") {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrThrottled) || errors.Is(errs[0], context.DeadlineExceeded) {
		t.Errorf("Versions yielded %v, want one ErrThrottled without a context error", errs)
	}
	if len(w.waits) != 0 || inner.calls["versions"] != 1 {
		t.Errorf("waits %v and %d listing calls; want no wait and one call", w.waits, inner.calls["versions"])
	}
}

func TestWithRetryOptionalInterfaces(t *testing.T) {
	p := WithRetry(newCAS(), RetryPolicy{})
	if _, err := p.(UsageReporter).Usage(context.Background(), "f"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Usage = %v, want ErrUnsupported", err)
	}
	if _, err := p.(EventSourceLister).EventSources(context.Background(), "f"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("EventSources = %v, want ErrUnsupported", err)
	}
	if _, err := p.(PermissionReader).Permissions(context.Background(), "f", "1"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Permissions = %v, want ErrUnsupported", err)
	}
	withUsage := WithRetry(usageCAS{newCAS()}, RetryPolicy{Sleep: (&noWait{}).sleep})
	us, err := withUsage.(UsageReporter).Usage(context.Background(), "f")
	if err != nil || len(us) != 1 || us[0].Version != "2" {
		t.Errorf("forwarded Usage = %v, %v", us, err)
	}
}

type usageCAS struct{ *casRoutes }

func (usageCAS) Usage(ctx context.Context, fn string) ([]Usage, error) {
	return []Usage{{Version: "2", Reason: "provisioned concurrency"}}, nil
}

func TestWithRetryMetrics(t *testing.T) {
	n := 0
	m := WithRetryMetrics(metricsFunc(func(ctx context.Context, q Query) (Observation, error) {
		if n++; n == 1 {
			return Observation{}, ErrThrottled
		}
		return Observation{Query: q}, nil
	}), RetryPolicy{Sleep: (&noWait{}).sleep})
	if m.Resolution() != time.Minute {
		t.Fatal("Resolution not forwarded")
	}
	o, err := m.Observe(context.Background(), Query{Function: "f"})
	if err != nil || o.Query.Function != "f" || n != 2 {
		t.Fatalf("Observe = %+v, %v after %d calls", o, err, n)
	}
}

type metricsFunc func(ctx context.Context, q Query) (Observation, error)

func (metricsFunc) Resolution() time.Duration { return time.Minute }
func (f metricsFunc) Observe(ctx context.Context, q Query) (Observation, error) {
	return f(ctx, q)
}
