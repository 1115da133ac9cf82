package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Route returns a copy of the route alias of fn. ErrNotFound when the
// function or the route does not exist.
func (p *Provider) Route(ctx context.Context, fn, alias string) (provider.Route, error) {
	const op = "route"
	if err := ctx.Err(); err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	if err := provider.CheckName("alias", alias); err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	lost, err := p.inject(ctx, OpRoute)
	if err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	r, ok := f.Routes[alias]
	if !ok {
		return provider.Route{}, opError(op, fn, notFound("route "+strconv.Quote(alias)))
	}
	if lost != nil {
		return provider.Route{}, opError(op, fn, lost)
	}
	return r.Clone(), nil
}

// Routes returns copies of every route of fn ordered by alias (an empty,
// non-nil slice when it has none). ErrNotFound when the function does not
// exist.
func (p *Provider) Routes(ctx context.Context, fn string) ([]provider.Route, error) {
	const op = "list routes"
	if err := ctx.Err(); err != nil {
		return nil, opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return nil, opError(op, fn, err)
	}
	lost, err := p.inject(ctx, OpRoutes)
	if err != nil {
		return nil, opError(op, fn, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return nil, opError(op, fn, err)
	}
	if lost != nil {
		return nil, opError(op, fn, lost)
	}
	rs := make([]provider.Route, 0, len(f.Routes))
	for _, alias := range sortedKeys(f.Routes) {
		rs = append(rs, f.Routes[alias].Clone())
	}
	return rs, nil
}

// SetRoute creates or replaces a route with compare-and-swap on
// r.Revision, as provider.Provider.SetRoute says. In order it checks the
// context, the function name, r against Capabilities().CheckRoute
// (ErrInvalid, ErrUnsupported), that the function exists (ErrNotFound),
// that every version named is published (ErrInvalid), and the revision:
// empty for an existing route, or non-empty and different from the current
// one, is ErrConflict; non-empty for a missing route is ErrNotFound. Each
// change that alters the traffic is recorded, with the time, in the
// route's history from which Observe computes the metrics. The stored
// route (weights in the order given) is returned with its new revision.
func (p *Provider) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	const op = "set route"
	if err := ctx.Err(); err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	if err := p.caps.CheckRoute(r); err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	lost, err := p.inject(ctx, OpSetRoute)
	if err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return provider.Route{}, opError(op, fn, err)
	}
	for i, w := range r.Weights {
		if _, ok := f.versionIndex(w.Version); !ok {
			return provider.Route{}, opError(op, fn, provider.Invalid(fmt.Sprintf("route %q", r.Alias),
				fmt.Sprintf("weights[%d].version", i), fmt.Sprintf("%q is not a published version", w.Version)))
		}
	}
	old, exists := f.Routes[r.Alias]
	switch {
	case r.Revision == "" && exists:
		return provider.Route{}, opError(op, fn, fmt.Errorf("%w: route %q already exists (revision %s)", provider.ErrConflict, r.Alias, old.Revision))
	case r.Revision != "" && !exists:
		return provider.Route{}, opError(op, fn, fmt.Errorf("route %q with revision %s: %w", r.Alias, r.Revision, provider.ErrNotFound))
	case exists && r.Revision != old.Revision:
		return provider.Route{}, opError(op, fn, fmt.Errorf("%w: route %q: revision %s is stale, the route is at %s", provider.ErrConflict, r.Alias, r.Revision, old.Revision))
	}

	// Apply, remembering how to undo if the state cannot be saved.
	revisions := p.st.Revisions
	var history []stamped[[]provider.Weight]
	var firstRouted map[string]time.Time
	if p.path != "" {
		history = slices.Clone(f.RouteHistory[r.Alias])
		firstRouted = maps.Clone(f.FirstRouted)
	}
	nr := r.Clone()
	nr.Revision = p.st.nextRevision()
	if f.Routes == nil {
		f.Routes = map[string]provider.Route{}
	}
	f.Routes[r.Alias] = nr
	if !exists || !old.SameTraffic(nr) {
		now := p.now()
		if f.RouteHistory == nil {
			f.RouteHistory = map[string][]stamped[[]provider.Weight]{}
		}
		f.RouteHistory[r.Alias] = record(f.RouteHistory[r.Alias], now, slices.Clone(nr.Weights))
		for _, w := range nr.Weights {
			if _, seen := f.FirstRouted[w.Version]; !seen && w.BasisPoints > 0 {
				if f.FirstRouted == nil {
					f.FirstRouted = map[string]time.Time{}
				}
				f.FirstRouted[w.Version] = now
			}
		}
	}
	if err := p.save(); err != nil {
		p.st.Revisions = revisions
		f.FirstRouted = firstRouted
		if exists {
			f.Routes[r.Alias] = old
			f.RouteHistory[r.Alias] = history
		} else {
			delete(f.Routes, r.Alias)
			delete(f.RouteHistory, r.Alias)
		}
		return provider.Route{}, opError(op, fn, err)
	}
	if lost != nil {
		return provider.Route{}, opError(op, fn, lost)
	}
	return nr.Clone(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.SortedFunc(maps.Keys(m), cmp.Compare[string])
}
