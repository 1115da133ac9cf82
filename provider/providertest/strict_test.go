package providertest_test

import (
	"context"
	"errors"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// The wrappers below break one clause of the contract each, on top of the
// honest in-memory provider. TestStrict shows that the suite fails every
// one of them in the clause it names.

// ignoresRevision treats every SetRoute with a revision as if it carried
// the current one: last writer wins, stale writers go unnoticed.
type ignoresRevision struct{ provider.Provider }

func (p ignoresRevision) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	if r.Revision != "" {
		if cur, err := p.Provider.Route(ctx, fn, r.Alias); err == nil {
			r.Revision = cur.Revision
		}
	}
	return p.Provider.SetRoute(ctx, fn, r)
}

// deletesInUse deletes a version even while a route uses it or when it is
// the newest: it hides the version instead of refusing.
type deletesInUse struct {
	provider.Provider
	mu     sync.Mutex
	hidden map[string]bool // fn + "\x00" + id
}

func (p *deletesInUse) isHidden(fn, id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hidden[fn+"\x00"+id]
}

func (p *deletesInUse) DeleteVersion(ctx context.Context, fn, id string) error {
	err := p.Provider.DeleteVersion(ctx, fn, id)
	if !errors.Is(err, provider.ErrInUse) {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hidden[fn+"\x00"+id] = true
	return nil
}

func (p *deletesInUse) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	if p.isHidden(fn, id) {
		return provider.Version{}, &provider.Error{Op: "version", Function: fn, Err: provider.ErrNotFound}
	}
	return p.Provider.Version(ctx, fn, id)
}

func (p *deletesInUse) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	return func(yield func(provider.Version, error) bool) {
		for v, err := range p.Provider.Versions(ctx, fn) {
			if err == nil && p.isHidden(fn, v.ID) {
				continue
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

// nonIdempotent publishes a new version on every call, by adding a hidden
// environment variable that its reads strip again.
type nonIdempotent struct {
	provider.Provider
	n atomic.Int64
}

const nonce = "BROKEN_NONCE"

func strip(v provider.Version) provider.Version {
	if _, ok := v.Config.Environment[nonce]; ok {
		v.Config.Environment = maps.Clone(v.Config.Environment)
		delete(v.Config.Environment, nonce)
		if len(v.Config.Environment) == 0 {
			v.Config.Environment = nil
		}
	}
	return v
}

func (p *nonIdempotent) Publish(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	env := maps.Clone(in.Config.Environment)
	if env == nil {
		env = map[string]string{}
	}
	env[nonce] = strconv.FormatInt(p.n.Add(1), 10)
	in.Config.Environment = env
	v, err := p.Provider.Publish(ctx, fn, in)
	return strip(v), err
}

func (p *nonIdempotent) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	v, err := p.Provider.Version(ctx, fn, id)
	return strip(v), err
}

func (p *nonIdempotent) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	return func(yield func(provider.Version, error) bool) {
		for v, err := range p.Provider.Versions(ctx, fn) {
			if !yield(strip(v), err) {
				return
			}
		}
	}
}

// skipsPage loses the second page of 50 versions when listing, as a pager
// that mishandles its continuation token would.
type skipsPage struct{ provider.Provider }

func (p skipsPage) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	return func(yield func(provider.Version, error) bool) {
		i := 0
		for v, err := range p.Provider.Versions(ctx, fn) {
			i++
			if err == nil && i > 50 && i <= 100 {
				continue
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

// ignoresBreak keeps yielding after yield returned false.
type ignoresBreak struct{ provider.Provider }

func (p ignoresBreak) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	return func(yield func(provider.Version, error) bool) {
		for v, err := range p.Provider.Versions(ctx, fn) {
			yield(v, err)
		}
	}
}

// sharesMaps returns versions whose maps are the ones it keeps, so a caller
// mutating a result changes what later reads return.
type sharesMaps struct {
	provider.Provider
	mu    sync.Mutex
	cache map[string]provider.Version
}

func (p *sharesMaps) keep(fn string, v provider.Version) provider.Version {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := fn + "\x00" + v.ID
	if c, ok := p.cache[key]; ok {
		return c
	}
	p.cache[key] = v
	return v
}

func (p *sharesMaps) Publish(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	v, err := p.Provider.Publish(ctx, fn, in)
	if err != nil {
		return v, err
	}
	return p.keep(fn, v), nil
}

func (p *sharesMaps) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	v, err := p.Provider.Version(ctx, fn, id)
	if err != nil {
		return v, err
	}
	return p.keep(fn, v), nil
}

// unsortedRoutes lists routes in reverse alias order.
type unsortedRoutes struct{ provider.Provider }

func (p unsortedRoutes) Routes(ctx context.Context, fn string) ([]provider.Route, error) {
	rs, err := p.Provider.Routes(ctx, fn)
	slices.Reverse(rs)
	return rs, err
}

// routesToAnything accepts routes naming versions that do not exist: it
// drops their weights instead of refusing the route.
type routesToAnything struct{ provider.Provider }

func (p routesToAnything) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	r = r.Clone()
	n := len(r.Weights)
	r.Weights = slices.DeleteFunc(r.Weights, func(w provider.Weight) bool {
		_, err := p.Provider.Version(ctx, fn, w.Version)
		return errors.Is(err, provider.ErrNotFound)
	})
	if len(r.Weights) == 1 && n > 1 {
		r.Weights[0].BasisPoints = provider.AllTraffic
	}
	return p.Provider.SetRoute(ctx, fn, r)
}

// ignoresContext runs every call with a context that is never cancelled.
type ignoresContext struct{ provider.Provider }

func (p ignoresContext) Publish(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	return p.Provider.Publish(context.WithoutCancel(ctx), fn, in)
}

func (p ignoresContext) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	return p.Provider.SetRoute(context.WithoutCancel(ctx), fn, r)
}

