package journal

import (
	"context"
	"fmt"
	"iter"
	"sync"
)

// MemoryJournal is a Journal kept in memory, for tests and for processes
// that persist nothing. The zero value is empty and ready to use; it must
// not be copied after first use.
//
// It keeps, per function, the positions of that function's entries (all
// of them, and those of each alias), the position of each alias's last
// route change and the set of its release IDs, so Entries and Latest with
// Filter.Function visit only that function's entries (with Filter.Alias,
// only that alias's), and LastRoutes and HasRelease read no history at
// all: a fleet's journal costs each function its own history, not
// everyone's, and a release's questions cost the same at any length.
type MemoryJournal struct {
	mu      sync.RWMutex
	entries []Entry
	byFunc  map[string]*memIndex
}

// memIndex is what a MemoryJournal knows of one function's entries. The
// position slices only grow and their elements are never written again.
type memIndex struct {
	pos       []int               // positions in entries, in append order
	byAlias   map[string][]int    // pos, per alias (the entries without one under "")
	lastRoute map[string]int      // per alias, the position of its newest route change
	releases  map[string]struct{} // the Release of every entry
}

var (
	_ Journal        = (*MemoryJournal)(nil)
	_ IndexedJournal = (*MemoryJournal)(nil)
)

// Append records a copy of e.
func (j *MemoryJournal) Append(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal: append: %w", err)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	e = e.Clone()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.byFunc == nil {
		j.byFunc = make(map[string]*memIndex)
	}
	ix := j.byFunc[e.Function]
	if ix == nil {
		ix = &memIndex{byAlias: map[string][]int{}, lastRoute: map[string]int{}, releases: map[string]struct{}{}}
		j.byFunc[e.Function] = ix
	}
	p := len(j.entries)
	ix.pos = append(ix.pos, p)
	ix.byAlias[e.Alias] = append(ix.byAlias[e.Alias], p)
	if e.Kind.ChangesRoute() {
		ix.lastRoute[e.Alias] = p
	}
	ix.releases[e.Release] = struct{}{}
	j.entries = append(j.entries, e)
	return nil
}

// Entries yields copies of the matching entries appended before the call.
// With f.Function set it visits that function's entries only (with
// f.Alias too, only those of that alias).
func (j *MemoryJournal) Entries(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return j.read(ctx, f, false)
}

// Latest yields copies of the matching entries appended before the call,
// newest first; it visits what Entries visits.
func (j *MemoryJournal) Latest(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return j.read(ctx, f, true)
}

func (j *MemoryJournal) read(ctx context.Context, f Filter, newestFirst bool) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		// The entries and the position slices only grow and their
		// elements are never written again, so the prefixes taken under
		// the lock can be read without it while Append goes on.
		j.mu.RLock()
		snap := j.entries[:len(j.entries):len(j.entries)]
		var pos []int
		if f.Function != "" {
			var p []int
			if ix := j.byFunc[f.Function]; ix != nil {
				p = ix.pos
				if f.Alias != "" {
					p = ix.byAlias[f.Alias]
				}
			}
			pos = p[:len(p):len(p)]
		}
		j.mu.RUnlock()
		n := len(snap)
		if f.Function != "" {
			n = len(pos)
		}
		for i := range n {
			if err := ctx.Err(); err != nil {
				yield(Entry{}, fmt.Errorf("journal: entries: %w", err))
				return
			}
			k := i
			if newestFirst {
				k = n - 1 - i
			}
			if f.Function != "" {
				k = pos[k]
			}
			e := &snap[k]
			if f.Match(*e) && !yield(e.Clone(), nil) {
				return
			}
		}
	}
}

// LastRoutes returns copies of the newest route change of each alias of
// fn, from the index: it reads no other entry.
func (j *MemoryJournal) LastRoutes(ctx context.Context, fn string) (map[string]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("journal: last routes: %w", err)
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	out := map[string]Entry{}
	if ix := j.byFunc[fn]; ix != nil {
		for alias, p := range ix.lastRoute {
			out[alias] = j.entries[p].Clone()
		}
	}
	return out, nil
}

// HasRelease reports whether an entry of fn has Release id, from the index.
func (j *MemoryJournal) HasRelease(ctx context.Context, fn, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("journal: has release: %w", err)
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	ix := j.byFunc[fn]
	if ix == nil {
		return false, nil
	}
	_, ok := ix.releases[id]
	return ok, nil
}
