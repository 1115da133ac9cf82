package release

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// DriftKind says how a route differs from what the journal recorded.
type DriftKind string

const (
	// DriftOutOfBand: the route's revision token is not the one the
	// journal's last change of it returned, so someone (a person in a
	// console, another pipeline, a script) changed it without the journal.
	DriftOutOfBand DriftKind = "out of band"
	// DriftUnknown: the route exists but the journal never recorded a
	// change of it: it was created outside slipway, or before the journal.
	DriftUnknown DriftKind = "unknown"
	// DriftMissing: the journal recorded the route but it no longer
	// exists: it was deleted out of band.
	DriftMissing DriftKind = "missing"
)

// Drift is one route of a function that is not as the journal left it.
type Drift struct {
	Function string    `json:"function"`
	Alias    string    `json:"alias"`
	Kind     DriftKind `json:"kind"`
	// Before is the route as the journal expects it (the After of its last
	// change of the alias, with that change's revision token); nil for
	// DriftUnknown.
	Before *provider.Route `json:"before,omitempty"`
	// After is the route as the provider reports it now; nil for
	// DriftMissing.
	After *provider.Route `json:"after,omitempty"`
	// Last is the journal entry Before comes from (when, who, why); nil
	// for DriftUnknown.
	Last *journal.Entry `json:"last,omitempty"`
}

// String describes d in one line, such as
//
//	fn alias "production" changed out of band: journal has 1=100% (rev 4) from 2026-03-02T10:00:00Z by ci, now 2=100% (rev 5)
func (d Drift) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s alias %q ", d.Function, d.Alias)
	switch d.Kind {
	case DriftOutOfBand:
		b.WriteString("changed out of band: ")
	case DriftUnknown:
		b.WriteString("is not in the journal: ")
	case DriftMissing:
		b.WriteString("was deleted out of band: ")
	default:
		fmt.Fprintf(&b, "%s: ", d.Kind)
	}
	if d.Before != nil {
		fmt.Fprintf(&b, "journal has %s", d.Before.String())
		if d.Last != nil {
			fmt.Fprintf(&b, " from %s", d.Last.Time.UTC().Format("2006-01-02T15:04:05Z"))
			if d.Last.Actor != "" {
				fmt.Fprintf(&b, " by %s", d.Last.Actor)
			}
		}
	}
	if d.Before != nil && d.After != nil {
		b.WriteString(", ")
	}
	if d.After != nil {
		fmt.Fprintf(&b, "now %s", d.After.String())
	} else {
		b.WriteString(", now absent")
	}
	return b.String()
}

// Verify compares the routes of fn with the journal and reports every route
// that is not as the journal's last change of it left it, ordered by alias:
//
//   - a route whose revision token differs from the token of the journal's
//     last entry for it (LastRoute) was changed out of band (DriftOutOfBand,
//     with the route the journal expects and the route found);
//   - a route the journal never recorded is DriftUnknown;
//   - a route the journal recorded that no longer exists is DriftMissing.
//
// Revision tokens, not weights, decide: a route set out of band to the
// same weights still has a new token and is reported, because the journal
// did not record who did it. No drift gives an empty slice and nil.
//
// Errors are those of the provider's Routes (wrapped; a function that does
// not exist is provider.ErrNotFound) and of the journal.
//
// With an IndexedJournal, Verify reads the journal's last route change of
// each alias (LastRoutes) and no other entry; otherwise it reads all of
// fn's entries.
func Verify(ctx context.Context, p provider.Provider, j journal.Journal, fn string) ([]Drift, error) {
	if err := provider.CheckName("function", fn); err != nil {
		return nil, err
	}
	last, err := lastRoutes(ctx, j, fn)
	if err != nil {
		return nil, fmt.Errorf("release: verify %s: %w", fn, err)
	}
	routes, err := p.Routes(ctx, fn)
	if err != nil {
		return nil, fmt.Errorf("release: verify %s: %w", fn, err)
	}
	drifts := []Drift{}
	seen := make(map[string]bool, len(routes))
	for _, r := range routes {
		seen[r.Alias] = true
		now := r.Clone()
		e, ok := last[r.Alias]
		switch {
		case !ok:
			drifts = append(drifts, Drift{Function: fn, Alias: r.Alias, Kind: DriftUnknown, After: &now})
		case e.After.Revision != r.Revision:
			drifts = append(drifts, Drift{Function: fn, Alias: r.Alias, Kind: DriftOutOfBand, Before: e.After, After: &now, Last: &e})
		}
	}
	for alias, e := range last {
		if !seen[alias] {
			drifts = append(drifts, Drift{Function: fn, Alias: alias, Kind: DriftMissing, Before: e.After, Last: &e})
		}
	}
	slices.SortFunc(drifts, func(a, b Drift) int { return strings.Compare(a.Alias, b.Alias) })
	return drifts, nil
}

// lastRoutes returns the newest route change of each alias of fn in j,
// by alias.
func lastRoutes(ctx context.Context, j journal.Journal, fn string) (map[string]journal.Entry, error) {
	if ij, ok := j.(journal.IndexedJournal); ok {
		return ij.LastRoutes(ctx, fn)
	}
	last := make(map[string]journal.Entry)
	for e, err := range j.Entries(ctx, journal.Filter{Function: fn}) {
		if err != nil {
			return nil, err
		}
		if e.Kind.ChangesRoute() {
			last[e.Alias] = e
		}
	}
	return last, nil
}
