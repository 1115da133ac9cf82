package journal

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Journal is the append-only audit trail of a fleet's releases: every route
// change and every release decision, with when, who, why, the routes before
// and after (with their revision tokens), the versions and the outcome.
//
// The workflow appends an entry after each change it makes, so the
// journal's last route of an alias is what the alias should look like now:
// Verify reports routes that differ (changed out of band), LastRoute and
// PreviousGood answer from it, and a rollback after a process restart reads
// its target from it.
//
// Implementations are safe for concurrent use. Entries are returned in the
// order they were appended. An implementation may also implement
// IndexedJournal, so that those readers need not read a function's whole
// history.
type Journal interface {
	// Append records e. It fails with an error wrapping
	// provider.ErrInvalid when e does not pass Entry.Validate (nothing is
	// written), and with ErrClosed after the journal was closed. When
	// Append returns nil the entry is durable (for FileJournal: written and
	// fsynced).
	Append(ctx context.Context, e Entry) error

	// Entries yields the entries that match f, oldest first. Iteration
	// stops at the first error, which is yielded with a zero Entry. The
	// entries yielded are copies: changing them changes nothing in the
	// journal. Entries appended while iterating may or may not be seen.
	Entries(ctx context.Context, f Filter) iter.Seq2[Entry, error]
}

// EntryKind says what a journal entry records.
type EntryKind string

const (
	// EntryPublish: a version was published (Candidate, Semver).
	EntryPublish EntryKind = "publish"
	// EntryRoute: a route changed during a release (a traffic step), or was
	// created; After is the route as the provider returned it.
	EntryRoute EntryKind = "route"
	// EntryPromote: the route change that completed a release: after it the
	// alias sends all traffic to Candidate. Stable is the version it served
	// before the release began (empty for a first release); PreviousGood
	// returns it.
	EntryPromote EntryKind = "promote"
	// EntryRollback: a route change that put the alias back on Stable.
	EntryRollback EntryKind = "rollback"
	// EntryDecision: a release decision that changed no route (a step
	// judged, a release refused by a deploy window, an out-of-band change
	// noticed, a release abandoned). Outcome and Reason say which.
	EntryDecision EntryKind = "decision"
)

// ChangesRoute reports whether entries of kind k record a route change
// (route, promote, rollback), so that After is required.
func (k EntryKind) ChangesRoute() bool {
	return k == EntryRoute || k == EntryPromote || k == EntryRollback
}

func (k EntryKind) valid() bool {
	return k == EntryPublish || k == EntryDecision || k.ChangesRoute()
}

// Entry is one record of the journal. It is plain data; its JSON form is one
// line of a FileJournal.
type Entry struct {
	// Time is when the change was made, from the caller's clock. Required.
	Time time.Time `json:"time"`
	// Release identifies the release (one Deploy, Promote or Rollback run)
	// the entry belongs to; entries of one run share it.
	Release string    `json:"release,omitempty"`
	Kind    EntryKind `json:"kind"`
	// Function is required; Alias is required for route changes.
	Function string `json:"function"`
	Alias    string `json:"alias,omitempty"`
	// Actor is who asked: a user, a CI job, a service. Supplied by the
	// caller; the journal does not authenticate it.
	Actor string `json:"actor,omitempty"`
	// Reason is why, in a sentence: the commit, a check's verdict, a
	// rollback's cause.
	Reason string `json:"reason,omitempty"`
	// Before is the route as read before the change, nil when the change
	// created it. After is the route the provider returned (with its new
	// revision token); required for route changes.
	Before *provider.Route `json:"before,omitempty"`
	After  *provider.Route `json:"after,omitempty"`
	// Candidate is the version being released, Stable the version it
	// replaces (version IDs); Semver is the candidate's semantic version.
	Candidate string `json:"candidate,omitempty"`
	Stable    string `json:"stable,omitempty"`
	Semver    string `json:"semver,omitempty"`
	// Outcome is the result of a decision or of the step: "promoted",
	// "rolled back", "failed", "blocked", "passed", "out of band"… Free
	// text, meant to be read.
	Outcome string `json:"outcome,omitempty"`
}

