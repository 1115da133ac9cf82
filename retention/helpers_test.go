package retention_test

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// newMemory returns an in-memory provider whose versions are published one
// minute apart from t0 (so creation order is unambiguous).
func newMemory(t testing.TB, opts memory.Options) *memory.Provider {
	t.Helper()
	var n atomic.Int64
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0.Add(time.Duration(n.Add(1)) * time.Minute) }
	}
	p, err := memory.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// publishN publishes versions "1".."n" of fn, labelled with semver 1.0.i.
func publishN(t testing.TB, p provider.Provider, fn string, n int) {
	t.Helper()
	for i := range n {
		in := provider.PublishInput{
			Artifact: provider.Artifact{Zip: fmt.Appendf(nil, "%s-%d", fn, i)},
			Labels:   map[string]string{provider.LabelSemver: fmt.Sprintf("1.0.%d", i)},
		}
		if _, err := p.Publish(context.Background(), fn, in); err != nil {
			t.Fatal(err)
		}
	}
}

// setRoute creates or replaces a route of fn; weights alternate version and
// basis points.
func setRoute(t testing.TB, p provider.Provider, fn, alias string, weights ...any) {
	t.Helper()
	if err := trySetRoute(p, fn, alias, weights...); err != nil {
		t.Fatal(err)
	}
}

func trySetRoute(p provider.Provider, fn, alias string, weights ...any) error {
	r := route(alias, weights...)
	if cur, err := p.Route(context.Background(), fn, alias); err == nil {
		r.Revision = cur.Revision
	}
	_, err := p.SetRoute(context.Background(), fn, r)
	return err
}

// ids lists the versions fn has now.
func ids(t testing.TB, p provider.Provider, fn string) []string {
	t.Helper()
	var out []string
	for v, err := range p.Versions(context.Background(), fn) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v.ID)
	}
	return out
}

// call is one call seen by a recorder.
type call struct {
	op, fn, id string
	at         time.Time
	err        error
}

// recorder wraps a provider (the memory provider in these tests: it
// enforces the platform's rules) to record every call and to run hooks
// before deletes. It forwards provider.UsageReporter when the wrapped
// provider has it and hideUsage is false.
type recorder struct {
	p         provider.Provider
	now       func() time.Time // time stamp of calls; nil means time.Now
	hideUsage bool
	// usageRequests and deleteRequests are reported as
	// Capabilities.UsageRequests and DeleteRequests.
	usageRequests, deleteRequests int
	latency                       time.Duration // slept (with sleep) before every call
	sleep                         func(context.Context, time.Duration) error

	// beforeDelete runs before a delete is forwarded; a non-nil error is
	// returned instead of forwarding.
	beforeDelete func(ctx context.Context, fn, id string) error

	mu       sync.Mutex
	calls    []call
	inflight int
	maxIn    int
}

var (
	_ provider.Provider      = (*recorder)(nil)
	_ provider.UsageReporter = (*recorder)(nil)
)

func (r *recorder) begin(ctx context.Context) error {
	r.mu.Lock()
	r.inflight++
	r.maxIn = max(r.maxIn, r.inflight)
	r.mu.Unlock()
	if r.latency > 0 {
		sleep := r.sleep
		if sleep == nil {
			sleep = func(ctx context.Context, d time.Duration) error {
				select {
				case <-time.After(d):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return sleep(ctx, r.latency)
	}
	return nil
}

func (r *recorder) end(op, fn, id string, err error) {
	at := time.Now()
	if r.now != nil {
		at = r.now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inflight--
	r.calls = append(r.calls, call{op: op, fn: fn, id: id, at: at, err: err})
}

func (r *recorder) log() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recorder) count(op string) int {
	n := 0
	for _, c := range r.log() {
		if op == "" || c.op == op {
			n++
		}
	}
	return n
}

func (r *recorder) Capabilities() provider.Capabilities {
	c := r.p.Capabilities()
	c.UsageRequests, c.DeleteRequests = r.usageRequests, r.deleteRequests
	return c
}

func (r *recorder) Publish(ctx context.Context, fn string, in provider.PublishInput) (v provider.Version, err error) {
	if err = r.begin(ctx); err == nil {
		v, err = r.p.Publish(ctx, fn, in)
	}
	r.end("Publish", fn, v.ID, err)
	return v, err
}

func (r *recorder) Version(ctx context.Context, fn, id string) (v provider.Version, err error) {
	if err = r.begin(ctx); err == nil {
		v, err = r.p.Version(ctx, fn, id)
	}
	r.end("Version", fn, id, err)
	return v, err
}

func (r *recorder) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	return func(yield func(provider.Version, error) bool) {
		if err := r.begin(ctx); err != nil {
			r.end("Versions", fn, "", err)
			yield(provider.Version{}, err)
			return
		}
		var failed error
		for v, err := range r.p.Versions(ctx, fn) {
			if err != nil {
				failed = err
			}
			if !yield(v, err) {
				break
			}
		}
		r.end("Versions", fn, "", failed)
	}
}

func (r *recorder) Route(ctx context.Context, fn, alias string) (rt provider.Route, err error) {
	if err = r.begin(ctx); err == nil {
		rt, err = r.p.Route(ctx, fn, alias)
	}
	r.end("Route", fn, alias, err)
	return rt, err
}

func (r *recorder) Routes(ctx context.Context, fn string) (rs []provider.Route, err error) {
	if err = r.begin(ctx); err == nil {
		rs, err = r.p.Routes(ctx, fn)
	}
	r.end("Routes", fn, "", err)
	return rs, err
}

func (r *recorder) SetRoute(ctx context.Context, fn string, rt provider.Route) (got provider.Route, err error) {
	if err = r.begin(ctx); err == nil {
		got, err = r.p.SetRoute(ctx, fn, rt)
	}
	r.end("SetRoute", fn, rt.Alias, err)
	return got, err
}

func (r *recorder) DeleteVersion(ctx context.Context, fn, id string) (err error) {
	if err = r.begin(ctx); err == nil {
		if r.beforeDelete != nil {
			err = r.beforeDelete(ctx, fn, id)
		}
		if err == nil {
			err = r.p.DeleteVersion(ctx, fn, id)
		}
	}
	r.end("DeleteVersion", fn, id, err)
	return err
}

func (r *recorder) Usage(ctx context.Context, fn string) (us []provider.Usage, err error) {
	u, ok := r.p.(provider.UsageReporter)
	if !ok || r.hideUsage {
		return nil, &provider.Error{Op: "usage", Function: fn, Err: provider.ErrUnsupported}
	}
	if err = r.begin(ctx); err == nil {
		us, err = u.Usage(ctx, fn)
	}
	r.end("Usage", fn, "", err)
	return us, err
}

// stepClock is a virtual clock for one goroutine at a time: Sleep moves
// the time forward by d at once and records d.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *stepClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}