func (p ignoresContext) DeleteVersion(ctx context.Context, fn, id string) error {
	return p.Provider.DeleteVersion(context.WithoutCancel(ctx), fn, id)
}

// bareErrors drops the *provider.Error from DeleteVersion's errors, keeping
// only the sentinel.
type bareErrors struct{ provider.Provider }

func (p bareErrors) DeleteVersion(ctx context.Context, fn, id string) error {
	err := p.Provider.DeleteVersion(ctx, fn, id)
	for _, s := range []error{provider.ErrInUse, provider.ErrNotFound, provider.ErrInvalid, provider.ErrUnsupported} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// recordedMemory returns a fresh in-memory provider for RunRecorded, which
// calls it on goroutines of its own: on failure it reports with Errorf and
// returns nil, which the suite reports as a failed clause.
func recordedMemory(t testing.TB) provider.Provider {
	p, err := memory.New(memory.Options{Capabilities: &provider.Capabilities{DeleteVersions: true}})
	if err != nil {
		t.Errorf("memory.New: %v", err)
		return nil
	}
	return p
}

// overstatesCapabilities claims a stricter platform than it enforces, so
// requests its Capabilities rule out are accepted anyway.
type overstatesCapabilities struct{ provider.Provider }

func (overstatesCapabilities) Capabilities() provider.Capabilities {
	return provider.Capabilities{MaxRouteVersions: 2, Granularity: 100, DeleteVersions: true, SplitRoutes: []string{"live"}}
}

// oneFunction ignores function names: the whole fleet shares one
// function's versions and routes.
type oneFunction struct{ provider.Provider }

const shared = "conformance-shared"

func (p oneFunction) Publish(ctx context.Context, _ string, in provider.PublishInput) (provider.Version, error) {
	return p.Provider.Publish(ctx, shared, in)
}

func (p oneFunction) Version(ctx context.Context, _, id string) (provider.Version, error) {
	return p.Provider.Version(ctx, shared, id)
}

func (p oneFunction) Versions(ctx context.Context, _ string) iter.Seq2[provider.Version, error] {
	return p.Provider.Versions(ctx, shared)
}

func (p oneFunction) Route(ctx context.Context, _, alias string) (provider.Route, error) {
	return p.Provider.Route(ctx, shared, alias)
}

func (p oneFunction) Routes(ctx context.Context, _ string) ([]provider.Route, error) {
	return p.Provider.Routes(ctx, shared)
}

func (p oneFunction) SetRoute(ctx context.Context, _ string, r provider.Route) (provider.Route, error) {
	return p.Provider.SetRoute(ctx, shared, r)
}

func (p oneFunction) DeleteVersion(ctx context.Context, _, id string) error {
	return p.Provider.DeleteVersion(ctx, shared, id)
}

func TestStrict(t *testing.T) {
	cases := []struct {
		name string
		wrap func(provider.Provider) provider.Provider
		// mustFail are clauses the broken provider must fail.
		mustFail []string
	}{
		{"IgnoresRevision", func(p provider.Provider) provider.Provider { return ignoresRevision{p} },
			[]string{"Routes/UpdateStaleRevision"}},
		{"DeletesInUse", func(p provider.Provider) provider.Provider {
			return &deletesInUse{Provider: p, hidden: map[string]bool{}}
		}, []string{"DeleteVersion/InUsePrimary", "DeleteVersion/InUseWeighted", "DeleteVersion/Latest"}},
		{"NonIdempotentPublish", func(p provider.Provider) provider.Provider { return &nonIdempotent{Provider: p} },
			[]string{"Publish/Idempotent", "Publish/IdempotentOlder", "Publish/ConcurrentSame"}},
		{"VersionsSkipsPage", func(p provider.Provider) provider.Provider { return skipsPage{p} },
			[]string{"Versions/Paging"}},
		{"IgnoresBreak", func(p provider.Provider) provider.Provider { return ignoresBreak{p} },
			[]string{"Versions/EarlyBreak", "Versions/Paging"}},
		{"SharesMaps", func(p provider.Provider) provider.Provider {
			return &sharesMaps{Provider: p, cache: map[string]provider.Version{}}
		}, []string{"Publish/Immutable"}},
		{"UnsortedRoutes", func(p provider.Provider) provider.Provider { return unsortedRoutes{p} },
			[]string{"Routes/Ordered"}},
		{"RoutesToUnknownVersion", func(p provider.Provider) provider.Provider { return routesToAnything{p} },
			[]string{"Weights/UnknownVersion"}},
		{"IgnoresContext", func(p provider.Provider) provider.Provider { return ignoresContext{p} },
			[]string{"Cancel/Publish", "Cancel/SetRoute", "Cancel/DeleteVersion"}},
		{"OverstatesCapabilities", func(p provider.Provider) provider.Provider { return overstatesCapabilities{p} },
			[]string{"Weights/TooManyVersions", "Weights/Granularity", "Weights/SplitNotAllowed"}},
		{"OneFunction", func(p provider.Provider) provider.Provider { return oneFunction{p} },
			[]string{"Routes/FunctionsIsolated"}},
		{"BareErrors", func(p provider.Provider) provider.Provider { return bareErrors{p} },
			[]string{"DeleteVersion/InUsePrimary", "DeleteVersion/NotFound", "DeleteVersion/Latest"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rep := providertest.RunRecorded(func() provider.Provider {
				return c.wrap(recordedMemory(t))
			}, providertest.Options{})
			failed := rep.Names(providertest.Failed)
			for _, name := range c.mustFail {
				if o, ran := rep.Outcome(name); !ran || o != providertest.Failed {
					t.Errorf("the suite did not fail %s in clause %s (ran %t, %v); it failed %q", c.name, name, ran, o, failed)
				}
			}
			for _, name := range c.mustFail {
				t.Logf("%s: %s", name, strings.Join(rep.Messages(name), "\n\t"))
			}
			t.Logf("all failed clauses: %q", failed)
		})
	}
}

// TestRecordedMemoryPasses is the control of TestStrict: through the same
// recorder, the honest provider fails nothing and skips only what its
// capabilities rule out.
func TestRecordedMemoryPasses(t *testing.T) {
	rep := providertest.RunRecorded(func() provider.Provider { return recordedMemory(t) }, providertest.Options{})
	if failed := rep.Names(providertest.Failed); len(failed) > 0 {
		for _, name := range failed {
			t.Errorf("%s failed: %s", name, strings.Join(rep.Messages(name), "\n\t"))
		}
	}
	// Unlimited capabilities rule out the clauses about limits.
	wantSkipped := []string{"DeleteVersion/Unsupported", "Weights/Granularity", "Weights/SplitNotAllowed", "Weights/TooManyVersions"}
	for _, name := range providertest.Clauses() {
		want := providertest.Passed
		if slices.Contains(wantSkipped, name) {
			want = providertest.Skipped
		}
		if got, ran := rep.Outcome(name); !ran || got != want {
			t.Errorf("clause %s: ran %t, %v, want %v", name, ran, got, want)
		}
	}
}

// BenchmarkSuiteMemory measures one whole run of the suite (every clause,
// 120 versions paged) on the in-memory provider, through the recorder.
func BenchmarkSuiteMemory(b *testing.B) {
	for b.Loop() {
		rep := providertest.RunRecorded(func() provider.Provider { return recordedMemory(b) }, providertest.Options{})
		if failed := rep.Names(providertest.Failed); len(failed) > 0 {
			b.Fatalf("memory failed %q", failed)
		}
	}
}