// Validate checks e: a known Kind, a Time, a Function; for route changes an
// Alias and an After route for that alias that passes Route.Validate (and a
// Before, when set, for the same alias). Errors wrap provider.ErrInvalid and
// name the field.
func (e Entry) Validate() error {
	switch {
	case !e.Kind.valid():
		return provider.Invalid("journal entry", "kind", fmt.Sprintf("%q is not a known kind", e.Kind))
	case e.Time.IsZero():
		return provider.Invalid("journal entry", "time", "is zero")
	case e.Function == "":
		return provider.Invalid("journal entry", "function", "is empty")
	}
	if !e.Kind.ChangesRoute() {
		return nil
	}
	if e.Alias == "" {
		return provider.Invalid("journal entry", "alias", "is empty for a route change")
	}
	if e.After == nil {
		return provider.Invalid("journal entry", "after", "is missing for a route change")
	}
	if e.After.Alias != e.Alias {
		return provider.Invalid("journal entry", "after.alias", fmt.Sprintf("is %q, not the entry's alias %q", e.After.Alias, e.Alias))
	}
	if err := e.After.Validate(); err != nil {
		return fmt.Errorf("journal: entry after: %w", err)
	}
	if e.Before != nil && e.Before.Alias != e.Alias {
		return provider.Invalid("journal entry", "before.alias", fmt.Sprintf("is %q, not the entry's alias %q", e.Before.Alias, e.Alias))
	}
	return nil
}

// Clone returns a deep copy of e.
//
// Reading a journal is mostly cloning, so the copies of Before and After
// and of their weights share one allocation when the routes hold at most
// cloneWeights weights between them (a route change holds two or three);
// each copied Weights slice has no spare capacity, so appending to one
// never writes into the other.
func (e Entry) Clone() Entry {
	if e.Before == nil && e.After == nil {
		return e
	}
	n := 0
	for _, r := range []*provider.Route{e.Before, e.After} {
		if r != nil {
			n += len(r.Weights)
		}
	}
	if n > cloneWeights {
		if e.Before != nil {
			b := e.Before.Clone()
			e.Before = &b
		}
		if e.After != nil {
			a := e.After.Clone()
			e.After = &a
		}
		return e
	}
	blk := new(struct {
		routes  [2]provider.Route
		weights [cloneWeights]provider.Weight
	})
	k := 0
	clone := func(r, dst *provider.Route) *provider.Route {
		// As provider.Route.Clone: Weights is its only reference field.
		*dst = *r
		if r.Weights != nil {
			dst.Weights = blk.weights[k : k+len(r.Weights) : k+len(r.Weights)]
			k += copy(dst.Weights, r.Weights)
		}
		return dst
	}
	if e.Before != nil {
		e.Before = clone(e.Before, &blk.routes[0])
	}
	if e.After != nil {
		e.After = clone(e.After, &blk.routes[1])
	}
	return e
}

// cloneWeights is how many weights Entry.Clone copies with the routes in
// one allocation.
const cloneWeights = 4

// Filter selects journal entries. Zero fields match everything.
type Filter struct {
	Function string `json:"function,omitempty"`
	Alias    string `json:"alias,omitempty"`
	// Since keeps entries whose Time is not before it.
	Since time.Time `json:"since,omitzero"`
}

// Match reports whether e passes f.
func (f Filter) Match(e Entry) bool {
	return (f.Function == "" || e.Function == f.Function) &&
		(f.Alias == "" || e.Alias == f.Alias) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}

// IndexedJournal is a Journal that answers the questions a release asks of
// a function's history without reading all of it: the newest entries
// first, the last route change of each alias, whether a release ID is
// taken. It is optional, as fs.ReadFileFS is to fs.FS: LastRoute,
// PreviousGood, RollbackPoints, Verify and the workflow use it when the
// journal has it (found by type assertion) and read Entries otherwise, with
// the same answers. MemoryJournal and FileJournal implement it, so with
// them a release costs the same whatever the length of its function's
// history. A wrapper around a Journal should implement IndexedJournal
// only when what it wraps does, and forward to it.
//
// The methods see the entries appended before the call, like Entries, and
// what they yield or return are copies.
type IndexedJournal interface {
	Journal

	// Latest yields the entries that match f, newest first: what Entries
	// yields, in reverse order. Iteration stops at the first error, which
	// is yielded with a zero Entry.
	Latest(ctx context.Context, f Filter) iter.Seq2[Entry, error]

	// LastRoutes returns, for each alias of fn whose route the journal
	// recorded a change of (kinds route, promote, rollback), the newest
	// such entry, by alias: what LastRoute answers for each. It returns
	// an empty map when there is none.
	LastRoutes(ctx context.Context, fn string) (map[string]Entry, error)

	// HasRelease reports whether an entry of fn has Release id.
	HasRelease(ctx context.Context, fn, id string) (bool, error)
}
