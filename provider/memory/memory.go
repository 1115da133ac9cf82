package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Options configure a Provider. The zero value is ready to use: real time,
// seed 0, one-minute metrics, Lambda-like capabilities, no persistence,
// pages of 50 versions.
type Options struct {
	// Now is the clock; nil means time.Now. Tests use a virtual clock so a
	// 30-minute rollout runs in milliseconds.
	Now func() time.Time `json:"-"`
	// Sleep waits for d or until ctx ends, returning ctx's error in the
	// latter case. It is used for the Delay of injected faults. Nil uses a
	// real timer; virtual clocks supply their own.
	Sleep func(ctx context.Context, d time.Duration) error `json:"-"`
	// Seed makes the synthetic traffic and the fault draws deterministic.
	// The same Seed must be given again to observe the same metrics after a
	// restart from Path.
	Seed int64 `json:"seed,omitempty"`
	// Resolution is the metrics resolution; 0 means one minute.
	Resolution time.Duration `json:"resolution,omitempty"`
	// MetricsLag is how long after a period ends its metrics become
	// visible to Observe (CloudWatch and Cloud Monitoring lag by a minute
	// or more); 0 means at once.
	MetricsLag time.Duration `json:"metricsLag,omitempty"`
	// Capabilities are the limits the provider enforces; nil means
	// DefaultCapabilities (Lambda's).
	Capabilities *provider.Capabilities `json:"capabilities,omitempty"`
	// Path, when set, names a JSON file holding the provider's state. New
	// loads it when it exists; every change is written to it atomically
	// (temporary file, fsync, rename, fsync of the directory). One Provider
	// at a time should own a Path.
	Path string `json:"path,omitempty"`
	// PageSize is how many versions one page of Versions holds; 0 means 50.
	PageSize int `json:"pageSize,omitempty"`
}

// DefaultCapabilities are the limits of a Provider whose Options leave
// Capabilities nil: Lambda's (two versions per route, 1-basis-point
// granularity, deletable versions, every route may split).
func DefaultCapabilities() provider.Capabilities {
	return provider.Capabilities{MaxRouteVersions: 2, Granularity: 1, DeleteVersions: true}
}

// Validate checks the options. Errors wrap provider.ErrInvalid and name the
// field.
func (o Options) Validate() error {
	if o.Resolution < 0 {
		return provider.Invalid("memory options", "resolution", "is negative")
	}
	if o.MetricsLag < 0 {
		return provider.Invalid("memory options", "metricsLag", "is negative")
	}
	if o.PageSize < 0 {
		return provider.Invalid("memory options", "pageSize", "is negative")
	}
	if c := o.Capabilities; c != nil {
		if c.MaxRouteVersions < 0 {
			return provider.Invalid("memory options", "capabilities.maxRouteVersions", "is negative")
		}
		if c.Granularity < 0 || c.Granularity > provider.AllTraffic || (c.Granularity > 0 && provider.AllTraffic%c.Granularity != 0) {
			return provider.Invalid("memory options", "capabilities.granularity",
				fmt.Sprintf("is %d: it must divide %d", c.Granularity, provider.AllTraffic))
		}
		for i, a := range c.SplitRoutes {
			if a == "" {
				return provider.Invalid("memory options", fmt.Sprintf("capabilities.splitRoutes[%d]", i), "is empty")
			}
		}
	}
	return nil
}

// Provider is an in-memory provider.Provider and provider.Metrics with
// synthetic traffic, fault injection and optional JSON persistence. It also
// implements provider.UsageReporter, provider.EventSourceLister and
// provider.PermissionReader. All methods are safe for concurrent use.
type Provider struct {
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	seed     int64
	res      time.Duration
	lag      time.Duration
	caps     provider.Capabilities
	path     string
	pageSize int

	mu sync.RWMutex
	st state

	faultMu sync.Mutex
	faults  []*faultState
	rng     *rand.Rand

	// handlers run invocations (invoke.go); not persisted.
	handlers handlers
}

var (
	_ provider.Provider           = (*Provider)(nil)
	_ provider.Metrics            = (*Provider)(nil)
	_ provider.UsageReporter      = (*Provider)(nil)
	_ provider.EventSourceLister  = (*Provider)(nil)
	_ provider.PermissionReader   = (*Provider)(nil)
	_ provider.Invoker            = (*Provider)(nil)
	_ provider.PermissionRemover  = (*Provider)(nil)
	_ provider.EventSourceUpdater = (*Provider)(nil)
)

// New returns a Provider. It fails only for options that do not validate
// (provider.ErrInvalid) and for a Path that exists but cannot be read or
// does not hold a valid state.
func New(opts Options) (*Provider, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	p := &Provider{
		now:      opts.Now,
		sleep:    opts.Sleep,
		seed:     opts.Seed,
		res:      opts.Resolution,
		lag:      opts.MetricsLag,
		caps:     DefaultCapabilities(),
		path:     opts.Path,
		pageSize: opts.PageSize,
		st:       newState(),
		rng:      rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed_f417)),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = provider.Sleep
	}
	if p.res == 0 {
		p.res = time.Minute
	}
	if p.pageSize == 0 {
		p.pageSize = 50
	}
	if c := opts.Capabilities; c != nil {
		p.caps = *c
		p.caps.SplitRoutes = slices.Clone(c.SplitRoutes) // keeps nil (all may split) apart from empty (none may)
	}
	if p.path != "" {
		st, err := load(p.path)
		if err != nil {
			return nil, err
		}
		if st != nil {
			p.st = *st
		}
	}
	return p, nil
}

// Capabilities reports the limits given in Options (or
// DefaultCapabilities).
func (p *Provider) Capabilities() provider.Capabilities {
	c := p.caps
	c.SplitRoutes = slices.Clone(c.SplitRoutes)
	return c
}

// Resolution is the metrics resolution given in Options (one minute by
// default).
func (p *Provider) Resolution() time.Duration { return p.res }

// opError wraps err into a *provider.Error for operation op on fn.
func opError(op, fn string, err error) error {
	return fmt.Errorf("memory: %w", &provider.Error{Op: op, Function: fn, Err: err})
}

func notFound(what string) error {
	return fmt.Errorf("%s: %w", what, provider.ErrNotFound)
}

// versionNumber parses a version ID of this provider ("1", "2", …); ok is
// false for anything that is not a canonical positive decimal.
func versionNumber(id string) (int, bool) {
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 || strconv.Itoa(n) != id {
		return 0, false
	}
	return n, true
}

// fnLocked returns the state of an existing function; the caller holds mu.
func (p *Provider) fnLocked(fn string) (*fnState, error) {
	f := p.st.Functions[fn]
	if f == nil || f.Published == 0 {
		return nil, notFound("function " + strconv.Quote(fn))
	}
	return f, nil
}
