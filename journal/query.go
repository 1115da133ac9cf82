package journal

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// LastRoute returns the newest entry of the journal that changed the route
// alias of fn (kinds route, promote, rollback); its After is the route as the
// journal expects it to be now. It fails with an error wrapping
// provider.ErrNotFound when the journal recorded no change of that route.
//
// An empty alias matches every alias, as in Filter: the newest change of
// any route of fn.
//
// With an IndexedJournal it asks LastRoutes, which reads no history (for
// an empty alias it reads fn's entries newest first, down to the first
// route change); otherwise it reads the alias's entries.
func LastRoute(ctx context.Context, j Journal, fn, alias string) (Entry, error) {
	notFound := fmt.Errorf("journal: has no route %q of %s: %w", alias, fn, provider.ErrNotFound)
	if ij, ok := j.(IndexedJournal); ok && alias != "" {
		last, err := ij.LastRoutes(ctx, fn)
		if err != nil {
			return Entry{}, err
		}
		if e, ok := last[alias]; ok {
			return e, nil
		}
		return Entry{}, notFound
	} else if ok {
		for e, err := range ij.Latest(ctx, Filter{Function: fn}) {
			if err != nil {
				return Entry{}, err
			}
			if e.Kind.ChangesRoute() {
				return e, nil
			}
		}
		return Entry{}, notFound
	}
	var last Entry
	found := false
	for e, err := range j.Entries(ctx, Filter{Function: fn, Alias: alias}) {
		if err != nil {
			return Entry{}, err
		}
		if e.Kind.ChangesRoute() {
			last, found = e, true
		}
	}
	if !found {
		return Entry{}, notFound
	}
	return last, nil
}

// PreviousGood returns the rollback target of alias: the version the alias
// sent its traffic to before the latest promotion (EntryPromote), with that
// promotion's entry. It is the promotion's Stable; when Stable is empty, the
// version with the largest share of the promotion's Before route other than
// the promoted Candidate.
//
// Rollbacks are not promotions, so after a rollback PreviousGood still
// answers the same version: rolling back twice is rolling back once.
// A promotion that created the alias (no previous version) has no target:
// the error wraps provider.ErrNotFound, as it does when the journal holds no
// promotion of alias.
//
// Because it reads the journal only, PreviousGood answers the same after a
// process restart when the journal is a FileJournal.
//
// With an IndexedJournal it reads the alias's entries newest first, down
// to its latest promotion; otherwise it reads all of them.
func PreviousGood(ctx context.Context, j Journal, fn, alias string) (string, Entry, error) {
	promo, found, err := lastPromotion(ctx, j, fn, alias)
	if err != nil {
		return "", Entry{}, err
	}
	if !found {
		return "", Entry{}, fmt.Errorf("journal: has no promotion of %s alias %q: %w", fn, alias, provider.ErrNotFound)
	}
	if promo.Stable != "" {
		return promo.Stable, promo, nil
	}
	candidate := promo.Candidate
	if candidate == "" && promo.After != nil {
		candidate = promo.After.Primary()
	}
	best, share := "", 0
	if promo.Before != nil {
		for _, w := range promo.Before.Weights {
			if w.Version != candidate && w.BasisPoints > share {
				best, share = w.Version, w.BasisPoints
			}
		}
	}
	if best == "" {
		return "", promo, fmt.Errorf("journal: %s alias %q had no version before its latest promotion (%s): %w",
			fn, alias, promo.Time.UTC().Format(time.RFC3339), provider.ErrNotFound)
	}
	return best, promo, nil
}

// lastPromotion returns the newest EntryPromote of alias of fn, and false
// when there is none.
func lastPromotion(ctx context.Context, j Journal, fn, alias string) (Entry, bool, error) {
	f := Filter{Function: fn, Alias: alias}
	if ij, ok := j.(IndexedJournal); ok {
		for e, err := range ij.Latest(ctx, f) {
			if err != nil {
				return Entry{}, false, err
			}
			if e.Kind == EntryPromote {
				return e, true, nil
			}
		}
		return Entry{}, false, nil
	}
	var promo Entry
	found := false
	for e, err := range j.Entries(ctx, f) {
		if err != nil {
			return Entry{}, false, err
		}
		if e.Kind == EntryPromote {
			promo, found = e, true
		}
	}
	return promo, found, nil
}
