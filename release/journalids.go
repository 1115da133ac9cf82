package release

import (
	"context"
	"strings"

	"github.com/slipway-dev/slipway/journal"
)

// releaseIDs returns a function reporting whether an entry of fn in j
// has a release ID, for IDs that start with prefix. With an
// IndexedJournal it asks HasRelease, which reads no history; otherwise it
// reads fn's entries once, now.
func releaseIDs(ctx context.Context, j journal.Journal, fn, prefix string) (func(id string) (bool, error), error) {
	if ij, ok := j.(journal.IndexedJournal); ok {
		return func(id string) (bool, error) { return ij.HasRelease(ctx, fn, id) }, nil
	}
	taken := map[string]bool{}
	for e, err := range j.Entries(ctx, journal.Filter{Function: fn}) {
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(e.Release, prefix) {
			taken[e.Release] = true
		}
	}
	return func(id string) (bool, error) { return taken[id], nil }, nil
}
